"""Claim 9's ruler against the eye: one picture of batches that do and do not look like frames.

    .venv/bin/python scripts/ruler_gallery.py data/runs/full/aegan_bn --probe plain_gan.npz -o docs/img/ruler_gallery.png

Rows: real held-out frames of the full profile; the same frames blurred (Gaussian, sigma in pixels) and
with Gaussian noise (sd in 8-bit levels); flat grey and the mean frame; the plain GAN of
scripts/plain_gan_probe.py (``--probe``) where its fakes come nearest to passing; and the BN cheat's
fixed-noise fakes (RUN) at 10% of its run and at its end. Each is scored whole (64 frames) by
``diagnostics.frame_likeness`` against the run's held-out frames and training frames, as claim 9 reads
it (``claims.real_frames_for_likeness``); docs/fakes.md shows the picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLURS = (0.5, 0.7, 1.0)
NOISES = (8, 16)


def _nearest(frames, real, bars):
    """The index of the batch that comes nearest to passing both bars."""
    from vaegan_nb import diagnostics

    return min(range(len(frames)), key=lambda i: diagnostics.likeness_margin(
        diagnostics.frame_likeness(frames[i], real, bars)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="a full-profile BN-cheat run directory")
    p.add_argument("--probe", type=Path, help="npz of scripts/plain_gan_probe.py")
    p.add_argument("-o", "--out", type=Path, required=True, help="the PNG to write")
    args = p.parse_args(argv)
    if args.probe is not None and not args.probe.is_file():
        p.error(f"{args.probe}: no such file (scripts/plain_gan_probe.py --out writes one)")

    import numpy as np

    from vaegan_nb import claims, data, diagnostics, plots
    from vaegan_nb.runs import RunRecord

    rec = RunRecord(args.run)
    train, test = data.load_frames(rec.config.data)
    real = claims.real_frames_for_likeness(rec, 64)
    bars = diagnostics.likeness_bars(real, 64)
    other = test[64:128]  # real held-out frames that are not the yardstick
    rng = np.random.default_rng(0)
    rows = [("real held-out frames", other)]
    rows += [(f"real, blurred {s:g} px", diagnostics.gaussian_blur(other, s)) for s in BLURS]
    rows += [(f"real, noise sd {n}", (other + rng.normal(0, n, other.shape)).round().clip(0, 255).astype(np.uint8))
             for n in NOISES]
    rows += [("flat grey", np.full_like(other, 128)),
             ("the mean frame", np.broadcast_to(train.mean(0).round().astype(np.uint8), other.shape))]
    if args.probe is not None:
        pr = np.load(args.probe)
        i = _nearest(pr["frames"], real, bars)
        rows.append((f"plain GAN, step {pr['steps'][i]}", pr["frames"][i]))
    tl = rec.timelapse()
    early = int(np.argmin(np.abs(tl["steps"] - 0.1 * tl["steps"][-1])))
    rows += [(f"BN cheat, step {tl['steps'][early]}", tl["frames"][early]),
             (f"BN cheat, step {tl['steps'][-1]}", tl["frames"][-1])]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plots.likeness_gallery(rows, real).savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
