"""Two rulers for "looks like a frame", read on real frames made worse on purpose and on fakes.

    .venv/bin/python scripts/fake_rulers.py data/runs/full/aegan_bn --probe /tmp/gan_probe.npz

Rows: real held-out frames of the full profile; the same frames blurred (Gaussian, sigma in pixels)
or with Gaussian noise (sd in 8-bit levels); a flat grey batch and the mean frame; for each RUN, the
fixed-noise fakes of its timelapse where their palette fidelity peaks and at the end; for each
``--probe`` (scripts/plain_gan_probe.py), its fakes at the palette peak. Columns: palette fidelity
over real held-out frames' (claim 9 asks for 0.7), the patch distance to the training frames (lower
is closer), and how many hue bins and families of neighbouring bins a frame covers on average. The table in docs/fakes.md ("Which ruler") comes
from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BLURS = (0.5, 0.7, 1.0)
NOISES = (4, 8, 16)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", type=Path, help="run directories with a timelapse (full profile)")
    p.add_argument("--probe", nargs="*", type=Path, default=[], help="npz files of scripts/plain_gan_probe.py")
    args = p.parse_args(argv)
    for npz in args.probe:
        if not npz.is_file():
            p.error(f"{npz}: no such file (scripts/plain_gan_probe.py --out writes one)")

    import numpy as np

    from vaegan_nb import data, diagnostics
    from vaegan_nb.config import make_config
    from vaegan_nb.runs import RunRecord

    full_data = make_config("aegan_bn", "full").data
    split = data.load_split(full_data, progress=False)
    real, test = split.train[: diagnostics.REFERENCE_FRAMES], split.test[:64]
    ref = diagnostics.frame_reference(real)
    real_palette = diagnostics.palette_fidelity(test, ref)
    rng = np.random.default_rng(0)
    rows = [("real held-out frames", test)]
    rows += [(f"real, blurred (sigma {s:g} px)", diagnostics.gaussian_blur(test, s)) for s in BLURS]
    rows += [(f"real, noise (sd {n})", (test + rng.normal(0, n, test.shape)).round().clip(0, 255).astype(np.uint8))
             for n in NOISES]
    rows += [("flat grey", np.full_like(test, 128)),
             ("the mean frame", np.broadcast_to(real.mean(0).round().astype(np.uint8), test.shape))]
    for run in args.runs:
        rec = RunRecord(run)
        if rec.config.data != full_data:
            raise SystemExit(f"{run}: not the full profile's data; its fakes cannot be read against these frames")
        tl = rec.timelapse()
        best = int(np.argmax([diagnostics.palette_fidelity(f, ref) for f in tl["frames"]]))
        rows += [(f"{run}: fakes at the palette peak (step {tl['steps'][best]})", tl["frames"][best]),
                 (f"{run}: fakes at the end (step {tl['steps'][-1]})", tl["frames"][-1])]
    for npz in args.probe:
        pr = np.load(npz)
        best = int(np.argmax(pr["palette"]))
        rows.append((f"{npz.name}: plain GAN at the palette peak (step {pr['steps'][best]})", pr["frames"][best]))

    print("| batch | palette fidelity / real | patch distance | hue bins per frame | hue families per frame |")
    print("|---|---|---|---|---|")
    for name, f in rows:
        print(f"| {name} | {diagnostics.palette_fidelity(f, ref) / real_palette:.2f} | "
              f"{diagnostics.patch_distance(f, real):.4f} | {diagnostics.hue_spread(f).mean():.1f} | "
              f"{diagnostics.hue_families(f).mean():.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
