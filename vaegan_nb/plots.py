"""Figures from run records: losses like the blog's, latent norms vs the sqrt(d) shell, diversity.

Every function takes run records (or their paths) and returns a matplotlib Figure. Figures are made
with ``Figure()`` rather than ``pyplot.figure()``: nothing is left in pyplot's registry, so a notebook
cell that returns one shows it once, and a long session does not pile up open figures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import diagnostics
from .runs import RunRecord
from .timelapse import grid_frames

RunLike = str | os.PathLike | RunRecord



def _enable_notebook_display() -> None:
    """In a Jupyter kernel, load the backend module now, as pyplot would on its first figure.

    Loading the inline backend registers IPython's PNG formatter for Figure; without it a Figure
    returned by a cell shows as its text repr until something calls pyplot.
    """
    import sys

    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    if get_ipython() is None:
        return
    import importlib

    import matplotlib

    backend = matplotlib.get_backend()
    module = backend[len("module://"):] if backend.startswith("module://") else None
    if backend == "inline":
        module = "matplotlib_inline.backend_inline"
    if module:
        try:
            importlib.import_module(module)
        except ImportError:
            pass


_enable_notebook_display()


def _records(runs: RunLike | Iterable[RunLike]) -> list[RunRecord]:
    if isinstance(runs, (str, os.PathLike, RunRecord)):
        runs = [runs]
    return [r if isinstance(r, RunRecord) else RunRecord(r) for r in runs]


def _series(m: dict[str, np.ndarray], column: str, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of a metric column, finite entries only (and > 0 for log axes)."""
    steps = m.get("step", np.zeros(0))
    v = m.get(column, np.full(len(steps), np.nan))
    ok = np.isfinite(v) & np.isfinite(steps)
    if positive:
        ok &= v > 0
    return steps[ok], v[ok]


def _label(rec: RunRecord) -> str:
    recipe = rec.meta.get("recipe")
    return rec.name if not recipe or recipe == rec.name else f"{rec.name} ({recipe})"


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in these runs", ha="center", va="center", transform=ax.transAxes,
            color="0.5")
    ax.set_xticks([])
    ax.set_yticks([])


def _plot_columns(ax: Axes, recs: Sequence[RunRecord], metrics: Sequence[dict], columns: Sequence[str],
                  logy: bool, title: str, styles: Sequence[str] = ("-", "--", ":", "-.")) -> None:
    """Every run in its own colour, every column in its own line style; a legend when it helps."""
    drawn = 0
    for i, (rec, m) in enumerate(zip(recs, metrics, strict=True)):
        colour = f"C{i}"
        for col, ls in zip(columns, styles, strict=False):
            x, y = _series(m, col, positive=logy)
            if len(x) == 0:
                continue
            name = col if len(recs) == 1 else f"{_label(rec)}: {col}"
            # The raw logged values faintly, a running mean over them boldly, as the blog drew its curves.
            ax.plot(x, y, ls, color=colour, lw=0.6, alpha=0.25)
            ax.plot(x, running_mean(y), ls, color=colour, lw=1.5, label=name)
            drawn += 1
    ax.set_title(title)
    if not drawn:
        _empty(ax, " / ".join(columns))
        return
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if drawn > 1:
        ax.legend(fontsize="x-small")


