"""The command line: every recipe trains in the ci profile; user mistakes are one line, no traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaegan_nb.config import make_config

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=300):
    env = dict(os.environ, VAEGAN_PROFILE="ci")
    return subprocess.run([sys.executable, "-m", "vaegan_nb", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def ci_runs(tmp_path_factory):
    """Each recipe trained through the CLI in the ci profile (a few dozen steps)."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for recipe in ("vae", "vaegan", "vaegan_decoder_fm", "aegan_bn"):
        r = cli("train", "--recipe", recipe, "--out", root / recipe, "--no-progress")
        assert r.returncode == 0, r.stderr
        out[recipe] = root / recipe
    return out


@pytest.mark.parametrize("recipe", ["vae", "vaegan", "vaegan_decoder_fm", "aegan_bn"])
def test_cli_training_writes_a_run_record_that_summary_reads(ci_runs, recipe):
    run = ci_runs[recipe]
    for name in ("config.json", "metrics.csv", "timelapse.npz", "status.json", "checkpoints/last.pt"):
        assert (run / name).is_file(), name
    r = cli("summary", run, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["recipe"] == recipe and s["state"] == "finished" and s["steps"] == 24
    assert (s["kld_final"] is None) == (recipe == "aegan_bn")
    assert s["pixel_test_final"] > 0 and s["z_norm_ratio_final"] > 0
    assert "pixel_test_final" in cli("summary", run).stdout


def test_cli_timelapse_puts_runs_side_by_side(ci_runs, tmp_path):
    out = tmp_path / "compare.gif"
    r = cli("timelapse", ci_runs["vae"], ci_runs["vaegan"], "-o", out)
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames >= 3 and im.info.get("loop") == 0


def test_cli_frames_extracts_a_real_video(tmp_path):
    import imageio_ffmpeg

    video = tmp_path / "match01.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=160x96:rate=10", "-t", "3", "-g", "10", "-c:v", "mpeg4", str(video)], check=True)
    r = cli("frames", video, "-o", tmp_path / "frames", "--keyframes")
    assert r.returncode == 0, r.stderr
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    assert 2 <= len(pngs) <= 4 and pngs[0].name.startswith("match01_")


# --------------------------------------------------------------------------------------------------
# Your own footage: one video, a folder of frames, a messy folder of screenshots, two videos


