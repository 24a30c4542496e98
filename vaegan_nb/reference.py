"""Reference runs: longer runs made by this code and committed, for a claim a laptop's budget cannot show.

The beta sweep of claim 6 runs 1,500 steps in the full profile. At beta 0.1 its KLD first stays on a
plateau and starts to grow only after about 6,000 steps (docs/beta_sweep.md), so the committed
reference sweep runs 12,000 steps: about 94 epochs of the profile's 4,096 training frames, where the
blog's sweep ran 100 epochs. ``make reference-runs`` trains it (``scripts/reference_runs.py``) and
``export`` commits a thinned copy of each record: config, metrics, status, a thinned timelapse and
where it was made. ``rerun_start`` trains a record's first steps again and ``compare_start``
compares them, so a test can check that the committed numbers come from this code.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_save_npz, atomic_write_json
from .config import RunConfig, make_config
from .errors import UserError
from .runs import TIMELAPSE, RunRecord

STEPS = 12_000
SEED = 0
BETAS = (0.1, 1.0, 2.0, 4.0, 8.0)
CHECKED_SHARE = 0.1  # the share of each run the test trains again
KEEP_SNAPSHOTS = 13  # thinned timelapse: this many snapshots (every 1,000 steps of 12,000) ...
KEEP_SAMPLES = 16  # ... of this many fixed-noise samples and held-out codes (about 0.6 MB a run)
PROVENANCE = "provenance.json"
COMMITTED = Path(__file__).resolve().parents[1] / "data" / "reference_runs"  # in the checkout
COPIED = ("config.json", "metrics.csv", "status.json")


def configs() -> dict[str, RunConfig]:
    """The reference sweep: the full profile's mistaken VAE-GAN at each beta, seed 0, ``STEPS`` steps."""
    return {f"vaegan_beta{b:g}": make_config("vaegan", "full", seed=SEED, beta=b, steps=STEPS) for b in BETAS}


