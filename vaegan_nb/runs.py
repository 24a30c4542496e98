"""The run record on disk: written by a Recorder while training, read by RunRecord afterwards.

A record is config.json, metrics.csv, timelapse.npz, status.json and checkpoints/.

Every notebook figure can be rebuilt from a run record alone. Writes are atomic (temporary file +
rename), so an interrupted process never leaves a half-written file that a later resume trusts.
timelapse.prev.npz keeps the timelapse as it was before its latest write, in case that one is
damaged later. While a run trains, .train.lock in its directory keeps a second writer out.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock, so no lock on the run directory there
    fcntl = None

import numpy as np

from .atomic import atomic_save_npz, atomic_write_bytes, atomic_write_json, keep_previous  # noqa: F401
from .config import RunConfig, plain, stored
from .errors import CheckpointError, DivergenceError, UserError

# Columns that notebooks, plots and the CLI read by name (DESIGN.md); recipes may add more after them.
METRIC_COLUMNS = [
    "step", "epoch", "wall_s", "kld", "kld_batch", "pixel", "pixel_test", "fm", "d_loss", "g_loss",
    "d_real", "d_fake", "z_norm_mean", "z_norm_std", "z_norm_ratio", "diversity", "palette",
]
# Columns a recipe logs beyond METRIC_COLUMNS: vaegan_adaptive's beta and the KLD its controller holds.
EXTRA_COLUMNS = {"vaegan_adaptive": ["beta", "kld_held"]}


def metric_columns(recipe: str) -> list[str]:
    """The metrics.csv header of a run of ``recipe``."""
    return METRIC_COLUMNS + EXTRA_COLUMNS.get(recipe, [])


TIMELAPSE = "timelapse.npz"
TIMELAPSE_PREV = "timelapse.prev.npz"  # the timelapse before its latest save: see keep_previous
LOCK = ".train.lock"  # see run_lock


def checkout_root(path: str | os.PathLike) -> Path | None:
    """The checkout holding ``path`` (the folder with pyproject.toml and vaegan_nb/), or None."""
    here = Path(path).resolve()
    return next((p for p in (here, *here.parents)
                 if (p / "pyproject.toml").is_file() and (p / "vaegan_nb").is_dir()), None)


def shown(path: str | os.PathLike) -> str:
    """``path`` as a message shows it: relative to the checkout holding it, so that a notebook's stored
    output names the same run on every machine; absolute outside any checkout."""
    p = Path(path).resolve()
    root = checkout_root(p)
    return str(p.relative_to(root)) if root is not None else str(p)


def read_timelapse(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a timelapse file; damage is a UserError naming the file.

    A missing file stays a FileNotFoundError: the caller decides whether that is a mistake.
    """
    path = Path(path)
    try:
        # Our own file object: np.load leaves the one it opens unclosed when the zip turns out bad.
        with open(path, "rb") as f, np.load(f) as z:
            tl = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except Exception as e:  # BadZipFile, zlib.error, EOFError, ValueError, ...: all mean "don't trust it"
        raise UserError(f"{path}: damaged ({type(e).__name__}: {' '.join(str(e).split())})") from None
    missing = [k for k in ("steps", "frames", "noise") if k not in tl]
    if missing:
        raise UserError(f"{path}: damaged (no {', '.join(missing)} array)")
    if len(tl["frames"]) != len(tl["steps"]) or ("latents" in tl and len(tl["latents"]) != len(tl["steps"])):
        raise UserError(f"{path}: damaged ({len(tl['steps'])} steps but not as many frames or latents)")
    return tl


def _lock_holder(f) -> str:
    f.seek(0)
    pid = f.read().strip()
    return f"PID {pid}" if pid.isdigit() else "a process that has not written its PID yet"


@contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold the run directory's lock; a second writer gets a UserError naming the holder's PID.

    flock is released by the kernel however the holder ends, kill -9 included, so a lock file left
    by a crash is stale and harmless. Readers never take it: writes are atomic, so they need not wait.
    """
    run_dir = Path(run_dir)
    path = run_dir / LOCK
    if fcntl is None:
        yield
        return
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_holder(f)
            f.close()
            raise UserError(f"{run_dir} is being trained by another process ({holder}); "
                            "let it finish or stop it, then try again") from None
        except OSError as e:  # a file system without flock (some network shares): train unguarded
            f.close()
            warnings.warn(f"{path}: cannot lock the run directory ({e.strerror or e}); "
                          "make sure no other process trains into it", UserWarning, stacklevel=3)
            f = None
            break
        # The holder before us may have removed the file between our open and our flock: then we hold
        # a lock on a file nobody else will ever open, and must lock the one now at the path instead.
        try:
            if os.fstat(f.fileno()).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        f.close()
    if f is None:
        yield
        return
    try:
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        # Remove the file before letting go of it: a process that opened it just before then finds,
        # once its flock succeeds, that the path no longer leads to its file, and starts over.
        path.unlink(missing_ok=True)
        f.close()


def _parse(v: str) -> float:
    if v == "":
        return math.nan
    try:
        return float(v)
    except ValueError:
        return math.nan


class MetricsLog:
    """Append-only metrics.csv with a fixed header; rows written one at a time and flushed."""

    def __init__(self, path: str | os.PathLike, columns: list[str]):
        self.path = Path(path)
        self.columns = columns
        if not self.path.exists() or self.path.stat().st_size == 0:
            atomic_write_bytes(self.path, (",".join(columns) + "\n").encode())

    def truncate_after(self, step: int) -> None:
        """Drop rows past ``step`` (and any torn last line), as a resume from that step requires."""
        rows = read_metrics_rows(self.path)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            if _parse(r.get("step", "")) <= step:
                w.writerow(r)
        atomic_write_bytes(self.path, buf.getvalue().encode())

    def append(self, row: dict[str, Any]) -> None:
        line = ",".join(_fmt(row.get(c)) for c in self.columns) + "\n"
        with open(self.path, "a") as f:
            f.write(line)
            f.flush()


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def read_metrics_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a metrics.csv; a torn final line (a kill mid-write) is dropped."""
    with open(path, newline="") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
    reader = csv.DictReader(lines)
    n = len(reader.fieldnames or [])
    # Rows with too many cells carry a None key, rows with too few None values: both are damaged lines.
    return [r for r in reader if None not in r and len(r) == n and None not in r.values()]


def _read_json(path: Path) -> Any:
    """A JSON file of the run record; damage is a UserError naming the file, not a JSONDecodeError."""
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError
        raise UserError(f"{path}: damaged or not JSON ({e}); train this run again") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    obj = _read_json(path)
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object, found {type(obj).__name__}; train this run again")
    return obj


