"""Independent runs side by side against one at a time: training throughput on this machine's cores.

One at a time is how ``nb.run`` trains: each run in the notebook's process, on torch's default
thread count. Side by side is ``nb.run_all`` (``parallel.train_side_by_side``): one process and one
thread per run. Both train the same full-profile GAN runs (two seeds, 400 steps each, no compile),
so the ratio of their throughputs (steps per second over all runs) is what side by side buys. The
start of each process (a few seconds to import torch and draw the frames) is counted, as a notebook
pays it; runs much shorter than 400 steps measure mostly that. So each run's cost per step is also
read from its record, between the logged steps at 20% and 100% of the run: warm-up left out, in a run
of this length. Later steps of a long run can cost more (docs/performance.md, "On CI's CPU").

    python benchmarks/bench_parallel.py [--steps 400] [--recipe vaegan] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_io import save_json  # noqa: E402

from vaegan_nb.config import make_config  # noqa: E402
from vaegan_nb.parallel import train_side_by_side, workers_for  # noqa: E402
from vaegan_nb.runs import RunRecord  # noqa: E402
from vaegan_nb.training import train  # noqa: E402


def ms_per_step(run_dir: Path, skip: float = 0.2) -> float:
    """Milliseconds a step between the first logged step at or after ``skip`` of the run and its last.

    Side by side, a run that ends last trains its final steps alone, a little faster, inside this window.
    """
    m = RunRecord(run_dir).metrics()
    ok = np.isfinite(m["wall_s"])
    steps, wall = m["step"][ok], m["wall_s"][ok]
    i = int((steps >= skip * steps[-1]).argmax())
    if i >= len(steps) - 1:
        raise ValueError(f"{run_dir}: too few logged steps to time after warm-up ({len(steps)})")
    return 1000 * (wall[-1] - wall[i]) / (steps[-1] - steps[i])


def run(recipe: str = "vaegan", steps: int = 400, batch_size: int | None = None) -> dict:
    n = max(2, workers_for(os.cpu_count() or 1))
    batch = {} if batch_size is None else {"batch_size": batch_size}  # None: the profile's
    cfgs = [make_config(recipe, "full", seed=s, steps=steps, compile="off", checkpoint_every=10 * steps,
                        snapshot_every=steps, **batch) for s in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for i, cfg in enumerate(cfgs):
            train(cfg, Path(tmp) / f"alone{i}", progress=False)
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        train_side_by_side([(cfg, Path(tmp) / f"side{i}") for i, cfg in enumerate(cfgs)], workers=n,
                           progress=False)
        side = time.perf_counter() - t0
        alone_ms = [ms_per_step(Path(tmp) / f"alone{i}") for i in range(n)]
        side_ms = [ms_per_step(Path(tmp) / f"side{i}") for i in range(n)]
    total = steps * len(cfgs)
    return {"recipe": recipe, "runs": len(cfgs), "steps_per_run": steps, "batch_size": cfgs[0].train.batch_size,
            "threads_one_at_a_time": torch.get_num_threads(),
            "workers_side_by_side": n, "one_at_a_time_s": alone, "side_by_side_s": side,
            "steps_per_s_one_at_a_time": total / alone, "steps_per_s_side_by_side": total / side,
            "ratio": alone / side, "ms_per_step_one_at_a_time": alone_ms, "ms_per_step_side_by_side": side_ms,
            # n runs step at once side by side, so its throughput per step is n / (their mean cost)
            "ratio_per_step": sum(alone_ms) / sum(side_ms) * n}


def table(r: dict) -> str:
    return (f"{r['runs']} {r['recipe']} runs of {r['steps_per_run']} steps at batch {r['batch_size']}: one at a time "
            f"({r['threads_one_at_a_time']} threads) {r['one_at_a_time_s']:.0f} s, "
            f"{r['steps_per_s_one_at_a_time']:.2f} steps/s; side by side ({r['workers_side_by_side']} processes, "
            f"1 thread each) {r['side_by_side_s']:.0f} s, {r['steps_per_s_side_by_side']:.2f} steps/s; "
            f"{r['ratio']:.2f}x\n"
            f"  per step after warm-up (20%-100% of each run): one at a time "
            f"{', '.join(f'{ms:.0f}' for ms in r['ms_per_step_one_at_a_time'])} ms, side by side "
            f"{', '.join(f'{ms:.0f}' for ms in r['ms_per_step_side_by_side'])} ms; {r['ratio_per_step']:.2f}x")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="vaegan")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=None, help="default: the full profile's")
    p.add_argument("--json", type=Path, default=ROOT / "out" / "bench_parallel.json")
    a = p.parse_args()
    r = run(a.recipe, a.steps, a.batch_size)
    print(table(r))
    save_json(r, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
