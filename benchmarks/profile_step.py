"""Where a full-profile GAN step spends its time: per sub-step, and kernels against everything else.

torch.profiler records one training step of the loop's own code (``recipes.step``) after a warm-up.
Each sub-step of the blog's recipe ends with its optimizer step, so the gaps between the ends of
consecutive ``Optimizer.step`` events are the sub-steps' wall times. Within the step, "kernels" is
the self time of the compute ops (convolutions, matmuls, batch norm, their backward passes) and
"other ATen" the self time of every other op (elementwise, views, copies, the optimizers' small
ops); what is left of the wall time ran outside ATen: Python, dispatch and autograd bookkeeping.

    python benchmarks/profile_step.py [--recipe vaegan] [--threads 1] [--steps 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaegan_nb import data, recipes  # noqa: E402
from vaegan_nb.config import make_config  # noqa: E402

SUBSTEPS = {  # the order of optimizer steps in recipes.gan_step, one per sub-step
    "vaegan": ["(1) D on real", "(2) D on recon", "(3) G on recon", "(4) D on fakes", "(5) G on fakes",
               "(6) feature matching: G", "(6) feature matching: E", "(7) KLD: E"],
    "vaegan_decoder_fm": ["(1) D on real", "(2) D on recon", "(3) G on recon", "(4) D on fakes",
                          "(5) G on fakes", "(6) feature matching: G", "(7) KLD: E"],
    "aegan_bn": ["(1) D on real", "(2) D on recon", "(3) G on recon", "(4) D on fakes", "(5) G on fakes",
                 "(6) feature matching: G", "(6) feature matching: E"],
}


def substeps(recipe: str, fakes: bool) -> list[str]:
    """The recipe's optimizer steps in order; without fakes, sub-steps (4) and (5) do not run."""
    return [n for n in SUBSTEPS.get(recipe, []) if fakes or "fakes" not in n]


COMPUTE = ("conv", "mm", "addmm", "linear", "batch_norm", "mkldnn", "matmul", "bmm")


def is_compute(name: str) -> bool:
    return any(k in name for k in COMPUTE)


def profile_steps(recipe: str, threads: int, steps: int, warmup: int = 5, profile_name: str = "full") -> dict:
    """The sub-steps' and the categories' median milliseconds over ``steps`` profiled steps."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _profile(recipe, steps, warmup, profile_name) | {"threads": threads}
    finally:
        torch.set_num_threads(before)  # the caller's setting (a test's, the benchmark's) stays its own


def _profile(recipe: str, steps: int, warmup: int, profile_name: str) -> dict:
    cfg = make_config(recipe, profile_name, compile="off")
    t_cfg = cfg.train
    frames = data.turf_frames(4 * t_cfg.batch_size, cfg.data.height, cfg.data.width, seed=1)
    torch.manual_seed(0)
    trainee = recipes.build(cfg)
    fmt = recipes.speed_up(trainee, t_cfg.channels_last, compile=False)

    def one(i):
        x = data.batches(frames, t_cfg.batch_size, i, t_cfg.seed).to(memory_format=fmt)
        recipes.step(recipe, trainee, x, t_cfg.beta, t_cfg.recon_reduction, t_cfg.recon_weight,
                     t_cfg.kld_reduction, t_cfg.fakes, metrics=False)

    for i in range(warmup):
        one(i)
    walls, subs, kernel, other, adam = [], [], [], [], []
    for i in range(steps):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with torch.profiler.record_function("step"):
                one(warmup + i)
        events = prof.events()
        step = next(e for e in events if e.name == "step")
        t0, t1 = step.time_range.start, step.time_range.end
        ends = sorted(e.time_range.end for e in events if e.name.startswith("Optimizer.step#"))
        marks = [t0, *ends]
        subs.append([(b - a) / 1e3 for a, b in zip(marks, marks[1:], strict=False)])
        walls.append((t1 - t0) / 1e3)
        ops = [e for e in events if e.name.startswith("aten::")]
        kernel.append(sum(e.self_cpu_time_total for e in ops if is_compute(e.name)) / 1e3)
        other.append(sum(e.self_cpu_time_total for e in ops if not is_compute(e.name)) / 1e3)
        adam.append(sum(e.cpu_time_total for e in events if e.name.startswith("Optimizer.step#")) / 1e3)
    med = statistics.median
    per_sub = [med(s[k] for s in subs) for k in range(len(subs[0]))]
    names = substeps(recipe, t_cfg.fakes)
    names = names if len(names) == len(per_sub) else [str(k) for k in range(len(per_sub))]
    return {"recipe": recipe, "steps": steps, "wall_ms": med(walls),
            "kernels_ms": med(kernel), "other_aten_ms": med(other), "adam_ms": med(adam),
            "substeps": list(zip(names, per_sub, strict=True))}


def table(r: dict) -> str:
    w = r["wall_ms"]
    outside = w - r["kernels_ms"] - r["other_aten_ms"]
    lines = [f"{r['recipe']}, full profile, {r['threads']} thread(s), median of {r['steps']} steps: {w:.1f} ms",
             "", "| sub-step | ms | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {ms:.1f} | {100 * ms / w:.0f}% |" for name, ms in r["substeps"]]
    lines += ["", "| where | ms | share |", "|---|---:|---:|",
              f"| compute kernels (conv, matmul, batch norm; forward and backward) | {r['kernels_ms']:.1f} | "
              f"{100 * r['kernels_ms'] / w:.0f}% |",
              f"| other ATen ops (elementwise, copies, views, optimizer arithmetic) | {r['other_aten_ms']:.1f} | "
              f"{100 * r['other_aten_ms'] / w:.0f}% |",
              f"| outside ATen (Python, dispatch, autograd engine) | {outside:.1f} | {100 * outside / w:.0f}% |",
              f"| of which inside the Adam steps (all ops) | {r['adam_ms']:.1f} | {100 * r['adam_ms'] / w:.0f}% |"]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="vaegan", choices=sorted(SUBSTEPS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    a = p.parse_args()
    print(table(profile_steps(a.recipe, a.threads, a.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
