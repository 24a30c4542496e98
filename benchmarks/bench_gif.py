"""GIF export: time and size of a 100-snapshot timelapse of an 8x8 grid of full-profile samples.

Compares ``timelapse.export_gif`` (global palette, temporal tolerance, transparent unchanged pixels)
with a plain ``imageio.v3.imwrite`` of the same composed RGB frames (Pillow's per-frame adaptive
palette), in the same process. Prints a table and writes out/bench_gif.json.

    python benchmarks/bench_gif.py [--frames 100] [--scale 2] [--run RUN_DIR]

Without ``--run`` the frames imitate a training timelapse: turf frames (or smooth blobs, if the turf
generator is missing) seen through a decoder that starts grey and blurry, sharpens, and drifts a
little between snapshots, as real fixed-noise samples do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaegan_nb import timelapse as TL  # noqa: E402
from vaegan_nb.config import make_config  # noqa: E402
from vaegan_nb.runs import RunRecord, atomic_save_npz, atomic_write_json  # noqa: E402


def _targets(n: int, h: int, w: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    try:
        from vaegan_nb.data import turf_frames

        return turf_frames(n, h, w, seed=7).astype(np.float32), "turf_frames"
    except (ImportError, AttributeError):
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.full((n, h, w, 3), 128.0, np.float32)
        for _ in range(6):
            cy, cx = rng.uniform(0, h, (n, 1, 1)), rng.uniform(0, w, (n, 1, 1))
            r = rng.uniform(4, 12, (n, 1, 1))
            m = (((yy - cy) ** 2 + (xx - cx) ** 2) < r**2)[..., None]
            img = np.where(m, rng.uniform(20, 240, (n, 1, 1, 3)), img)
        return img, "smooth random blobs"


def _box_blur(x: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return x
    for axis in (1, 2):
        pad = [(0, 0)] * x.ndim
        pad[axis] = (k // 2, k - 1 - k // 2)
        c = np.cumsum(np.pad(x, pad, mode="edge"), axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(c.take([0], axis=axis)), c], axis=axis)
        n = x.shape[axis]
        x = ((c.take(np.arange(k, k + n), axis=axis) - c.take(np.arange(n), axis=axis)) / k).astype(np.float32)
    return x


def simulated_timelapse(t_n: int = 100, n: int = 64, h: int = 48, w: int = 80, seed: int = 0):
    """(frames uint8 (T, n, h, w, 3), description): a decoder's fixed-noise samples over training."""
    rng = np.random.default_rng(seed)
    target, source = _targets(n, h, w, rng)
    mean = target.mean(axis=(0, 1, 2))
    drift = np.zeros((n, 6, 10, 3), np.float32)
    out = np.empty((t_n, n, h, w, 3), np.uint8)
    for t in range(t_n):
        p = t / max(t_n - 1, 1)
        sharp = _box_blur(target, max(1, int(round(9 * (1 - p) ** 2))))
        a = min(1.0, 0.15 + 1.2 * p)
        # Slowly wandering low-frequency colour error: the decoder changes a little between snapshots.
        drift = 0.8 * drift + rng.normal(0, 3.0, drift.shape).astype(np.float32)
        err = drift.repeat(h // 6 + 1, axis=1)[:, :h].repeat(w // 10 + 1, axis=2)[:, :, :w]
        img = (1 - a) * mean + a * sharp + err + rng.normal(0, 1.0, sharp.shape)
        out[t] = np.clip(img, 0, 255).astype(np.uint8)
    return out, f"simulated training timelapse of {source}"


def _write_run(path: Path, frames: np.ndarray) -> Path:
    t_n, n, h, w, _ = frames.shape
    path.mkdir(parents=True, exist_ok=True)
    cfg = make_config("aegan_bn", "full", height=h, width=w, n_fixed=n)
    atomic_write_json(path / "config.json", {"config": cfg.to_dict(), "recipe": "aegan_bn", "seed": 0,
                                             "version": "bench"})
    noise = np.zeros((n, cfg.model.latent_dim), np.float32)
    atomic_save_npz(path / "timelapse.npz", steps=np.arange(t_n, dtype=np.int64) * 20, frames=frames,
                    noise=noise, latents=np.zeros((t_n, 1, cfg.model.latent_dim), np.float16))
    return path


def _mean_abs_error(gif: Path, composed: np.ndarray) -> float:
    from PIL import Image

    errs = []
    with Image.open(gif) as im:
        for i in np.linspace(0, len(composed) - 1, 5).astype(int):
            im.seek(int(i))
            got = np.asarray(im.convert("RGB")).astype(np.int16)
            errs.append(np.abs(got - composed[i].astype(np.int16)).mean())
    return float(np.mean(errs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--run", type=Path, help="use this run record's timelapse instead of simulated frames")
    ap.add_argument("--skip-plain", action="store_true", help="skip the slow plain-imageio reference")
    a = ap.parse_args()

    import imageio.v3 as iio

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if a.run:
            run = RunRecord(a.run).path
            source = f"run record {a.run}"
        else:
            d = make_config("aegan_bn", "full").data
            frames, source = simulated_timelapse(a.frames, h=d.height, w=d.width)
            run = _write_run(tmp / "sim", frames)
        tl = RunRecord(run).timelapse()
        t_n, n, h, w, _ = tl["frames"].shape
        print(f"{source}: {t_n} snapshots of {n} samples of {h}x{w}, scale {a.scale}")

        ours = tmp / "ours.gif"
        t0, c0 = time.perf_counter(), time.process_time()
        TL.export_gif(run, ours, scale=a.scale)
        t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
        _, composed = TL.compose_frames(run, scale=a.scale)
        result = {
            "source": source, "snapshots": int(t_n), "samples": int(n), "sample_hw": [int(h), int(w)],
            "scale": a.scale, "gif_hw": list(composed.shape[1:3]),
            "export_s": round(t_ours, 3), "export_cpu_s": round(c_ours, 3), "export_mb": round(ours.stat().st_size / 1e6, 3),
            "export_mean_abs_error": round(_mean_abs_error(ours, composed), 2),
            "python": platform.python_version(), "machine": platform.machine(),
            "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        }
        if not a.skip_plain:
            plain = tmp / "plain.gif"
            durations = TL.gif_durations(len(composed))
            t0, c0 = time.perf_counter(), time.process_time()
            data = iio.imwrite("<bytes>", composed, extension=".gif", duration=durations, loop=0)
            plain.write_bytes(data)
            t_plain, c_plain = time.perf_counter() - t0, time.process_time() - c0
            result.update({
                "plain_s": round(t_plain, 3), "plain_cpu_s": round(c_plain, 3), "plain_mb": round(len(data) / 1e6, 3),
                "plain_mean_abs_error": round(_mean_abs_error(plain, composed), 2),
                "time_ratio_plain_over_ours": round(t_plain / t_ours, 2),
                "cpu_ratio_plain_over_ours": round(c_plain / c_ours, 2),
                "size_ratio_plain_over_ours": round(len(data) / ours.stat().st_size, 2),
            })

    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_gif.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'bench_gif.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
