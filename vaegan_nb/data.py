"""Frames for training: one entry point for every source, the fixed batch order, and tensor conversions.

``load_split`` gives train and test frames from the procedural turf war (``turf``) or the user's own
footage (``footage``). All frames are uint8 (N, H, W, 3) RGB arrays; ``to_tensor`` / ``batches`` turn
them into float (N, 3, H, W) tensors in [-1, 1] for the models.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .config import DataConfig
from .errors import DataError
from .footage import (  # noqa: F401  re-exported: notebooks and scripts reach them as data.*
    FITS,
    IMAGE_EXTS,
    TIME_SPLIT_GAP,
    VIDEO_EXTS,
    FootageReport,
    Split,
    _check_size,
    extract_frames,
    fit_image,
    held_out_sources,
    prepare_frames,
    read_image_folder,
    read_source,
    read_video,
    source_of,
    split_by_source,
    split_by_time,
    split_frames,
    time_split_indices,
)
from .turf import (  # noqa: F401  re-exported, as above
    CHECKER_SHADE,
    FLOOR_GREY,
    FLOOR_JITTER,
    GRID_SHADE,
    HUD_BACKGROUND,
    OBSTACLE_COLOUR,
    TEAM_JITTER,
    TEAM_PAIRS,
    hud_height,
    turf_frames,
    turf_palette,
)


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) frames -> float32 (N, 3, H, W) tensor in [-1, 1]."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"to_tensor expects uint8 (N, H, W, 3) frames, got {frames.dtype} {frames.shape}")
    # Read-only arrays (the cached turf frames) are copied rather than shared, which torch would warn about.
    t = torch.from_numpy(frames) if frames.flags.writeable else torch.tensor(frames)
    x = t.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format)
    return x.div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3), clamped; NaN becomes black."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"to_uint8 expects a (N, 3, H, W) tensor, got {tuple(x.shape)}")
    # A diverged decoder can emit NaN or inf; the timelapse of that run must still render.
    y = torch.nan_to_num(x.detach().to("cpu", torch.float32), nan=-1.0, posinf=1.0, neginf=-1.0)
    y = ((y + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    return y.permute(0, 2, 3, 1).contiguous().numpy()


def batches(frames_uint8: np.ndarray, batch_size: int, step: int, seed: int) -> torch.Tensor:
    """The training batch of global ``step``, float (batch_size, 3, H, W) in [-1, 1].

    A pure function of (step, seed, len(frames), batch_size): each epoch is one seeded permutation,
    cut into whole batches (the incomplete last one is dropped), so a resumed run sees the same data
    in the same order as an uninterrupted one.
    """
    n = len(frames_uint8)
    per_epoch = n // batch_size if batch_size > 0 else 0
    if per_epoch == 0:
        raise DataError(
            f"only {n} training frames for batch_size={batch_size}: use more footage or a smaller batch size"
        )
    epoch, k = divmod(step, per_epoch)
    order = _epoch_order(n, seed, epoch)
    return to_tensor(frames_uint8[order[k * batch_size:(k + 1) * batch_size]])


@functools.lru_cache(maxsize=4)
def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    order = np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, epoch]).permutation(n)
    order.flags.writeable = False
    return order


TEST_SEED_OFFSET = 1_000_003  # turf test frames come from seed + this: another stream, no shared frame


@functools.lru_cache(maxsize=2)
def _turf_cached(n_train: int, n_test: int, height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    train = turf_frames(n_train, height, width, seed)
    test = turf_frames(n_test, height, width, seed + TEST_SEED_OFFSET)
    train.flags.writeable = False
    test.flags.writeable = False
    return train, test


def load_frames(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) uint8 frames for a data config; ``load_split`` also says how they were split."""
    split = load_split(cfg)
    return split.train, split.test


def load_split(cfg: DataConfig, progress: bool = True) -> Split:
    """Train and test uint8 frames for a data config, and which split made them.

    ``cfg.source == "turf"``: ``n_train`` / ``n_test`` procedural frames, cached in memory and returned
    read-only (copy before editing). A path: an image folder (which may also hold videos, each video
    one source) or a single video. Two or more sources are split by source; a single source (one video,
    one file prefix) by time, with a warning that its held-out error is flattered. ``progress``: a bar
    of videos (or of one video's frames) while decoding.
    """
    _check_size(cfg.height, cfg.width)
    if cfg.source == "turf":
        train, test = _turf_cached(cfg.n_train, cfg.n_test, cfg.height, cfg.width, cfg.seed)
        return Split(train, test, "turf", "procedural frames; the test frames come from another seed stream")
    frames, labels = read_source(cfg.source, cfg.height, cfg.width, cfg.keyframes, cfg.fps, progress)
    return split_frames(frames, labels, cfg.test_fraction, cfg.seed)
