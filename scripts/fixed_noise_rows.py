"""Draw the same fixed-noise samples of one run at several steps, a row block per step (docs' pictures).

    .venv/bin/python scripts/fixed_noise_rows.py data/runs/reference/aegan_bn_lr1e-4_seed0 \\
        --steps 4500 11500 23000 30000 -o docs/img/bn_blog_pace_seed0.png

made docs/img/bn_blog_pace_seed0.png (docs/fakes.md, "Experiment 2") from the full timelapse of the BN
cheat at the blog's pace, which is git-ignored; the committed record keeps every 1,500 steps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--steps", type=int, nargs="+", required=True, help="snapshots to draw (each must be logged)")
    ap.add_argument("--samples", type=int, default=16, help="samples per step (default 16: two rows of 8)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    a = ap.parse_args(argv)

    from vaegan_nb import plots
    from vaegan_nb.runs import RunRecord

    tl = RunRecord(a.run).timelapse()
    missing = [s for s in a.steps if s not in set(tl["steps"].tolist())]
    if missing:
        ap.error(f"{a.run}: no snapshot at step(s) {missing}; it has {tl['steps'][0]}..{tl['steps'][-1]}")
    rows = [tl["frames"][int(np.searchsorted(tl["steps"], s))][: a.samples] for s in a.steps]
    steps = " / ".join(f"{s:,}" for s in a.steps)
    fig = plots.sample_grid(np.concatenate(rows), f"{a.run.name}: the same {a.samples} fixed codes at steps {steps}",
                            nrow=8)
    fig.savefig(a.output, dpi=110, bbox_inches="tight")
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
