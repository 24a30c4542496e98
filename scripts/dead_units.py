"""How many of D's hidden ReLU units survive the first steps: the measurement behind scaling rule 3.

    .venv/bin/python scripts/dead_units.py --hidden 64 256 --seeds 16 --steps 80

Trains short full-profile runs (one thread, no compile, in a temporary folder) of the mistaken VAE-GAN
and the BN cheat, then counts the hidden units of D that fire on at least one of 64 held-out frames
(``scaling.live_hidden_share``). A run whose count is zero has lost its discriminator for good.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(recipe: str, hidden: int, seed: int, steps: int) -> float:
    from vaegan_nb import data, scaling
    from vaegan_nb.config import make_config
    from vaegan_nb.training import load_trained, train

    cfg = make_config(recipe, "full", seed=seed, steps=steps, disc_hidden=hidden, compile="off",
                      log_every=steps, snapshot_every=steps, checkpoint_every=steps)
    with tempfile.TemporaryDirectory() as d:
        train(cfg, d, progress=False)
        disc = load_trained(d).discriminator
    return scaling.live_hidden_share(disc, data.load_split(cfg.data, progress=False).test[:64])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 256])
    p.add_argument("--seeds", type=int, default=16, help="seeds 0 .. N-1")
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--recipes", nargs="+", default=["vaegan", "aegan_bn"])
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    print("| recipe | D hidden units | seeds | all dead | live share min / median / max |")
    print("|---|---|---|---|---|")
    for recipe in a.recipes:
        for hidden in a.hidden:
            live = [measure(recipe, hidden, s, a.steps) for s in range(a.seeds)]
            print(f"| {recipe} | {hidden} | {len(live)} | {sum(v == 0 for v in live)} | "
                  f"{min(live):.2f} / {statistics.median(live):.2f} / {max(live):.2f} |", flush=True)


if __name__ == "__main__":
    main()
