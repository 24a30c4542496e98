"""Issue 34's probe of D's hidden width: the BN cheat with the blog's 512 hidden units, beside the profile's.

    .venv/bin/python scripts/claim9_probe.py                 # seeds 0 and 1, each probe beside its control
    .venv/bin/python scripts/claim9_probe.py --seeds 2 3 4   # more seeds, after the rule said so
    .venv/bin/python scripts/claim9_probe.py --read          # the rule's figures for every finished pair

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


WINDOW = (0.2, 0.8)  # the share of the run whose steps are timed: past warm-up, both runs still side by side


def ms_per_step(rec) -> float:
    """Milliseconds a step over the steps in WINDOW of the run."""
    import numpy as np

    m = rec.metrics()
    ok = np.isfinite(m["wall_s"])
    steps, wall = m["step"][ok], m["wall_s"][ok]
    total = steps[-1]
    a, b = (int(np.argmin(np.abs(steps - f * total))) for f in WINDOW)
    return 1000 * (wall[b] - wall[a]) / (steps[b] - steps[a])


def read(seeds) -> None:
    """For each seed whose probe and control are finished: claim 9's reading, claims 7 and 8's figures, and
    the step cost of the probe over the control's."""
    from vaegan_nb import claims
    from vaegan_nb.runs import RunRecord

    pairs = jobs(seeds)
    for (_, probe_dir), (_, control_dir), s in zip(pairs[::2], pairs[1::2], seeds, strict=True):
        recs = {}
        for name, d in (("probe", probe_dir), ("control", control_dir)):
            if (d / "config.json").is_file() and RunRecord(d).finished:
                recs[name] = RunRecord(d)
        if len(recs) < 2:
            print(f"seed {s}: not finished")
            continue
        for name, rec in recs.items():
            c9 = claims.likeness_reading(rec)
            c8 = claims.final(rec, "pixel_test") / claims.mean_frame_mse(rec)
            print(f"seed {s} {name:7s}: claim 9 {'met' if claims.read_claim(claims.claim(9), {'aegan_bn': rec}).ok else 'not met'}; "
                  + "; ".join(f"{k} {v:.3g}" for k, v in c9.items())
                  + f"; batch KLD max {claims.peak(rec, 'kld_batch'):.3f}; pixel_test / mean frame {c8:.3f}; "
                  f"{ms_per_step(rec):.0f} ms a step", flush=True)
        print(f"seed {s}: probe's step cost / control's {ms_per_step(recs['probe']) / ms_per_step(recs['control']):.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    ap.add_argument("--read", action="store_true", help="read the finished pairs, train nothing")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    if args.read:
        read(args.seeds)
        return 0
    from vaegan_nb.parallel import train_side_by_side

    train_side_by_side(jobs(args.seeds), workers=2, longest_first=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
