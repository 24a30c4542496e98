"""Checkpoints: networks, optimizers and RNG state of a run, written atomically and loaded safely."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from .atomic import atomic_write_bytes
from .config import RunConfig, plain, stored
from .errors import CheckpointError


def save_checkpoint(path: Path, trainee, step: int, cfg: RunConfig) -> None:
    """Everything a resume needs to continue ``trainee`` (a ``recipes.Trainee``) along the same trajectory."""
    state = {
        "step": step,
        "config": cfg.to_dict(),
        "modules": {k: m.state_dict() for k, m in trainee.modules().items()},
        "optimizers": {k: o.state_dict() for k, o in trainee.optimizers().items()},
        "rng_torch": torch.get_rng_state(),
    }
    if getattr(trainee, "controller", None) is not None:  # vaegan_adaptive: beta and its moving statistics
        state["controller"] = trainee.controller.state_dict()
    if torch.cuda.is_available():
        state["rng_cuda"] = torch.cuda.get_rng_state_all()
    buf = io.BytesIO()
    torch.save(state, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def _only_longer(saved: dict | None, new: dict) -> bool:
    """True when ``new`` is the checkpoint's config ``saved`` with more steps (both as ``config.stored``
    and ``config.plain`` give them): a run continued further.

    On a CPU no step depends on the run's length (no schedule; the batch order follows the step), so
    the weights follow the run trained that long from the start. Two things can differ: a shorter
    run whose length is not a multiple of log_every or snapshot_every keeps its extra final row and
    snapshot, and on CUDA a run that crosses 100 steps starts compiling its decoder midway
    (``recipes.compile_pays``), which reorders float sums.
    """
    if not isinstance(saved, dict) or not isinstance(saved.get("train"), dict):
        return False
    strip = lambda c: {**c, "train": {k: v for k, v in c["train"].items() if k != "steps"}}  # noqa: E731
    try:
        return strip(saved) == strip(new) and new["train"]["steps"] > int(saved["train"]["steps"])
    except (KeyError, TypeError, ValueError):
        return False


def load_checkpoint(path: Path, trainee, cfg: RunConfig) -> int:
    """Restore networks, optimizers and RNG from ``path``; returns the step it was taken at."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint to resume from") from None
    except Exception as e:  # unpickling errors come in many types; all mean "don't trust this file"
        # One line: torch's own message runs over several and suggests weights_only=False, which we won't.
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = next((ln for ln in lines if "unsupported" in ln.lower()), lines[0] if lines else "")
        raise CheckpointError(f"{path}: unreadable or unsafe checkpoint ({type(e).__name__}: {detail})") from None
    if not isinstance(state, dict) or "modules" not in state:
        raise CheckpointError(f"{path}: not a vaegan-nb checkpoint")
    saved, new = stored(state.get("config")), plain(cfg)
    if saved != new and not _only_longer(saved, new):
        raise CheckpointError(f"{path}: made with a different config; start a new run directory or drop --resume")
    try:
        for k, m in trainee.modules().items():
            m.load_state_dict(state["modules"][k])
        for k, o in trainee.optimizers().items():
            o.load_state_dict(state["optimizers"][k])
        if getattr(trainee, "controller", None) is not None:
            trainee.controller.load_state_dict(state["controller"])
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError) as e:
        detail = " ".join(str(e).split())  # one line: load_state_dict lists its mismatches over many
        detail = detail if len(detail) <= 300 else detail[:300] + " ..."
        raise CheckpointError(f"{path}: does not fit this architecture ({detail})") from None
    try:
        step = int(state["step"])
        torch.set_rng_state(state["rng_torch"])
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path}: incomplete checkpoint (bad or missing {e}); cannot resume exactly") from None
    return step
