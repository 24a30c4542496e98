"""The blog profile on a GPU: its BN cheat and mistaken VAE-GAN, as many steps as fit a time budget.

    python scripts/gpu_check.py                                  # CUDA, 8 minutes for both runs, out/gpu_check/
    python scripts/gpu_check.py --profile ci --device cpu --steps 20 --out /tmp/check   # the CPU test

Issue 34: the blog profile (65x121 frames, latent 1024, the original widths, batch 64, lr 1e-4) is the
original's size, too slow for a CPU (a VAE-GAN step takes about 30 s on two cores). On a GPU this
script measures each recipe's step time over a short run, gives each run half of ``--budget``, trains
both (``torch.compile`` off, so that the short run's time holds), then writes their run records and
``readings.json``: the figures of the claims these two runs can show (3, 7 and 9 in full, and the
halves of 2 and 8 that need no decoder-only fix). The same figures are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECIPES = ("aegan_bn", "vaegan")


def _step_seconds(rec) -> float:
    """Seconds a step over the last two thirds of a short run, after warm-up."""
    m = rec.metrics()
    steps, wall = m["step"], m["wall_s"]
    first = steps >= steps[-1] // 3
    return float((wall[-1] - wall[first][0]) / (steps[-1] - steps[first][0]))


def readings(runs: dict) -> dict[str, float | bool]:
    """The figures of the claims these runs can show, by name."""
    from vaegan_nb import claims

    out: dict[str, float | bool] = {}
    for number in (3, 7, 9):
        r = claims.read_claim(claims.claim(number), runs)
        out[f"claim {number} met"] = r.ok
        out.update({f"claim {number}: {k}": v for k, v in r.figures.items()})
    out["claim 2 (first half): KLD end / 5%"] = claims.growth(runs["vaegan"], "kld")
    bn = runs["aegan_bn"]
    out["claim 8 (first half): pixel_test / mean-frame MSE"] = claims.final(bn, "pixel_test") / claims.mean_frame_mse(bn)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="blog", help="the profile to train (default blog)")
    ap.add_argument("--device", default="cuda", help="cuda (default), cpu or mps")
    ap.add_argument("--budget", type=float, default=480.0, help="seconds of training for both runs (default 480)")
    ap.add_argument("--steps", type=int, help="train this many steps a run instead of filling the budget")
    ap.add_argument("--calibrate", type=int, default=30, help="steps of the run that measures a step's time")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "gpu_check", help="folder of the records")
    args = ap.parse_args(argv)

    import torch

    from vaegan_nb import data
    from vaegan_nb.config import make_config
    from vaegan_nb.runs import RunRecord
    from vaegan_nb.training import train

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run this on a GPU machine, or pass --device cpu", file=sys.stderr)
        return 2
    base = {r: make_config(r, args.profile, device=args.device, compile="off") for r in RECIPES}
    t0 = time.perf_counter()
    split = data.load_split(base["aegan_bn"].data, progress=False)
    print(f"{len(split.train)} training frames of {split.train.shape[1:3]} in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = {}
    for recipe, cfg in base.items():
        steps = args.steps
        if steps is None:
            calib = train(make_config(recipe, args.profile, device=args.device, compile="off", steps=args.calibrate,
                                      # the run's own cadence of held-out checks, as near as a short run allows
                                      log_every=(le := max(1, min(cfg.train.log_every, args.calibrate // 3))),
                                      snapshot_every=args.calibrate // le * le), args.out / f"{recipe}_calibration",
                          progress=False, frames=split)
            per_step = _step_seconds(calib)
            every = cfg.train.log_every
            steps = max(2 * every, int(args.budget / len(RECIPES) / per_step) // every * every)
            print(f"{recipe}: {per_step * 1000:.0f} ms a step, so {steps} steps", flush=True)
        every = min(cfg.train.log_every, steps)
        cfg = make_config(recipe, args.profile, device=args.device, compile="off", steps=steps, log_every=every,
                          snapshot_every=max(every, min(cfg.train.snapshot_every, steps // 20 // every * every)))
        t0 = time.perf_counter()
        runs[recipe] = train(cfg, args.out / recipe, frames=split)
        print(f"{recipe}: {steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
    figures = readings({k: RunRecord(v.path) for k, v in runs.items()})
    (args.out / "readings.json").write_text(json.dumps(figures, indent=1) + "\n")
    for k, v in figures.items():
        print(f"{k:60s} {v}" if isinstance(v, bool) else f"{k:60s} {v:.4g}")
    print(f"wrote {args.out / 'readings.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
