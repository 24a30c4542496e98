"""Training-step speed: our step against the reference trainer, in one process, interleaved.

For each recipe, three trainees start from the same weights: the reference (benchmarks/reference_step.py,
the original's structure), ours as the training loop runs it (channels-last, and torch.compile where
``compile="auto"`` turns it on), and ours in eager mode. Each round runs one step of each, in a
rotating order, so that drift in the machine's speed hits all three alike; the medians are compared
as ratios. Also: images/s, and the FLOP/s achieved against this CPU's measured matmul peak.

    python benchmarks/bench_step.py [--profile full] [--rounds 15] [--recipes vaegan aegan_bn]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_io import save_json  # noqa: E402
from reference_step import reference_step  # noqa: E402

from vaegan_nb import data, recipes  # noqa: E402
from vaegan_nb.config import RECIPES, make_config  # noqa: E402
from vaegan_nb.training import pick_device  # noqa: E402

WARMUP = 3  # steps before timing: allocator caches, oneDNN primitive caches, compilation


def matmul_peak_gflops(device: torch.device, n: int = 2048, reps: int = 8) -> float:
    """Best float32 GFLOP/s of an n x n matmul: the ceiling convolutions are measured against."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(reps):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def step_flops(recipe: str, cfg, x: torch.Tensor, reference: bool) -> int:
    """FLOPs of one training step (forward and backward matmuls and convolutions), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    t = recipes.build(cfg, x.device)
    counter = FlopCounterMode(display=False)
    with counter:
        if reference:
            reference_step(recipe, t, x, cfg.train.beta, cfg.train.recon_reduction, cfg.train.recon_weight,
                           cfg.train.kld_reduction, cfg.train.fakes)
        else:
            recipes.step(recipe, t, x, cfg.train.beta, cfg.train.recon_reduction, cfg.train.recon_weight,
                         cfg.train.kld_reduction, cfg.train.fakes, metrics=False)
    return int(counter.get_total_flops())


def bench_recipe(recipe: str, profile: str, rounds: int, device: torch.device, warmup: int = WARMUP) -> dict:
    cfg = make_config(recipe, profile, device=device.type)
    t_cfg = cfg.train
    frames = data.turf_frames(max(4 * t_cfg.batch_size, 64), cfg.data.height, cfg.data.width, seed=1)
    compiled = recipes.compile_pays(t_cfg.compile, t_cfg.steps, device)

    contenders = {}
    for name in ("reference", "ours", "ours_eager"):
        torch.manual_seed(0)
        t = recipes.build(cfg, device)
        fmt = torch.contiguous_format
        if name != "reference":
            fmt = recipes.speed_up(t, t_cfg.channels_last, compile=compiled and name == "ours")
        contenders[name] = (t, fmt)

    def one(name: str, i: int) -> float:
        t, fmt = contenders[name]
        x = data.batches(frames, t_cfg.batch_size, i, t_cfg.seed).to(device, memory_format=fmt)
        _sync(device)
        t0 = time.perf_counter()
        if name == "reference":
            reference_step(recipe, t, x, t_cfg.beta, t_cfg.recon_reduction, t_cfg.recon_weight, t_cfg.kld_reduction,
                           t_cfg.fakes)
        else:
            out = recipes.step(recipe, t, x, t_cfg.beta, t_cfg.recon_reduction, t_cfg.recon_weight,
                               t_cfg.kld_reduction, t_cfg.fakes, metrics=(i + 1) % t_cfg.log_every == 0)
            if out:  # the loop reads logged metrics on the host, so the timing should too
                {k: float(v) for k, v in out.items()}
        _sync(device)
        return time.perf_counter() - t0

    first = {}
    for name in contenders:
        first[name] = one(name, 0)  # includes compiling, for "ours" where it compiles
        for i in range(1, warmup):
            one(name, i)
    times = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        for name in names[r % 3:] + names[: r % 3]:
            times[name].append(one(name, warmup + r))
    med = {name: statistics.median(ts) for name, ts in times.items()}

    x = data.batches(frames, t_cfg.batch_size, 0, t_cfg.seed).to(device)
    flops = {"ours": step_flops(recipe, cfg, x, reference=False), "reference": step_flops(recipe, cfg, x, reference=True)}
    return {
        "recipe": recipe, "profile": profile, "batch": t_cfg.batch_size, "rounds": rounds, "compiled": compiled,
        "ms_reference": 1e3 * med["reference"], "ms_ours": 1e3 * med["ours"], "ms_ours_eager": 1e3 * med["ours_eager"],
        "ratio": med["reference"] / med["ours"], "ratio_eager": med["reference"] / med["ours_eager"],
        "images_per_s_ours": t_cfg.batch_size / med["ours"], "images_per_s_reference": t_cfg.batch_size / med["reference"],
        "first_step_s_ours": first["ours"],
        "gflop_per_step_ours": flops["ours"] / 1e9, "gflop_per_step_reference": flops["reference"] / 1e9,
        "gflops_ours": flops["ours"] / med["ours"] / 1e9,
    }


def run(profile: str = "full", rounds: int = 15, recipe_names=RECIPES, device: str = "auto",
        warmup: int = WARMUP) -> dict:
    dev = pick_device(device)
    peak = matmul_peak_gflops(dev)
    rows = []
    for r in recipe_names:
        row = bench_recipe(r, profile, rounds, dev, warmup)
        row["peak_share"] = row["gflops_ours"] / peak
        rows.append(row)
        print(f"  {r}: reference {row['ms_reference']:.0f} ms, ours {row['ms_ours']:.0f} ms "
              f"(eager {row['ms_ours_eager']:.0f}), ratio {row['ratio']:.2f}", flush=True)
    return {"device": dev.type, "profile": profile, "torch_threads": torch.get_num_threads(),
            "matmul_peak_gflops": peak, "steps": rows}


def table(result: dict) -> str:
    head = (f"{'recipe':<18} {'ref ms':>7} {'ours ms':>8} {'eager ms':>9} {'ratio':>6} {'eager':>6} "
            f"{'img/s':>6} {'GFLOP/step':>10} {'GFLOP/s':>8} {'of peak':>7}")
    lines = [f"matmul peak {result['matmul_peak_gflops']:.0f} GFLOP/s ({result['device']}, "
             f"{result['torch_threads']} threads)", head]
    for r in result["steps"]:
        lines.append(
            f"{r['recipe']:<18} {r['ms_reference']:>7.0f} {r['ms_ours']:>8.0f} {r['ms_ours_eager']:>9.0f} "
            f"{r['ratio']:>5.2f}x {r['ratio_eager']:>5.2f}x {r['images_per_s_ours']:>6.1f} "
            f"{r['gflop_per_step_ours']:>10.2f} {r['gflops_ours']:>8.1f} {100 * r['peak_share']:>6.0f}%"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="full")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    p.add_argument("--device", default="auto")
    p.add_argument("--warmup", type=int, default=WARMUP, help="untimed steps first (the first one compiles)")
    p.add_argument("--json", type=Path, default=ROOT / "out" / "bench_step.json")
    a = p.parse_args()
    result = run(a.profile, a.rounds, a.recipes, a.device, a.warmup)
    print(table(result))
    save_json(result, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
