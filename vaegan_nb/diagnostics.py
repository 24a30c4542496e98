"""Numbers that tell the blog's story: sample diversity and its collapse, palette fidelity, latent norms.

Pure functions on numpy arrays (uint8 frames ``(N, H, W, 3)``, latents ``(M, d)``); no plotting here.
"""

from __future__ import annotations

import math

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

INK_SATURATION = 60  # max - min channel (0..255) above which a pixel counts as ink-like
PALETTE_RADIUS = 30.0  # RGB distance (0..255) within which a pixel "has" a palette colour


def _turf_palette() -> tuple[np.ndarray, bool]:
    """Floor greys and obstacle colours from the turf generator, if it exposes them.

    Returns (colours (K, 3) float, found). Without them the caller derives these from each frame.
    """
    try:
        from . import data
    except ImportError:
        return np.zeros((0, 3)), False
    cols = []
    for name in ("FLOOR_GREY", "OBSTACLE_COLOUR", "HUD_BACKGROUND"):
        v = getattr(data, name, None)
        if v is not None:
            cols.append(np.asarray(v, dtype=np.float64).reshape(-1, 3))
    if not cols:
        return np.zeros((0, 3)), False
    return np.concatenate(cols), True


def _top_clusters(px: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Per frame, mean colours of the ``k`` fullest cells (16 levels per channel) among masked pixels.

    ``px`` (N, P, 3) int, ``mask`` (N, P) -> (N, k, 3) float, NaN where a frame has fewer cells.
    All frames at once: one bincount over frame-offset cell keys instead of a loop per frame.
    """
    n = len(px)
    q = px >> 4
    key = (q[..., 0] << 8) | (q[..., 1] << 4) | q[..., 2]
    flat = np.where(mask, key + 4096 * np.arange(n)[:, None], n * 4096).ravel()  # masked out: a spare bin

    def per_cell(weights=None):
        return np.bincount(flat, weights=weights, minlength=n * 4096 + 1)[:-1].reshape(n, 4096)

    counts = per_cell()
    top = np.argsort(-counts, axis=1, kind="stable")[:, :k]
    cnt = np.take_along_axis(counts, top, axis=1)
    sums = np.stack([np.take_along_axis(per_cell(px[..., c].ravel().astype(np.float64)), top, axis=1)
                     for c in range(3)], axis=-1)
    cent = sums / np.maximum(cnt, 1)[..., None]
    cent[cnt == 0] = np.nan
    return cent


def palette_fidelity(frames: np.ndarray, radius: float = PALETTE_RADIUS) -> float:
    """How much a batch looks like turf frames, in [0, 1]: the mean share of pixels near the frame's palette.

    The palette of a frame: its two most frequent ink-like (saturated) colours, plus the floor,
    obstacle and HUD colours of the turf generator (or, where ``data`` does not expose them, the
    frame's three most frequent unsaturated colours). It scores colours, not layout: a blank grey
    frame scores high, so read it next to ``collapsed_samples``. Turf frames score ~0.99, turf
    frames blurred by a 3-5 px box ~0.73-0.79, smooth colour blobs ~0.08, uniform noise ~0.03.
    """
    f = np.asarray(frames)
    if f.ndim == 3:
        f = f[None]
    if len(f) == 0:
        return 0.0
    n = len(f)
    px = f.reshape(n, -1, 3).astype(np.int32)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    # Channel by channel: reductions over a trailing axis of 3 are several times slower in numpy.
    ink = np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b) >= INK_SATURATION
    fixed, found = _turf_palette()
    others = np.broadcast_to(fixed, (n, *fixed.shape)) if found else _top_clusters(px, ~ink, 3)
    refs = np.concatenate([_top_clusters(px, ink, 2), others], axis=1).astype(np.float32)  # (N, K, 3)
    refs = np.where(np.isnan(refs), np.float32(1e4), refs)  # a missing cluster matches no pixel
    d2 = np.zeros((n, px.shape[1], refs.shape[1]), dtype=np.float32)
    for c, chan in enumerate((r, g, b)):
        d2 += (chan[:, :, None].astype(np.float32) - refs[:, None, :, c]) ** 2
    return float((d2.min(axis=2) <= radius**2).mean(axis=1).mean())


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
