"""The few lines every notebook's setup cell needs: profile, device, seed, where runs live."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

from . import __version__
from .config import RunConfig, current_profile, current_seed, make_config
from .runs import RunRecord, checkout_root
from .training import pick_device, train_or_load


def project_root(start: Path | None = None) -> Path:
    """The checkout's root (the folder holding pyproject.toml), or the working directory."""
    here = (start or Path.cwd()).resolve()
    return checkout_root(here) or here


def runs_dir(profile: str | None = None, seed: int | None = None) -> Path:
    """data/runs/<profile>/ (or $VAEGAN_RUNS/<profile>/) for seed 0, and data/runs/seeds/<profile>/seed<S>/
    for another (VAEGAN_SEED), where ``make phenomena`` keeps its other seeds: profiles and seeds never
    overwrite each other's runs."""
    base = Path(os.environ["VAEGAN_RUNS"]) if os.environ.get("VAEGAN_RUNS") else project_root() / "data" / "runs"
    profile, seed = profile or current_profile(), current_seed() if seed is None else seed
    return base / profile if seed == 0 else base / "seeds" / profile / f"seed{seed}"


def out_dir() -> Path:
    """out/: GIFs and figures meant for people (git-ignored)."""
    d = project_root() / "out"
    d.mkdir(exist_ok=True)
    return d


def setup(seed: int | None = None) -> str:
    """Seed torch, print the profile and the machine; returns the profile name. The seed is VAEGAN_SEED's
    (default 0), which every ``spec`` of the notebook then trains with."""
    profile = current_profile()
    seed = current_seed() if seed is None else seed
    _inline_figures()
    torch.manual_seed(seed)
    device = pick_device("auto")
    print(f"vaegan_nb {__version__} | profile: {profile} | device: {device.type} | seed: {seed}")
    print(f"python {platform.python_version()} | torch {torch.__version__.split('+')[0]}")
    return profile


def _inline_figures() -> None:
    """Show the matplotlib Figures that plots.py returns as PNGs when a notebook cell returns them."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None and getattr(ip, "kernel", None) is not None:
        ip.run_line_magic("matplotlib", "inline")


def run(recipe: str, name: str, retrain: bool = False, **overrides) -> RunRecord:
    """Train ``recipe`` in the current profile into runs_dir()/name, or load it if already finished."""
    return train_or_load(*spec(recipe, name, **overrides), retrain=retrain)


def spec(recipe: str, name: str, **overrides) -> tuple[RunConfig, Path]:
    """The config and run directory that ``run(recipe, name, **overrides)`` would use (seed: VAEGAN_SEED's)."""
    cfg: RunConfig = make_config(recipe, **{"seed": current_seed(), **overrides})
    return cfg, runs_dir(cfg.profile, cfg.train.seed) / name


def run_all(specs: list[tuple[RunConfig, Path]], retrain: bool = False) -> dict[str, RunRecord]:
    """Train (or load) several runs side by side, one process and one thread per core; records by name.

    Every notebook trains its runs here, so that both cores of a laptop work at once. Each run has
    the config that ``run`` would give it, and is reused or resumed as ``run`` would. It trains on
    one thread, as ``make phenomena`` trains its runs, so a notebook executed afresh on the machine
    that made them repeats the stored runs exactly; ``run`` (torch's default threads) rounds some
    float sums differently, and a GAN's trajectory then parts from them within tens of steps.
    """
    from .parallel import train_side_by_side

    records = train_side_by_side(specs, retrain=retrain)
    return {rec.name: rec for rec in records}
