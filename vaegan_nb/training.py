"""The training loop: batches in, one recipe step each, the run record written as it goes.

The recipe's sub-steps live in ``recipes``, the record's writes in ``runs.Recorder``, and the
held-out pixel error and fixed-noise snapshots in ``evaluation``; what stays here is the loop, the
progress bar, the deferred Ctrl-C and the divergence guard.
"""

from __future__ import annotations

import math
import os
import signal
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from . import __version__, data, recipes
from .atomic import remove_stale_temps
from .checkpoints import load_checkpoint  # noqa: F401  (training.load_checkpoint, as before)
from .config import RunConfig
from .errors import DivergenceError, UserError
from .evaluation import FIXED_NOISE_SEED, HELD_OUT, Probe, fixed_noise  # noqa: F401
from .runs import Recorder, RunRecord, run_lock


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU for "auto"; otherwise the named device, if it is there."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device='cuda' but torch sees no CUDA device; use 'auto' or 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("train.device='mps' but MPS is not available; use 'auto' or 'cpu'")
    return torch.device(name)


class _StopRequest:
    """Set by SIGINT/SIGTERM during training; the loop stops cleanly at the next step boundary."""

    def __init__(self):
        self.signum: int | None = None


@contextmanager
def _deferred_interrupts():
    """Defer SIGINT (Jupyter's stop button, Ctrl-C) and SIGTERM to the end of the current step.

    Stopping between two sub-steps would leave the networks half-updated; at a step boundary the
    checkpoint, metrics and timelapse all agree. A second Ctrl-C interrupts at once.
    """
    stop = _StopRequest()

    def handler(signum, frame):
        if stop.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.signum = signum

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals cannot be caught here
        yield stop
        return
    try:
        yield stop
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _check_writable(run_dir: Path) -> None:
    # One probe name per process: two runs starting at once must not delete each other's probe.
    probe = run_dir / f".write_probe.{os.getpid()}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"x" * 4096)
        probe.unlink()
    except OSError as e:
        try:
            probe.unlink(missing_ok=True)  # a write that failed part-way still left the file
        except OSError:
            pass
        raise UserError(f"cannot write to run directory {run_dir}: {e.strerror or e}") from None


def _split_of(cfg: RunConfig, frames: tuple[np.ndarray, np.ndarray] | data.Split | None,
              progress: bool) -> data.Split:
    """The frames to train on and how they were split; frames handed in without a Split are "given"."""
    if frames is None:
        return data.load_split(cfg.data, progress=progress)
    if isinstance(frames, data.Split):
        return frames
    train_frames, test_frames = frames
    return data.Split(train_frames, test_frames, "given", "frames handed to train() by the caller")


def train(cfg: RunConfig, run_dir: str | os.PathLike, resume: bool = False, progress: bool = True,
          frames: tuple[np.ndarray, np.ndarray] | data.Split | None = None) -> RunRecord:
    """Train ``cfg`` into ``run_dir`` and return its run record.

    ``resume`` continues from ``checkpoints/last.pt`` along the same trajectory; without it an
    existing record in ``run_dir`` is replaced. ``frames`` (train, test uint8, or a ``data.Split``)
    skips loading data. While it trains, ``run_dir`` is locked: a second ``train`` into it is a
    UserError naming this process.
    """
    cfg.validate()
    run_dir = Path(run_dir)
    _check_writable(run_dir)
    with run_lock(run_dir):
        remove_stale_temps(run_dir)  # half-written files of a writer killed mid-write (kill -9, a crash)
        return _train(cfg, run_dir, resume, progress, frames)


def _train(cfg: RunConfig, run_dir: Path, resume: bool, progress: bool,
           frames: tuple[np.ndarray, np.ndarray] | data.Split | None) -> RunRecord:
    """train() once ``run_dir`` is known writable and locked."""
    t = cfg.train
    split, trainee, probe, fmt = _setup(cfg, frames, progress)
    rec = Recorder(run_dir, cfg, probe.noise.numpy())
    start = rec.resume(trainee) if resume else rec.start_new()
    rec.describe(len(split.train), len(split.test), split.kind, split.detail, __version__)
    if start == 0:
        rec.metrics({"step": 0, "epoch": 0, "wall_s": 0.0, "pixel_test": probe.pixel_test(),
                     **_snapshot(rec, probe, 0)})
    rec.status("running")
    bar = _bar(t.steps, start, t.recipe, progress)
    t0 = time.perf_counter() - rec.wall_offset
    stopped = False
    try:
        with _deferred_interrupts() as stop:
            for i in range(start, t.steps):
                # (1) One step of the recipe: its sub-steps and optimizer steps, as the blog ordered them.
                x = data.batches(split.train, t.batch_size, i, t.seed).to(probe.device, memory_format=fmt)
                logged = (i + 1) % t.log_every == 0 or i + 1 == t.steps
                metrics = recipes.step(t.recipe, trainee, x, t.beta, t.recon_reduction,
                                       recon_weight=t.recon_weight, kld_reduction=t.kld_reduction,
                                       fakes=t.fakes, metrics=logged)
                # (2) The record: a metrics row, a snapshot of the fixed noise, a checkpoint, each when due.
                if logged:
                    row = _row(cfg, i + 1, metrics, trainee, rec, probe, len(split.train), time.perf_counter() - t0)
                    rec.metrics(row)
                    bar.set_postfix({k: f"{row[k]:.3g}" for k in ("pixel", "kld", "kld_batch", "d_loss")
                                     if k in row and math.isfinite(row[k])}, refresh=False)
                rec.step = i + 1
                if rec.step % t.checkpoint_every == 0 and rec.step < t.steps:
                    rec.checkpoint(rec.step, trainee)
                bar.update(1)
                if stop.signum is not None:
                    stopped = True
                    rec.stopped(stop.signum, trainee)
                    raise KeyboardInterrupt(f"training stopped after step {rec.step}; checkpoint saved")
        rec.checkpoint(rec.step, trainee)
    except KeyboardInterrupt:
        if not stopped:
            rec.interrupted()
        raise
    except DivergenceError as e:
        rec.diverged(e)
        raise
    except OSError as e:
        rec.failed(e)
        raise
    finally:
        bar.close()
    rec.status("finished", wall_s=time.perf_counter() - t0)
    return RunRecord(run_dir)


