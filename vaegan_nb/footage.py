"""The user's own footage: image folders, video files and folders of both, read or extracted as frames.

Unreadable files are skipped with one warning that names them; a source with nothing usable is a
DataError. With several sources (videos, file-name prefixes) the split is by source, as the original
split its 296 videos 9:1: frames of one source never appear on both sides. With a single source the
last frames in time order are held out instead, past a small gap.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from .errors import DataError

IMAGE_EXTS = (".jpeg", ".jpg", ".png", ".webp")
VIDEO_EXTS = (".avi", ".flv", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".ts", ".webm", ".wmv")

# ---------------------------------------------------------------------------------------------------
# Image folders
# ---------------------------------------------------------------------------------------------------


class _Skipped:
    """Files that could not be used, with a short reason each, reported once per folder."""

    def __init__(self, root: Path):
        self.root = root
        self.items: list[tuple[str, str]] = []

    def add(self, path: Path | str, reason: str) -> None:
        self.items.append((_rel(path, self.root), reason))

    def __len__(self) -> int:
        return len(self.items)

    def listing(self, limit: int = 10) -> str:
        shown = ", ".join(f"{name} ({why})" for name, why in self.items[:limit])
        more = len(self.items) - limit
        return shown + (f", and {more} more" if more > 0 else "")

    def warn(self, what: str) -> None:
        if self.items:
            n = len(self.items)
            warnings.warn(
                f"skipped {n} unreadable {what} in {self.root}: {self.listing()}", UserWarning, stacklevel=3
            )


def _rel(path: Path | str, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _scan(root: Path, skipped: _Skipped) -> tuple[list[Path], list[Path], list[Path]]:
    """Images, videos and other files under ``root``, recursively, sorted by relative path.

    Numbers in names compare as numbers (``frame_9`` before ``frame_10``).

    Symlinked folders are followed once each (by real path), so a link loop ends the walk instead of
    hanging it. Hidden files and folders (``.git``, ``.ipynb_checkpoints``, macOS ``._x.png`` shadows)
    are left out.
    """
    images, videos, others = [], [], []
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()

    def on_error(err: OSError) -> None:
        skipped.add(err.filename or root, err.strerror or "unreadable folder")

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            real_file = os.path.realpath(path)
            if real_file in seen_files:  # the same file reached through a link: read it once
                continue
            seen_files.add(real_file)
            ext = path.suffix.lower()
            (images if ext in IMAGE_EXTS else videos if ext in VIDEO_EXTS else others).append(path)
    key = lambda p: _natural_key(p.relative_to(root).as_posix())  # noqa: E731
    return sorted(images, key=key), sorted(videos, key=key), sorted(others, key=key)


def _natural_key(name: str) -> tuple[list[str | int], str]:
    # Numbers compare as numbers, so frame_9.png comes before frame_10.png: the time split relies on
    # name order being time order. re.split alternates text and digits, so the types line up.
    parts = re.split(r"(\d+)", name)
    return [int(t) if i % 2 else t for i, t in enumerate(parts)], name


_INDEX_SUFFIX = re.compile(r"[\s._-]*\d+$")


def source_of(path: Path, root: Path) -> str:
    """The split group of an image: its sub-folder, or at the top level its name without the frame index.

    ``match03/000123.png`` -> ``match03``; ``match03_000123.png`` -> ``match03``.
    """
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parent.as_posix()
    return _INDEX_SUFFIX.sub("", path.stem) or "."


def _open_rgb(path: Path, height: int, width: int):
    """An image file as an RGB PIL image, transparent pixels black; JPEGs decode near (height, width) x 2."""
    from PIL import Image

    if path.stat().st_size == 0:
        raise OSError("empty file")
    with Image.open(path) as im:
        # JPEG can decode at 1/2..1/8 scale directly; big frames shrink much faster that way.
        im.draft("RGB", (2 * width, 2 * height))
        im.load()
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            # Transparent pixels would keep whatever colour they hide; show them as black instead.
            rgba = im.convert("RGBA")
            im = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            im.alpha_composite(rgba)
        return im.convert("RGB")


def _load_image(path: Path, height: int, width: int) -> np.ndarray:
    from PIL import Image

    rgb = _open_rgb(path, height, width)
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)


FITS = ("crop", "pad")


def fit_image(im, height: int, width: int, fit: str = "crop"):
    """Resize a PIL image to width x height keeping its aspect; returns (image, what was done).

    ``fit="crop"`` scales it to cover the frame and cuts the overhang off both sides equally
    ("cropped"); ``"pad"`` scales it to fit inside and fills the rest with black ("padded"). An
    image of the frame's aspect is only "resized".
    """
    from PIL import Image

    if fit not in FITS:
        raise DataError(f"fit={fit!r}: choose {' or '.join(FITS)}")
    w, h = im.size
    scale = (max if fit == "crop" else min)(width / w, height / h)
    bound = max if fit == "crop" else min  # rounding must not leave a crop short of the frame, nor a pad over
    size = (bound(width, max(1, round(w * scale))), bound(height, max(1, round(h * scale))))
    # reducing_gap: a 4K screenshot is first shrunk by a fast integer box filter, then resampled.
    im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    if size == (width, height):
        return im, "resized"
    if fit == "crop":
        left, top = (size[0] - width) // 2, (size[1] - height) // 2
        return im.crop((left, top, left + width, top + height)), "cropped"
    canvas = Image.new("RGB", (width, height))
    canvas.paste(im, ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas, "padded"


def _why(err: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        return "not an image"
    if isinstance(err, FileNotFoundError):
        return "broken link"
    text = str(err).split("\n")[0]
    if "truncated" in text.lower():
        return "truncated"
    return text[:60] or type(err).__name__


def _read_images(paths: Sequence[Path], root: Path, height: int, width: int,
                 skipped: _Skipped) -> tuple[np.ndarray, list[str]]:
    frames = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    sources: list[str] = []
    for path in paths:
        try:
            frames[len(sources)] = _load_image(path, height, width)
        except Exception as err:
            # Pillow reports bad files with many types (OSError, SyntaxError, ValueError,
            # DecompressionBombError...): each is one skipped file, not a crash.
            skipped.add(path, _why(err))
            continue
        sources.append(source_of(path, root))
    return frames[:len(sources)], sources


def _check_size(height: int, width: int) -> None:
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise DataError(f"frame size {height!r}x{width!r}: height and width must be positive integers")


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")


def _nothing_usable(root: Path, what: str, exts: Sequence[str], found: list[Path],
                    skipped: _Skipped) -> DataError:
    """The error for a folder without one usable file, saying what was there instead."""
    if skipped:
        return DataError(f"no usable {what} in {root}: {len(skipped)} skipped as unreadable ({skipped.listing()})")
    if not found:
        return DataError(f"no usable {what} in {root}: the folder is empty")
    names = ", ".join(_rel(p, root) for p in found[:3]) + (", ..." if len(found) > 3 else "")
    return DataError(
        f"no usable {what} in {root}: found {len(found)} other file(s) ({names}), none ending in {' '.join(exts)}"
    )


def read_image_folder(path: str | os.PathLike, height: int, width: int) -> tuple[np.ndarray, list[str]]:
    """All images (png/jpg/jpeg/webp) under ``path``, recursively, sorted, as uint8 (N, height, width, 3).

    Returns the frames and a source label per frame (see ``source_of``) for ``split_by_source``. Any
    size or colour mode is resized and converted to RGB. Unreadable files are skipped with one warning
    that names them; a folder without a usable image is a DataError.
    """
    _check_size(height, width)
    root = Path(path)
    _check_folder(root)
    skipped = _Skipped(root)
    images, videos, others = _scan(root, skipped)
    frames, sources = _read_images(images, root, height, width, skipped)
    if not len(frames):
        raise _nothing_usable(root, "images", IMAGE_EXTS, videos + others, skipped)
    skipped.warn("files")
    return frames, sources


# ---------------------------------------------------------------------------------------------------
# Video
# ---------------------------------------------------------------------------------------------------


def _ffmpeg(path: Path) -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:
        raise DataError(
            f"cannot decode {path}: no ffmpeg found ({err}); install imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE"
        ) from err


def _check_video_args(path: Path, fps: float | None) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such video file")
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a video file")
    if fps is not None and not (isinstance(fps, (int, float)) and 0 < fps < 1e4):
        raise DataError(f"fps={fps!r} for {path}: must be a positive number")


def _decode_args(exe: str, path: Path, keyframes: bool, fps: float | None, scale: str | None) -> list[str]:
    """The ffmpeg command line up to (not including) the output."""
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error"]
    if fps is None and keyframes:
        cmd += ["-skip_frame", "nokey"]  # the decoder drops every non-key frame, as in the original
    # "file:" keeps names like "pipe:1" or "a:b.mp4" from being read as ffmpeg protocols.
    cmd += ["-i", "file:" + str(path.resolve()), "-map", "0:v:0", "-an", "-sn", "-dn"]
    filters = [f"fps={fps:g}"] if fps is not None else []
    if scale:
        filters.append(scale)
    if filters:
        cmd += ["-vf", ",".join(filters)]
    if fps is None:
        cmd += ["-fps_mode", "passthrough"]  # one output frame per decoded frame, no duplicates
    return cmd


_FFMPEG_CONTEXT = re.compile(r"\[[^\]]*@ 0x[0-9a-f]+\]\s*")  # "[h264 @ 0x55d0...] ": noise for the user


def _ffmpeg_message(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").splitlines()
    lines = [_FFMPEG_CONTEXT.sub("", ln.strip()) for ln in text if ln.strip()]
    if not lines:
        return ""
    # ffmpeg ends with a summary ("Error opening input files: ..."); the first line is the cause.
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def _stream_ffmpeg(cmd: list[str], path: Path, consume: Callable[[IO[bytes]], None]) -> tuple[int, bytes]:
    """Run ffmpeg and hand its stdout to ``consume`` as it comes; returns (exit status, stderr).

    Streaming keeps memory flat however long the video is. stderr goes to a temporary file, so a
    chatty ffmpeg can never fill a pipe and stall while ``consume`` waits on stdout.
    """
    for attempt in range(2):
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
            except OSError as e:
                raise DataError(f"cannot decode {path}: running ffmpeg ({cmd[0]}) failed: {e}") from e
            try:
                consume(proc.stdout)
            except BaseException:
                proc.kill()  # Ctrl-C or a bad frame: leave no ffmpeg running behind us
                raise
            finally:
                proc.stdout.close()
                rc = proc.wait()
            err.seek(0)
            stderr = err.read()
        if attempt == 0 and rc != 0 and b"Unrecognized option 'fps_mode'" in stderr:
            # An ffmpeg before 5.1 (IMAGEIO_FFMPEG_EXE may name one) spells it -vsync; it wrote nothing yet.
            cmd = ["-vsync" if a == "-fps_mode" else a for a in cmd]
            continue
        break
    return rc, stderr


def _frame_bar(path: Path, show: bool):
    from tqdm.auto import tqdm

    # The frame count is unknown until ffmpeg is done; leave=False clears the bar once the video is read.
    return tqdm(desc=path.name, unit="frame", leave=False, disable=not show)


def _no_frames(path: Path, keyframes: bool, fps: float | None, rc: int, message: str) -> DataError:
    if rc != 0:
        return DataError(f"cannot decode video {path}: {message or f'ffmpeg exit status {rc}'}")
    hint = " (no keyframes found; try fps=N to sample frames instead)" if keyframes and fps is None else ""
    return DataError(f"no frames decoded from video {path}{hint}")


def read_video(path: str | os.PathLike, height: int, width: int, keyframes: bool = True,
               fps: float | None = None, progress: bool = True) -> np.ndarray:
    """Frames of a video as uint8 (N, height, width, 3), decoded and resized by ffmpeg.

    ``keyframes``: only the keyframes, like the original (``-skip_frame nokey``). ``fps``: sample at
    that rate instead (it wins over ``keyframes``). Frames stream in one at a time, already resized,
    with a progress bar of frames read. If ffmpeg stops part-way, the frames decoded until then are
    kept with a warning; a video that yields no frame at all is a DataError.
    """
    path = Path(path)
    _check_size(height, width)
    _check_video_args(path, fps)
    exe = _ffmpeg(path)
    cmd = _decode_args(exe, path, keyframes, fps, f"scale={width}:{height}:flags=area")
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    frame_bytes = height * width * 3
    frames: list[np.ndarray] = []
    leftover = 0

    def consume(stdout: IO[bytes]) -> None:
        nonlocal leftover
        frames.clear()  # a retried command starts over
        with _frame_bar(path, progress) as bar:
            while buf := stdout.read(frame_bytes):
                if len(buf) < frame_bytes:  # ffmpeg died mid-frame
                    leftover = len(buf)
                    break
                frames.append(np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3))
                bar.update(1)

    rc, stderr = _stream_ffmpeg(cmd, path, consume)
    message = _ffmpeg_message(stderr)
    if not frames:
        raise _no_frames(path, keyframes, fps, rc, message)
    if rc != 0 or leftover or message:
        why = message or (f"ffmpeg exit status {rc}" if rc else "incomplete last frame")
        warnings.warn(f"{path}: kept {len(frames)} frame(s) decoded before ffmpeg stopped or failed: {why}",
                      UserWarning, stacklevel=2)
    return np.stack(frames)


def _video_stem(video: Path, root: Path | None) -> str:
    # Videos in different sub-folders may share a name; the relative path keeps their frames apart.
    if root is None:
        return video.stem
    return video.relative_to(root).with_suffix("").as_posix().replace("/", "__")


def _extract_one(exe: str, video: Path, out_dir: Path, stem: str, keyframes: bool, fps: float | None,
                 scale: str | None, progress: bool = True) -> int:
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=out_dir))
    try:
        cmd = _decode_args(exe, video, keyframes, fps, scale)
        # ffmpeg writes the PNGs itself (nothing passes through Python), and reports "frame=N" on
        # stdout every half second for the progress bar. rgb24 keeps every PNG 8-bit RGB even for
        # 10-bit or alpha sources.
        cmd += ["-nostats", "-progress", "pipe:1", "-pix_fmt", "rgb24", "-start_number", "0", "-f", "image2",
                str(tmp / "%06d.png")]

        def consume(stdout: IO[bytes]) -> None:
            with _frame_bar(video, progress) as bar:
                for line in stdout:
                    if line.startswith(b"frame="):
                        bar.update(max(0, int(line[6:] or 0) - bar.n))

        rc, stderr = _stream_ffmpeg(cmd, video, consume)
        written = sorted(tmp.glob("*.png"))
        message = _ffmpeg_message(stderr)
        if not written:
            raise _no_frames(video, keyframes, fps, rc, message)
        if rc != 0 or message:
            warnings.warn(f"{video}: kept {len(written)} frame(s) decoded before ffmpeg stopped or failed: "
                          f"{message or f'ffmpeg exit status {rc}'}", UserWarning, stacklevel=3)
        # ffmpeg writes into a hidden scratch folder; each finished PNG is renamed into place in one step.
        for f in written:
            os.replace(f, out_dir / f"{stem}_{int(f.stem):06d}.png")
        # Frames of an earlier, longer extraction of this video would mix two samplings: remove them.
        for old in out_dir.glob(f"{glob.escape(stem)}_[0-9][0-9][0-9][0-9][0-9][0-9].png"):
            if int(old.stem[-6:]) >= len(written):
                old.unlink(missing_ok=True)
        return len(written)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create output folder {out}: {err.strerror or err}") from err


def _extract_videos(exe: str, videos: Sequence[Path], out: Path, root: Path | None, keyframes: bool,
                    fps: float | None, scale: str | None, skipped: _Skipped) -> tuple[int, int]:
    """(frames written, videos that gave frames); a bad video in a folder is skipped, a lone one raises."""
    from tqdm.auto import tqdm

    total = ok = 0
    with tqdm(videos, desc="videos", unit="video", disable=len(videos) < 2) as bar:
        for video in bar:
            try:
                total += _extract_one(exe, video, out, _video_stem(video, root), keyframes, fps, scale,
                                      progress=len(videos) < 2)  # several videos: the videos bar alone
                ok += 1
            except DataError as err:
                if root is None:
                    raise
                skipped.add(video, str(err).replace(str(video), "").strip(": ") or "undecodable")
            bar.set_postfix(frames=total, refresh=False)
    return total, ok


def extract_frames(src: str | os.PathLike, out_dir: str | os.PathLike, keyframes: bool = True,
                   fps: float | None = None, height: int | None = None, width: int | None = None) -> int:
    """Write the frames of a video, or of every video under a folder, as ``<videostem>_<000123>.png``.

    Native size unless ``height``/``width`` are given (give one of them to keep the aspect ratio).
    Returns the number of frames written. Videos in a folder that cannot be decoded are skipped with
    one warning; no frame at all is a DataError. ``prepare_frames`` also takes the images of a folder.
    """
    src, out = Path(src), Path(out_dir)
    if height is not None or width is not None:
        _check_size(height or 1, width or 1)
    scale = None if height is None and width is None else f"scale={width or -2}:{height or -2}:flags=area"
    if not src.exists():
        raise DataError(f"{src}: no such video file or folder")
    if src.is_dir():
        skipped = _Skipped(src)
        images, videos, others = _scan(src, skipped)
        if not videos:
            raise _nothing_usable(src, "videos", VIDEO_EXTS, images + others, skipped)
        root: Path | None = src
    else:
        _check_video_args(src, fps)
        videos, root, skipped = [src], None, _Skipped(src.parent)
    exe = _ffmpeg(src)
    _make_folder(out)
    total, _ = _extract_videos(exe, videos, out, root, keyframes, fps, scale, skipped)
    if total == 0:
        raise DataError(f"no frames extracted from {src}: {skipped.listing()}")
    skipped.warn("videos")
    return total


class FootageReport(NamedTuple):
    """What ``prepare_frames`` found in a folder and what it kept."""

    images: int  # image files found
    videos: int  # video files found
    others: int  # files that are neither, ignored
    images_kept: int
    fitted: dict[str, int]  # kept images per "cropped" / "padded" / "resized"
    videos_kept: int
    video_frames: int
    height: int
    width: int

    def found(self, src: str | os.PathLike) -> str:
        what = [_count(n, noun) for n, noun in ((self.images, "image"), (self.videos, "video")) if n]
        ignored = f" ({_count(self.others, 'other file')} ignored)" if self.others else ""
        return f"found {' and '.join(what)} in {src}{ignored}"

    def kept(self, out: str | os.PathLike) -> str:
        parts = []
        if self.images:
            how = {"cropped": "centre-cropped", "padded": "padded with black", "resized": "already that shape"}
            done = ", ".join(f"{n} {how[k]}" for k, n in self.fitted.items() if n)
            done = f" ({done})" if done else ""
            parts.append(f"{self.images_kept} of {_count(self.images, 'image')}, resized to "
                         f"{self.width}x{self.height} RGB keeping the aspect{done}")
        if self.videos:
            parts.append(f"{_count(self.video_frames, 'frame')} of {self.videos_kept} of "
                         f"{_count(self.videos, 'video')} at native size")
        return f"kept {' and '.join(parts)}: wrote them to {out}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def prepare_frames(src: str | os.PathLike, out_dir: str | os.PathLike, height: int, width: int,
                   fit: str = "crop", keyframes: bool = True, fps: float | None = None) -> FootageReport:
    """Normalise a folder of footage into ``out_dir``: its images as frames, its videos' frames.

    Images (screenshots, a phone's captures) become height x width RGB PNGs, resized keeping their
    aspect then centre-cropped or padded (``fit``), at the same relative path, so that their split
    sources stay as they were. Videos are extracted as by ``extract_frames``. Unreadable files are
    skipped with one warning naming them; a folder with nothing usable is a DataError.
    """
    src, out = Path(src), Path(out_dir)
    _check_size(height, width)
    if fit not in FITS:
        raise DataError(f"fit={fit!r}: choose {' or '.join(FITS)}")
    _check_folder(src)
    out_real = out.resolve()
    if out_real == src.resolve():
        raise DataError(f"{out}: that is the source folder; write the frames to another folder")
    skipped = _Skipped(src)
    found = _scan(src, skipped)
    # An output folder inside the source folder holds our own earlier output, not new footage.
    images, videos, others = ([p for p in group if not p.resolve().is_relative_to(out_real)]
                              for group in found)
    if not images and not videos:
        raise _nothing_usable(src, "images or videos", IMAGE_EXTS + VIDEO_EXTS, others, skipped)
    exe = _ffmpeg(src) if videos else ""
    _make_folder(out)

    from tqdm.auto import tqdm

    fitted = dict.fromkeys(("cropped", "padded", "resized"), 0)
    written: dict[Path, Path] = {}
    for path in tqdm(images, desc="images", unit="image", disable=len(images) < 2):
        target = out / path.relative_to(src).with_suffix(".png")
        if target in written:  # shot.jpg and shot.png: keep the first rather than overwrite it
            skipped.add(path, f"same output name as {_rel(written[target], src)}")
            continue
        try:
            im, how = fit_image(_open_rgb(path, height, width), height, width, fit)
        except Exception as err:  # every way Pillow reports a bad file is one skipped file (see _read_images)
            skipped.add(path, _why(err))
            continue
        _save_png(im, target)
        written[target] = path
        fitted[how] += 1
    frames, videos_kept = 0, 0
    if videos:
        frames, videos_kept = _extract_videos(exe, videos, out, src, keyframes, fps, None, skipped)
    if not written and not frames:
        raise DataError(f"nothing usable in {src}: {len(skipped)} skipped as unreadable ({skipped.listing()})")
    skipped.warn("files")
    return FootageReport(len(images), len(videos), len(others), len(written), fitted, videos_kept, frames,
                         height, width)


def _save_png(im, target: Path) -> None:
    """Write atomically, through a hidden temporary name that the folder scan ignores if left behind."""
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".png", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            im.save(f, format="PNG")
        os.replace(tmp, target)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise DataError(f"cannot write {target}: {err.strerror or err}") from err


# ---------------------------------------------------------------------------------------------------
# Splits and the one entry point
# ---------------------------------------------------------------------------------------------------


def split_by_source(frames: np.ndarray, sources: Sequence[str], test_fraction: float,
                    seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split frames into (train, test) by whole sources (videos, folders, file prefixes).

    A seeded share ``test_fraction`` of the sources (at least one, never all) is held out, so no frame
    of a held-out video was ever seen in training, as in the original's 9:1 split by video.
    """
    if len(sources) != len(frames):
        raise ValueError(f"split_by_source: {len(frames)} frames but {len(sources)} source labels")
    _check_fraction(test_fraction)
    names = sorted(set(sources))
    if len(names) < 2:
        only = f" (all {len(frames)} frames come from {names[0]!r})" if names else ""
        raise DataError(
            "a split by source needs frames from at least two videos or file prefixes, since frames of one "
            f"source never go to both sides{only}: use split_by_time for a single source"
        )
    held_out = held_out_sources(names, test_fraction, seed)
    is_test = np.fromiter((s in held_out for s in sources), dtype=bool, count=len(sources))
    return frames[~is_test], frames[is_test]


def held_out_sources(names: Sequence[str], test_fraction: float, seed: int) -> set[str]:
    """The sources ``split_by_source`` holds out: a seeded ``test_fraction``, at least one, never all."""
    names = sorted(set(names))
    n_test = min(len(names) - 1, max(1, round(test_fraction * len(names))))
    order = np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, 0x5B1]).permutation(len(names))
    return {names[i] for i in order[:n_test]}


