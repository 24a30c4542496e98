"""Issue 34's probe of D's hidden width: the BN cheat with the blog's 512 hidden units, beside the profile's.

    .venv/bin/python scripts/claim9_probe.py                 # seeds 0 and 1, each probe beside its control
    .venv/bin/python scripts/claim9_probe.py --seeds 2 3 4   # more seeds, after the rule said so

The decision rule was written in docs/fakes.md ("Claim 9 decided") before these runs. The probe goes to
data/runs/probes/disc_hidden512/seed<S>; the control is the profile's own BN cheat of the same seed,
written where ``make phenomena`` keeps it (scripts/claims_full.py), so it is never trained twice.
Each seed's probe and control train side by side, one thread each, so their step costs compare.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = ROOT / "data" / "runs" / "probes" / "disc_hidden512"
HIDDEN = 512  # the blog's D hidden width (shared/BLOG.md); the profile's is 256


def jobs(seeds):
    from claims_full import config_for, seed_dir

    from vaegan_nb.config import make_config

    out = []
    for s in seeds:  # probe and control of one seed side by side
        out.append((make_config("aegan_bn", "full", seed=s, model__disc_hidden=HIDDEN), PROBE / f"seed{s}"))
        out.append((config_for("aegan_bn", s), seed_dir(s) / "aegan_bn"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    from vaegan_nb.parallel import train_side_by_side

    train_side_by_side(jobs(args.seeds), workers=2, longest_first=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