def running_mean(y: np.ndarray, share: float = 0.05) -> np.ndarray:
    """Centred running mean over ``share`` of the points (at least 1), shrinking at the ends."""
    y = np.asarray(y, dtype=np.float64)
    k = max(1, int(round(share * len(y))) // 2)
    c = np.concatenate([[0.0], np.cumsum(y)])
    i = np.arange(len(y))
    lo, hi = np.maximum(i - k, 0), np.minimum(i + k + 1, len(y))
    return (c[hi] - c[lo]) / (hi - lo)


def loss_panels(runs: RunLike | Iterable[RunLike]) -> Figure:
    """The blog's training curves, runs overlaid: pixel error, KLDs, feature matching, GAN losses.

    Panels: pixel (train, held-out), KLD per sample and per batch (log), feature matching,
    D and G losses (log), D's mean outputs on real and fake, and |z| / sqrt(d). A panel whose columns
    no run logged (e.g. GAN losses of a VAE) says so instead of staying blank.
    """
    recs = _records(runs)
    metrics = [r.metrics() for r in recs]
    fig = Figure(figsize=(13, 7), layout="constrained")
    axs = fig.subplots(2, 3)
    panels = [
        (("pixel", "pixel_test"), False, "pixel error (train, held-out)"),
        (("kld", "kld_batch"), True, "KLD per sample, batch KLD"),
        (("fm",), False, "feature matching"),
        (("d_loss", "g_loss"), True, "GAN losses: D, G"),
        (("d_real", "d_fake"), False, "D output on real, fake"),
        (("z_norm_ratio",), False, "|z| / sqrt(d) (1 = the N(0, I) shell)"),
    ]
    for ax, (cols, logy, title) in zip(axs.flat, panels, strict=True):
        _plot_columns(ax, recs, metrics, cols, logy, title)
    return fig


def compare_metric(runs: RunLike | Iterable[RunLike], column: str, logy: bool = False,
                   band: tuple[float, float] | None = None, band_label: str = "band") -> Figure:
    """One metric column of several runs on one axes; ``band`` (low, high) is shaded and labelled
    ``band_label``, e.g. a claim's range."""
    recs = _records(runs)
    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    if band is not None:
        ax.axhspan(*band, color="0.85", zorder=0, label=f"{band_label}: {band[0]:g}-{band[1]:g}")
    drawn = 0
    for i, rec in enumerate(recs):
        x, y = _series(rec.metrics(), column, positive=logy)
        if len(x):
            ax.plot(x, y, color=f"C{i}", lw=1.3, label=_label(rec))
            drawn += 1
    ax.set_title(column)
    if not drawn:
        _empty(ax, column)
        return fig
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(column)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def _snapshot_picks(steps: np.ndarray, n: int, wanted: Sequence[int] | None) -> list[int]:
    """Indices of ``wanted`` steps (the latest snapshot at or before each), or ``n`` evenly spread."""
    if wanted is not None:
        return [int(max(0, np.searchsorted(steps, s, side="right") - 1)) for s in wanted]
    n = max(1, min(n, len(steps)))
    return sorted({int(i) for i in np.round(np.linspace(0, len(steps) - 1, n))})


def latent_norm_hist(run: RunLike, n_panels: int = 4, steps: Sequence[int] | None = None) -> Figure:
    """Histograms of |z| of the encoded held-out frames at a few snapshots, against N(0, I)'s chi density.

    A prior-matching encoder puts its norms on the chi curve around sqrt(d); the blog's exploding
    VAE-GAN moves them far outwards (a ring or a far-off "galaxy"), where N(0, I) samples never land.
    """
    rec = _records(run)[0]
    tl = rec.timelapse()
    lat, snap = tl["latents"], tl["steps"]
    d = lat.shape[-1]
    picks = _snapshot_picks(snap, n_panels, steps)
    norms = [diagnostics.latent_norms(lat[i]) for i in picks]
    r0 = diagnostics.shell_radius(d)
    hi = max(max(float(n.max()) for n in norms), r0 + 4 * 0.71) * 1.08  # chi's sd tends to 1/sqrt(2)
    r = np.linspace(0, hi, 400)
    pdf = diagnostics.chi_pdf(r, d)
    fig = Figure(figsize=(3.2 * len(picks), 2.9), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(picks), sharex=True))
    for ax, i, n in zip(axs, picks, norms, strict=True):
        ax.hist(n, bins=24, range=(0, hi), density=True, color="C0", alpha=0.7, label="encoded |z|")
        ax.plot(r, pdf, color="C3", lw=1.2, label=f"chi, d={d}")
        ax.axvline(r0, color="0.3", ls="--", lw=1, label=f"sqrt(d) = {r0:.1f}")
        ax.set_title(f"step {int(snap[i])}: mean |z| = {n.mean():.1f}", fontsize="medium")
        ax.set_xlabel("|z|")
        ax.set_yticks([])
    axs[0].legend(fontsize="x-small")
    fig.suptitle(f"{_label(rec)}: distance of encoded held-out frames from the origin")
    return fig


