"""The committed reference runs (data/reference_runs/) come from this code.

Claim 6 needs a longer sweep than the full profile affords (docs/beta_sweep.md), so docs/phenomena.md
also reads it on a committed 12,000-step reference sweep made by ``make reference-runs``. Each run is
trained again here on the CPU, one thread per run as they were made, whatever the machine has.

A GAN run is chaotic: on another CPU model the same torch and numpy builds round the same sums
differently, and the runs part within a few dozen steps. So on any CPU the first ten steps are
checked, loosely; where the record's provenance names this machine's torch, numpy, kernels and CPU
model, the first 10% must agree exactly (6,000 steps in all, about 7 minutes on two cores). The
committed records were exported before their provenance named the CPU model, so until they are made
again that check cannot know its machine and is skipped.
Claim 6 read on the committed sweep, as issue 34 restated it: both its halves are met.
"""

from __future__ import annotations

import json
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


DEFINED = {**reference.configs(), **reference.bn_configs()}
COMMITTED = sorted(p.name for p in REF.iterdir() if p.is_dir())  # the sweep, and the BN cheat once finished


def test_the_committed_reference_runs_are_the_sweep_the_code_defines():
    assert set(reference.configs()) <= set(COMMITTED) <= set(DEFINED), COMMITTED
    for name in COMMITTED:
        rec, cfg = RunRecord(REF / name), DEFINED[name]
        assert rec.finished and plain(rec.config) == plain(cfg), name
        assert int(rec.metrics()["step"][-1]) == cfg.train.steps, name
        snapshots, samples = reference.keep(name)
        assert rec.timelapse()["frames"].shape[:2] == (snapshots, samples), name


# Measured 2026-12-01 on an AVX512 Xeon of model 207 against the committed records (made on another
# Xeon, same torch and numpy builds): at step 0, before any training, the held-out pixel error agreed to
# 1.1e-7 and the rest exactly; at step 10 every number within 0.9-2.2%; from step 30 on they are apart
# (up to 70-fold in D's score on fakes). The same rerun with a learning rate 10% higher is 55-200% off at
# step 10 on every run (feature matching), so the check sees a changed recipe.
EARLY_TOLERANCE = {0: 1e-5, 10: 0.1}  # relative, per logged value, by step
EARLY_RERUN = 20  # steps, so that step 10 is not the last: a last step also logs its snapshot's figures


def test_on_any_cpu_each_reference_run_starts_with_the_same_nets_frames_and_first_steps(tmp_path):
    names = COMMITTED
    train_side_by_side([(reference.rerun_start(REF / n, steps=EARLY_RERUN), tmp_path / n) for n in names],
                       workers=2, progress=False)
    for n in names:
        for step, tol in EARLY_TOLERANCE.items():
            worst = reference.compare_start(REF / n, tmp_path / n, last_step=step)
            assert max(worst.values()) <= tol, (n, step, worst)


def test_on_the_machine_that_made_them_the_first_tenth_trains_again_to_the_same_numbers(tmp_path):
    names = COMMITTED
    differ = {k: v for n in names for k, v in reference.machine_differences(REF / n).items()}
    if differ:
        pytest.skip(f"the reference runs' provenance does not match this machine ({differ}, as (made, here)); a GAN "
                    f"run is chaotic, so only the machine that made them reruns them bit for bit; `make "
                    f"reference-runs` would remake them on this one.")
    train_side_by_side([(reference.rerun_start(REF / n), tmp_path / n) for n in names], workers=2, progress=False)
    for n in names:
        worst = reference.compare_start(REF / n, tmp_path / n)
        assert max(worst.values()) <= TOLERANCE, (
            f"{n}: the first {reference.CHECKED_SHARE:.0%} differs from the committed record, made on this "
            f"machine's torch, numpy, kernels and CPU model (largest relative difference per metric: {worst})")


def _claim6_on_the_reference_sweep() -> claims.Reading:
    return claims.read_claim(claims.claim(6), reference.committed(REF))


def test_on_the_reference_sweep_a_larger_beta_does_not_stop_the_klds_growth():
    # Notebook 03 and docs/beta_sweep.md: 1.69, 3.47, 4.11, 4.85 and 7.66-fold at beta 0.1 to 8.
    growth = {k: v for k, v in _claim6_on_the_reference_sweep().figures.items() if k.startswith("KLD growth")}
    assert len(growth) == len(reference.BETAS) and min(growth.values()) >= 1.5, growth