def _setup(cfg: RunConfig, frames, progress: bool):
    """The frames, the seeded networks on their device, and the probe that measures them."""
    t = cfg.train
    device = pick_device(t.device)
    if t.num_threads:
        torch.set_num_threads(t.num_threads)
    split = _split_of(cfg, frames, progress)
    if len(split.train) < t.batch_size:
        raise UserError(f"only {len(split.train)} training frames, fewer than train.batch_size={t.batch_size}")
    held_out = data.to_tensor(split.test[:HELD_OUT]).to(device)
    torch.manual_seed(t.seed)
    trainee = recipes.build(cfg, device)
    # MPS gains nothing from NHWC and some of its kernels still lack it, so channels-last stays off there.
    fmt = recipes.speed_up(trainee, t.channels_last and device.type != "mps",
                           recipes.compile_pays(t.compile, t.steps, device))
    probe = Probe(trainee, held_out.contiguous(memory_format=fmt), fixed_noise(t.n_fixed, cfg.model.latent_dim),
                  split.train)
    return split, trainee, probe, fmt


def _snapshot(rec: Recorder, probe: Probe, step: int) -> dict[str, float]:
    frames, latents, scores = probe.snapshot()
    rec.snapshot(step, frames, latents)
    return scores


def _row(cfg: RunConfig, step: int, metrics: dict, trainee, rec: Recorder, probe: Probe, n_train: int,
         wall_s: float) -> dict[str, float]:
    """The metrics row of ``step``, after the divergence guard; it snapshots the fixed noise when due."""
    t = cfg.train
    row = {k: float(v) for k, v in metrics.items()}
    bad = [k for k, v in row.items() if k != "kld" and not math.isfinite(v)]
    bad += ["kld"] if trainee.encoder.variational and not math.isfinite(row["kld"]) else []
    if bad:
        raise DivergenceError(f"step {step}: non-finite {', '.join(bad)} (lr={t.lr}); {rec.kept()}")
    row.update(step=step, epoch=(step - 1) // (n_train // t.batch_size), wall_s=wall_s,
               pixel_test=probe.pixel_test(), z_norm_ratio=row["z_norm_mean"] / math.sqrt(cfg.model.latent_dim))
    if step % t.snapshot_every == 0 or step == t.steps:
        row.update(_snapshot(rec, probe, step))
    return row


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, *args, **kwargs) -> None: ...
    def close(self) -> None: ...


def _bar(total: int, start: int, desc: str, progress: bool):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=start, desc=desc, unit="step", dynamic_ncols=True)


def train_or_load(cfg: RunConfig, run_dir: str | os.PathLike, retrain: bool = False,
                  progress: bool = True) -> RunRecord:
    """Reuse a finished run with the same config in ``run_dir``; resume an unfinished one; else train."""
    from .runs import config_matches, shown

    run_dir = Path(run_dir)
    if not retrain and config_matches(run_dir, cfg):
        rec = RunRecord(run_dir)
        if rec.finished:
            print(f"found a finished run in {shown(run_dir)}, loading it (set RETRAIN = True to train again)")
            return rec
        if rec.checkpoint_path.exists():
            print(f"found an unfinished run in {shown(run_dir)}, resuming it")
            return train(cfg, run_dir, resume=True, progress=progress)
    return train(cfg, run_dir, resume=False, progress=progress)


def load_trained(run: RunRecord | str | os.PathLike, device: str | torch.device = "cpu") -> recipes.Trainee:
    """The networks of a finished run, from its last checkpoint, in eval mode (for figures)."""
    rec = run if isinstance(run, RunRecord) else RunRecord(run)
    cfg = rec.config
    rng = torch.get_rng_state()  # loading restores the run's RNG; the caller's stream stays untouched
    trainee = recipes.build(cfg, device)
    load_checkpoint(rec.checkpoint_path, trainee, cfg)
    torch.set_rng_state(rng)
    for m in trainee.modules().values():
        m.eval()
    return trainee
