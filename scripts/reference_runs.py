"""Train the reference runs (``vaegan_nb.reference``) and export the records that are committed.

    .venv/bin/python scripts/reference_runs.py                # train what is missing (resumable), then export
    .venv/bin/python scripts/reference_runs.py --set bn       # only the BN cheat at the blog's pace
    .venv/bin/python scripts/reference_runs.py --list         # the runs and their settings, train nothing
    .venv/bin/python scripts/reference_runs.py --set bn --park   # copy unfinished runs where git keeps them
    .venv/bin/python scripts/reference_runs.py --set bn --read   # claim 9's figures at every 10%, so far
    .venv/bin/python scripts/reference_runs.py --set bn --export # export the finished ones, park the rest

``make reference-runs`` runs it. The runs train into data/runs/reference/<name> (git-ignored: their
checkpoints and full timelapses), two at a time with one thread each, as ``make phenomena`` trains.
The sweep (claim 6): side by side a 12,000-step run takes about 28 minutes on a 2-core laptop, the five
about 85. The BN cheat at the blog's pace (claim 9): 30,000 steps, about two hours a run side by side
on CI's 2-core Xeon (4.2 steps a second each, 2026-12-06), longer than a working session; ``--park`` copies an unfinished run, checkpoint and all,
to data/reference_runs_unfinished/<name> for a commit, and the next call here carries on from it.
Each finished record is exported, thinned, to data/reference_runs/<name>, which is committed;
tests/test_reference_runs.py trains the start of each again and compares.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORK = ROOT / "data" / "runs" / "reference"
PARKED = ROOT / "data" / "reference_runs_unfinished"
PARKED_FILES = ("config.json", "metrics.csv", "status.json", "timelapse.npz", "checkpoints/last.pt")


def _sets():
    from vaegan_nb import reference

    return {"sweep": reference.configs, "bn": reference.bn_configs}


def park(name: str) -> Path:
    """Copy the unfinished run ``name`` from WORK to PARKED (what resuming needs, nothing more)."""
    from vaegan_nb.runs import RunRecord

    src, dst = WORK / name, PARKED / name
    if RunRecord(src).finished:
        raise SystemExit(f"{src} is finished: export it rather than park it")
    for f in PARKED_FILES:
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / f, dst / f)
    return dst


def unpark(name: str) -> None:
    """Start from a parked run when this machine has none of its own."""
    if (PARKED / name / "config.json").is_file() and not (WORK / name / "config.json").is_file():
        shutil.copytree(PARKED / name, WORK / name, dirs_exist_ok=True)
        print(f"carrying on from {(PARKED / name).relative_to(ROOT)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("all", *_sets()), default="all", help="which runs (default all)")
    ap.add_argument("--list", action="store_true", help="print the runs and their settings, train nothing")
    ap.add_argument("--park", action="store_true", help="copy the unfinished runs to data/reference_runs_unfinished/")
    ap.add_argument("--export", action="store_true", help="export the finished runs only (one may finish "
                    "before its partner, which can be parked)")
    ap.add_argument("--read", action="store_true", help="print each BN run's figures at every 10%% reached")
    ap.add_argument("--jobs", type=int, default=2, help="trainings at once (default 2, one thread each)")
    args = ap.parse_args(argv)

    from vaegan_nb import reference
    from vaegan_nb.parallel import train_side_by_side

    cfgs = {n: c for k, make in _sets().items() if args.set in ("all", k) for n, c in make().items()}
    if args.list:
        for name, cfg in cfgs.items():
            t = cfg.train
            print(f"{name:22s} recipe={t.recipe} steps={t.steps} lr={t.lr:g} beta={t.beta:g} seed={t.seed}")
        return 0
    if args.read:
        from vaegan_nb.runs import RunRecord

        for name in cfgs:
            d = reference.COMMITTED / name if (reference.COMMITTED / name).is_dir() else WORK / name
            if name.startswith("aegan_bn") and (d / "config.json").is_file():
                print(f"\n{name} ({d.relative_to(ROOT)}):\n" + reference.bn_progress(RunRecord(d)))
        return 0
    if args.export:
        export_finished(cfgs)
        return 0
    if args.park:
        for name in cfgs:
            if (WORK / name / "checkpoints" / "last.pt").is_file() and not (reference.COMMITTED / name).is_dir():
                print(f"parked {park(name).relative_to(ROOT)}")
        return 0
    from vaegan_nb.training import pick_device

    if pick_device("auto").type != "cpu":
        # The committed records are CPU runs whose configs say device "auto"; trained here they would
        # take another path on the GPU and no longer match them.
        print("the reference runs train on the CPU; hide the GPU to run them here (CUDA_VISIBLE_DEVICES= "
              "make reference-runs)", file=sys.stderr)
        return 2
    for name in cfgs:
        unpark(name)
    t0 = time.perf_counter()
    train_side_by_side([(cfg, WORK / name) for name, cfg in cfgs.items()], workers=max(1, args.jobs),
                       longest_first=False)
    print(f"{len(cfgs)} runs ready in {(time.perf_counter() - t0) / 60:.0f} min", flush=True)
    export_finished(cfgs)
    return 0


def export_finished(names) -> None:
    """Export each finished run of ``names`` to the committed folder, and drop its parked copy."""
    from vaegan_nb import reference
    from vaegan_nb.runs import RunRecord

    for name in names:
        if (WORK / name / "config.json").is_file() and RunRecord(WORK / name).finished:
            out = reference.export(WORK / name, reference.COMMITTED / name, *reference.keep(name))
            print(f"exported {out.relative_to(ROOT)}")
            shutil.rmtree(PARKED / name, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