def test_on_the_reference_sweep_the_codes_come_nearer_the_origin_as_beta_rises_as_a_trend_not_a_strict_order():
    # Claim 6's order half as restated (issue 34): a rank correlation of beta and the codes' distance of
    # at most -0.8. The sweep meets it although its codes at beta 2 end further out than at beta 1 (2.00
    # against 1.69 times the shell, notebook 03), which the strict order it replaced did not allow.
    reading = _claim6_on_the_reference_sweep()
    z = {k: v for k, v in reading.figures.items() if k.startswith("|z|")}
    beta_of = {f"|z|/sqrt(d), beta {b:g}": b for b in reference.BETAS}
    by_beta = [z[k] for k in sorted(z, key=beta_of.get)]
    assert by_beta[2] > 1.05 * by_beta[1], z
    assert reading.figures["rank correlation, beta vs |z|"] <= claims.ORDER_TREND and reading.ok, reading.figures


def test_a_changed_number_in_a_record_is_caught(tmp_path):
    ref = make_run(tmp_path, "ref", steps=(0, 10, 20, 30), recipe="vaegan")
    copy = tmp_path / "copy"
    shutil.copytree(ref, copy)
    assert max(reference.compare_start(ref, copy).values()) == 0.0
    _scale_kld(copy, line=2, factor=1.001)
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
    with pytest.raises(UserError, match="step 10 is not logged both there"):
        reference.compare_start(a, b, last_step=10)


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


def test_only_the_steps_up_to_the_last_asked_are_compared(tmp_path):
    ref = make_run(tmp_path, "ref", steps=(0, 10, 20, 30), recipe="vaegan")
    copy = tmp_path / "copy"
    shutil.copytree(ref, copy)
    _scale_kld(copy, line=3, factor=2)  # step 20
    assert reference.compare_start(ref, copy, last_step=10)["kld"] == 0.0
    assert reference.compare_start(ref, copy, last_step=20)["kld"] == pytest.approx(1.0)


def test_a_record_made_elsewhere_or_before_the_cpu_model_was_recorded_differs_from_this_machine(tmp_path):
    ref = make_run(tmp_path, "ref", recipe="vaegan")
    (ref / reference.PROVENANCE).write_text(json.dumps(reference.machine()))
    assert reference.machine_differences(ref) == {}
    made = {k: v for k, v in reference.machine().items() if k != "cpu_model"}
    (ref / reference.PROVENANCE).write_text(json.dumps({**made, "torch": "1.1.0"}))
    assert reference.machine_differences(ref) == {"torch": ("1.1.0", reference.machine()["torch"]),
                                                  "cpu_model": ("not recorded", reference.machine()["cpu_model"])}


def _scale_kld(run, line: int, factor: float) -> None:
    """Multiply the KLD on one line of a record's metrics.csv (line 0 is the header)."""
    lines = (run / "metrics.csv").read_text().splitlines()
    header, row = lines[0].split(","), lines[line].split(",")
    row[header.index("kld")] = str(float(row[header.index("kld")]) * factor)
    (run / "metrics.csv").write_text("\n".join([*lines[:line], ",".join(row), *lines[line + 1:]]) + "\n")


def test_the_bn_cheat_is_committed_with_every_tenth_of_its_run_and_all_64_samples(tmp_path):
    # Claim 9's bars are set for batches of 64, and docs/fakes.md reads the run at every 10%.
    name = next(iter(reference.bn_configs()))
    steps = tuple(range(0, reference.BN_STEPS + 1, reference.BN_SNAPSHOT_EVERY))
    run = make_run(tmp_path, "run", steps=steps, n=64, n_latents=4)
    tl = RunRecord(reference.export(run, tmp_path / "exported", *reference.keep(name))).timelapse()
    assert set(range(0, reference.BN_STEPS + 1, reference.BN_STEPS // 10)) <= set(tl["steps"].tolist())
    assert tl["frames"].shape[1] == 64
    assert (tmp_path / "exported" / "timelapse.npz").stat().st_size < 5 * 2**20
