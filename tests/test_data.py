"""Data: the turf generator, tensors, image folders, real ffmpeg video, splits and batches."""

import os
import re
import subprocess
import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from vaegan_nb import data, footage, turf
from vaegan_nb.config import DataConfig
from vaegan_nb.errors import DataError

H, W = 48, 80


# --------------------------------------------------------------------------------------------------
# The turf generator


def _near(frames, colour, tol):
    return (np.abs(frames.astype(np.int16) - np.array(colour, np.int16)).max(axis=-1) <= tol)


def test_turf_deterministic_and_seeded():
    a = turf.turf_frames(40, H, W, seed=3)
    assert a.dtype == np.uint8 and a.shape == (40, H, W, 3)
    assert np.array_equal(a, turf.turf_frames(40, H, W, seed=3))
    assert not np.array_equal(a, turf.turf_frames(40, H, W, seed=4))
    # Frame i depends only on (seed, i): a short run is a prefix of a long one.
    assert np.array_equal(a[:10], turf.turf_frames(10, H, W, seed=3))
    assert len({f.tobytes() for f in a}) == len(a)
    assert a.min() < 60 and a.max() > 200  # dark obstacles/HUD and bright ink both present


def test_turf_two_team_colours_and_hud_share():
    frames = turf.turf_frames(64, H, W, seed=0)
    top = turf.hud_height(H)
    tol = turf.TEAM_JITTER + 1
    both = 0
    for f in frames:
        # The frame's pair: the one whose two colours cover the HUD bar row.
        bar = f[1, 1:W - 1][None]
        pair = next(p for p in turf.TEAM_PAIRS if (_near(bar, p[0], tol) | _near(bar, p[1], tol)).all())
        arena = f[top:]
        in_a, in_b = _near(arena, pair[0], tol).sum(), _near(arena, pair[1], tol).sum()
        both += in_a > 0 and in_b > 0
        # The bar's split follows the inked shares (HUD background around it).
        bar_a = _near(bar, pair[0], tol).sum()
        assert abs(bar_a / (W - 2) - in_a / max(in_a + in_b, 1)) <= 1.5 / (W - 2) + 1e-9
        assert _near(f[0], turf.HUD_BACKGROUND, 0).all()
    assert both >= 0.9 * len(frames)


def test_turf_palette_constants():
    pal = turf.turf_palette()
    assert pal.dtype == np.uint8 and pal.shape == (3 + 2 * len(turf.TEAM_PAIRS), 3)
    assert len(turf.TEAM_PAIRS) >= 6
    assert tuple(pal[0]) == turf.FLOOR_GREY and tuple(pal[1]) == turf.OBSTACLE_COLOUR
    f = turf.turf_frames(16, H, W, seed=1)[:, turf.hud_height(H):]
    assert _near(f, turf.OBSTACLE_COLOUR, 0).any()
    assert _near(f, turf.FLOOR_GREY, turf.FLOOR_JITTER - turf.GRID_SHADE).mean() > 0.3


def test_turf_other_sizes_and_throughput(capsys):
    assert turf.turf_frames(2, 65, 121, seed=0).shape == (2, 65, 121, 3)
    assert turf.turf_frames(0, H, W, seed=0).shape == (0, H, W, 3)
    t = time.perf_counter()
    turf.turf_frames(512, H, W, seed=0)
    with capsys.disabled():
        print(f"\nturf_frames: {512 / (time.perf_counter() - t):.0f} frames/s at {H}x{W}")


def test_load_frames_turf_disjoint_and_cached():
    cfg = DataConfig(n_train=200, n_test=50, seed=5, height=H, width=W)
    train, test = data.load_frames(cfg)
    assert train.shape == (200, H, W, 3) and test.shape == (50, H, W, 3)
    assert not {f.tobytes() for f in train} & {f.tobytes() for f in test}
    again = data.load_frames(DataConfig(n_train=200, n_test=50, seed=5, height=H, width=W))
    assert again[0] is train  # cached, not regenerated
    assert not train.flags.writeable  # so nobody edits the cache in place
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a read-only array must not trigger torch's warning
        data.to_tensor(train[:2])


