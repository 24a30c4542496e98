"""Can the full profile's decoder and D make frame-like fakes at all, without an encoder?

    .venv/bin/python scripts/plain_gan_probe.py --lr 2e-4 --seed 0 --out /tmp/gan_probe.npz

A plain GAN: only sub-steps (1), (4) and (5) of the BN cheat's step (D on real frames, D and the
decoder on fakes from N(0, I)), no encoder and no feature matching. Every 100 steps it scores 64 fakes
from the fixed noise by both rulers of docs/fakes.md ("Which ruler") and keeps them in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # DCGAN's rate (Radford et al. 2016); the profile's 1e-3 serves the AE-GAN's feature matching.
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--out", type=Path, required=True, help="npz of the scored snapshots")
    args = p.parse_args(argv)
    if not args.out.parent.is_dir():
        p.error(f"--out {args.out}: no folder {args.out.parent} to write it in")

    import numpy as np
    import torch

    from vaegan_nb import data, diagnostics, recipes, samples
    from vaegan_nb.atomic import atomic_save_npz
    from vaegan_nb.config import make_config
    from vaegan_nb.evaluation import fixed_noise
    from vaegan_nb.losses import bce_logits

    torch.set_num_threads(1)
    cfg = make_config("aegan_bn", "full", seed=args.seed, lr=args.lr, num_threads=1, compile="off")
    torch.manual_seed(args.seed)
    t = recipes.build(cfg)
    split = data.load_split(cfg.data, progress=False)
    real = split.train[: diagnostics.REFERENCE_FRAMES]
    ref = diagnostics.frame_reference(real)
    real_palette = diagnostics.palette_fidelity(split.test[:64], ref)
    z = fixed_noise(64, cfg.model.latent_dim)
    steps, palette, patch, snaps = [], [], [], []
    print("| step | palette fidelity / real | patch distance |\n|---|---|---|")
    for s in range(args.steps + 1):
        if s % 100 == 0:
            t.decoder.eval()
            f = samples.decode(t, z)
            t.decoder.train()
            steps.append(s)
            snaps.append(f)
            palette.append(diagnostics.palette_fidelity(f, ref) / real_palette)
            patch.append(diagnostics.patch_distance(f, real))
            print(f"| {s} | {palette[-1]:.2f} | {patch[-1]:.4f} |", flush=True)
        if s == args.steps:
            break
        x = data.batches(split.train, cfg.train.batch_size, s, args.seed)
        # (1) Update D on real: maximise log D(x)
        t.opt_d.zero_grad(set_to_none=True)
        bce_logits(t.discriminator(x)[0], 1.0).backward()
        t.opt_d.step()
        # (4)-(5) D and G on fakes from N(0, I), as in the BN cheat
        recipes.fake_steps(t, torch.randn(len(x), cfg.model.latent_dim))
    atomic_save_npz(args.out, steps=np.array(steps), palette=np.array(palette), patch=np.array(patch),
                    frames=np.stack(snaps))
    best = int(np.argmax(palette))
    print(f"\npalette peak {palette[best]:.2f} at step {steps[best]}, patch distance there {patch[best]:.4f}; "
          f"nearest by patch distance {min(patch):.4f} at step {steps[int(np.argmin(patch))]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
