"""The blog's own training curves (data/blog_curves/), for plotting beside ours and for the claims' brackets."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

CURVES_DIR = Path(__file__).resolve().parents[1] / "data" / "blog_curves"
BLOG_STEPS = 63_500  # 100 epochs of 635 steps, batch 64, lr 1e-4
LATENT_DIM = 1024
CITATION = "blog 'Fun with ML on Splatoon 2' (hellomoto-ai, 2019)"
POSTS = {"2019-04-11": "part 1", "2019-05-09": "beta VAE-GAN?", "2019-05-16": "part 4"}


@lru_cache(maxsize=32)
def _read(figure: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = CURVES_DIR / f"{figure}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such blog curve (see data/blog_curves/README.md)")
    rows: dict[str, list[tuple[float, float]]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["series"], []).append((float(r["step"]), float(r["value"])))
    out = {}
    for name, pts in rows.items():
        a = np.array(sorted(pts))
        out[name] = (a[:, 0], a[:, 1])
    return out


def series(figure: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one line of a blog figure, e.g. series("2019-04-11_kld", "Training")."""
    lines = _read(figure)
    if name not in lines:
        raise KeyError(f"{figure}: no series {name!r}; it has {', '.join(sorted(lines))}")
    return lines[name]


def label(figure: str, name: str) -> str:
    """A legend label that cites the post and figure."""
    date, what = figure.split("_", 1)
    return f"blog, {POSTS.get(date, date)} ({what}: {name})"


def growth(figure: str, name: str, early: float = 0.05) -> tuple[float, float, float]:
    """(value at ``early`` of the run, value at the end, their ratio), read as the claims read ours."""
    from .claims import at

    steps, values = series(figure, name)
    a, b = at(steps, values, early), at(steps, values, 1.0)
    return a, b, b / a


def final(figure: str, name: str) -> float:
    """The value at the end of the run (the median over its last 5%)."""
    from .claims import at

    return at(*series(figure, name), 1.0)