class RunRecord:
    """Read access to one run directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise UserError(f"{self.path} is not a run record (no config.json)")

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> RunConfig:
        p = self.path / "config.json"
        meta = _read_mapping(p)
        if "config" not in meta:
            raise UserError(f"{p}: has no 'config' entry; train this run again")
        try:
            return RunConfig.from_dict(meta["config"])
        except UserError as e:  # ConfigError names the field; add the file it came from
            raise type(e)(f"{p}: {e}") from None

    @property
    def meta(self) -> dict[str, Any]:
        return _read_mapping(self.path / "config.json")

    @property
    def status(self) -> dict[str, Any]:
        p = self.path / "status.json"
        return _read_mapping(p) if p.exists() else {"state": "unknown"}

    @property
    def finished(self) -> bool:
        return self.status.get("state") == "finished"

    def metrics(self) -> dict[str, np.ndarray]:
        """metrics.csv as float columns; empty cells are NaN."""
        p = self.path / "metrics.csv"
        if not p.exists():
            return {c: np.zeros(0) for c in METRIC_COLUMNS}
        rows = read_metrics_rows(p)
        with open(p) as f:
            header = f.readline().strip().split(",")
        return {c: np.array([_parse(r[c]) for r in rows], dtype=np.float64) for c in header}

    def timelapse(self) -> dict[str, np.ndarray]:
        """``steps`` (T,), ``frames`` uint8 (T, N, H, W, 3) and ``noise`` (N, latent) of the fixed batch."""
        p = self.path / TIMELAPSE
        if not p.exists():
            raise UserError(f"{self.path} has no {TIMELAPSE} yet (train first)")
        return read_timelapse(p)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoints" / "last.pt"


def config_matches(run_dir: str | os.PathLike, cfg: RunConfig) -> bool:
    """True when ``run_dir`` holds a run record made with this config (``config.stored``: fields added
    since the record was written count at the values that reproduce it)."""
    p = Path(run_dir) / "config.json"
    if not p.is_file():
        return False
    try:
        saved = json.loads(p.read_text())["config"]
    except (ValueError, KeyError, TypeError):
        return False
    return stored(saved) == plain(cfg)


class Recorder:
    """Every write of one training run into its record, in an order that survives a kill at any point.

    It owns metrics.csv, the fixed-noise snapshots (timelapse.npz, with timelapse.prev.npz kept
    beside it), checkpoints/last.pt and status.json. ``step`` is the last step done.
    """

    def __init__(self, run_dir: Path, cfg: RunConfig, noise: np.ndarray):
        self.dir = Path(run_dir)
        self.cfg = cfg
        self.noise = noise
        self.ckpt_path = self.dir / "checkpoints" / "last.pt"
        self.steps: list[int] = []
        self.frames: list[np.ndarray] = []
        self.latents: list[np.ndarray] = []
        self.step = 0
        self.wall_offset = 0.0  # seconds trained before a resume, so wall_s keeps counting up
        self.log: MetricsLog | None = None  # opened by start_new or resume

    def start_new(self) -> int:
        """Drop any earlier record in the directory (config.json is rewritten by ``describe``)."""
        for stale in ("metrics.csv", TIMELAPSE, TIMELAPSE_PREV, "status.json"):
            (self.dir / stale).unlink(missing_ok=True)
        self.ckpt_path.unlink(missing_ok=True)
        self.log = MetricsLog(self.dir / "metrics.csv", metric_columns(self.cfg.train.recipe))
        return 0

    def resume(self, trainee) -> int:
        """Restore ``trainee`` from the last checkpoint and the record up to its step; returns that step."""
        from .checkpoints import load_checkpoint  # torch: only a training process pays its import

        if not self.ckpt_path.exists():
            raise CheckpointError(f"{self.ckpt_path}: no checkpoint to resume from; drop resume to start a new run")
        start = load_checkpoint(self.ckpt_path, trainee, self.cfg)
        old, from_prev = _restore_timelapse(self.dir, start)
        if old is not None:
            if "latents" not in old:
                raise UserError(f"{self.dir / TIMELAPSE}: has no latents array, which a resume needs; delete it to "
                                f"resume with a timelapse that starts at step {start}, or train again without resume")
            keep = old["steps"] <= start
            self.steps = [int(s) for s in old["steps"][keep]]
            self.frames = list(old["frames"][keep])
            self.latents = list(old["latents"][keep])
        self.log = MetricsLog(self.dir / "metrics.csv", metric_columns(self.cfg.train.recipe))
        self.log.truncate_after(start)
        prev = RunRecord(self.dir).metrics()
        if len(prev["wall_s"]):
            self.wall_offset = float(np.nanmax(prev["wall_s"]))
        self.step = start
        if from_prev:
            # Put the restored snapshots back in timelapse.npz now, over the damaged file rather than
            # over the good previous save, which stays as it is until this write is done.
            self.save_timelapse(keep=False)
        return start

    def describe(self, n_train: int, n_test: int, split: str, split_detail: str, version: str) -> None:
        """config.json: the config and where the frames came from."""
        atomic_write_json(self.dir / "config.json", {
            "config": self.cfg.to_dict(), "recipe": self.cfg.train.recipe, "seed": self.cfg.train.seed,
            "version": version, "n_train_frames": n_train, "n_test_frames": n_test,
            "split": split, "split_detail": split_detail,
        })

    def snapshot(self, step: int, frames: np.ndarray, latents: np.ndarray) -> None:
        self.steps.append(step)
        self.frames.append(frames)
        self.latents.append(latents)

    def metrics(self, row: dict[str, Any]) -> None:
        self.log.append(row)

    def save_timelapse(self, keep: bool = True) -> None:
        """Write timelapse.npz, first keeping the one it replaces as timelapse.prev.npz (``keep``)."""
        if self.steps:
            if keep:
                keep_previous(self.dir / TIMELAPSE, self.dir / TIMELAPSE_PREV)
            atomic_save_npz(self.dir / TIMELAPSE, steps=np.array(self.steps, dtype=np.int64),
                            frames=np.stack(self.frames), noise=self.noise, latents=np.stack(self.latents))

    def checkpoint(self, step: int, trainee) -> None:
        """Timelapse first, then the checkpoint: a kill between the two costs no snapshot, since a resume
        keeps the snapshots up to the checkpoint's step. Non-finite weights are never checkpointed."""
        import torch

        from .checkpoints import save_checkpoint

        bad = [k for k, m in trainee.modules().items()
               if any(v.is_floating_point() and not bool(torch.isfinite(v).all()) for v in m.state_dict().values())]
        if bad:
            raise DivergenceError(f"step {step}: non-finite weights in {', '.join(bad)} "
                                  f"(lr={self.cfg.train.lr}); {self.kept()}")
        self.save_timelapse()
        save_checkpoint(self.ckpt_path, trainee, step, self.cfg)

    def kept(self) -> str:
        """What survives a failure now, for its error message."""
        if self.ckpt_path.exists():
            return f"the last good checkpoint is kept at {self.ckpt_path}"
        return f"no checkpoint was written before it (none at {self.ckpt_path})"

    def status(self, state: str, **extra) -> None:
        atomic_write_json(self.dir / "status.json", {"state": state, "step": self.step, **extra})

    def stopped(self, signum: int, trainee) -> None:
        """A clean stop at a step boundary: checkpoint here, so that nothing is lost."""
        self.checkpoint(self.step, trainee)
        self.status("interrupted", reason=f"stopped by signal {signum} after step {self.step}; "
                                          "train again with resume to continue")

    def interrupted(self) -> None:
        """Interrupted mid-step: the networks may be half-updated, so the last checkpoint stays."""
        self.save_timelapse()
        self.status("interrupted", reason="interrupted mid-step; resume continues from the last checkpoint")

    def diverged(self, err: Exception) -> None:
        self.status("diverged", reason=str(err))
        self.save_timelapse()

    def failed(self, err: OSError) -> None:
        """A full disk, a vanished folder: say so in the record if it can still be written."""
        try:
            self.status("failed", reason=f"{err}; resume continues from the last checkpoint")
        except OSError:
            pass


def _restore_timelapse(run_dir: Path, start: int) -> tuple[dict[str, np.ndarray] | None, bool]:
    """The snapshots a resume from ``start`` continues: timelapse.npz, else the previous save beside it.

    Returns the arrays (None when timelapse.npz was deleted and there is no intact previous save: the
    timelapse starts again at ``start``) and whether they came from timelapse.prev.npz. A damaged
    timelapse.npz with no intact previous save is refused rather than silently replaced by an empty
    one: that would drop the learner's history.
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
            warnings.warn(f"{cur}: missing; the timelapse starts again at step {start}", UserWarning, stacklevel=5)
            return None, False
        raise UserError(f"{damage}, and no intact {prev.name} to fall back on; delete {cur} to resume with a "
                        f"timelapse that starts at step {start}, or train again without resume") from None
    kept = tl["steps"][tl["steps"] <= start]
    last = int(kept.max()) if len(kept) else -1
    lost = f"; any snapshots after step {last} up to step {start} are lost" if last < start else ""
    warnings.warn(f"{damage or f'{cur}: missing'}; resuming with the {len(kept)} snapshot(s) in {prev}{lost}",
                  UserWarning, stacklevel=5)
    return tl, True