# --------------------------------------------------------------------------------------------------
# Tensors and batches


def test_tensor_roundtrip_and_range():
    frames = turf.turf_frames(4, H, W, seed=0)
    frames[0, 0, 0] = (0, 128, 255)
    x = data.to_tensor(frames)
    assert x.dtype == torch.float32 and x.shape == (4, 3, H, W) and x.is_contiguous()
    assert x.min() >= -1 and x.max() <= 1
    assert x[0, 0, 0, 0] == -1 and x[0, 2, 0, 0] == 1
    assert np.array_equal(data.to_uint8(x), frames)
    wild = torch.tensor([[[[-5.0]], [[5.0]], [[float("nan")]]]])
    assert data.to_uint8(wild).tolist() == [[[[0, 255, 0]]]]


def test_batches_pure_and_cover_each_epoch():
    frames = turf.turf_frames(50, 16, 16, seed=0)
    bs, per_epoch = 8, 50 // 8
    assert torch.equal(data.batches(frames, bs, 13, seed=1), data.batches(frames, bs, 13, seed=1))
    assert not torch.equal(data.batches(frames, bs, 13, seed=1), data.batches(frames, bs, 13, seed=2))
    keys = {f.tobytes(): i for i, f in enumerate(frames)}
    for epoch in range(2):
        seen = []
        for k in range(per_epoch):
            b = data.batches(frames, bs, epoch * per_epoch + k, seed=1)
            assert b.shape == (bs, 3, 16, 16) and b.min() >= -1 and b.max() <= 1
            seen += [keys[f.tobytes()] for f in data.to_uint8(b)]
        assert len(set(seen)) == len(seen) == per_epoch * bs  # each frame at most once, last partial dropped
    assert not torch.equal(data.batches(frames, bs, 0, seed=1), data.batches(frames, bs, per_epoch, seed=1))
    with pytest.raises(DataError, match="batch_size=64"):
        data.batches(frames, 64, 0, seed=0)


# --------------------------------------------------------------------------------------------------
# Image folders


def _img(path, size=(120, 70), mode="RGB", colour=(200, 40, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, colour)
    if mode == "P":
        im = im.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode != "RGB":
        im = im.convert(mode)
    im.save(path)
    return path


def test_read_image_folder_mixed(tmp_path):
    _img(tmp_path / "a_0001.png")
    _img(tmp_path / "a_0002.jpg")
    _img(tmp_path / "b_0001.JPEG", mode="L")
    _img(tmp_path / "b_0002.png", mode="RGBA")
    _img(tmp_path / "c-7.png", mode="P")
    _img(tmp_path / "sub" / "deep" / "x.webp", size=(33, 500))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a picture")
    good = _img(tmp_path / "cut.png", size=(200, 200)).read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "readme.txt").write_text("ignored")
    os.symlink(tmp_path, tmp_path / "loop")
    with pytest.warns(UserWarning) as record:
        frames, sources = footage.read_image_folder(tmp_path, H, W)
    assert len(record) == 1
    msg = str(record[0].message)
    for name in ("empty.png", "notes.jpg", "cut.png"):
        assert name in msg
    assert "3" in msg and "a_0001" not in msg
    assert frames.shape == (6, H, W, 3) and frames.dtype == np.uint8
    assert sources == ["a", "a", "b", "b", "c", "sub/deep"]
    # Grayscale is grey, the others keep their red.
    assert np.ptp(frames[2].astype(int), axis=-1).max() == 0
    assert frames[0, 10, 10, 0] > 180 and frames[0, 10, 10, 2] < 40


