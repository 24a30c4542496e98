"""Atomic writes: readers see a file as it was or as it is, never half-written, whatever kills the writer."""

from __future__ import annotations

import errno
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import numpy as np


def _temp_beside(path: Path) -> Path:
    """A fresh hidden name in ``path``'s folder; the random part keeps two processes' names apart."""
    return path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a writer killed mid-write left in ``folder`` (and below); returns
    them. Call only while no one else writes there (a run's lock is held)."""
    stale = sorted(Path(folder).rglob(".*.tmp"))
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


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
