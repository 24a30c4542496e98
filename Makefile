# Every target creates .venv on first use, so a fresh clone needs nothing but Python 3.10+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

.PHONY: setup lab test book bench phenomena reference-runs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Jupyter refuses to run as root (containers, CI machines) unless told to.
lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

# The whole suite in the ci profile (set by tests/conftest.py): unit tests, claim tests and the
# notebooks under strict nbval.
test: setup
	$(PY) -m pytest --nbval tests notebooks

# Execute every notebook in place in the full profile: the stored outputs and out/*.gif come from here.
book: setup
	VAEGAN_PROFILE=full $(PY) scripts/run_book.py $(NOTEBOOKS)

# Every speed and memory figure, checked against its target: a table on stdout and out/bench.json
# (about 4 minutes; run it alone). The full-profile training times come from the run records.
bench: setup
	$(PY) benchmarks/bench.py

# The full-profile runs behind docs/phenomena.md (git-ignored: seed 0 in data/runs/full/, the others in data/runs/seeds/full/), then the table.
phenomena: setup
	$(PY) scripts/claims_full.py

# The longer runs committed under data/reference_runs/ for a claim the full profile's budget cannot show:
# claim 6's five 12,000-step runs, about 85 minutes on two cores (docs/beta_sweep.md), and claim 9's BN
# cheat at the blog's learning rate, two 30,000-step runs of about two hours each (docs/fakes.md).
reference-runs: setup
	$(PY) scripts/reference_runs.py

clean:
	rm -rf out .pytest_cache
