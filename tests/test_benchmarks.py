"""The benchmark scripts run, and measure what they claim to. Speed itself is never asserted here."""

from __future__ import annotations

import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_notebooks  # noqa: E402
import bench_step  # noqa: E402


def test_every_notebook_run_is_found_for_the_training_time_table():
    used = {nb.stem: bench_notebooks.runs_used(nb) for nb in bench_notebooks.NOTEBOOKS}
    assert len(used) == 5 and all(used.values()), used
    assert "vaegan_adaptive" in used["05_adaptive_beta"], used["05_adaptive_beta"]
    assert "vae" in used["01_vae"] and "vae_mean_reduction" in used["01_vae"]
    # The beta sweep's names are f-strings: they must become patterns that match the records.
    assert any(fnmatch("vaegan_beta0.1_s100", p) for p in used["03_kld_explosion"]), used["03_kld_explosion"]


@pytest.mark.parametrize("recipe", ["vaegan", "aegan_bn"])
def test_step_benchmark_compares_the_same_work_with_less_recomputation(recipe):
    row = bench_step.bench_recipe(recipe, "ci", rounds=1, device=bench_step.pick_device("cpu"), warmup=1)
    assert row["ms_reference"] > 0 and row["ms_ours"] > 0 and row["ms_ours_eager"] > 0
    assert row["ratio"] == pytest.approx(row["ms_reference"] / row["ms_ours"])
    # The reference recomputes forwards ours runs once, so it must count more FLOPs per step.
    assert row["gflop_per_step_reference"] > 1.05 * row["gflop_per_step_ours"], row
    table = bench_step.table({"matmul_peak_gflops": 100.0, "device": "cpu", "torch_threads": 2,
                              "steps": [{**row, "peak_share": 0.5}]})
    assert recipe in table and "ratio" in table


def test_a_book_that_trained_nothing_does_not_count_as_the_books_time():
    assert bench_notebooks.book_seconds({"total_s": 56.0, "trained_runs": []}) is None
    assert bench_notebooks.book_seconds({"total_s": 56.0}) is None  # written before runs were tracked
    assert bench_notebooks.book_seconds({"total_s": 1660.0, "trained_runs": ["vae", "vaegan"]}) == 1660.0


def test_side_by_side_notebooks_are_timed_as_their_scheduler_runs_them():
    # Longest first onto the least-loaded worker, as nb.run_all starts them: 300+100+100 and 300+100.
    assert bench_notebooks.makespan([300, 100, 100, 100, 300], 2) == 500
    assert bench_notebooks.makespan([300, 100], 1) == 400


def test_the_profile_splits_a_step_into_the_recipes_sub_steps():
    import profile_step

    r = profile_step.profile_steps("vaegan", threads=1, steps=1, warmup=1, profile_name="ci")
    names = [name for name, _ in r["substeps"]]
    # The VAE-GAN trains without fakes, so sub-steps (4) and (5) are not among its optimizer steps.
    assert names == ["(1) D on real", "(2) D on recon", "(3) G on recon", "(6) feature matching: G",
                     "(6) feature matching: E", "(7) KLD: E"]
    assert sum(ms for _, ms in r["substeps"]) == pytest.approx(r["wall_ms"], rel=0.1)
    assert 0 < r["kernels_ms"] + r["other_aten_ms"] <= r["wall_ms"] * 1.05
    assert "(6) feature matching: G" in profile_step.table(r)


def test_the_per_step_cost_leaves_the_warm_up_out(tmp_path):
    import bench_parallel
    from run_factory import make_run

    # 30 s before step 10, then 2 s a step to step 20, 1 s to step 30 and 0.5 s after: the window must
    # start at the first logged step at or after 20% of the run, step 20 of 100: (10 x 1 + 70 x 0.5) / 80.
    steps = list(range(0, 101, 10))
    wall = [0.0, 30.0, 50.0, 60.0] + [60.0 + 0.5 * (s - 30) for s in steps[4:]]
    run = make_run(tmp_path, "r", steps=steps, metrics={"step": steps, "wall_s": wall})
    assert bench_parallel.ms_per_step(run) == pytest.approx(1000 * 45 / 80)
    # 20% of 95 steps is 19, between logged steps: the window starts at step 20 again.
    steps95 = [*steps[:-1], 95]
    wall95 = [*wall[:-1], wall[-2] + 0.5 * 5]
    run95 = make_run(tmp_path, "r95", steps=steps95, metrics={"step": steps95, "wall_s": wall95})
    assert bench_parallel.ms_per_step(run95) == pytest.approx(1000 * 42.5 / 75)
    short = make_run(tmp_path, "short", steps=[0, 10], metrics={"step": [0, 10], "wall_s": [0.0, 30.0]})
    with pytest.raises(ValueError, match="short"):
        bench_parallel.ms_per_step(short)
