"""The committed reference runs (data/reference_runs/) come from this code.

Claim 6 needs a longer sweep than the full profile affords (docs/beta_sweep.md), so docs/phenomena.md
also reads it on a committed 12,000-step reference sweep made by ``make reference-runs``. Here the
first 10% of each of its runs is trained again, one thread per run as they were made, and every logged
number must agree exactly. The rerun trains on the CPU, as the runs were made, whatever the machine
has. On the same torch and numpy builds and CPU kernels (``provenance.json``) the runs are
bit-identical. A GAN run is chaotic, so another build or kernel gives another trajectory: then the
failure says so. The rerun is 6,000 steps in all, about 7 minutes on two cores.
Claim 6 read on the committed sweep: its growth half is met, its order half is not.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from run_factory import make_run

from vaegan_nb import claims, reference
from vaegan_nb.config import plain
from vaegan_nb.errors import UserError
from vaegan_nb.parallel import train_side_by_side
from vaegan_nb.runs import RunRecord

REF = reference.COMMITTED
TOLERANCE = 0.0  # relative, per logged value: bit-identical, as the csv holds each float's exact repr


def test_the_committed_reference_runs_are_the_sweep_the_code_defines():
    committed = sorted(p.name for p in REF.iterdir() if p.is_dir())
    assert committed == sorted(reference.configs())
    for name, cfg in reference.configs().items():
        rec = RunRecord(REF / name)
        assert rec.finished and plain(rec.config) == plain(cfg), name
        assert int(rec.metrics()["step"][-1]) == reference.STEPS


def test_the_first_tenth_of_each_reference_run_trains_again_to_the_same_numbers(tmp_path):
    names = sorted(reference.configs())
    train_side_by_side([(reference.rerun_start(REF / n), tmp_path / n) for n in names], workers=2, progress=False)
    here = reference.machine()
    for n in names:
        worst = reference.compare_start(REF / n, tmp_path / n)
        made = reference.provenance(REF / n)
        assert max(worst.values()) <= TOLERANCE, (
            f"{n}: the first {reference.CHECKED_SHARE:.0%} differs from the committed record "
            f"(largest relative difference per metric: {worst}). It was made with {made}; this machine has "
            f"{here}. On one machine the runs are bit-identical; another CPU model can sum in another order even "
            f"with the same torch build and kernels.")


def _claim6_on_the_reference_sweep() -> claims.Reading:
    claim = next(c for c in claims.CLAIMS if c.number == 6)
    return claims.read_claim(claim, reference.committed(REF))


def test_on_the_reference_sweep_a_larger_beta_does_not_stop_the_klds_growth():
    # Notebook 03 and docs/beta_sweep.md: 1.69, 3.47, 4.11, 4.85 and 7.66-fold at beta 0.1 to 8.
    growth = {k: v for k, v in _claim6_on_the_reference_sweep().figures.items() if k.startswith("KLD growth")}
    assert len(growth) == len(reference.BETAS) and min(growth.values()) >= 1.5, growth


def test_on_the_reference_sweep_the_codes_at_beta_2_end_further_out_than_at_beta_1():
    # What keeps claim 6 from being met there (notebook 03 says so): 2.00 against 1.69 times the shell,
    # while from beta 2 up the codes come nearer the origin as beta rises.
    z = {k: v for k, v in _claim6_on_the_reference_sweep().figures.items() if k.startswith("|z|")}
    beta_of = {f"|z|/sqrt(d), beta {b:g}": b for b in reference.BETAS}
    by_beta = [z[k] for k in sorted(z, key=beta_of.get)]
    assert by_beta[2] > 1.05 * by_beta[1] and by_beta[2] > by_beta[3] > by_beta[4] and by_beta[0] == max(by_beta), z


def test_a_changed_number_in_a_record_is_caught(tmp_path):
    ref = make_run(tmp_path, "ref", steps=(0, 10, 20, 30), recipe="vaegan")
    copy = tmp_path / "copy"
    shutil.copytree(ref, copy)
    assert max(reference.compare_start(ref, copy).values()) == 0.0
    lines = (copy / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")
    row[header.index("kld")] = str(float(row[header.index("kld")]) * 1.001)
    (copy / "metrics.csv").write_text("\n".join([*lines[:2], ",".join(row), *lines[3:]]) + "\n")
    worst = reference.compare_start(ref, copy)
    assert worst["kld"] == pytest.approx(1e-3, rel=1e-3) and worst["pixel"] == 0.0


def test_a_column_the_rerun_did_not_log_is_caught(tmp_path):
    ref = make_run(tmp_path, "ref", steps=(0, 10, 20, 30), recipe="vaegan")
    rerun = make_run(tmp_path, "rerun", steps=(0, 10, 20, 30), recipe="vaegan",
                     metrics={"step": [0, 10, 20, 30], "kld": RunRecord(ref).metrics()["kld"]})
    worst = reference.compare_start(ref, rerun)
    assert worst["kld"] == 0.0 and worst["pixel"] == float("inf")


def test_the_rerun_trains_on_the_cpu_without_compiling(tmp_path):
    ref = make_run(tmp_path, "ref", recipe="vaegan")
    t = reference.rerun_start(ref).train
    assert (t.device, t.compile, t.steps) == ("cpu", "off", round(RunRecord(ref).config.train.steps * 0.1))


def test_records_without_a_common_step_cannot_be_compared(tmp_path):
    a = make_run(tmp_path, "a", steps=(0, 10, 20), recipe="vaegan")
    b = make_run(tmp_path, "b", steps=(5, 15, 25), recipe="vaegan")
    with pytest.raises(UserError, match="fewer than two logged steps"):
        reference.compare_start(a, b)


def test_an_exported_record_is_thinned_but_still_a_finished_run_record(tmp_path):
    steps = tuple(range(0, 1500, 50))
    run = make_run(tmp_path, "run", steps=steps, recipe="vaegan", n=24)
    out = reference.export(run, tmp_path / "exported")
    rec = RunRecord(out)
    tl = rec.timelapse()
    assert rec.finished and plain(rec.config) == plain(RunRecord(run).config)
    assert len(tl["steps"]) == reference.KEEP_SNAPSHOTS and tl["steps"][0] == 0 and tl["steps"][-1] == steps[-1]
    assert tl["frames"].shape[1] == tl["noise"].shape[0] == tl["latents"].shape[1] == reference.KEEP_SAMPLES
    assert np.array_equal(rec.metrics()["kld"], RunRecord(run).metrics()["kld"], equal_nan=True)
    assert not (out / "checkpoints").exists() and reference.provenance(out)["threads"] == 1


def test_an_unfinished_run_is_not_exported(tmp_path):
    run = make_run(tmp_path, "run", recipe="vaegan", state="running")
    with pytest.raises(UserError, match="not finished"):
        reference.export(run, tmp_path / "exported")