def latent_pca(run: RunLike, steps: Sequence[int] | None = None, n_panels: int = 4, seed: int = 0) -> Figure:
    """Encoded held-out latents in 2-D at a few snapshots, with N(0, I) samples for reference.

    The projection is the top two directions of the uncentred latents of the chosen snapshots, the
    same for every panel, so the origin (+) stays at (0, 0) and drift away from it shows. Grey: as
    many N(0, I) samples projected the same way, i.e. where a prior-matching encoder would put them.
    """
    rec = _records(run)[0]
    tl = rec.timelapse()
    lat, snap = tl["latents"].astype(np.float64), tl["steps"]
    picks = _snapshot_picks(snap, n_panels, steps)
    basis = diagnostics.pca_basis(lat[picks], center=False)
    prior = np.random.default_rng(seed).standard_normal(lat.shape[1:]) @ basis
    proj = [lat[i] @ basis for i in picks]
    lim = max(float(np.abs(np.concatenate([*proj, prior])).max()), 1.0) * 1.1
    fig = Figure(figsize=(3.2 * len(picks), 3.3), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(picks), sharex=True, sharey=True))
    for ax, i, p in zip(axs, picks, proj, strict=True):
        ax.scatter(prior[:, 0], prior[:, 1], s=6, color="0.7", label="N(0, I)")
        ax.scatter(p[:, 0], p[:, 1], s=8, color="C0", label="encoded")
        ax.plot([0], [0], "k+", ms=10, mew=1.5)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"step {int(snap[i])}", fontsize="medium")
        ax.set_xlabel("PC 1")
    axs[0].set_ylabel("PC 2")
    axs[0].legend(fontsize="x-small", loc="upper left")
    fig.suptitle(f"{_label(rec)}: held-out latents, uncentred PCA (+ = origin)")
    return fig


def _diversity_series(rec: RunRecord) -> tuple[np.ndarray, np.ndarray]:
    """Logged diversity, or computed from the timelapse where the metrics lack it."""
    x, y = _series(rec.metrics(), "diversity")
    if len(x):
        return x, y
    tl = rec.timelapse()
    return tl["steps"].astype(np.float64), np.array([diagnostics.diversity(f) for f in tl["frames"]])


def diversity_plot(run: RunLike, drop: float = 0.5, reference: float | None = None) -> Figure:
    """Diversity of the fixed-noise samples over training, the collapse step marked.

    Palette fidelity goes on a second axis when the run logged it (column ``palette`` or
    ``palette_fidelity``). ``reference``: the diversity of real frames, drawn as a dashed line.
    """
    rec = _records(run)[0]
    x, y = _diversity_series(rec)
    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, y, "o-", color="C0", ms=3, lw=1.3, label="diversity")
    if reference is not None:
        ax.axhline(reference, color="C0", ls=":", lw=1, label="real frames")
    at = diagnostics.collapse_step(x, y, drop=drop)
    if at is not None:
        ax.axvline(at, color="C3", lw=1.2)
        ax.annotate(f"collapse at step {at}", xy=(at, ax.get_ylim()[1]), xytext=(4, -12),
                    textcoords="offset points", color="C3", fontsize="small")
    ax.set_xlabel("step")
    ax.set_ylabel("diversity (mean pairwise RMS)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    m = rec.metrics()
    col = next((c for c in ("palette", "palette_fidelity") if c in m), None)
    handles, labels = ax.get_legend_handles_labels()
    if col is not None:
        px, py = _series(m, col)
        if len(px):
            ax2 = ax.twinx()
            ax2.plot(px, py, "s--", color="C2", ms=3, lw=1, label="palette fidelity")
            ax2.set_ylim(0, 1.02)
            ax2.set_ylabel("palette fidelity", color="C2")
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize="small", loc="lower left")
    state = "no collapse detected" if at is None else f"collapse at step {at}: {drop:.0%} below its peak"
    ax.set_title(f"{_label(rec)}: fixed-noise sample diversity ({state})", fontsize="medium")
    return fig


def sample_grid(frames: np.ndarray, title: str = "", nrow: int | None = None) -> Figure:
    """One grid of uint8 samples (N, H, W, 3): real frames, reconstructions or generated samples."""
    grid = grid_frames(np.asarray(frames, dtype=np.uint8)[None], nrow=nrow, scale=1)[0]
    h, w = grid.shape[:2]
    fig = Figure(figsize=(min(12.0, w / 60 + 0.4), min(12.0, h / 60 + 0.6)), layout="constrained")
    ax = fig.subplots()
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def likeness_gallery(rows: Sequence[tuple[str, np.ndarray]], real: np.ndarray, per_row: int = 8) -> Figure:
    """Batches, a row each, with the two figures of ``diagnostics.frame_likeness`` against ``real`` and
    the verdict under each: does the ruler agree with the eye? Each batch is scored whole; the row shows
    its first ``per_row`` samples."""
    if not rows:
        raise ValueError("likeness_gallery needs at least one (name, batch) row")
    fig = Figure(figsize=(8.0, 1.25 * len(rows) + 0.3), layout="constrained")
    bars = {n: diagnostics.likeness_bars(real, n) for n in {len(batch) for _, batch in rows}}
    for ax, (name, batch) in zip(fig.subplots(len(rows), 1, squeeze=False)[:, 0], rows, strict=True):
        f = diagnostics.frame_likeness(batch, real, bars[len(batch)])
        verdict = "looks like frames" if diagnostics.likeness_passes(f) else "does not look like frames"
        ax.imshow(grid_frames(np.asarray(batch[:per_row], dtype=np.uint8), nrow=per_row, scale=1)[0],
                  interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{name}: patch distance {f['patch distance']:.4f} (bar {f['patch bar']:.4f}), hue bins "
                     f"{f['hue bins']:.1f} (bar {f['hue bar']:.1f}): {verdict}", fontsize="small", loc="left")
    return fig


