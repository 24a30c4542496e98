"""Figures that test the blog's claims on a run record; shared by tests, notebooks and docs.

Every function reads smoothed columns (a running median), so one noisy logged step cannot make or
break a claim.
"""

from __future__ import annotations

import numpy as np

from .runs import RunRecord


def smoothed(values: np.ndarray, window: int = 5) -> np.ndarray:
    """Running median over ``window`` logged rows (NaNs ignored; NaN where the window has none)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full_like(v, np.nan)
    half = window // 2
    for i in range(len(v)):
        w = v[max(0, i - half): i + half + 1]
        w = w[np.isfinite(w)]
        if len(w):
            out[i] = np.median(w)
    return out


def column(rec: RunRecord, col: str, window: int = 5, skip_step0: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(steps, smoothed values) of a metrics column, rows with no value dropped."""
    m = rec.metrics()
    steps, v = m["step"], m[col]
    keep = np.isfinite(v) & ((steps > 0) if skip_step0 else True)
    return steps[keep], smoothed(v[keep], window)


def at_fraction(rec: RunRecord, col: str, frac: float, window: int = 5) -> float:
    """Smoothed value of ``col`` at the logged step nearest ``frac`` of the run."""
    steps, v = column(rec, col, window)
    if not len(steps):
        return float("nan")
    target = frac * steps[-1]
    return float(v[np.argmin(np.abs(steps - target))])


def final(rec: RunRecord, col: str, window: int = 5) -> float:
    return at_fraction(rec, col, 1.0, window)


def growth(rec: RunRecord, col: str, early: float = 0.05, window: int = 5) -> float:
    """Smoothed value at the end divided by the value at ``early`` of the run."""
    return final(rec, col, window) / at_fraction(rec, col, early, window)


def tail_change(rec: RunRecord, col: str, tail: float = 0.2, window: int = 5) -> float:
    """Relative change of the smoothed column over the last ``tail`` of the run: |end - start| / start."""
    start = at_fraction(rec, col, 1.0 - tail, window)
    return abs(final(rec, col, window) - start) / abs(start)


def first_step_below(rec: RunRecord, col: str, threshold: float, window: int = 3) -> int | None:
    """First logged step at which the smoothed column is below ``threshold``."""
    steps, v = column(rec, col, window)
    hit = np.nonzero(v < threshold)[0]
    return int(steps[hit[0]]) if len(hit) else None


def peak(rec: RunRecord, col: str, window: int = 1) -> float:
    _, v = column(rec, col, window, skip_step0=False)
    return float(np.nanmax(v)) if len(v) else float("nan")


def ratio_at_end(a: RunRecord, b: RunRecord, col: str, window: int = 5) -> float:
    """Smoothed ``col`` of run ``a`` over run ``b`` at the last step both logged."""
    sa, va = column(a, col, window)
    sb, vb = column(b, col, window)
    common = np.intersect1d(sa, sb)
    if not len(common):
        return float("nan")
    s = common[-1]
    return float(va[sa == s][0] / vb[sb == s][0])
