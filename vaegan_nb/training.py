"""The training loop: progress bar, metrics, fixed-noise snapshots, checkpoints, resume, NaN guard."""

from __future__ import annotations

import io
import math
import os
import signal
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from . import __version__, data, diagnostics, recipes
from .config import RunConfig
from .errors import CheckpointError, DivergenceError, UserError
from .runs import (
    METRIC_COLUMNS,
    TIMELAPSE,
    TIMELAPSE_PREV,
    MetricsLog,
    RunRecord,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_json,
    keep_previous,
    read_timelapse,
    run_lock,
)

FIXED_NOISE_SEED = 20190601  # shared by every run with the same latent size, so timelapses line up
HELD_OUT = 64  # held-out frames for pixel_test and the latent snapshots


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


def fixed_noise(n: int, latent_dim: int) -> torch.Tensor:
    """The fixed noise batch decoded at every snapshot; the same for every run of this latent size."""
    g = torch.Generator().manual_seed(FIXED_NOISE_SEED)
    return torch.randn(n, latent_dim, generator=g)


def _save_checkpoint(path: Path, trainee: recipes.Trainee, step: int, cfg: RunConfig) -> None:
    state = {
        "step": step,
        "config": cfg.to_dict(),
        "modules": {k: m.state_dict() for k, m in trainee.modules().items()},
        "optimizers": {k: o.state_dict() for k, o in trainee.optimizers().items()},
        "rng_torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["rng_cuda"] = torch.cuda.get_rng_state_all()
    buf = io.BytesIO()
    torch.save(state, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, trainee: recipes.Trainee, cfg: RunConfig) -> int:
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
    if state.get("config") != cfg.to_dict():
        raise CheckpointError(f"{path}: made with a different config; start a new run directory or drop --resume")
    try:
        for k, m in trainee.modules().items():
            m.load_state_dict(state["modules"][k])
        for k, o in trainee.optimizers().items():
            o.load_state_dict(state["optimizers"][k])
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


def _restore_timelapse(run_dir: Path, start: int) -> tuple[dict[str, np.ndarray] | None, bool]:
    """The snapshots a resume from ``start`` continues: timelapse.npz, else the previous save beside it.

    Returns the arrays (None when timelapse.npz was deleted and there is no intact previous save: the
    timelapse starts again at ``start``) and whether they came from timelapse.prev.npz. A damaged timelapse.npz with no intact previous save
    is refused rather than silently replaced by an empty one: that would drop the learner's history.
    """
    cur, prev = run_dir / TIMELAPSE, run_dir / TIMELAPSE_PREV
    try:
        return read_timelapse(cur), False
    except FileNotFoundError:
        damage = None
    except UserError as e:
        damage = str(e)
    try:
        tl = read_timelapse(prev)
    except (FileNotFoundError, UserError):
        if damage is None:  # timelapse.npz deleted: the way a learner gives up the history on purpose
            warnings.warn(f"{cur}: missing; the timelapse starts again at step {start}", UserWarning, stacklevel=4)
            return None, False
        raise UserError(f"{damage}, and no intact {prev.name} to fall back on; delete {cur} to resume with a "
                        f"timelapse that starts at step {start}, or train again without resume") from None
    kept = tl["steps"][tl["steps"] <= start]
    last = int(kept.max()) if len(kept) else -1
    lost = f"; any snapshots after step {last} up to step {start} are lost" if last < start else ""
    warnings.warn(f"{damage or f'{cur}: missing'}; resuming with the {len(kept)} snapshot(s) in {prev}{lost}",
                  UserWarning, stacklevel=4)
    return tl, True


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
        return _train(cfg, run_dir, resume, progress, frames)


def _train(cfg: RunConfig, run_dir: Path, resume: bool, progress: bool,
           frames: tuple[np.ndarray, np.ndarray] | data.Split | None) -> RunRecord:
    """train() once ``run_dir`` is known writable and locked."""
    t_cfg = cfg.train
    device = pick_device(t_cfg.device)
    if t_cfg.num_threads:
        torch.set_num_threads(t_cfg.num_threads)

    split = _split_of(cfg, frames, progress)
    train_frames, test_frames = split.train, split.test
    if len(train_frames) < t_cfg.batch_size:
        raise UserError(f"only {len(train_frames)} training frames, fewer than train.batch_size={t_cfg.batch_size}")
    held_out = data.to_tensor(test_frames[:HELD_OUT]).to(device)

    torch.manual_seed(t_cfg.seed)
    trainee = recipes.build(cfg, device)
    # MPS gains nothing from NHWC and some of its kernels still lack it, so channels-last stays off there.
    fmt = recipes.speed_up(trainee, t_cfg.channels_last and device.type != "mps",
                           recipes.compile_pays(t_cfg.compile, t_cfg.steps, device))
    held_out = held_out.contiguous(memory_format=fmt)
    noise = fixed_noise(t_cfg.n_fixed, cfg.model.latent_dim)
    # "Looks like a frame" is judged against this run's own training frames: turf or the user's footage.
    looks = diagnostics.frame_reference(train_frames[: diagnostics.REFERENCE_FRAMES])
    ckpt_path = run_dir / "checkpoints" / "last.pt"

    start = 0
    snap_steps: list[int] = []
    snap_frames: list[np.ndarray] = []
    snap_latents: list[np.ndarray] = []
    wall_offset = 0.0
    from_prev = False  # the snapshots came from timelapse.prev.npz, timelapse.npz being damaged
    if resume:
        if not ckpt_path.exists():
            raise CheckpointError(f"{ckpt_path}: no checkpoint to resume from; drop resume to start a new run")
        start = load_checkpoint(ckpt_path, trainee, cfg)
        old, from_prev = _restore_timelapse(run_dir, start)
        if old is not None:
            if "latents" not in old:
                raise UserError(f"{run_dir / TIMELAPSE}: has no latents array, which a resume needs; delete it to "
                                f"resume with a timelapse that starts at step {start}, or train again without resume")
            keep = old["steps"] <= start
            snap_steps = [int(s) for s in old["steps"][keep]]
            snap_frames = list(old["frames"][keep])
            snap_latents = list(old["latents"][keep])
        log = MetricsLog(run_dir / "metrics.csv", METRIC_COLUMNS)
        log.truncate_after(start)
        prev = RunRecord(run_dir).metrics()
        if len(prev["wall_s"]):
            wall_offset = float(np.nanmax(prev["wall_s"]))
    else:
        for stale in ("metrics.csv", TIMELAPSE, TIMELAPSE_PREV, "status.json"):
            (run_dir / stale).unlink(missing_ok=True)
        ckpt_path.unlink(missing_ok=True)
        log = MetricsLog(run_dir / "metrics.csv", METRIC_COLUMNS)
    atomic_write_json(run_dir / "config.json", {
        "config": cfg.to_dict(), "recipe": t_cfg.recipe, "seed": t_cfg.seed, "version": __version__,
        "n_train_frames": int(len(train_frames)), "n_test_frames": int(len(test_frames)),
        "split": split.kind, "split_detail": split.detail,
    })

    def snapshot(step: int) -> dict[str, float]:
        """Decode the fixed noise and encode the held-out frames; returns the samples' diagnostics."""
        trainee.decoder.eval()
        trainee.encoder.eval()
        with torch.inference_mode():
            imgs = data.to_uint8(trainee.decoder(noise.to(device)))
            lat = trainee.encode(held_out).float().cpu().numpy().astype(np.float16)
        trainee.decoder.train()
        trainee.encoder.train()
        snap_steps.append(step)
        snap_frames.append(imgs)
        snap_latents.append(lat)
        return {"diversity": diagnostics.diversity(imgs), "palette": diagnostics.palette_fidelity(imgs, looks)}

    def save_timelapse(keep: bool = True) -> None:
        """Write timelapse.npz, first keeping the one it replaces as timelapse.prev.npz (``keep``)."""
        if snap_steps:
            if keep:
                keep_previous(run_dir / TIMELAPSE, run_dir / TIMELAPSE_PREV)
            atomic_save_npz(run_dir / TIMELAPSE, steps=np.array(snap_steps, dtype=np.int64),
                            frames=np.stack(snap_frames), noise=noise.numpy(), latents=np.stack(snap_latents))

    def held_out_pixel() -> float:
        trainee.encoder.eval()
        with torch.inference_mode():
            mean, _ = trainee.encoder(held_out)
            err = torch.mean((trainee.decoder(mean) - held_out) ** 2).item()
        trainee.encoder.train()
        return err

    def status(state: str, **extra) -> None:
        atomic_write_json(run_dir / "status.json", {"state": state, "step": step_done, **extra})

    def kept() -> str:
        if ckpt_path.exists():
            return f"the last good checkpoint is kept at {ckpt_path}"
        return f"no checkpoint was written before it (none at {ckpt_path})"

    def checkpoint(step: int) -> None:
        """Timelapse first, then the checkpoint: a kill between the two costs no snapshot, since a resume
        keeps the snapshots up to the checkpoint's step. Non-finite weights are never checkpointed."""
        bad = [k for k, m in trainee.modules().items()
               if any(v.is_floating_point() and not bool(torch.isfinite(v).all()) for v in m.state_dict().values())]
        if bad:
            raise DivergenceError(f"step {step}: non-finite weights in {', '.join(bad)} (lr={t_cfg.lr}); {kept()}")
        save_timelapse()
        _save_checkpoint(ckpt_path, trainee, step, cfg)

    step_done = start
    if from_prev:
        # Put the restored snapshots back in timelapse.npz now, over the damaged file rather than over
        # the good previous save, which stays as it is until this write is done.
        save_timelapse(keep=False)
    if start == 0:
        log.append({"step": 0, "epoch": 0, "wall_s": 0.0, "pixel_test": held_out_pixel(), **snapshot(0)})
    status("running")

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=t_cfg.steps, initial=start, desc=t_cfg.recipe, unit="step", dynamic_ncols=True)
    batches_per_epoch = len(train_frames) // t_cfg.batch_size
    t0 = time.perf_counter() - wall_offset
    stop_clean: int | None = None
    try:
        with _deferred_interrupts() as stop:
            for i in range(start, t_cfg.steps):
                x = data.batches(train_frames, t_cfg.batch_size, i, t_cfg.seed).to(device, memory_format=fmt)
                step_now = i + 1
                logged = step_now % t_cfg.log_every == 0 or step_now == t_cfg.steps
                metrics = recipes.step(t_cfg.recipe, trainee, x, t_cfg.beta, t_cfg.recon_reduction,
                                       recon_weight=t_cfg.recon_weight, kld_reduction=t_cfg.kld_reduction,
                                       metrics=logged)
                if logged:
                    row = {k: float(v) for k, v in metrics.items()}
                    bad = [k for k, v in row.items() if k != "kld" and not math.isfinite(v)]
                    bad += ["kld"] if trainee.encoder.variational and not math.isfinite(row["kld"]) else []
                    if bad:
                        raise DivergenceError(
                            f"step {step_now}: non-finite {', '.join(bad)} "
                            f"(lr={t_cfg.lr}); {kept()}"
                        )
                    row.update(step=step_now, epoch=i // batches_per_epoch, wall_s=time.perf_counter() - t0,
                               pixel_test=held_out_pixel(),
                               z_norm_ratio=row["z_norm_mean"] / math.sqrt(cfg.model.latent_dim))
                    if step_now % t_cfg.snapshot_every == 0 or step_now == t_cfg.steps:
                        row.update(snapshot(step_now))
                    log.append(row)
                    if bar is not None:
                        bar.set_postfix({k: f"{row[k]:.3g}" for k in ("pixel", "kld", "kld_batch", "d_loss")
                                         if k in row and math.isfinite(row[k])}, refresh=False)
                step_done = step_now
                if step_now % t_cfg.checkpoint_every == 0 and step_now < t_cfg.steps:
                    checkpoint(step_now)
                if bar is not None:
                    bar.update(1)
                if stop.signum is not None:
                    stop_clean = step_done
                    # A clean stop at a step boundary: checkpoint here so nothing is lost.
                    checkpoint(step_done)
                    status("interrupted", reason=f"stopped by signal {stop.signum} after step {step_done}; "
                                                 "train again with resume to continue")
                    raise KeyboardInterrupt(f"training stopped after step {step_done}; checkpoint saved")
        checkpoint(step_done)
    except KeyboardInterrupt:
        if stop_clean is None:
            # Interrupted mid-step: the networks may be half-updated, so keep the last checkpoint.
            save_timelapse()
            status("interrupted", reason="interrupted mid-step; resume continues from the last checkpoint")
        raise
    except DivergenceError as e:
        status("diverged", reason=str(e))
        save_timelapse()
        raise
    except OSError as e:  # a full disk, a vanished folder: say so in the record if it can still be written
        try:
            status("failed", reason=f"{e}; resume continues from the last checkpoint")
        except OSError:
            pass
        raise
    finally:
        if bar is not None:
            bar.close()
    status("finished", wall_s=time.perf_counter() - t0)
    return RunRecord(run_dir)


def train_or_load(cfg: RunConfig, run_dir: str | os.PathLike, retrain: bool = False,
                  progress: bool = True) -> RunRecord:
    """Reuse a finished run with the same config in ``run_dir``; resume an unfinished one; else train."""
    from .runs import config_matches

    run_dir = Path(run_dir)
    if not retrain and config_matches(run_dir, cfg):
        rec = RunRecord(run_dir)
        if rec.finished:
            print(f"found a finished run in {run_dir}, loading it (set RETRAIN = True to train again)")
            return rec
        if rec.checkpoint_path.exists():
            print(f"found an unfinished run in {run_dir}, resuming it")
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