def test_source_prefixes(tmp_path):
    assert footage.source_of(tmp_path / "match03_000123.png", tmp_path) == "match03"
    assert footage.source_of(tmp_path / "clip 2-0042.jpg", tmp_path) == "clip 2"
    assert footage.source_of(tmp_path / "v1" / "000001.png", tmp_path) == "v1"


def test_image_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        footage.read_image_folder(tmp_path / "missing", H, W)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=re.escape(str(empty)) + ".*empty"):
        footage.read_image_folder(empty, H, W)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"")
    (bad / "b.jpg").write_text("text")
    with pytest.raises(DataError, match=r"no usable images in .*bad: 2 skipped.*a\.png.*b\.jpg"):
        footage.read_image_folder(bad, H, W)
    other = tmp_path / "other"
    other.mkdir()
    (other / "clip.txt").write_text("x")
    with pytest.raises(DataError, match=r"1 other file\(s\) \(clip\.txt\), none ending in \.jpeg"):
        footage.read_image_folder(other, H, W)


def test_many_bad_files_one_warning(tmp_path):
    _img(tmp_path / "ok.png")
    for i in range(50):
        (tmp_path / f"bad{i:02d}.png").write_bytes(b"\x89PNG nope")
    with pytest.warns(UserWarning) as record:
        frames, _ = footage.read_image_folder(tmp_path, 12, 20)
    assert len(record) == 1 and len(frames) == 1
    msg = str(record[0].message)
    assert "50" in msg and "and 40 more" in msg and "bad00.png" in msg and "bad49.png" not in msg


# --------------------------------------------------------------------------------------------------
# Video through the real ffmpeg


