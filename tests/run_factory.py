"""Synthetic run records for tests: the on-disk contract of runs.py, without training anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vaegan_nb import __version__
from vaegan_nb.config import make_config
from vaegan_nb.runs import METRIC_COLUMNS, MetricsLog, atomic_save_npz, atomic_write_json

NOISE_SEED = 1234


def fixed_noise(n: int = 16, latent_dim: int = 8, seed: int = NOISE_SEED) -> np.ndarray:
    """The same (n, latent_dim) float32 noise for every run made with the same arguments."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def synthetic_frames(steps: Sequence[int], n: int = 16, height: int = 24, width: int = 40, seed: int = 0,
                     collapse_at: int | None = None) -> np.ndarray:
    """(T, n, H, W, 3) uint8 smooth colour blobs that sharpen over time.

    From step ``collapse_at`` on, every sample turns into one of two shared images (a mode collapse).
    """
    rng = np.random.default_rng(seed)
    t_n = len(steps)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    centres = rng.uniform(0, 1, (n, 3, 2)) * [height, width]
    colours = rng.uniform(30, 225, (n, 3, 3))
    out = np.empty((t_n, n, height, width, 3), dtype=np.uint8)
    for t in range(t_n):
        sharp = 0.2 + 0.8 * t / max(t_n - 1, 1)
        img = np.full((n, height, width, 3), 120.0, dtype=np.float32)
        for k in range(3):
            d2 = (yy[None] - centres[:, k, 0, None, None]) ** 2 + (xx[None] - centres[:, k, 1, None, None]) ** 2
            w = np.exp(-d2 / (2 * (3 + 6 * (1 - sharp)) ** 2))[..., None]
            img = img * (1 - w) + colours[:, k, None, None, :] * w
        img += rng.normal(0, 2, img.shape)  # training never leaves a sample exactly where it was
        if collapse_at is not None and steps[t] >= collapse_at:
            img = np.where((np.arange(n) % 2 == 0)[:, None, None, None], img[0], img[1])
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def make_run(tmp_path: Path, name: str, *, steps: Sequence[int] = (0, 10, 20, 30),
             frames: np.ndarray | None = None, noise: np.ndarray | None = None,
             latents: np.ndarray | None = None, metrics: Mapping[str, Sequence[float]] | None = None,
             recipe: str = "aegan_bn", n: int = 16, height: int = 24, width: int = 40, latent_dim: int = 8,
             n_latents: int = 32, seed: int = 0, state: str = "finished") -> Path:
    """Write a run record under ``tmp_path / name`` and return its directory.

    Defaults: smooth synthetic frames, the shared ``fixed_noise``, latents whose norm drifts outwards,
    and one metrics row per snapshot step with every METRIC_COLUMNS entry filled in. ``metrics`` (with
    a ``step`` column) replaces the rows; columns it lacks are left empty (NaN on reading).
    """
    run = Path(tmp_path) / name
    run.mkdir(parents=True, exist_ok=True)
    steps = np.asarray(steps, dtype=np.int64)
    if frames is None:
        frames = synthetic_frames(steps, n, height, width, seed=seed)
    frames = np.asarray(frames, dtype=np.uint8)
    n, height, width = frames.shape[1:4]
    if noise is None:
        noise = fixed_noise(n, latent_dim)
    latent_dim = noise.shape[1]
    rng = np.random.default_rng(seed + 1)
    if latents is None:
        grow = 1 + np.linspace(0, 2, len(steps))[:, None, None]
        latents = (rng.standard_normal((len(steps), n_latents, latent_dim)) * grow).astype(np.float16)

    cfg = make_config(recipe, "ci", latent_dim=latent_dim, n_fixed=n, height=height, width=width, seed=seed)
    atomic_write_json(run / "config.json", {"config": cfg.to_dict(), "recipe": recipe, "seed": seed,
                                            "version": __version__})
    atomic_write_json(run / "status.json", {"state": state, "step": int(steps[-1])})
    atomic_save_npz(run / "timelapse.npz", steps=steps, frames=frames, noise=np.asarray(noise, np.float32),
                    latents=np.asarray(latents, np.float16))

    if metrics is None:
        from vaegan_nb.diagnostics import diversity, latent_norms

        x = np.linspace(0, 1, len(steps))
        norms = latent_norms(latents)
        metrics = {
            "step": steps, "epoch": steps // 100, "wall_s": steps * 0.1,
            "kld": 5 + 20 * x, "kld_batch": 0.1 + 0.05 * x, "pixel": 0.3 - 0.2 * x,
            "pixel_test": 0.32 - 0.2 * x, "fm": 1 + x, "d_loss": 0.7 * (1 - x) + 1e-3,
            "g_loss": 1 + 3 * x, "d_real": 0.5 + 0.4 * x, "d_fake": 0.5 - 0.4 * x,
            "z_norm_mean": norms.mean(axis=1), "z_norm_std": norms.std(axis=1),
            "z_norm_ratio": norms.mean(axis=1) / np.sqrt(latent_dim),
            "diversity": [diversity(f) for f in frames],
        }
    columns = METRIC_COLUMNS + [c for c in metrics if c not in METRIC_COLUMNS]
    (run / "metrics.csv").unlink(missing_ok=True)
    log = MetricsLog(run / "metrics.csv", columns)
    for i in range(len(metrics["step"])):
        log.append({c: _cell(v[i]) for c, v in metrics.items()})
    return run


def _cell(v) -> float | int:
    v = v.item() if hasattr(v, "item") else v
    return int(v) if isinstance(v, (int, np.integer)) else float(v)
