"""Train the full-profile runs behind docs/phenomena.md on several seeds, then regenerate the table.

    .venv/bin/python scripts/claims_full.py                  # 5 seeds, two runs at a time, then the table
    .venv/bin/python scripts/claims_full.py --seeds 0 1      # only these seeds
    .venv/bin/python scripts/claims_full.py --only vae vaegan
    .venv/bin/python scripts/claims_full.py --list           # the runs and their settings

Every run is the ``full`` profile of its recipe, one torch thread per process; the beta sweep runs
for half the steps (``config.SWEEP_SHARE``; claim 6 reads beta 1 from the first half of the main
vaegan run). Seed 0 is the notebooks' own seed: its records go to data/runs/full/<name>, where the
notebooks look for them, so ``make book`` shows seed 0 of the table without training it again. Other seeds go to
data/runs/seeds/full/seed<S>/<name> (all git-ignored), where a notebook run with VAEGAN_SEED=S looks. The script is resumable: a finished record
with the same config is kept, an interrupted one is resumed from its last checkpoint.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDS = (0, 1, 2, 3, 4)
SWEEP_BETAS = (0.1, 2.0, 4.0, 8.0)  # beta 1 is the main vaegan run, read over the sweep's length

# name -> (recipe, overrides of the full profile; "sweep" marks the shorter beta-sweep runs)
RUNS: dict[str, tuple[str, dict]] = {
    "vae": ("vae", {}),
    "vaegan": ("vaegan", {}),
    "vaegan_decoder_fm": ("vaegan_decoder_fm", {}),
    "aegan_bn": ("aegan_bn", {}),
    "vaegan_adaptive": ("vaegan_adaptive", {}),  # notebook 05's, claims 10-12
    **{f"vaegan_beta{b:g}": ("vaegan", {"beta": b, "sweep": True}) for b in SWEEP_BETAS},
}


def seed_dir(seed: int) -> Path:
    """Where a notebook run with VAEGAN_SEED=seed looks for its runs (``nb.runs_dir``)."""
    from vaegan_nb.notebook import runs_dir

    return runs_dir("full", seed)


def config_for(name: str, seed: int):
    """The run's config: exactly what a notebook's ``nb.run_all`` makes for it (the thread count is
    set by the worker process, not the config, so seed 0 is the notebooks' own run)."""
    from vaegan_nb.config import make_config, sweep_steps

    recipe, overrides = RUNS[name]
    overrides = dict(overrides)
    if overrides.pop("sweep", False):
        overrides["steps"] = sweep_steps("full")
    return make_config(recipe, "full", seed=seed, **overrides)


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

    from vaegan_nb.parallel import train_side_by_side

    jobs = [(n, s) for s in args.seeds for n in args.only]
    # Seed by seed, longest first within a seed, so the table fills in one whole seed at a time.
    jobs.sort(key=lambda j: (j[1], -config_for(*j).train.steps * (1 if RUNS[j[0]][0] == "vae" else 5)))
    t0 = time.perf_counter()
    failed = 0
    try:  # a failed run does not stop the others; each failure is printed with its run directory
        train_side_by_side([(config_for(n, s), seed_dir(s) / n) for n, s in jobs], workers=max(1, args.jobs),
                           retrain=args.retrain, longest_first=False)
    except Exception:
        failed = 1
    print(f"{len(jobs)} runs ready in {(time.perf_counter() - t0) / 60:.0f} min", flush=True)

    if not args.no_table:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "phenomena_table.py")], check=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
