"""The run record on disk: config.json, metrics.csv, timelapse.npz, status.json, checkpoints/.

Every notebook figure can be rebuilt from a run record alone. Writes are atomic (temporary file +
rename), so an interrupted process never leaves a half-written file that a later resume trusts.
timelapse.prev.npz keeps the timelapse as it was before its latest write, in case that one is
damaged later. While a run trains, .train.lock in its directory keeps a second writer out.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import secrets
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

from .config import RunConfig
from .errors import UserError

# Columns that notebooks, plots and the CLI read by name (DESIGN.md); recipes may add more after them.
METRIC_COLUMNS = [
    "step", "epoch", "wall_s", "kld", "kld_batch", "pixel", "pixel_test", "fm", "d_loss", "g_loss",
    "d_real", "d_fake", "z_norm_mean", "z_norm_std", "z_norm_ratio", "diversity", "palette",
]
TIMELAPSE = "timelapse.npz"
TIMELAPSE_PREV = "timelapse.prev.npz"  # the timelapse before its latest save: see keep_previous
LOCK = ".train.lock"  # see run_lock


def _temp_beside(path: Path) -> Path:
    """A fresh hidden name in ``path``'s folder; the random part keeps two processes' names apart."""
    return path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create an empty temporary file beside ``path``, open for writing.

    Not mkstemp: its files are 0600, and the rename would carry that onto the run record, unreadable to
    a group that shares data/runs/ or a server of out/. Mode 0666 here gets the umask (and any default
    ACL) applied by the kernel, exactly as for a file made with open().
    """
    for _ in range(100):
        tmp = _temp_beside(path)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def keep_previous(path: str | os.PathLike, backup: str | os.PathLike) -> None:
    """Replace ``backup`` atomically with ``path`` as it is now; nothing to do if there is no ``path``.

    A hard link costs no bytes or time until ``path`` is next replaced, when the two part ways.
    """
    path, backup = Path(path), Path(backup)
    tmp = _temp_beside(backup)
    try:
        os.link(path, tmp)
    except FileNotFoundError:
        return
    except OSError:  # a file system without hard links (FAT, some network shares): copy instead
        atomic_write_bytes(backup, path.read_bytes())
        return
    try:
        os.replace(tmp, backup)
    finally:
        # Also after a success: when ``backup`` is already a link to ``path`` (the save in between
        # failed, e.g. on a full disk), rename() does nothing and leaves ``tmp`` behind.
        tmp.unlink(missing_ok=True)


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
    """True when ``run_dir`` holds a run record made with exactly this config."""
    p = Path(run_dir) / "config.json"
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text())["config"] == json.loads(json.dumps(cfg.to_dict()))
    except (ValueError, KeyError):
        return False
