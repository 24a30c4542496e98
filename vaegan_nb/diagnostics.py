"""Numbers that tell the blog's story: diversity, collapse, how frame-like samples look, latent norms.

Pure functions on numpy arrays (uint8 frames ``(N, H, W, 3)``, latents ``(M, d)``); no plotting here.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# --- diversity and collapse ---------------------------------------------------------------------


def _as_float_small(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, D) float32 in [0, 1], 2x2-average-pooled (cheap, and ignores pixel noise)."""
    f = np.asarray(frames)
    if f.ndim == 3:
        f = f[None]
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (N, H, W, 3), got {f.shape}")
    n, h, w, _ = f.shape
    if h >= 2 and w >= 2:
        f = f[:, : h // 2 * 2, : w // 2 * 2].astype(np.float32)
        # Strided sums are several times faster than reshape(...).mean(axis=(2, 4)).
        f = (f[:, ::2, ::2] + f[:, 1::2, ::2] + f[:, ::2, 1::2] + f[:, 1::2, 1::2]) * (1.0 / (4 * 255))
        return f.reshape(n, -1)
    return f.astype(np.float32).reshape(n, -1) / 255.0


def _pairwise_rms(x: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, N) RMS distances per component, via the Gram matrix (one matmul)."""
    sq = np.einsum("nd,nd->n", x, x)
    # einsum, not ``x @ x.T``: BLAS threads fighting the training loop for two cores cost ~100 ms here.
    d2 = sq[:, None] + sq[None, :] - 2.0 * np.einsum("nd,md->nm", x, x)
    np.maximum(d2, 0.0, out=d2)  # rounding can make tiny negatives
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2 / x.shape[1])


def diversity(frames: np.ndarray) -> float:
    """Mean pairwise RMS pixel distance (in [0, 1] units) within a batch of uint8 frames.

    0 for identical samples; independent uniform noise scores about 0.2 (pooling averages some of it).
    """
    x = _as_float_small(frames)
    n = len(x)
    if n < 2:
        return 0.0
    d = _pairwise_rms(x)
    return float(d.sum() / (n * (n - 1)))


def _median3(v: np.ndarray) -> np.ndarray:
    """Centred running median of 3 with the ends repeated: one outlier cannot move it."""
    if len(v) < 3:
        return v.copy()
    p = np.concatenate([v[:1], v, v[-1:]])
    return np.median(np.stack([p[:-2], p[1:-1], p[2:]]), axis=0)


def collapse_step(steps: np.ndarray, diversity: np.ndarray, drop: float = 0.5) -> int | None:
    """The first step at which the (median-of-3 smoothed) diversity is ``drop`` below its running peak.

    NaN entries (logged steps without a snapshot) are ignored. None when diversity never falls that far.
    """
    if not 0.0 < drop < 1.0:
        raise ValueError(f"drop={drop!r}: must be between 0 and 1")
    s = np.asarray(steps, dtype=np.float64)
    v = np.asarray(diversity, dtype=np.float64)
    if s.shape != v.shape:
        raise ValueError(f"steps {s.shape} and diversity {v.shape} differ in shape")
    keep = np.isfinite(s) & np.isfinite(v)
    s, v = s[keep], v[keep]
    order = np.argsort(s, kind="stable")
    s, v = s[order], v[order]
    sm = _median3(v)
    peak = np.maximum.accumulate(sm) if len(sm) else sm
    hit = np.nonzero((peak > 0) & (sm <= (1.0 - drop) * peak))[0]
    return int(s[hit[0]]) if len(hit) else None


def collapsed_samples(frames: np.ndarray, dup_thresh: float = 0.03, blank_thresh: float = 0.03) -> np.ndarray:
    """Boolean mask over the samples of one snapshot: near-duplicate of another sample, or blank.

    A duplicate is within ``dup_thresh`` RMS distance ([0, 1] units) of some other sample; a blank
    sample has a pixel standard deviation below ``blank_thresh`` (one near-uniform colour).
    """
    x = _as_float_small(frames)
    n = len(x)
    blank = x.reshape(n, -1, 3).std(axis=1).mean(axis=1) < blank_thresh
    if n < 2:
        return blank
    d = _pairwise_rms(x)
    np.fill_diagonal(d, np.inf)
    return blank | (d.min(axis=1) < dup_thresh)


# --- palette fidelity ---------------------------------------------------------------------------

HIST_LEVELS = 8  # per channel: 512 colour cells, coarse enough that a batch of 64 fills them stably
REFERENCE_FRAMES = 256  # real frames that stand for "what a frame looks like"


@dataclass(frozen=True)
class FrameReference:
    """What real frames look like to ``palette_fidelity``: their colour histogram and edge strength."""

    hist: np.ndarray  # (HIST_LEVELS**3,) share of pixels in each colour cell; sums to 1
    edge: float  # mean absolute difference between neighbouring pixels, in [0, 1] units


def _colour_hist(frames: np.ndarray) -> np.ndarray:
    q = (np.asarray(frames).reshape(-1, 3).astype(np.int32) * HIST_LEVELS) >> 8
    cells = (q[:, 0] * HIST_LEVELS + q[:, 1]) * HIST_LEVELS + q[:, 2]
    h = np.bincount(cells, minlength=HIST_LEVELS**3).astype(np.float64)
    return h / max(h.sum(), 1.0)


def _edge_strength(frames: np.ndarray) -> float:
    f = np.asarray(frames, dtype=np.float32) / 255.0
    dy = np.abs(np.diff(f, axis=1)).mean() if f.shape[1] > 1 else 0.0
    dx = np.abs(np.diff(f, axis=2)).mean() if f.shape[2] > 1 else 0.0
    return float(dx + dy) / 2


def frame_reference(frames: np.ndarray) -> FrameReference:
    """The reference that ``palette_fidelity`` compares samples with: any real frames, turf or footage."""
    f = _as_batch(frames)
    if not len(f):
        raise ValueError("frame_reference needs at least one real frame")
    return FrameReference(_colour_hist(f), _edge_strength(f))


@lru_cache(maxsize=8)
def turf_reference(height: int, width: int) -> FrameReference:
    """The reference for turf frames of this size (a fixed seed, so every run scores alike)."""
    from .data import turf_frames

    return frame_reference(turf_frames(REFERENCE_FRAMES, height, width, seed=777))


def palette_fidelity(frames: np.ndarray, reference: FrameReference | None = None) -> float:
    """How much a batch looks like real frames, in [0, 1]: colour overlap times edge agreement.

    Colour overlap is the intersection of the batch's colour histogram with the reference's; edge
    agreement is min(e, e_ref) / max(e, e_ref) for the mean neighbour difference e. A flat grey frame
    has no edges and scores 0; noise has the wrong colours and far too many edges; a blurred frame
    loses edge strength; real frames score close to 1 (about 0.9 for turf batches of 64).
    ``reference`` defaults to turf frames of the batch's size; pass ``frame_reference(your_frames)``
    for your own footage.
    """
    f = _as_batch(frames)
    if not len(f):
        return 0.0
    ref = reference if reference is not None else turf_reference(f.shape[1], f.shape[2])
    overlap = float(np.minimum(_colour_hist(f), ref.hist).sum())
    e, e_ref = _edge_strength(f), ref.edge
    agree = min(e, e_ref) / max(e, e_ref) if max(e, e_ref) > 0 else 1.0
    return overlap * agree


def _as_batch(frames: np.ndarray) -> np.ndarray:
    f = np.asarray(frames)
    if f.ndim == 3:
        f = f[None]
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (N, H, W, 3), got {f.shape}")
    return f


# --- patch distance -----------------------------------------------------------------------------
# A second ruler for "looks like a frame" (docs/fakes.md, "Which ruler"): how far the distribution of
# small patches lies from real frames' patches, at full and half size. Evaluating GANs by the sliced
# Wasserstein distance between patch distributions is from Karras et al. 2018, "Progressive Growing of
# GANs for Improved Quality, Stability, and Variation" (ICLR 2018). Ours is simpler (raw 4x4 patches,
# a box-averaged half size, fixed directions, quantiles), so its figures are not comparable with theirs.

PATCH = 4  # pixels a side: an ink edge, a tile corner, a piece of the HUD bar
PATCH_DIRECTIONS = 128  # random projections; fixed (seed 0) so that every call measures alike
PATCH_QUANTILES = 256  # compared at fixed levels, so the two sides may hold different numbers of patches


def _patches(f: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) floats -> (M, PATCH * PATCH * 3): every patch at stride PATCH // 2."""
    n, h, w, _ = f.shape
    s = PATCH // 2
    return np.concatenate([f[:, i : i + PATCH, j : j + PATCH].reshape(n, -1)
                           for i in range(0, h - PATCH + 1, s) for j in range(0, w - PATCH + 1, s)])


def _directions(dim: int) -> np.ndarray:
    u = np.random.default_rng(0).normal(size=(dim, PATCH_DIRECTIONS))
    return u / np.linalg.norm(u, axis=0)


def _patch_quantiles(f: np.ndarray) -> list[np.ndarray]:
    """(N, H, W, 3) floats in [0, 1] -> the quantiles of their patches' projections, at full and half size."""
    q = (np.arange(PATCH_QUANTILES) + 0.5) / PATCH_QUANTILES
    out = []
    for _ in range(2):
        p = _patches(f)
        out.append(np.quantile(p @ _directions(p.shape[1]), q, axis=0))
        f = _half(f)
    return out


_REAL_QUANTILES: dict[tuple, list[np.ndarray]] = {}  # the reference's side, by content: a timelapse scores
# dozens of snapshots against the same real frames, and their quantiles are most of a call's cost


def _real_quantiles(r: np.ndarray) -> list[np.ndarray]:
    key = (r.shape, r.dtype.str, hashlib.blake2b(np.ascontiguousarray(r).tobytes(), digest_size=16).digest())
    if key not in _REAL_QUANTILES:
        if len(_REAL_QUANTILES) >= 4:
            _REAL_QUANTILES.pop(next(iter(_REAL_QUANTILES)))
        _REAL_QUANTILES[key] = _patch_quantiles(r.astype(np.float64) / 255.0)
    return _REAL_QUANTILES[key]


def patch_distance(frames: np.ndarray, real: np.ndarray) -> float:
    """Sliced Wasserstein distance between the batch's 4x4 patches and real frames', averaged over
    full and half size, in pixel units of [0, 1] (black against white: about 0.8). Lower looks more
    alike. It shrinks with the batch (64 real turf frames lie about 0.006 from 256 others, 4 about
    0.02), so compare only batches of one size against one reference. A flat grey batch of 64: 0.12."""
    f, r = _as_batch(frames), _as_batch(real)
    if not len(f) or not len(r):
        raise ValueError(f"patch_distance needs frames on both sides, got {len(f)} and {len(r)}")
    if f.shape[1:] != r.shape[1:]:
        raise ValueError(f"patch_distance: frames of shape {f.shape[1:]} against real frames of {r.shape[1:]}")
    if min(f.shape[1:3]) < 2 * PATCH:
        raise ValueError(f"patch_distance needs frames of at least {2 * PATCH}x{2 * PATCH}, got {f.shape[1:3]}")
    mine = _patch_quantiles(f.astype(np.float64) / 255.0)
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(mine, _real_quantiles(r), strict=True)]))


