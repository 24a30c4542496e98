"""Train the full-profile runs behind docs/phenomena.md on several seeds, then regenerate the table.

    .venv/bin/python scripts/claims_full.py                  # 5 seeds, two runs at a time, then the table
    .venv/bin/python scripts/claims_full.py --seeds 0 1      # only these seeds
    .venv/bin/python scripts/claims_full.py --only vae vaegan
    .venv/bin/python scripts/claims_full.py --list           # the runs and their settings

Every run is the ``full`` profile of its recipe, one torch thread per process; the beta sweep runs
for a third of the steps (claim 6 reads beta 1 from the first third of the main vaegan run). Seed 0
is the notebooks' own seed: its records go to data/runs/full/<name>, where the notebooks look for
them, so ``make book`` shows seed 0 of the table without training it again. Other seeds go to
data/runs/phenomena/seed<S>/<name> (all git-ignored). The script is resumable: a finished record
with the same config is kept, an interrupted one is resumed from its last checkpoint.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "data" / "runs" / "phenomena"
SEEDS = (0, 1, 2, 3, 4)
SWEEP_BETAS = (0.1, 2.0, 4.0, 8.0)  # beta 1 is the main vaegan run, read over the sweep's length
SWEEP_SHARE = 1 / 3  # the sweep's runs are this share of the profile's steps

# name -> (recipe, overrides of the full profile; "sweep" marks the shorter beta-sweep runs)
RUNS: dict[str, tuple[str, dict]] = {
    "vae": ("vae", {}),
    "vaegan": ("vaegan", {}),
    "vaegan_decoder_fm": ("vaegan_decoder_fm", {}),
    "aegan_bn": ("aegan_bn", {}),
    **{f"vaegan_beta{b:g}": ("vaegan", {"beta": b, "sweep": True}) for b in SWEEP_BETAS},
}


def seed_dir(seed: int) -> Path:
    return ROOT / "data" / "runs" / "full" if seed == 0 else OUT / f"seed{seed}"


def config_for(name: str, seed: int):
    """The run's config: exactly what a notebook's ``nb.run`` makes for it (the thread count is set
    by the worker, not the config, so that seed 0 matches the notebooks' runs)."""
    from vaegan_nb.config import make_config

    recipe, overrides = RUNS[name]
    overrides = dict(overrides)
    if overrides.pop("sweep", False):
        overrides["steps"] = sweep_steps()
    return make_config(recipe, "full", seed=seed, **overrides)


def sweep_steps() -> int:
    from vaegan_nb.config import make_config

    return round(make_config("vaegan", "full").train.steps * SWEEP_SHARE)


def _train_one(name: str, seed: int, retrain: bool) -> tuple[str, int, float, str]:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    from vaegan_nb import data
    from vaegan_nb.runs import RunRecord, config_matches
    from vaegan_nb.training import train

    torch.set_num_threads(1)
    cfg = config_for(name, seed)
    run_dir = seed_dir(seed) / name
    same = not retrain and config_matches(run_dir, cfg)
    if same and RunRecord(run_dir).finished:
        return name, seed, 0.0, "kept"
    resume = same and (run_dir / "checkpoints" / "last.pt").is_file()
    t0 = time.perf_counter()
    train(cfg, run_dir, resume=resume, progress=False, frames=data.load_split(cfg.data))
    return name, seed, time.perf_counter() - t0, "resumed" if resume else "trained"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS), help="seeds (default: 0-4)")
    ap.add_argument("--only", nargs="*", default=list(RUNS), help=f"runs (default: all of {', '.join(RUNS)})")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once (default 2, one thread each)")
    ap.add_argument("--retrain", action="store_true", help="train again even if a finished record matches")
    ap.add_argument("--list", action="store_true", help="print the runs and their settings, train nothing")
    ap.add_argument("--no-table", action="store_true", help="do not regenerate docs/phenomena.md")
    args = ap.parse_args(argv)

    unknown = [n for n in args.only if n not in RUNS]
    if unknown:
        print(f"unknown run(s): {', '.join(unknown)}; known: {', '.join(RUNS)}", file=sys.stderr)
        return 2
    if args.list:
        for n in args.only:
            t = config_for(n, 0).train
            print(f"{n:20s} recipe={t.recipe} steps={t.steps} beta={t.beta:g}")
        return 0

    jobs = [(n, s) for s in args.seeds for n in args.only]
    # Seed by seed, longest first within a seed, so the table fills in one whole seed at a time.
    jobs.sort(key=lambda j: (j[1], -config_for(*j).train.steps * (1 if RUNS[j[0]][0] == "vae" else 5)))
    failed = 0
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(_train_one, n, s, args.retrain): (n, s) for n, s in jobs}
        for f in as_completed(futs):
            try:
                name, seed, wall, what = f.result()
                print(f"seed {seed} {name:20s} {what} ({wall:.0f} s)", flush=True)
            except Exception as e:  # one failed run must not lose the others
                failed += 1
                n, s = futs[f]
                print(f"seed {s} {n:20s} FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)

    if not args.no_table:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "phenomena_table.py")], check=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