TIME_SPLIT_GAP = 3  # frames dropped between train and test, so that no two neighbours straddle the split


def _check_fraction(test_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction={test_fraction!r}: must be between 0 and 1")


def time_split_indices(n: int, test_fraction: float,
                       gap: int = TIME_SPLIT_GAP) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) frame indices of a time split of ``n`` frames in time order.

    The test side is the last ``test_fraction`` of the frames (at least one), the train side every
    frame before them except the ``gap`` frames next to the boundary, so every train index is more
    than ``gap`` below every test index.
    """
    _check_fraction(test_fraction)
    n_test = max(1, round(test_fraction * n))
    n_train = n - n_test - gap
    if n_train < 1:
        raise DataError(
            f"only {n} frames from a single source: a time split holds out the last {test_fraction:.0%} "
            f"after a {gap}-frame gap and needs at least {n_test + gap + 1}; sample more frames "
            "(--fps, or DataConfig.fps) or add footage"
        )
    return np.arange(n_train), np.arange(n - n_test, n)


def split_by_time(frames: np.ndarray, test_fraction: float,
                  gap: int = TIME_SPLIT_GAP) -> tuple[np.ndarray, np.ndarray]:
    """Split frames of one source, in time order, into (train, test): the last ``test_fraction`` is held out.

    The held-out frames come from the same video as the training frames, so the held-out error looks
    better than on an unseen video; ``load_split`` warns about that.
    """
    train_idx, test_idx = time_split_indices(len(frames), test_fraction, gap)
    return frames[train_idx], frames[test_idx]


class Split(NamedTuple):
    """Train and test frames, and how they were split, for the run record."""

    train: np.ndarray
    test: np.ndarray
    kind: str  # "turf" (separate seed streams), "source" (whole videos/prefixes) or "time" (one source)
    detail: str  # one line for people: what was held out


# ---------------------------------------------------------------------------------------------------
# The one entry point for a path
# ---------------------------------------------------------------------------------------------------


def read_source(source: str | os.PathLike, height: int, width: int, keyframes: bool = True,
                fps: float | None = None, progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """All frames of an image folder (which may also hold videos) or of one video, and each frame's
    source label (video or file-name prefix). ``progress``: a bar of videos, or of one video's frames."""
    _check_size(height, width)
    root = Path(source).expanduser()
    if not root.exists():
        raise DataError(f"data source {str(source)!r}: no such folder or video file (or use 'turf')")
    if root.is_file():
        if root.suffix.lower() not in VIDEO_EXTS:
            kind = "a single image" if root.suffix.lower() in IMAGE_EXTS else "not a video"
            raise DataError(f"{root} is {kind}: pass a video file or a folder of images or videos")
        frames = read_video(root, height, width, keyframes=keyframes, fps=fps, progress=progress)
        return frames, [root.name] * len(frames)
    skipped = _Skipped(root)
    images, videos, others = _scan(root, skipped)
    frames, sources = _read_images(images, root, height, width, skipped)
    parts, labels = [frames], list(sources)

    from tqdm.auto import tqdm

    for video in tqdm(videos, desc="videos", unit="video", disable=not progress or len(videos) < 2):
        try:
            # One bar: videos done when there are several, frames read when there is one.
            v = read_video(video, height, width, keyframes=keyframes, fps=fps,
                           progress=progress and len(videos) < 2)
        except DataError as err:
            skipped.add(video, str(err).replace(str(video), "").strip(": ") or "undecodable")
            continue
        parts.append(v)
        labels += [_rel(video, root)] * len(v)
    if not labels:
        raise _nothing_usable(root, "images or videos", IMAGE_EXTS + VIDEO_EXTS, others, skipped)
    skipped.warn("files")
    return np.concatenate(parts), labels


def split_frames(frames: np.ndarray, labels: list[str], test_fraction: float, seed: int) -> Split:
    """By source when there are several, else by time with one warning."""
    names = set(labels)
    if len(names) > 1:
        train, test = split_by_source(frames, labels, test_fraction, seed)
        held_out = sorted(held_out_sources(names, test_fraction, seed))
        shown = ", ".join(held_out[:3]) + (", ..." if len(held_out) > 3 else "")
        return Split(train, test, "source", f"by source: {len(held_out)} of {len(names)} videos/file "
                                            f"prefixes held out whole ({shown})")
    name = labels[0]
    train, test = split_by_time(frames, test_fraction)
    warnings.warn(
        f"{name} is the only source, so the test frames are its last {len(test)} frames in time order "
        f"(after a {TIME_SPLIT_GAP}-frame gap): they come from the same video as the training frames and "
        "flatter the held-out error; add a second video for a split by source", UserWarning, stacklevel=3)
    return Split(train, test, "time",
                 f"by time: the last {len(test)} of {len(frames)} frames of {name} held out, "
                 f"{TIME_SPLIT_GAP}-frame gap (same video: flatters the held-out error)")
