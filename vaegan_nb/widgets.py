"""A timelapse player for the notebooks (ipywidgets 8), and the static GIF that stands in without a kernel.

The player steps through the fixed-noise snapshots of one run, or of several side by side at the
same training step, with the run's headline metrics and a small metric plot whose cursor follows.
Everything comes from run records, so a finished run can be replayed without retraining.
"""

from __future__ import annotations

import html
import io
import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from PIL import Image

from .timelapse import (
    RunLike,
    _check_noise,
    align_steps,
    as_records,
    export_gif,
    gif_bytes,
    gif_html,
    grid_frames,
    upscale,
)

MAX_IMAGE_WIDTH = 1400  # pixels across all runs: bigger PNGs make every slider move slow to arrive
PNG_CACHE_BYTES = 256 * 2**20  # encoded grids kept per player: a replay is free, memory stays bounded


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # Level 1: several times faster than the default and barely larger on these flat pixel grids.
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _series(m: dict[str, np.ndarray], column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a metric column, finite entries only; empty when the column is missing."""
    steps = m.get("step", np.zeros(0))
    values = m.get(column, np.full(len(steps), np.nan))
    ok = np.isfinite(steps) & np.isfinite(values)
    return steps[ok], values[ok]


def _value_at(series: tuple[np.ndarray, np.ndarray], step: int) -> float | None:
    """The last finite logged value at or before ``step`` (None before the first)."""
    s, v = series
    i = int(np.searchsorted(s, step, side="right")) - 1
    return float(v[i]) if i >= 0 else None


class _CursorPlot:
    """Small metric panels rendered once; each step only paints a cursor into the cached pixels.

    Re-drawing the figure per frame measured ~170-200 ms here (busy 2-core machine); painting a
    2-pixel column into the cached pixels and encoding the small PNG measured ~3 ms.
    """

    def __init__(self, names: Sequence[str], metrics: Sequence[dict], columns: Sequence[str],
                 marks: Mapping[str, float] | None = None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        cols = [c for c in columns if any(np.isfinite(m.get(c, np.zeros(0))).any() for m in metrics)]
        self.columns = cols
        self._cache: dict[int, bytes] = {}
        if not cols:
            self._base = None
            return
        fig = Figure(figsize=(2.5 * len(cols), 1.9), dpi=80, layout="constrained")
        canvas = FigureCanvasAgg(fig)
        axs = np.atleast_1d(fig.subplots(1, len(cols)))
        for ax, col in zip(axs, cols, strict=True):
            for i, (name, m) in enumerate(zip(names, metrics, strict=True)):
                s, v = _series(m, col)
                ax.plot(s, v, color=f"C{i}", lw=1.1, label=name)
            vals = np.concatenate([m.get(col, np.zeros(0)) for m in metrics])
            vals = vals[np.isfinite(vals)]
            if len(vals) and vals.min() > 0 and vals.max() / vals.min() > 100:
                ax.set_yscale("log")
            for k, (label, step) in enumerate((marks or {}).items()):
                ax.axvline(step, color="0.35", ls="--", lw=0.8)
                ax.text(step, 0.97 - 0.1 * k, f" {label}", transform=ax.get_xaxis_transform(), fontsize="xx-small",
                        va="top", color="0.25")
            ax.set_title(col, fontsize="small")
            ax.tick_params(labelsize="x-small")
        if len(names) > 1:
            axs[0].legend(fontsize="xx-small")
        canvas.draw()
        self._base = np.asarray(canvas.buffer_rgba())[..., :3].copy()
        height = self._base.shape[0]
        # Pixel geometry of each axes, read once: x of a step, and the rows the cursor spans.
        self._axes = []
        for ax in axs:
            x0, y0, x1, y1 = ax.bbox.extents
            self._axes.append((ax.transData.frozen(), int(height - y1), int(height - y0), int(x0), int(x1)))

    def png(self, step: int) -> bytes:
        if self._base is None:
            return b""
        if step not in self._cache:
            img = self._base.copy()
            for trans, top, bottom, left, right in self._axes:
                x = int(round(trans.transform((step, 1.0))[0]))
                if left <= x < right:
                    img[top:bottom, max(left, x - 1):x + 1] = (220, 40, 40)
            self._cache[step] = _png(img)
        return self._cache[step]


class TimelapsePlayer:
    """Play / slider over the aligned snapshot steps of one or more runs, side by side.

    ``scale`` enlarges the sample grids (nearest neighbour); it is lowered when all images together
    would exceed ``MAX_IMAGE_WIDTH`` pixels. Runs must share their fixed noise (UserError otherwise).
    """

    def __init__(self, runs: RunLike | Iterable[RunLike], scale: int = 3,
                 metrics: Sequence[str] = ("kld", "kld_batch", "pixel", "diversity"), interval: int = 150,
                 marks: Mapping[str, float] | None = None):
        self.records = as_records(runs)
        tls = [r.timelapse() for r in self.records]
        _check_noise([(r.name, tl.get("noise")) for r, tl in zip(self.records, tls, strict=True)])
        self.steps, self._index = align_steps([tl["steps"] for tl in tls])
        self._grids = [grid_frames(tl["frames"], scale=1) for tl in tls]
        total = sum(g.shape[2] for g in self._grids)
        self.scale = max(1, min(int(scale), MAX_IMAGE_WIDTH // max(total, 1)))
        self._png_cache: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._png_bytes = 0
        self.metric_names = tuple(metrics)
        self._metrics = [r.metrics() for r in self.records]
        self._series = [{c: _series(m, c) for c in metrics} for m in self._metrics]

        last = len(self.steps) - 1
        self.play = widgets.Play(value=0, min=0, max=last, step=1, interval=interval, repeat=True,
                                 show_repeat=False, description="play")
        self.slider = widgets.IntSlider(value=0, min=0, max=last, description="snapshot", readout=False,
                                        continuous_update=True, layout=widgets.Layout(width="320px"))
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.speed = widgets.IntSlider(value=interval, min=40, max=1000, step=10, description="ms/frame",
                                       continuous_update=False, layout=widgets.Layout(width="260px"))
        widgets.jslink((self.speed, "value"), (self.play, "interval"))
        self.loop = widgets.ToggleButton(value=True, description="loop", icon="repeat",
                                         tooltip="start again after the last snapshot",
                                         layout=widgets.Layout(width="80px"))
        widgets.jslink((self.loop, "value"), (self.play, "repeat"))

        # Panels share the row; a grid wider than its share is shrunk by the browser, not cropped.
        self.images = [widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
                       for _ in self.records]
        panels = [widgets.VBox([widgets.HTML(f"<b>{html.escape(r.name)}</b>"), im],
                               layout=widgets.Layout(flex="1 1 0%", min_width="0", align_items="flex-start"))
                  for r, im in zip(self.records, self.images, strict=True)]
        self.label = widgets.HTML()
        self._plot = _CursorPlot([r.name for r in self.records], self._metrics, metrics, marks)
        self.plot = widgets.Image(format="png")
        children = [widgets.HBox([self.play, self.slider, self.speed, self.loop]), self.label,
                    widgets.HBox(panels)]
        if self._plot.columns:
            children.append(self.plot)
        self.widget = widgets.VBox(children)
        self.slider.observe(self._on_change, names="value")
        self._render(0)

    # --- display ------------------------------------------------------------------------------

    def _on_change(self, change: dict) -> None:
        self._render(int(change["new"]))

    def _frame_png(self, run: int, k: int) -> bytes:
        key = (run, int(self._index[run][k]))
        cache = self._png_cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        # ~100 ms for an 8x8 grid at 2x: encoded once, then served from the cache on every replay.
        data = cache[key] = _png(upscale(self._grids[run][key[1]], self.scale))
        self._png_bytes += len(data)
        while self._png_bytes > PNG_CACHE_BYTES and len(cache) > 1:
            self._png_bytes -= len(cache.popitem(last=False)[1])
        return data

    def _render(self, k: int) -> None:
        step = int(self.steps[k])
        for r, im in enumerate(self.images):
            im.value = self._frame_png(r, k)
        self.label.value = self.describe(k)
        if self._plot.columns:
            self.plot.value = self._plot.png(step)

    def describe(self, k: int) -> str:
        """The label text at snapshot ``k``: the step and each run's metrics at or before it."""
        step = int(self.steps[k])
        rows = []
        for rec, series in zip(self.records, self._series, strict=True):
            cells = []
            for c in self.metric_names:
                v = _value_at(series[c], step)
                cells.append(f"{c} {_fmt(v)}")
            rows.append(f"<tt>{html.escape(rec.name)}</tt>: " + ", ".join(cells))
        return f"<b>step {step}</b> ({k + 1}/{len(self.steps)})<br>" + "<br>".join(rows)

    def show(self, step_index: int) -> None:
        """Jump to snapshot ``step_index`` (negative counts from the end), as the slider would."""
        n = len(self.steps)
        if not -n <= step_index < n:
            raise IndexError(f"step_index {step_index} outside 0..{n - 1}")
        self.slider.value = step_index % n

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = (f"TimelapsePlayer of {', '.join(r.name for r in self.records)}: "
                                    "needs a running kernel (the GIF below shows the same timelapse)")
        return bundle

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _fmt(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.3g}"


def static_gif(runs: RunLike | Iterable[RunLike], fps: float = 8, scale: int = 2, max_frames: int | None = 60,
               samples: int | None = 16, captions: bool = True, **kwargs):
    """The timelapse as an ``IPython.display.HTML`` with the GIF inlined (base64).

    The fallback for GitHub, nbviewer and nbconvert HTML, which show no widgets. It is stored in the
    notebook, so it is kept small: the first ``samples`` fixed samples, at most ``max_frames``
    snapshots, stored at 1x and enlarged by the browser (``scale``). ``None`` lifts a limit.
    """
    from IPython.display import HTML

    recs = as_records(runs)
    data = gif_bytes(recs, fps=fps, scale=1, captions=captions, max_frames=max_frames, samples=samples,
                     **kwargs)
    with np.load(recs[0].path / "timelapse.npz") as z:  # one noise row per fixed sample; skips the frames
        n = len(z["noise"])
    shown = n if samples is None else min(samples, n)
    note = (f"{'all' if shown == n else f'first {shown} of'} {n} fixed samples; "
            "a static copy of the player above, for viewers without a running kernel")
    return HTML(f'{gif_html(data, scale=scale, alt="timelapse of " + ", ".join(r.name for r in recs))}'
                f'<div style="font-size: small; color: gray;">{html.escape(note)}</div>')


def display_timelapse(runs: RunLike | Iterable[RunLike], scale: int = 3, gif_scale: int = 2, fps: float = 8,
                      max_frames: int | None = 60, samples: int | None = 16,
                      metrics: Sequence[str] = ("kld", "kld_batch", "pixel", "diversity"),
                      gif_path: str | os.PathLike | None = None,
                      marks: Mapping[str, float] | None = None) -> TimelapsePlayer:
    """Show the player (live kernels) and the static GIF (every viewer); returns the player.

    ``marks``: label -> step, drawn as dashed lines on the metric panels (e.g. {"collapse": 1850}).
    ``gif_path``: also write the full GIF there (all samples and snapshots, 2x), as ``export_gif`` does.
    """
    from IPython.display import display

    recs = as_records(runs)
    player = TimelapsePlayer(recs, scale=scale, metrics=metrics, interval=int(round(1000 / fps)), marks=marks)
    display(player)
    display(static_gif(recs, fps=fps, scale=gif_scale, max_frames=max_frames, samples=samples))
    if gif_path is not None:
        export_gif(recs, gif_path, fps=fps)
    return player