def _half(f: np.ndarray) -> np.ndarray:
    n, h, w, c = f.shape
    return f[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


# --- hue spread ---------------------------------------------------------------------------------
# What both rulers above miss (docs/fakes.md, "Which ruler?"): a turf frame shows its two teams' solid
# ink colours, and a batch-level histogram or a patch distribution cannot tell solid colours from
# smeared ones. Reading the hues inside each frame can. Both counts ignore how much of a frame is
# coloured: a frame with little ink still shows its hues.

HUE_CHROMA = 0.25  # max - min of RGB in [0, 1]: ink lies far above it, the grey floor and HUD far below
HUE_BINS = 12  # 30 degrees of hue each
HUE_SHARE = 0.05  # a bin counts when it holds this share of the frame's coloured pixels, not a stray edge


def _hue_bins(frames: np.ndarray) -> np.ndarray:
    """(N, HUE_BINS) bool: which hue bins hold at least HUE_SHARE of each frame's coloured pixels."""
    f = _as_batch(frames)
    if f.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames (0-255), got {f.dtype}")
    f = f.astype(np.float64) / 255.0
    hi = f.max(axis=-1)
    chroma = hi - f.min(axis=-1)
    held = np.zeros((len(f), HUE_BINS), dtype=bool)
    for k in range(len(f)):
        on = chroma[k] > HUE_CHROMA
        if not on.any():
            continue
        (r, g, b), c, m = f[k][on].T, chroma[k][on], hi[k][on]
        sector = np.where(m == r, ((g - b) / c) % 6, np.where(m == g, (b - r) / c + 2, (r - g) / c + 4))
        share = np.bincount((sector * HUE_BINS / 6).astype(np.int64) % HUE_BINS, minlength=HUE_BINS) / on.sum()
        held[k] = share >= HUE_SHARE
    return held


def hue_spread(frames: np.ndarray) -> np.ndarray:
    """(N,) how many of the twelve 30-degree hue bins each frame's strongly coloured pixels cover (0 for
    grey). Real turf frames: 2, their teams' two inks; smeared hues raise it. A colour on a bin's edge
    covers two bins once noise jitters it."""
    return _hue_bins(frames).sum(axis=1)


def hue_families(frames: np.ndarray) -> np.ndarray:
    """(N,) how many separate runs of neighbouring hue bins each frame covers: its colour families,
    however smeared each one is. Real turf frames: 2."""
    held = _hue_bins(frames)
    # A run starts at a held bin whose neighbour below (around the circle) is empty.
    starts = held & ~np.roll(held, 1, axis=1)
    return np.where(held.all(axis=1), 1, starts.sum(axis=1))


# --- looks like frames (claim 9's ruler) ---------------------------------------------------------
# Issue 34's decision: a batch looks like frames when both its texture and its colours pass, each
# against real frames of the same number measured the same way. docs/fakes.md ("Which ruler?") shows
# where the bars fall: a 0.7 px blur of real frames passes both, the mean frame and a plain GAN's grey
# streaks fail texture, the BN cheat's smeared hues fail colour.

TEXTURE_BAR = 5.0  # patch distance: at most this many times the real frames' own
COLOUR_BAR = 1.5  # hue bins per frame: at most this many times the real frames'


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """uint8 frames blurred by a separable Gaussian of ``sigma`` pixels, edges repeated: real frames made
    worse on purpose, to see where a ruler's bar falls (docs/fakes.md, "Which ruler?")."""
    f = _as_batch(frames)
    if not sigma > 0:
        raise ValueError(f"sigma={sigma!r}: must be positive")
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    h, w = f.shape[1:3]
    p = np.pad(f.astype(np.float64), ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
    p = sum(k[i] * p[:, i : i + h] for i in range(2 * r + 1))
    p = sum(k[i] * p[:, :, i : i + w] for i in range(2 * r + 1))
    return p.round().clip(0, 255).astype(np.uint8)


def likeness_bars(real: np.ndarray, n: int) -> dict[str, float]:
    """The bars of ``frame_likeness`` for batches of ``n`` against ``real``, to compute once for many
    batches. The first ``n`` real frames are the yardstick (held-out frames, as many as the batch, since
    the patch distance shrinks with the batch), the rest the reference that both are compared with
    (at least as many again; 64 + 256 for a batch of 64)."""
    r = _as_batch(real)
    if n < 1:
        raise ValueError("frame_likeness needs at least one frame in the batch")
    if len(r) < 2 * n:
        raise ValueError(f"frame_likeness: {len(r)} real frames for a batch of {n}; it needs at least {2 * n} "
                         f"({n} held out as the yardstick, the rest as the reference)")
    return {"patch bar": TEXTURE_BAR * patch_distance(r[:n], r[n:]),
            "hue bar": COLOUR_BAR * float(hue_spread(r[:n]).mean()), "n": n}


def frame_likeness(batch: np.ndarray, real: np.ndarray, bars: dict[str, float] | None = None) -> dict[str, float]:
    """The two figures of ``looks_like_frames`` and their bars (``likeness_bars`` says how ``real`` is
    split; pass its result as ``bars`` when you score many batches against the same real frames)."""
    f = _as_batch(batch)
    bars = likeness_bars(real, len(f)) if bars is None else bars
    if bars["n"] != len(f):
        raise ValueError(f"frame_likeness: bars made for batches of {bars['n']}, given a batch of {len(f)}")
    return {"patch distance": patch_distance(f, _as_batch(real)[len(f):]), "patch bar": bars["patch bar"],
            "hue bins": float(hue_spread(f).mean()), "hue bar": bars["hue bar"]}


def likeness_ratios(figures: dict[str, float]) -> tuple[float, float]:
    """``frame_likeness``'s texture and colour figures, each over its bar (at most 1 passes). A zero bar (real
    frames without colour, say) is passed only by a zero figure."""
    def over(x: float, bar: float) -> float:
        return x / bar if bar > 0 else (0.0 if x <= 0 else math.inf)

    return over(figures["patch distance"], figures["patch bar"]), over(figures["hue bins"], figures["hue bar"])


def likeness_margin(figures: dict[str, float]) -> float:
    """The worse of ``frame_likeness``'s two figures over its bar: at most 1 passes both."""
    return max(likeness_ratios(figures))


def likeness_passes(figures: dict[str, float]) -> bool:
    """Whether figures of ``frame_likeness`` pass both bars."""
    return likeness_margin(figures) <= 1.0


def looks_like_frames(batch: np.ndarray, real: np.ndarray) -> bool:
    """Whether a batch looks like the ``real`` frames: its patches lie at most ``TEXTURE_BAR`` times as far
    from them as real frames' own, and its frames cover at most ``COLOUR_BAR`` times as many hue bins.
    Works on any footage; ``frame_likeness`` says how ``real`` is split and gives the figures."""
    return likeness_passes(frame_likeness(batch, real))


# --- latent norms -------------------------------------------------------------------------------


def latent_norms(latents: np.ndarray) -> np.ndarray:
    """Euclidean norms over the last axis, computed in float64 (float16 would overflow at d=1024)."""
    return np.linalg.norm(np.asarray(latents, dtype=np.float64), axis=-1)


def shell_radius(d: int) -> float:
    """Where the norm of a d-dimensional standard normal sample concentrates: about sqrt(d)."""
    return math.sqrt(d)


def chi_pdf(r: np.ndarray, d: int) -> np.ndarray:
    """Density of |z| for z ~ N(0, I_d) (the chi distribution), in log space so d=1024 stays finite."""
    r = np.asarray(r, dtype=np.float64)
    log_norm = (d / 2.0 - 1.0) * math.log(2.0) + math.lgamma(d / 2.0)
    with np.errstate(divide="ignore"):
        log_r = np.log(np.where(r > 0, r, 1.0))
    logp = (d - 1) * log_r - 0.5 * r**2 - log_norm
    out = np.exp(logp)
    if d > 1:
        out = np.where(r > 0, out, 0.0)
    return np.where(r >= 0, out, 0.0)


def pca_basis(latents: np.ndarray, center: bool = True) -> np.ndarray:
    """(d, 2): the top two principal directions (signs fixed so results are reproducible)."""
    x = np.asarray(latents, dtype=np.float64).reshape(-1, np.shape(latents)[-1])
    if center:
        x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    basis = vt[:2].T
    if basis.shape[1] < 2:  # a single sample or d=1: pad so callers always get two columns
        basis = np.pad(basis, ((0, 0), (0, 2 - basis.shape[1])))
    signs = np.sign(basis[np.abs(basis).argmax(axis=0), [0, 1]])
    return basis * np.where(signs == 0, 1.0, signs)


def pca_2d(latents: np.ndarray, center: bool = True) -> np.ndarray:
    """(M, d) -> (M, 2) projection on the top two principal directions.

    ``center=False`` projects without removing the mean, so the origin stays at (0, 0) and a cloud
    that drifted away from it (the blog's "galaxy") stays visibly off-centre.
    """
    x = np.asarray(latents, dtype=np.float64)
    basis = pca_basis(x, center=center)
    return (x - x.mean(axis=0) if center else x) @ basis
