"""Where a VAE-GAN's KLD comes from, on finished run records: codes far out, or narrow posteriors.

    .venv/bin/python scripts/kld_parts.py data/runs/full/vaegan_beta0.1 data/runs/full/vaegan

For each run, at its last checkpoint, on its held-out frames: the KLD per dimension split by
``losses.kld_parts`` into the codes' common offset (their centroid), their spread around it, and the
posteriors' narrowness, with the median posterior standard deviation. The tables in
docs/beta_sweep.md come from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories of a variational recipe")
    args = p.parse_args(argv)

    import torch

    from vaegan_nb import data
    from vaegan_nb.errors import UserError
    from vaegan_nb.losses import kld_parts
    from vaegan_nb.runs import RunRecord
    from vaegan_nb.training import load_trained

    torch.set_num_threads(1)
    print("| run | steps | beta | KLD / dim | codes' offset | codes' spread | narrow posteriors | median sigma |")
    print("|---|---|---|---|---|---|---|---|")
    failed = 0
    for run in args.runs:
        try:
            rec = RunRecord(run)
            cfg = rec.config
            if not rec.checkpoint_path.exists():
                raise UserError(f"{run}: no checkpoint to encode with (a committed reference record keeps none)")
            trainee = load_trained(rec)
            if not trainee.encoder.variational:
                raise UserError(f"{run}: its encoder has no posterior (the BN cheat); give a run of a variational recipe")
        except UserError as e:  # say which run and go on with the others
            print(f"skipping {e}", file=sys.stderr)
            failed = 1
            continue
        test = data.load_split(cfg.data, progress=False).test
        x = data.to_tensor(test)
        with torch.no_grad():
            mean, logvar = trainee.encoder(x)
        offset, spread, narrow = kld_parts(mean, logvar)
        sigma = (0.5 * logvar).exp().median()
        print(f"| {run} | {cfg.train.steps} | {cfg.train.beta:g} | {offset + spread + narrow:.2f} | {offset:.2f} | "
              f"{spread:.2f} | {narrow:.2f} | {sigma:.3f} |", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
