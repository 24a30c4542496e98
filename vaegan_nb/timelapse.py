"""Timelapse of the fixed-noise samples: grids, captions, aligned steps, side-by-side GIF export.

The training loop decodes the same noise batch at every snapshot, so playing the snapshots in order
shows what the generator makes of one fixed set of latent points over training (the blog's
collapse GIF). Several runs can play side by side only if they decoded the same noise.

GIF encoding: one global palette for the whole animation (median cut on a sample of frames), a
lookup table from RGB to palette index, and a small temporal tolerance that keeps a pixel's previous
index while its colour barely moves. Unchanged pixels are then written as transparent over the
previous frame. Per-frame adaptive palettes (the plain imageio path) change every index every frame:
they cost ~10x the time and compress worse. See benchmarks/bench_gif.py for figures.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import UserError
from .runs import RunRecord, atomic_write_bytes

RunLike = str | os.PathLike | RunRecord

BACKGROUND = (24, 24, 24)  # grid padding, gaps and text strips (grey: make_grid pads with one value)
TEXT = (236, 236, 236)
GAP = 4  # pixels between side-by-side panels, at scale 1
LUT_BITS = 5  # RGB -> palette lookup table resolution per channel (32**3 cells)
STRIP = 14  # height of a text strip (bitmap font, 11 px) at scale 1


# --- run records --------------------------------------------------------------------------------


def as_records(runs: RunLike | Iterable[RunLike]) -> list[RunRecord]:
    """One run (path or RunRecord) or several, as a list of RunRecords."""
    if isinstance(runs, (str, os.PathLike, RunRecord)):
        runs = [runs]
    recs = [r if isinstance(r, RunRecord) else RunRecord(r) for r in runs]
    if not recs:
        raise UserError("no run given")
    return recs


def _check_noise(named: Sequence[tuple[str, np.ndarray | None]]) -> None:
    """Raise UserError unless every run decoded the same fixed noise (shape and values)."""
    if len(named) < 2:
        return
    missing = [n for n, z in named if z is None]
    if missing:
        raise UserError(f"run(s) {', '.join(missing)} saved no fixed noise; cannot check that they compare")
    ref_name, ref = named[0]
    bad = []
    for name, z in named[1:]:
        if z.shape != ref.shape:
            bad.append(f"{name} (noise shape {tuple(z.shape)} vs {tuple(ref.shape)})")
        elif not np.array_equal(z, ref):
            bad.append(f"{name} (same shape {tuple(z.shape)}, different values)")
    if bad:
        raise UserError(
            f"side-by-side needs the same fixed noise in every run, but {'; '.join(bad)} differ(s) from "
            f"{ref_name}; compare runs with the same latent size and number of fixed samples"
        )


def check_same_noise(records: RunLike | Iterable[RunLike]) -> None:
    """Raise UserError naming the runs whose fixed ``noise`` differs from the first run's."""
    recs = as_records(records)
    _check_noise([(r.name, r.timelapse().get("noise")) for r in recs])