def _ffmpeg(*args):
    exe = footage._ffmpeg("test")
    subprocess.run([exe, "-y", "-hide_banner", "-loglevel", "error", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """testsrc.mp4: 3 s at 10 fps, a keyframe every second; static.mkv: 3 s, one keyframe."""
    d = tmp_path_factory.mktemp("videos")
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x96:rate=10", "-t", "3", "-g", "10", "-sc_threshold", "0",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(d / "testsrc.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "color=c=orange:size=160x96:rate=10", "-t", "3", "-g", "1000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(d / "static.mkv"))
    return d


def test_read_video_keyframes_and_fps(videos):
    key = footage.read_video(videos / "testsrc.mp4", H, W)
    assert key.dtype == np.uint8 and key.shape == (3, H, W, 3)
    assert len({f.tobytes() for f in key}) == 3  # the clock in testsrc moves
    sampled = footage.read_video(videos / "testsrc.mp4", H, W, fps=4)
    assert abs(len(sampled) - 12) <= 1 and sampled.shape[1:] == (H, W, 3)
    assert len(footage.read_video(videos / "static.mkv", H, W)) == 1
    static = footage.read_video(videos / "static.mkv", 24, 40, keyframes=False, fps=2)
    assert abs(len(static) - 6) <= 1 and static.shape[1:] == (24, 40, 3)
    assert static[0, 12, 20, 0] > 200  # orange


def test_read_video_errors(videos, tmp_path):
    with pytest.raises(DataError, match="missing.mp4"):
        footage.read_video(tmp_path / "missing.mp4", H, W)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(5000))
    with pytest.raises(DataError, match="garbage.mp4"):
        footage.read_video(garbage, H, W)
    with pytest.raises(DataError, match="fps"):
        footage.read_video(videos / "testsrc.mp4", H, W, fps=-1)


def test_read_video_truncated(videos, tmp_path):
    whole = (videos / "testsrc.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            frames = footage.read_video(cut, H, W, fps=10)
        except DataError as err:
            assert "cut.mp4" in str(err)
            return
    assert 0 < len(frames) < 30
    assert len(record) == 1 and f"kept {len(frames)} frame" in str(record[0].message)


def test_extract_frames_roundtrip(videos, tmp_path):
    out = tmp_path / "frames"
    assert footage.extract_frames(videos / "testsrc.mp4", out) == 3
    assert sorted(p.name for p in out.iterdir()) == [f"testsrc_{i:06d}.png" for i in range(3)]
    with Image.open(out / "testsrc_000000.png") as im:
        assert im.size == (160, 96) and im.mode == "RGB"
    # A folder of videos, resized; read back as an image folder with one source per video.
    n = footage.extract_frames(videos, out, fps=2, height=24, width=40)
    assert n == pytest.approx(12, abs=2)
    frames, sources = footage.read_image_folder(out, 24, 40)
    assert len(frames) == n and set(sources) == {"testsrc", "static"}
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no scratch folder left behind
    # Extracting again with fewer frames leaves no stale frames of the earlier sampling.
    assert footage.extract_frames(videos / "testsrc.mp4", out) == 3
    assert len(list(out.glob("testsrc_*.png"))) == 3


def test_extract_frames_errors(tmp_path):
    with pytest.raises(DataError, match="no such"):
        footage.extract_frames(tmp_path / "nope.mp4", tmp_path / "out")
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(DataError, match="no usable videos"):
        footage.extract_frames(tmp_path, tmp_path / "out")


# --------------------------------------------------------------------------------------------------
# Splits and load_frames on a folder


def test_split_by_source():
    frames = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(3, axis=-1)
    sources = [f"video{i % 7}" for i in range(40)]
    train, test = footage.split_by_source(frames, sources, 0.3, seed=0)
    assert len(train) + len(test) == 40 and len(test) > 0
    label = dict(zip(frames[:, 0, 0, 0].tolist(), sources, strict=True))
    train_src = {label[v] for v in train[:, 0, 0, 0].tolist()}
    test_src = {label[v] for v in test[:, 0, 0, 0].tolist()}
    assert not train_src & test_src and len(test_src) == 2
    again = footage.split_by_source(frames, sources, 0.3, seed=0)
    assert np.array_equal(again[1], test)
    two = footage.split_by_source(frames[:2], ["a", "b"], 0.1, seed=0)
    assert len(two[0]) == len(two[1]) == 1
    with pytest.raises(DataError, match="at least two"):
        footage.split_by_source(frames, ["one"] * 40, 0.1, seed=0)


def test_load_frames_folder(tmp_path):
    for prefix, colour in (("matchA", (250, 0, 0)), ("matchB", (0, 0, 250))):
        for i in range(3):
            _img(tmp_path / f"{prefix}_{i:04d}.png", colour=colour)
    train, test = data.load_frames(DataConfig(source=str(tmp_path), height=16, width=24, test_fraction=0.5))
    assert train.shape == (3, 16, 24, 3) and test.shape == (3, 16, 24, 3)
    assert len({tuple(f[0, 0]) for f in train}) == 1 and tuple(train[0, 0, 0]) != tuple(test[0, 0, 0])


def test_load_frames_folder_with_videos(videos):
    train, test = data.load_frames(DataConfig(source=str(videos), height=24, width=40, fps=2))
    # fps wins over keyframes: about 6 frames from each video, one video on each side.
    assert 5 <= len(train) <= 7 and 5 <= len(test) <= 7


def test_load_frames_errors(videos, tmp_path):
    with pytest.raises(DataError, match="no such"):
        data.load_frames(DataConfig(source=str(tmp_path / "missing")))
    with pytest.raises(DataError, match="a single image"):
        data.load_frames(DataConfig(source=str(_img(tmp_path / "only_0001.png"))))
    # One static video has a single keyframe: too few for a time split, and the message says what to do.
    with pytest.raises(DataError, match=r"only 1 frames from a single source.*--fps"):
        data.load_frames(DataConfig(source=str(videos / "static.mkv")))


# --------------------------------------------------------------------------------------------------
# A single source: the time split


def _ramp_video(path, seconds=5, red=False):
    """80x48 at 10 fps, every frame a keyframe, frame i flat grey (or reddish) at luma 16 + 4 i (lossless)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cr = 170 if red else 128
    ramp = f"color=black:size=80x48:rate=10,format=yuv420p,geq=lum='16+N*4':cb=128:cr={cr}"
    _ffmpeg("-f", "lavfi", "-i", ramp,
            "-t", str(seconds), "-g", "1", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", str(path))
    return path


def _index(frames):
    """The frame index each grey ramp frame encodes (limited-range luma back to RGB: 255/219 per level)."""
    return np.round(frames.reshape(len(frames), -1).mean(axis=1) * 219 / 255 / 4).astype(int)


def test_time_split_indices_never_straddle():
    for n in range(1, 120):
        for fraction in (0.01, 0.1, 0.25, 0.5, 0.9):
            try:
                train, test = footage.time_split_indices(n, fraction, gap=3)
            except DataError as err:
                assert "single source" in str(err) and n < 1 + 3 + max(1, round(fraction * n)) + 1
                continue
            assert not set(train) & set(test)
            assert train.max() + 3 < test.min() and test.max() == n - 1  # the gap, then the last frames
            assert len(test) == max(1, round(fraction * n)) and len(train) == n - len(test) - 3


def test_single_video_splits_in_time_with_one_warning(tmp_path):
    video = _ramp_video(tmp_path / "my_match.mp4")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        split = data.load_split(DataConfig(source=str(video)))
    assert len(record) == 1
    msg = str(record[0].message)
    assert "my_match.mp4" in msg and "same video" in msg and "flatter" in msg and "\n" not in msg
    assert split.kind == "time" and "last 5 of 50" in split.detail
    train, test = _index(split.train), _index(split.test)
    # No frame index on both sides, the test block is the end of the video, and the gap lies between.
    assert not set(train) & set(test)
    assert list(train) == list(range(42)) and list(test) == list(range(45, 50))


def test_one_prefix_folder_splits_in_time(tmp_path):
    # Numbers without padding: frame_10 must still come after frame_9.
    for i in range(20):
        _img(tmp_path / f"frame_{i}.png", colour=(i * 10, 0, 0))
    with pytest.warns(UserWarning, match="frame is the only source"):
        split = data.load_split(DataConfig(source=str(tmp_path), height=16, width=24, test_fraction=0.2))
    assert split.kind == "time"
    assert split.train[:, 0, 0, 0].tolist() == [i * 10 for i in range(13)]
    assert split.test[:, 0, 0, 0].tolist() == [i * 10 for i in range(16, 20)]


def test_two_videos_stay_split_by_source(tmp_path):
    _ramp_video(tmp_path / "a.mp4", seconds=3)
    _ramp_video(tmp_path / "b.mp4", seconds=3, red=True)  # reddish: tells the videos apart
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no same-video warning here
        split = data.load_split(DataConfig(source=str(tmp_path), test_fraction=0.5))
    assert split.kind == "source" and "1 of 2" in split.detail
    red = lambda f: set((f[:, 0, 0, 0].astype(int) - f[:, 0, 0, 2] > 20).tolist())  # noqa: E731
    assert len(split.train) == len(split.test) == 30
    assert red(split.test) == {False} and red(split.train) == {True}  # a.mp4 held out whole, b.mp4 trains


# --------------------------------------------------------------------------------------------------
# frames on a folder of images (and videos)


def test_fit_image_crops_or_pads_keeping_the_aspect():
    wide = Image.new("RGB", (300, 100), (0, 0, 255))
    wide.paste((255, 0, 0), (0, 0, 60, 100))  # a red band on the left, cut off by the centre crop
    im, how = footage.fit_image(wide, H, W, "crop")
    assert how == "cropped" and im.size == (W, H)
    assert np.asarray(im)[:, :, 0].max() < 30  # the band was in the overhang
    im, how = footage.fit_image(wide, H, W, "pad")
    a = np.asarray(im)
    assert how == "padded" and im.size == (W, H)
    assert a[0, W // 2].tolist() == [0, 0, 0] and a[H // 2, W // 2, 2] > 200  # black bars above and below
    im, how = footage.fit_image(Image.new("RGB", (160, 96)), H, W, "crop")
    assert how == "resized" and im.size == (W, H)
    with pytest.raises(DataError, match="fit="):
        footage.fit_image(wide, H, W, "stretch")


def test_prepare_frames_messy_folder(tmp_path):
    src, out = tmp_path / "shots", tmp_path / "out"
    _img(src / "shot_0001.png", size=(160, 96))
    _img(src / "shot_0002.jpg", size=(300, 300), mode="L", colour=(128, 128, 128))
    rgba = Image.new("RGBA", (120, 70), (0, 255, 0, 0))  # fully transparent green
    src.mkdir(exist_ok=True)
    rgba.save(src / "shot_0003.png")
    _img(src / "Screenshot_big.png", size=(2560, 1440), colour=(0, 0, 250))
    _img(src / "phone" / "IMG_0042.webp", size=(90, 600))
    (src / "empty.png").write_bytes(b"")
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    good = _img(src / "cut.png", size=(200, 200)).read_bytes()
    (src / "cut.png").write_bytes(good[: len(good) // 2])
    (src / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning) as record:
        report = footage.prepare_frames(src, out, H, W)
    assert len(record) == 1
    msg = str(record[0].message)
    assert msg.startswith("skipped 3 unreadable files in") and "\n" not in msg
    assert "empty.png (empty file)" in msg and "corrupt.jpg" in msg and "cut.png" in msg
    assert (report.images, report.images_kept, report.others, report.videos) == (8, 5, 1, 0)
    assert report.fitted == {"cropped": 4, "padded": 0, "resized": 1}
    assert report.found(src) == f"found 8 images in {src} (1 other file ignored)"
    kept = report.kept(out)
    assert "5 of 8 images, resized to 80x48 RGB keeping the aspect (4 centre-cropped, 1 already" in kept
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["Screenshot_big.png", "phone/IMG_0042.png", "shot_0001.png", "shot_0002.png",
                       "shot_0003.png"]
    frames, sources = footage.read_image_folder(out, H, W)  # every output already has the frame's size
    assert frames.shape == (5, H, W, 3) and sources == ["Screenshot_big", "phone", "shot", "shot", "shot"]
    assert frames[0, H // 2, W // 2, 2] > 240  # the oversized blue screenshot
    assert np.ptp(frames[3].astype(int), axis=-1).max() == 0 and frames[3, 0, 0, 0] == 128  # grey stays grey
    assert frames[4].max() == 0  # transparent pixels are black, as in training
    # Padding instead: the tall phone capture gets black bars left and right.
    with pytest.warns(UserWarning, match="skipped 3"):
        footage.prepare_frames(src, out, H, W, fit="pad")
    with Image.open(out / "phone" / "IMG_0042.png") as im:
        a = np.asarray(im)
    assert a[H // 2, 0].tolist() == [0, 0, 0] and a[H // 2, W // 2, 0] > 150


def test_prepare_frames_images_and_videos(tmp_path):
    src, out = tmp_path / "mixed", tmp_path / "mixed" / "out"  # an output inside the source is not re-read
    _img(src / "shot_0001.png")
    _ramp_video(src / "match.mp4", seconds=2)
    (src / "bad.mkv").write_bytes(os.urandom(2000))
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable files.*bad\.mkv"):
        report = footage.prepare_frames(src, out, H, W)
    assert report.found(src) == f"found 1 image and 2 videos in {src}"
    assert (report.images_kept, report.videos_kept, report.video_frames) == (1, 1, 20)
    assert "and 20 frames of 1 of 2 videos at native size" in report.kept(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = footage.prepare_frames(src, out, H, W)
    assert again.images == 1 and len(list(out.glob("*.png"))) == 21
    with pytest.raises(DataError, match="source folder"):
        footage.prepare_frames(src, src, H, W)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no usable images or videos.*empty"):
        footage.prepare_frames(empty, out, H, W)