def _ffmpeg(*args):
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def _video(path, seconds=5, pattern="testsrc"):
    """80x48 at 10 fps with every frame a keyframe: 10 frames a second even with the default --keyframes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _ffmpeg("-f", "lavfi", "-i", f"{pattern}=size=80x48:rate=10", "-t", seconds, "-g", 1, "-c:v", "libx264",
            "-pix_fmt", "yuv420p", path)
    return path


def _warnings(stderr):
    return [ln for ln in stderr.splitlines() if ln.startswith("warning:")]


def _train(data, out, *extra):
    return cli("train", "--recipe", "vae", "--data", data, "--out", out, "--steps", 2, "--no-progress",
               *extra)


def test_one_video_trains_with_a_time_split(tmp_path):
    video = _video(tmp_path / "my_match.mp4")
    r = _train(video, tmp_path / "run")
    assert r.returncode == 0, r.stderr
    warned = _warnings(r.stderr)
    assert len(warned) == 1 and "my_match.mp4" in warned[0] and "flatter the held-out error" in warned[0]
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert meta["split"] == "time" and "last 5 of 50 frames" in meta["split_detail"]
    assert (meta["n_train_frames"], meta["n_test_frames"]) == (42, 5)  # 50 - 5 held out - a 3-frame gap
    s = cli("summary", tmp_path / "run")
    assert s.returncode == 0 and any(ln.split() == ["split", "time"] for ln in s.stdout.splitlines())
    assert "split_detail" in s.stdout and "3-frame gap" in s.stdout

    # The same video through `frames` first: one file prefix, the same time split.
    f = cli("frames", video, "-o", tmp_path / "frames")
    assert f.returncode == 0 and "wrote 50 frames" in f.stdout, f.stderr
    r = _train(tmp_path / "frames", tmp_path / "run2")
    assert r.returncode == 0, r.stderr
    assert len(_warnings(r.stderr)) == 1
    meta = json.loads((tmp_path / "run2" / "config.json").read_text())
    assert meta["split"] == "time" and "my_match" in meta["split_detail"] and meta["n_test_frames"] == 5


def test_two_videos_train_split_by_source(tmp_path):
    _video(tmp_path / "videos" / "a.mp4", seconds=4)
    _video(tmp_path / "videos" / "b.mp4", seconds=4, pattern="testsrc2")
    _video(tmp_path / "videos" / "c.mp4", seconds=4, pattern="rgbtestsrc")
    r = _train(tmp_path / "videos", tmp_path / "run")
    assert r.returncode == 0, r.stderr
    assert not _warnings(r.stderr)
    s = json.loads(cli("summary", tmp_path / "run", "--json").stdout)
    assert s["split"] == "source" and "1 of 3" in s["split_detail"]
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (meta["n_train_frames"], meta["n_test_frames"]) == (80, 40)  # whole videos on each side


def test_frames_on_a_messy_folder_of_screenshots(tmp_path):
    from PIL import Image

    src = tmp_path / "shots"
    src.mkdir()
    Image.new("RGB", (1280, 720), (250, 120, 20)).save(src / "Screenshot_0001.png")
    Image.new("L", (500, 500), 90).save(src / "Screenshot_0002.jpg")  # grayscale, square
    Image.new("RGBA", (4000, 1000), (40, 70, 230, 128)).save(src / "Screenshot_0003.png")  # oversized, alpha
    (src / "Screenshot_0004.png").write_bytes(b"")
    (src / "Screenshot_0005.jpg").write_bytes(b"\xff\xd8\xff broken")
    _video(src / "clip.mp4", seconds=1)
    r = cli("frames", src, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warned = _warnings(r.stderr)
    assert len(warned) == 1 and "skipped 2" in warned[0]
    assert "Screenshot_0004.png (empty file)" in warned[0] and "Screenshot_0005.jpg" in warned[0]
    found, kept = r.stdout.strip().splitlines()
    assert found == f"found 5 images and 1 video in {src}"
    d = make_config("vae", "ci").data  # the CLI's profile here (conftest sets ci)
    assert kept.startswith(f"kept 3 of 5 images, resized to {d.width}x{d.height} RGB keeping the aspect (3 centre-cropped)")
    assert "10 frames of 1 of 1 video" in kept
    for name in ("Screenshot_0001.png", "Screenshot_0002.png", "Screenshot_0003.png"):
        with Image.open(tmp_path / "out" / name) as im:
            assert im.size == (d.width, d.height) and im.mode == "RGB"


def test_runs_recorded_before_the_split_field_still_summarise(tmp_path):
    from vaegan_nb.config import make_config

    for source, split in (("turf", "turf"), ("data/frames", "source")):
        cfg = make_config("vae", "ci", data__source="turf")
        cfg.data.source = source  # an old record of footage that is not here any more
        run = tmp_path / split
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"config": cfg.to_dict(), "recipe": "vae", "seed": 0}))
        r = cli("summary", run, "--json")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["split"] == split and s["split_detail"] is None


def test_footage_mistakes_give_one_line(tmp_path):
    from PIL import Image

    Image.new("RGB", (80, 48)).save(tmp_path / "one.png")
    _ffmpeg("-f", "lavfi", "-i", "color=c=orange:size=80x48:rate=10", "-t", 2, "-g", 1000, "-c:v", "libx264",
            "-pix_fmt", "yuv420p", tmp_path / "static.mp4")
    (tmp_path / "empty").mkdir()
    train = ["train", "--recipe", "vae", "--out", tmp_path / "r", "--no-progress", "--data"]
    for args, needle in (
        ([*train, tmp_path / "one.png"], "single image"),
        ([*train, tmp_path / "static.mp4"], "only 1 frames from a single source"),
        (["frames", tmp_path / "empty", "-o", tmp_path / "out"], "the folder is empty"),
        (["frames", tmp_path, "-o", tmp_path], "source folder"),
    ):
        r = cli(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r.stderr


@pytest.mark.parametrize("args, needle", [
    (["train", "--recipe", "vae", "--out", "{tmp}/r", "--data", "{tmp}/nowhere"], "nowhere"),
    (["train", "--recipe", "vae", "--out", "{tmp}/r", "--lr", "-1"], "train.lr"),
    (["train", "--recipe", "vaegan", "--out", "{tmp}/r", "--beta", "-2"], "train.beta"),
    (["train", "--recipe", "vae", "--out", "{tmp}/r", "--steps", "0"], "train.steps"),
    (["summary", "{tmp}"], "not a run record"),
    (["timelapse", "{tmp}/missing", "-o", "{tmp}/x.gif"], "missing"),
    (["frames", "{tmp}/missing.mp4", "-o", "{tmp}/f"], "missing.mp4"),
    (["train", "--recipe", "vae", "--out", "{tmp}/r", "--resume"], "checkpoint"),
])
def test_user_mistakes_give_one_clear_line_and_no_traceback(tmp_path, args, needle):
    r = cli(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert needle in r.stderr


def test_unknown_recipe_is_refused_by_the_parser(tmp_path):
    r = cli("train", "--recipe", "gan", "--out", tmp_path / "r")
    assert r.returncode == 2 and "invalid choice" in r.stderr and "Traceback" not in r.stderr
