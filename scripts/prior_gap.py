"""How much of the fakes' failure to look like frames is the prior's gap, on finished BN-cheat runs.

    .venv/bin/python scripts/prior_gap.py data/runs/full/aegan_bn data/runs/seeds/full/seed*/aegan_bn

For each run record, at its last checkpoint: the palette fidelity (over real held-out frames') of 64
fakes from the fixed noise, of the same noise moved onto a Gaussian fitted to the training codes, and
of 64 reconstructions, the codes' mean |z|/sqrt(d) and how many directions they spread over
(``prior_gap.prior_gap``); then how many hue bins the same three batches cover per frame. The table in
docs/fakes.md comes from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="finished run directories of an encoder-decoder GAN")
    args = p.parse_args(argv)

    import torch

    from vaegan_nb import data, diagnostics, prior_gap
    from vaegan_nb.runs import RunRecord
    from vaegan_nb.training import load_trained

    torch.set_num_threads(1)
    hues = {}
    print("| run | " + " | ".join(prior_gap.ROWS) + " | codes' \\|z\\| / sqrt(d) | codes' effective dimensions |")
    print("|---|---|---|---|---|---|")
    for run in args.runs:
        rec = RunRecord(run)
        split = data.load_split(rec.config.data, progress=False)
        codes, batches = prior_gap.decoded(load_trained(rec), split.train, split.test)
        gap = prior_gap.scores(codes, batches, split.train, split.test)
        dims = gap.pop("codes' effective dimensions")
        print(f"| {run} | " + " | ".join(f"{v:.2f}" for v in gap.values()) + f" | {dims:.1f} |", flush=True)
        hues[run] = [diagnostics.hue_spread(f).mean() for f in (split.test[:64], *batches.values())]
    print("\nHue bins per frame (diagnostics.hue_spread):\n")
    print("| run | real held-out frames | " + " | ".join(prior_gap.ROWS) + " |\n|---|---|---|---|---|")
    for run, row in hues.items():
        print(f"| {run} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
