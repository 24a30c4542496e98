"""The command line: every recipe trains in the ci profile; user mistakes are one line, no traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