# Claim 9 at the blog's pace (issue 34; docs/fakes.md, "Claim 9 decided"): the profile's BN cheat at the
# blog's learning rate, 1e-4 where the profile trains at 1e-3, for ten times the profile's steps, so that
# it travels as far in learning rate times steps. Nothing else differs from the profile but how often
# the fixed noise is drawn: every 500 steps (61 snapshots), so that the timelapse stays near 15 MB.
BN_STEPS = 30_000
BN_LR = 1e-4
BN_SEEDS = (0, 1)
BN_SNAPSHOT_EVERY = 500
# Committed, its timelapse keeps every third snapshot (every 1,500 steps, so every 10% of the run is
# there) with all 64 samples, since claim 9's bars are set for batches of 64: about 4 MB.
BN_KEEP = (BN_STEPS // (3 * BN_SNAPSHOT_EVERY) + 1, 64)


def keep(name: str) -> tuple[int, int]:
    """(snapshots, samples) that ``export`` keeps of the reference run ``name``."""
    return BN_KEEP if name in bn_configs() else (KEEP_SNAPSHOTS, KEEP_SAMPLES)


def bn_configs() -> dict[str, RunConfig]:
    """The BN cheat at the blog's pace: seeds ``BN_SEEDS``, lr ``BN_LR``, ``BN_STEPS`` steps."""
    return {f"aegan_bn_lr1e-4_seed{s}": make_config("aegan_bn", "full", seed=s, lr=BN_LR, steps=BN_STEPS,
                                                    snapshot_every=BN_SNAPSHOT_EVERY) for s in BN_SEEDS}


def machine() -> dict[str, str]:
    """What decides the exact floats of a one-thread CPU run: the torch and numpy builds (numpy draws
    the procedural frames), torch's CPU kernels, and the CPU model, whose caches can change how the
    kernels split their sums (two AVX512 Xeons of different models gave different runs, 2026-12-01)."""
    return {"torch": torch.__version__, "numpy": np.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "machine": platform.machine(),
            "cpu_model": _cpu_model()}


def _cpu_model() -> str:
    """The CPU's name and model number from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    fields: dict[str, str] = {}
    for line in lines:  # one block per core, all alike: the first says it
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return f"{fields.get('model name', 'unknown')} (model {fields.get('model', '?')})"


def export(run_dir: str | os.PathLike, out_dir: str | os.PathLike, snapshots: int = KEEP_SNAPSHOTS,
           samples: int = KEEP_SAMPLES) -> Path:
    """Copy a finished record to ``out_dir`` as it is committed: no checkpoints, a thinned timelapse of
    ``snapshots`` evenly spaced snapshots (the first and the last among them) of ``samples`` samples."""
    rec = RunRecord(run_dir)
    if not rec.finished:
        raise UserError(f"{rec.path}: not finished; train it to the end before exporting it")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(rec.path / name, out / name)
    tl = rec.timelapse()
    kept = np.unique(np.linspace(0, len(tl["steps"]) - 1, snapshots).round().astype(int))
    thin = {"steps": tl["steps"][kept], "frames": tl["frames"][kept, :samples], "noise": tl["noise"][:samples]}
    if "latents" in tl:
        thin["latents"] = tl["latents"][kept, :samples]
    atomic_save_npz(out / TIMELAPSE, **thin)
    # make reference-runs trains and exports on the same machine, one thread per run.
    atomic_write_json(out / PROVENANCE, {**machine(), "device": "cpu", "threads": 1, "wall_s": rec.status.get("wall_s")})
    return out


def bn_progress(rec: RunRecord) -> str:
    """A markdown table of a BN-cheat run at every 10% of its configured length that it has reached: the
    held-out pixel error over the mean frame's, the largest batch KLD so far, the fakes' two "looks like
    frames" figures over their bars (``diagnostics.frame_likeness``), their diversity and duplicates."""
    from . import claims, diagnostics

    m, tl = rec.metrics(), rec.timelapse()
    real = claims.real_frames_for_likeness(rec, tl["frames"].shape[1])
    bars = diagnostics.likeness_bars(real, tl["frames"].shape[1])
    base = claims.mean_frame_mse(rec)
    rows = ["| step | pixel_test / mean frame | batch KLD, max so far | patch distance / bar | hue bins / bar "
            "| looks like frames | diversity | near-duplicates or blank |", "|---|---|---|---|---|---|---|---|"]
    total = rec.config.train.steps
    for k in range(1, 11):
        step = total * k // 10
        i = int(np.searchsorted(tl["steps"], step))
        if i >= len(tl["steps"]) or tl["steps"][i] != step:
            break
        f = tl["frames"][i]
        texture, colour = diagnostics.likeness_ratios(diagnostics.frame_likeness(f, real, bars))
        j = int(np.searchsorted(m["step"], step))
        rows.append(f"| {step:,} | {m['pixel_test'][j] / base:.2f} | {np.nanmax(m['kld_batch'][: j + 1]):.3f} | "
                    f"{texture:.2f} | {colour:.2f} | "
                    f"{'yes' if max(texture, colour) <= 1.0 else 'no'} | {diagnostics.diversity(f):.3f} | "
                    f"{diagnostics.collapsed_samples(f).mean():.0%} |")
    return "\n".join(rows)


def rerun_start(ref_dir: str | os.PathLike, steps: int | None = None) -> RunConfig:
    """The config that trains the first ``steps`` (default: ``CHECKED_SHARE`` of the run) of a reference
    record again, on the CPU without compiling: the reference runs are CPU runs, and their configs'
    device "auto" would pick a GPU where there is one (and "compile" "auto" compiles only there)."""
    cfg = RunRecord(ref_dir).config
    steps = round(cfg.train.steps * CHECKED_SHARE) if steps is None else steps
    return replace(cfg, train=replace(cfg.train, device="cpu", compile="off", steps=steps))


def machine_differences(ref_dir: str | os.PathLike) -> dict[str, tuple[str, str]]:
    """What of ``machine()`` differs between where a record was made and here: {key: (made, here)},
    with "not recorded" for a key its provenance lacks (records exported before it was added)."""
    made = provenance(ref_dir)
    return {k: (made.get(k, "not recorded"), v) for k, v in machine().items() if made.get(k) != v}


def compare_start(ref_dir: str | os.PathLike, rerun_dir: str | os.PathLike,
                  last_step: int | None = None) -> dict[str, float]:
    """Largest relative difference per metric between a reference record and its rerun start, over the
    steps both logged up to ``last_step`` (wall times aside; inf where one logged a value or a column the
    other did not). A UserError if both did not log ``last_step``, or, without it, fewer than two steps."""
    ref, new = RunRecord(ref_dir).metrics(), RunRecord(rerun_dir).metrics()
    common, i, j = np.intersect1d(ref["step"], new["step"], return_indices=True)
    if last_step is not None:
        if last_step not in common:
            raise UserError(f"{rerun_dir}: step {last_step} is not logged both there and in {ref_dir}")
        keep = common <= last_step
        common, i, j = common[keep], i[keep], j[keep]
    elif len(common) < 2:
        raise UserError(f"{rerun_dir}: shares fewer than two logged steps with {ref_dir}")
    worst = {}
    for col in ref:
        if col in ("wall_s", "step"):
            continue
        if col not in new:
            worst[col] = float("inf")
            continue
        a, b = ref[col][i], new[col][j]
        if (np.isfinite(a) != np.isfinite(b)).any():
            worst[col] = float("inf")
            continue
        both = np.isfinite(a)
        worst[col] = float(np.max(np.abs(a[both] - b[both]) / np.maximum(np.abs(a[both]), 1e-6), initial=0.0))
    return worst


def committed(folder: str | os.PathLike | None = None) -> dict[str, RunRecord]:
    """The finished reference records in ``folder`` (default: ``COMMITTED``), by name."""
    root = Path(folder) if folder is not None else COMMITTED
    recs = {}
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if (d / "config.json").is_file() and (rec := RunRecord(d)).finished:
            recs[d.name] = rec
    return recs


def claim_runs(committed: dict[str, RunRecord]) -> dict[str, dict[str, RunRecord]]:
    """The committed records as the claims read them, by label: the beta sweep under its own names, and
    each BN-cheat run at the blog's pace as the claims' "aegan_bn" (one seed each)."""
    groups: dict[str, dict[str, RunRecord]] = {}
    sweep = {n: r for n, r in committed.items() if n in configs()}
    if sweep:
        groups[f"the {STEPS:,}-step beta sweep, seed {SEED}"] = sweep
    for name, rec in committed.items():
        if name in bn_configs():
            lr = f"{BN_LR:.0e}".replace("e-0", "e-")  # 1e-4, as the docs write it
            groups[f"the BN cheat at lr {lr}, {BN_STEPS:,} steps, seed {rec.config.train.seed} (its committed "
                   f"timelapse, every {BN_STEPS // (BN_KEEP[0] - 1):,} steps)"] = {"aegan_bn": rec}
    return groups


def provenance(ref_dir: str | os.PathLike) -> dict[str, str]:
    """Where a committed record was made (``machine()`` at export), or {} for a record without it."""
    p = Path(ref_dir) / PROVENANCE
    return json.loads(p.read_text()) if p.exists() else {}
