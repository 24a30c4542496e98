"""How far one Adam step moves each network's output, in a profile and in the original.

    .venv/bin/python scripts/network_speeds.py                      # full and blog, seeds 0 and 1
    .venv/bin/python scripts/network_speeds.py --profiles full --seeds 0 1 2 3
    .venv/bin/python scripts/network_speeds.py --profiles full --set lr_factor_encoder=2 disc_hidden=512

Trains the first steps of the mistaken VAE-GAN from initialisation (one thread, no compile) and prints
``scaling.network_speeds`` per seed: the codes' change per coordinate, the decoder's change per pixel
and the relative change of D's features, per step. The blog profile (65x121 frames, the original's
widths) takes about half a minute a step on one CPU core. docs/scaling.md, "Compressed in time", has
the figures.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", nargs="*", default=["full", "blog"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="config overrides (Python literals)")
    args = ap.parse_args(argv)

    import torch

    from vaegan_nb import scaling
    from vaegan_nb.config import make_config

    torch.set_num_threads(1)
    overrides = {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    for profile in args.profiles:
        rows = []
        for seed in args.seeds:
            cfg = make_config("vaegan", profile, seed=seed, n_train=512, n_test=64, compile="off", **overrides)
            s = scaling.network_speeds(cfg, steps=args.steps)
            rows.append(s)
            print(f"{profile} seed {seed}: encoder {s['encoder']:.3f}  decoder {s['decoder']:.3f}  "
                  f"disc {s['disc']:.3f}  (lr {cfg.train.lr:g}, encoder x{cfg.train.lr_factor_encoder:g}, "
                  f"D x{cfg.train.lr_factor_disc:g})", flush=True)
        mean = {k: statistics.mean(r[k] for r in rows) for k in rows[0]}
        print(f"{profile} mean: " + "  ".join(f"{k} {v:.3f}" for k, v in mean.items())
              + f"  | encoder/decoder {mean['encoder'] / mean['decoder']:.2f}, disc/decoder {mean['disc'] / mean['decoder']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
