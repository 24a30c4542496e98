"""The decoder's tug of war at the end of finished GAN runs, beside how well each reconstructs.

    .venv/bin/python scripts/decoder_pulls.py data/runs/full/aegan_bn data/runs/seeds/full/seed*/aegan_bn

For each run record: the gradient norm of each decoder objective on 64 of its training frames, at its
last checkpoint (``pulls.decoder_pulls``), feature matching's share, and the held-out pixel error at
the end over the mean frame's. The table in docs/scaling.md ("The decoder's tug of war") comes from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="finished GAN run directories")
    args = p.parse_args(argv)

    import torch

    from vaegan_nb import claims, data, pulls
    from vaegan_nb.runs import RunRecord
    from vaegan_nb.training import load_trained

    torch.set_num_threads(1)
    print("| run | D channels | hidden | adv. recon | adv. fakes | feature matching | FM share | pixel_test / mean frame |")
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        rec = RunRecord(run)
        cfg = rec.config
        x = data.to_tensor(data.load_split(cfg.data, progress=False).train[:64])
        pl = pulls.decoder_pulls(load_trained(rec), x, fakes=cfg.train.fakes)
        pl = {k: pl.get(k, float("nan")) for k in pulls.PULLS}  # a run without fakes: no pull from them
        err = claims.final(rec, "pixel_test") / claims.mean_frame_mse(rec)
        m = cfg.model
        print(f"| {run} | {'-'.join(map(str, m.disc_channels))} | {m.disc_hidden} | "
              + " | ".join(f"{v:.1f}" for v in pl.values())
              + f" | {pulls.feature_matching_share(pl):.2f} | {err:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