def align_steps(steps_list: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Union of the runs' snapshot steps, and per run the index of its frame at or before each step.

    Before a run's first snapshot the first frame is shown (clamped), so every run always has a frame.
    """
    arrays = [np.asarray(s, dtype=np.int64).ravel() for s in steps_list]
    for i, s in enumerate(arrays):
        if len(s) == 0:
            raise UserError(f"run {i} has no snapshots")
        if np.any(np.diff(s) <= 0):
            raise ValueError(f"snapshot steps of run {i} are not strictly increasing")
    common = np.unique(np.concatenate(arrays))
    idx = [np.clip(np.searchsorted(s, common, side="right") - 1, 0, None) for s in arrays]
    return common, idx


# --- images -------------------------------------------------------------------------------------


def _grid_shape(n: int, h: int, w: int, nrow: int | None, padding: int) -> tuple[int, int, int]:
    """(columns, grid height, grid width) of make_grid's layout for ``n`` samples of h x w."""
    cols = min(nrow or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    return cols, rows * (h + padding) + padding, cols * (w + padding) + padding


def _grid_into(out: np.ndarray, frames: np.ndarray, sel: np.ndarray | slice, cols: int, padding: int) -> None:
    """Lay out ``frames[sel]`` (T, N, h, w, 3) as grids into ``out`` (T, H', W', 3), in place.

    Tile by tile, channel-last, straight into the caller's canvas: torchvision's make_grid copies
    channel-first and would need two more passes over every frame (~1 s for 100 snapshots of 64).
    """
    out[:] = BACKGROUND
    n, h, w = frames.shape[1:4]
    p = padding
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = p + r * (h + p), p + c * (w + p)
        out[:, y:y + h, x:x + w] = frames[sel, k]


def grid_frames(frames: np.ndarray, nrow: int | None = None, scale: int = 2, padding: int = 2) -> np.ndarray:
    """(T, N, H, W, 3) or (N, H, W, 3) uint8 samples -> (T, H', W', 3) uint8 grids, nearest-upscaled.

    The layout of ``torchvision.utils.make_grid`` (``nrow`` samples per row, ``padding`` pixels around
    each, empty tiles in the padding colour); tests check that the two agree pixel for pixel.
    """
    f = np.asarray(frames)
    if f.ndim == 4:
        f = f[None]
    if f.ndim != 5 or f.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (T, N, H, W, 3), got {f.shape}")
    t_n, n, h, w, _ = f.shape
    cols, gh, gw = _grid_shape(n, h, w, nrow, padding)
    out = np.empty((t_n, gh, gw, 3), dtype=np.uint8)
    _grid_into(out, f, slice(None), cols, padding)
    return upscale(out, scale)


def upscale(img: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (..., H, W) or (..., H, W, 3) arrays; pixels stay crisp."""
    if scale == 1:
        return img
    if scale < 1 or int(scale) != scale:
        raise ValueError(f"scale={scale!r}: must be a positive integer")
    rgb = img.shape[-1] == 3 and img.ndim >= 3
    h_ax = img.ndim - (3 if rgb else 2)
    return img.repeat(scale, axis=h_ax).repeat(scale, axis=h_ax + 1)


def _font() -> ImageFont.ImageFont:
    # The bitmap default font: crisp without anti-aliasing, so text costs only two palette colours.
    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader else ImageFont.load_default()


def _text_strip(width: int, text: str, align: str = "left") -> np.ndarray:
    """A (h, width, 3) dark strip with ``text`` in the bitmap font, cut with ".." to fit."""
    font = _font()
    im = Image.new("RGB", (max(width, 1), STRIP), BACKGROUND)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"
    while text and draw.textlength(text, font=font) > width - 4:
        text = text[:-3] + ".." if len(text) > 3 else ""
    x = 2 if align == "left" else max(2, (width - int(draw.textlength(text, font=font))) // 2)
    draw.text((x, 1), text, font=font, fill=TEXT)
    return np.asarray(im)


def caption(img: np.ndarray, text: str, where: str = "bottom", scale: int = 1) -> np.ndarray:
    """``img`` (H, W, 3) uint8 with a dark text strip added below (or above) it.

    The strip is drawn at 1/``scale`` of the image width and upscaled, so text grows with the pixels.
    """
    if where not in ("bottom", "top"):
        raise ValueError(f"where={where!r}: choose bottom or top")
    h, w = img.shape[:2]
    strip = upscale(_text_strip(w // scale, text), scale)
    if strip.shape[1] != w:  # width not divisible by scale: pad the strip with background
        strip = np.concatenate([strip, np.broadcast_to(np.array(BACKGROUND, np.uint8),
                                                       (strip.shape[0], w - strip.shape[1], 3))], axis=1)
    parts = [img, strip] if where == "bottom" else [strip, img]
    return np.concatenate(parts, axis=0)


def compose_frames(runs: RunLike | Iterable[RunLike], scale: int = 1, captions: bool = True,
                   max_frames: int | None = None, samples: int | None = None, nrow: int | None = None,
                   padding: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The timelapse as RGB frames: (steps (T,), frames uint8 (T, H, W, 3)).

    Several runs sit side by side (a name strip above each) at the union of their snapshot steps,
    each showing its latest snapshot at or before the step. Refuses runs with different fixed noise.
    ``samples`` keeps only the first that many samples of the fixed batch (a smaller GIF).
    """
    if samples is not None and samples < 1:
        raise UserError(f"samples={samples}: must be at least 1")
    recs = as_records(runs)
    tls = [r.timelapse() for r in recs]
    _check_noise([(r.name, tl.get("noise")) for r, tl in zip(recs, tls, strict=True)])
    steps, idx = align_steps([tl["steps"] for tl in tls])
    keep = _subsample(len(steps), max_frames)
    steps = steps[keep]
    shapes = [tl["frames"][:, :samples].shape[1:4] for tl in tls]
    layouts = [_grid_shape(n, h, w, nrow, padding) for n, h, w in shapes]
    label_h = STRIP if len(recs) > 1 else 0
    cap_h = STRIP if captions else 0
    width = sum(gw for _, _, gw in layouts) + GAP * (len(tls) - 1)
    height = label_h + max(gh for _, gh, _ in layouts)
    # One canvas, filled in place: building grids and concatenating would copy every frame 3-4 times.
    frames = np.empty((len(steps), height + cap_h, width, 3), dtype=np.uint8)
    frames[:] = BACKGROUND
    x = 0
    for rec, tl, ix, (cols, gh, gw) in zip(recs, tls, idx, layouts, strict=True):
        sel = ix[keep]
        if np.array_equal(sel, np.arange(sel[0], sel[0] + len(sel))):
            sel = slice(int(sel[0]), int(sel[0]) + len(sel))  # a view, not a gathered copy
        if label_h:
            frames[:, :label_h, x:x + gw] = _text_strip(gw, rec.name, align="center")
        _grid_into(frames[:, label_h:label_h + gh, x:x + gw], tl["frames"][:, :samples], sel, cols, padding)
        x += gw + GAP
    if captions:
        for f, s in zip(frames, steps, strict=True):
            f[height:] = _text_strip(width, f"step {int(s)}")
    return steps, upscale(frames, scale)


def _subsample(n: int, max_frames: int | None) -> np.ndarray:
    """At most ``max_frames`` indices of ``range(n)``, evenly spread, first and last kept."""
    if max_frames is None or n <= max_frames:
        return np.arange(n)
    if max_frames < 2:
        raise ValueError(f"max_frames={max_frames}: need at least 2 (first and last)")
    return np.unique(np.round(np.linspace(0, n - 1, max_frames)).astype(np.int64))


# --- GIF encoding -------------------------------------------------------------------------------


def gif_durations(n: int, fps: float = 8, hold_first_ms: int = 1000, hold_last_ms: int = 3000) -> list[int]:
    """Per-frame durations in milliseconds: the first and last frames held, the rest at ``fps``."""
    if fps <= 0:
        raise UserError(f"fps={fps!r}: must be positive")
    if n <= 0:
        return []
    if n == 1:
        return [max(hold_first_ms, hold_last_ms)]
    step = max(20, int(round(1000 / fps)))  # browsers slow shorter GIF delays down to 100 ms
    return [int(hold_first_ms)] + [step] * (n - 2) + [int(hold_last_ms)]


class Quantizer:
    """A global palette and an RGB -> palette-index lookup table shared by every frame of a GIF."""

    def __init__(self, sample: np.ndarray, colors: int = 128):
        if not 2 <= colors <= 255:  # 255 at most: Pillow needs one free index for transparency
            raise ValueError(f"colors={colors}: must be between 2 and 255")
        px = np.asarray(sample, dtype=np.uint8).reshape(-1, 3)
        rng = np.random.default_rng(0)
        if len(px) > 65536:  # median cut on a fixed-size sample: its cost no longer grows with T
            px = px[rng.choice(len(px), 65536, replace=False)]
        side = math.isqrt(len(px))
        px = px[: side * side].reshape(side, side, 3)
        fixed = np.array([BACKGROUND, TEXT], dtype=np.uint8)
        quant = Image.fromarray(px).quantize(colors=colors - len(fixed), method=Image.Quantize.MEDIANCUT)
        found = np.array(quant.getpalette()[: 3 * (colors - len(fixed))], dtype=np.uint8).reshape(-1, 3)
        pal = np.unique(np.concatenate([fixed, found]), axis=0)  # Pillow wants distinct entries
        self.palette = pal
        levels = (np.arange(2**LUT_BITS, dtype=np.float32) + 0.5) * (256 / 2**LUT_BITS)
        cells = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
        p = pal.astype(np.float32)
        # einsum rather than BLAS: no thread pool to fight the training loop for two cores.
        d2 = (p * p).sum(1)[None, :] - 2 * np.einsum("nc,kc->nk", cells, p)
        self.lut = d2.argmin(axis=1).astype(np.uint8)
        diff = pal[:, None, :].astype(np.float32) - pal[None, :, :].astype(np.float32)
        self._dist = np.sqrt((diff * diff).sum(-1))

    def indices(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (T, H, W, 3) or (H, W, 3) -> palette indices (T, H, W) or (H, W)."""
        rgb = np.asarray(rgb, dtype=np.uint8)
        if rgb.ndim == 3:
            return self.indices(rgb[None])[0]
        shift = 8 - LUT_BITS
        out = np.empty(rgb.shape[:-1], dtype=np.uint8)
        key = np.empty(rgb.shape[1:-1], dtype=np.uint16)
        for t, frame in enumerate(rgb):  # frame by frame, in place: 4x faster than whole-array temporaries
            np.right_shift(frame[..., 0], shift, out=key, dtype=np.uint16)
            key <<= LUT_BITS
            key |= frame[..., 1] >> shift
            key <<= LUT_BITS
            key |= frame[..., 2] >> shift
            np.take(self.lut, key, out=out[t])
        return out

    def stabilise(self, idx: np.ndarray, tolerance: float) -> np.ndarray:
        """Keep a pixel's previous index while its new colour lies within ``tolerance`` of the shown one.

        The shown colour never strays more than ``tolerance`` from the frame's own quantised colour;
        in return, still pixels stay identical and the GIF writer can make them transparent.
        """
        if tolerance <= 0 or len(idx) < 2:
            return idx
        near = np.zeros((256, 256), dtype=bool)
        k = len(self.palette)
        near[:k, :k] = self._dist <= tolerance
        near = near.ravel()
        out = np.empty_like(idx)
        out[0] = idx[0]
        key = np.empty(idx.shape[1:], dtype=np.uint16)
        keep = np.empty(idx.shape[1:], dtype=bool)
        for t in range(1, len(idx)):
            prev, new = out[t - 1], idx[t]
            np.left_shift(prev, 8, out=key, dtype=np.uint16)
            key |= new
            np.take(near, key, out=keep)
            out[t] = new
            np.copyto(out[t], prev, where=keep)
        return out


def encode_gif(frames: np.ndarray, durations_ms: Sequence[int], colors: int = 128, tolerance: float = 12.0,
               scale: int = 1) -> bytes:
    """RGB frames (T, H, W, 3) -> looping GIF bytes; ``scale`` upscales after quantising (cheaper).

    Pixels that keep their palette index from one frame to the next are written as a transparent
    index over the previous frame (disposal 1), so the LZW coder sees long runs of one value.
    """
    frames = np.asarray(frames, dtype=np.uint8)
    if len(durations_ms) != len(frames):
        raise ValueError(f"{len(durations_ms)} durations for {len(frames)} frames")
    if len(frames) == 0:
        raise ValueError("no frames to encode")
    pick = np.unique(np.round(np.linspace(0, len(frames) - 1, min(len(frames), 16))).astype(np.int64))
    q = Quantizer(frames[pick], colors)
    idx = q.stabilise(q.indices(frames), tolerance)
    clear = len(q.palette)  # the first unused index: Quantizer keeps at most 255 colours
    coded = idx.copy()
    coded[1:][idx[1:] == idx[:-1]] = clear
    coded = upscale(coded, scale)
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[:clear] = q.palette
    pal_bytes = palette.tobytes()
    images = []
    for x in coded:
        im = Image.frombytes("P", (x.shape[1], x.shape[0]), x.tobytes())
        im.putpalette(pal_bytes)
        images.append(im)
    # Pillow directly, not imageio.v3.imwrite: imageio takes arrays only, so index frames would arrive
    # as "L" images that Pillow re-maps one by one (~25% of the export time). Durations are in ms;
    # loop=0 makes the GIF loop forever. optimize=False: the transparency work is done above, and
    # Pillow's own pass would re-map the palette of small frames frame by frame.
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=[int(d) for d in durations_ms], transparency=clear, disposal=1, optimize=False)
    return buf.getvalue()


def gif_bytes(runs: RunLike | Iterable[RunLike], fps: float = 8, scale: int = 2, captions: bool = True,
              hold_first_ms: int = 1000, hold_last_ms: int = 3000, max_frames: int | None = None,
              samples: int | None = None, colors: int = 128, tolerance: float = 12.0) -> bytes:
    """The timelapse of one run, or several side by side, as GIF bytes (see ``export_gif``)."""
    steps, frames = compose_frames(runs, scale=1, captions=captions, max_frames=max_frames, samples=samples)
    durations = gif_durations(len(frames), fps, hold_first_ms, hold_last_ms)
    return encode_gif(frames, durations, colors=colors, tolerance=tolerance, scale=scale)


def export_gif(runs: RunLike | Iterable[RunLike], out_path: str | os.PathLike, fps: float = 8, scale: int = 2,
               captions: bool = True, hold_first_ms: int = 1000, hold_last_ms: int = 3000,
               max_frames: int | None = None, samples: int | None = None, colors: int = 128,
               tolerance: float = 12.0) -> Path:
    """Write the timelapse GIF of one run (or several side by side) to ``out_path``, atomically.

    The first frame is held ``hold_first_ms``, the last ``hold_last_ms``, the others last 1000/fps ms;
    the GIF loops. Browsers play delays under 20 ms as 100 ms, so fps above 50 is capped at 50.
    Identical consecutive frames (possible only with ``captions=False``) may be merged by the writer,
    their durations added.

    Size levers, largest first: ``samples`` (16 of 64 samples: ~4x smaller), ``scale`` (1 instead of
    2: ~2.5x), ``max_frames``, ``colors``; ``tolerance`` (RGB distance, 0-441) trades a slight colour
    lag for far fewer changed pixels on slowly drifting samples.
    """
    out = Path(out_path)
    if out.suffix.lower() != ".gif":
        raise UserError(f"{out}: the output name must end in .gif")
    data = gif_bytes(runs, fps=fps, scale=scale, captions=captions, hold_first_ms=hold_first_ms,
                     hold_last_ms=hold_last_ms, max_frames=max_frames, samples=samples, colors=colors,
                     tolerance=tolerance)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, data)
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    return out


def gif_html(data: bytes, scale: int = 1, alt: str = "timelapse") -> str:
    """An ``<img>`` tag with the GIF inlined as base64, so a notebook shows it without a kernel or file.

    ``scale`` > 1 enlarges it in the browser (pixelated), which keeps the stored notebook small.
    """
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
    b64 = base64.b64encode(data).decode("ascii")
    alt = html.escape(alt, quote=True)
    return (f'<img src="data:image/gif;base64,{b64}" alt="{alt}" width="{w * scale}" height="{h * scale}" '
            'style="image-rendering: pixelated;"/>')
