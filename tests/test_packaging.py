"""The newcomer's path: packaging files agree with each other."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # conda-forge names that differ from PyPI's


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"]) + list(meta["optional-dependencies"]["dev"])
    out = {}
    for r in reqs:
        name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", r).groups()
        out[CONDA_NAMES.get(name.lower(), name.lower())] = spec.replace(" ", "")
    return out


def _environment_requirements() -> dict[str, str]:
    out = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s+-\s+([A-Za-z0-9_.\-]+)([<>=!~][^#\s]*)?\s*$", line)
        if m and m.group(1) not in ("python", "pip", "conda-forge"):
            out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    return out


def test_environment_yml_lists_the_same_dependencies_and_ranges_as_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_torch_ranges_admit_the_wheels_on_this_machine():
    reqs = _pyproject_requirements()
    assert "<2.15" in reqs["pytorch"] and "<0.30" in reqs["torchvision"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


def test_package_scripts_tests_and_notebooks_pass_the_linter():
    """The house lint (pyproject's [tool.ruff]) covers the notebooks' cells too, which learners copy from."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(ROOT)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
