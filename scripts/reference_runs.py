"""Train the reference runs (``vaegan_nb.reference``) and export the records that are committed.

    .venv/bin/python scripts/reference_runs.py           # train what is missing (resumable), then export
    .venv/bin/python scripts/reference_runs.py --list    # the runs and their settings, train nothing

``make reference-runs`` runs it. The runs train into data/runs/reference/<name> (git-ignored: their
checkpoints and full timelapses), two at a time with one thread each, as ``make phenomena`` trains;
side by side a 12,000-step run takes about 28 minutes on a 2-core laptop, the five about 85. Each
finished record is exported, thinned, to data/reference_runs/<name>, which is committed;
tests/test_reference_runs.py trains the start of each again and compares.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORK = ROOT / "data" / "runs" / "reference"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print the runs and their settings, train nothing")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once (default 2, one thread each)")
    args = ap.parse_args(argv)

    from vaegan_nb import reference
    from vaegan_nb.parallel import train_side_by_side

    cfgs = reference.configs()
    if args.list:
        for name, cfg in cfgs.items():
            t = cfg.train
            print(f"{name:18s} recipe={t.recipe} steps={t.steps} beta={t.beta:g} seed={t.seed}")
        return 0
    from vaegan_nb.training import pick_device

    if pick_device("auto").type != "cpu":
        # The committed records are CPU runs whose configs say device "auto"; trained here they would
        # take another path on the GPU and no longer match them.
        print("the reference runs train on the CPU; hide the GPU to run them here (CUDA_VISIBLE_DEVICES= "
              "make reference-runs)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    train_side_by_side([(cfg, WORK / name) for name, cfg in cfgs.items()], workers=max(1, args.jobs),
                       longest_first=False)
    print(f"{len(cfgs)} runs ready in {(time.perf_counter() - t0) / 60:.0f} min", flush=True)
    for name in cfgs:
        print(f"exported {reference.export(WORK / name, reference.COMMITTED / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