# --- our curves beside the blog's ---------------------------------------------------------------

BlogPanel = tuple[RunLike, str, str, str, str]  # (run, our column, blog figure, blog series, title)


def blog_comparison(panels: Sequence[BlogPanel], growth: bool = True, early: float = 0.05) -> Figure:
    """Our curve and the blog's on one axes per panel, each on its own run's length (0 to 1).

    With ``growth`` both are divided by their value at ``early`` of the run (the claims' "at 5%"),
    so a curve that grows 3-fold ends at 3 whatever its units; otherwise each keeps its own y axis.
    The blog's curves are its own numbers (data/blog_curves/), drawn grey and labelled with the post.
    """
    from . import blog_curves, claims

    fig = Figure(figsize=(4.2 * len(panels), 3.3), layout="constrained")
    axs = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (run, col, figure, series, title) in zip(axs, panels, strict=True):
        rec = _records(run)[0]
        x, y = _series(rec.metrics(), col, positive=growth)
        x, y = x[x > 0], y[x > 0]
        bx, by = blog_curves.series(figure, series)
        bx, by = bx[bx > 0], by[bx > 0]
        # The blog's lines carry spikes where its running mean restarted; a running median hides them.
        ours, blog, blog_raw = running_mean(y), claims.smoothed(by, max(3, len(by) // 40)), by
        if growth:
            ours = ours / claims.at(x, y, early)
            blog, blog_raw = (v / claims.at(bx, by, early) for v in (blog, blog_raw))
        ax.plot(x / x.max(), ours, color="C0", lw=1.6, label=f"ours: {_label(rec)}, {int(x.max())} steps")
        target = ax if growth else ax.twinx()
        target.plot(bx / bx.max(), blog_raw, color="0.45", lw=0.6, alpha=0.25)
        target.plot(bx / bx.max(), blog, color="0.45", lw=1.4, ls="--",
                    label=f"{blog_curves.label(figure, series)}, {int(bx.max()):,} steps")
        ax.axvline(early, color="0.7", lw=0.8, ls=":")
        ax.set_xlabel("share of the run")
        ax.set_ylabel(f"{col} / its value at {early:.0%}" if growth else f"ours: {col}")
        if not growth:
            target.set_ylabel("blog")
        log = growth and max(np.nanmax(ours), np.nanmax(blog)) / max(min(np.nanmin(ours), np.nanmin(blog)), 1e-12) > 30
        if log:
            ax.set_yscale("log")
        # The y range follows the smoothed curves: the raw line's spikes (the beta-0.1 KLD's reach
        # 20,000 times its level) are clipped, not allowed to flatten everything else.
        for axis, curves in ([(ax, (ours, blog))] if growth else [(ax, (ours,)), (target, (blog,))]):
            _fit_ylim(axis, np.concatenate(curves), log)
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
        handles = ax.get_legend_handles_labels()
        if target is not ax:
            h2 = target.get_legend_handles_labels()
            handles = (handles[0] + h2[0], handles[1] + h2[1])
        ax.legend(*handles, fontsize="x-small")
    return fig


def _fit_ylim(ax, values: np.ndarray, log: bool, pad: float = 0.08) -> None:
    """Set ``ax``'s y range to ``values`` (finite, and positive on a log axis) with a margin."""
    v = values[np.isfinite(values) & ((values > 0) if log else True)]
    if not len(v):
        return
    lo, hi = float(v.min()), float(v.max())
    if log:
        ax.set_ylim(lo / (1 + pad) ** 4, hi * (1 + pad) ** 4)
    else:
        span = (hi - lo) or abs(hi) or 1.0
        ax.set_ylim(lo - pad * span, hi + pad * span)


def drift_by_beta(sweep: Mapping[float, RunLike]) -> Figure:
    """Where the codes end up, by beta: our mean|z|/sqrt(d) at the end of each sweep run beside the
    blog's (its held-out codes' mean distance from the origin over sqrt(1024), at the end of its runs)."""
    from . import blog_curves, claims

    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.subplots()
    betas = sorted(sweep)
    ours = [claims.final(_records(sweep[b])[0], "z_norm_ratio") for b in betas]
    ax.plot(betas, ours, "o-", color="C0", label="ours, end of each run")
    blog_b = [0.1, 1, 2, 8]
    shell = np.sqrt(blog_curves.LATENT_DIM)
    blog = [claims.at(*blog_curves.series("2019-05-09_latent", f"β={b:g} - Test"), 1.0) / shell for b in blog_b]
    ax.plot(blog_b, blog, "s--", color="0.45", label="blog, 'beta VAE-GAN?' (latent: test)")
    ax.axhline(1.0, color="C3", lw=0.8, ls=":", label="the N(0, I) shell")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("mean |z| / sqrt(d)")
    ax.set_title("distance of the codes from the origin, by beta")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="x-small")
    return fig


def likeness_plot(runs: RunLike | Iterable[RunLike]) -> Figure:
    """Claim 9's ruler over training: the fixed-noise fakes' texture and colour, each over its bar, for
    each run on the share of its own length (so a run at a tenth of the learning rate and ten times the
    steps lines up with the laptop's). Below the dashed line at 1 a figure passes; both at once look
    like frames."""
    from .claims import likeness_series

    recs = _records(runs)
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for i, rec in enumerate(recs):
        s = likeness_series(rec)
        share = s["steps"] / max(int(s["steps"][-1]), 1)
        for ax, key in zip(axes, ("texture", "colour"), strict=True):
            ax.plot(share, s[key], "o-", ms=2.5, lw=1.2, color=f"C{i}",
                    label=f"{_label(rec)}, {int(s['steps'][-1]):,} steps")
    for ax, title in zip(axes, ("texture: patch distance / its bar", "colour: hue bins / its bar"), strict=True):
        ax.axhline(1.0, color="0.3", ls="--", lw=1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("share of the run")
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("figure / bar (at most 1 passes)")
    axes[0].legend(fontsize="small")
    return fig


def controller_plot(runs: RunLike | Iterable[RunLike], band: float = 0.5) -> Figure:
    """The adaptive beta at work (``recipes.adaptive_step``): beta, the batch KLD it holds beside its
    target (shaded: +-``band`` of it), and the per-sample KLD that the batch KLD does not see."""
    recs = _records(runs)
    metrics = [r.metrics() for r in recs]
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axs = fig.subplots(1, 3)
    _plot_columns(axs[0], recs, metrics, ("beta",), True, "beta (log)")
    targets = sorted({r.config.train.beta_target for r in recs})
    for t in targets:
        axs[1].axhspan(t * (1 - band), t * (1 + band), color="0.85", zorder=0)
        axs[1].axhline(t, color="0.3", ls="--", lw=1)
    _plot_columns(axs[1], recs, metrics, ("kld_held", "kld_batch"), False,
                  f"batch KLD per dimension: held (moving statistics) and\nthe batch's own; "
                  f"target {', '.join(f'{t:g}' for t in targets)} +-{band:.0%} shaded")
    if targets:
        # The first steps' overshoot would flatten the band: the axis ends at 4x the target, or at the
        # values' 99th percentile from 5% of the run on, and says how many logged points lie above it.
        series = [_series(m, c) for m in metrics for c in ("kld_held", "kld_batch")]
        late = np.concatenate([y[x >= 0.05 * x.max()] for x, y in series if len(x)] or [np.zeros(0)])
        top = max(4 * max(targets), float(np.quantile(late, 0.99)) if len(late) else 0.0)
        axs[1].set_ylim(0, top)
        above = sum(int((y > top).sum()) for _, y in series)
        if above:
            axs[1].text(0.99, 0.02, f"{above} logged points above the axis", ha="right", va="bottom",
                        transform=axs[1].transAxes, fontsize="x-small", color="0.3")
    _plot_columns(axs[2], recs, metrics, ("kld",), True, "per-sample KLD per dimension (log)")
    return fig
