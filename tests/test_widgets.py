"""The timelapse player, the static GIF fallback, and notebook widget metadata that GitHub can render."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from run_factory import fixed_noise, make_run

from vaegan_nb import timelapse as TL
from vaegan_nb.errors import UserError
from vaegan_nb.widgets import TimelapsePlayer, static_gif

ROOT = Path(__file__).resolve().parents[1]


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.fixture
def two_runs(tmp_path):
    a = make_run(tmp_path, "run_a", steps=[0, 10, 20, 30], seed=0)
    b = make_run(tmp_path, "run_b", steps=[0, 15, 30], seed=1)
    return a, b


def test_moving_the_slider_changes_the_image_and_the_label(two_runs):
    player = TimelapsePlayer(two_runs[0], scale=2)
    assert player.play.max == player.slider.max == 3
    img0, label0, plot0 = player.images[0].value, player.label.value, player.plot.value
    assert "step 0" in label0
    player.slider.value = 2
    assert player.images[0].value != img0
    assert player.label.value != label0 and "step 20" in player.label.value
    assert player.plot.value != plot0  # the cursor moved
    player.show(-1)
    assert player.slider.value == 3 and "step 30" in player.label.value


def test_side_by_side_images_show_the_same_step(two_runs, tmp_path):
    player = TimelapsePlayer(list(two_runs), scale=1)
    assert player.steps.tolist() == [0, 10, 15, 20, 30]
    player.slider.value = 3  # step 20: run_a's snapshot 20, run_b's latest before it, 15
    for run, want_index in zip(two_runs, (2, 1), strict=True):
        from vaegan_nb.runs import RunRecord

        frames = RunRecord(run).timelapse()["frames"]
        want = TL.grid_frames(frames[want_index], scale=1)[0]
        got = _decode(player.images[two_runs.index(run)].value)
        assert np.array_equal(got, want)
    assert "run_a" in player.label.value and "run_b" in player.label.value


def test_label_shows_metrics_at_or_before_the_step(tmp_path):
    run = make_run(tmp_path, "r", steps=[0, 10, 20],
                   metrics={"step": [0, 5, 10, 15, 20], "pixel": [0.5, 0.4, 0.3, 0.2, 0.1],
                            "kld": [np.nan, 7.0, np.nan, 9.0, np.nan]})
    player = TimelapsePlayer(run, metrics=("pixel", "kld", "diversity"))
    player.show(1)  # step 10: pixel logged at 10, kld last logged at 5, diversity never
    text = player.label.value
    assert "pixel 0.3" in text and "kld 7" in text and "diversity n/a" in text


def test_player_refuses_runs_with_different_noise(tmp_path):
    a = make_run(tmp_path, "run_a", steps=[0, 10])
    b = make_run(tmp_path, "run_b", steps=[0, 10], noise=fixed_noise(16, 8, seed=5))
    with pytest.raises(UserError, match="run_b"):
        TimelapsePlayer([a, b])


def test_player_displays_as_its_box_and_the_gif_fallback_is_inline(two_runs):
    player = TimelapsePlayer(list(two_runs), scale=1)
    bundle = player._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == player.widget.model_id
    assert "needs a running kernel" in bundle["text/plain"]
    html = static_gif(list(two_runs)).data
    assert html.startswith('<img src="data:image/gif;base64,') and "image-rendering: pixelated" in html


def _notebooks():
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.skipif(not _notebooks(), reason="no notebooks yet")
@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_widget_metadata_is_complete_or_absent(path):
    # GitHub refuses to render a notebook whose widget metadata lacks the "state" key.
    meta = json.loads(path.read_text()).get("metadata", {})
    if "widgets" in meta:
        state = meta["widgets"].get("application/vnd.jupyter.widget-state+json")
        assert isinstance(state, dict) and "state" in state, f"{path.name}: widget metadata without state"


def test_display_timelapse_shows_player_and_gif_and_can_write_the_full_gif(two_runs, tmp_path, monkeypatch):
    import IPython.display

    from vaegan_nb import widgets

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    player = widgets.display_timelapse(list(two_runs), gif_path=tmp_path / "out" / "ab.gif")
    assert shown[0] is player and "data:image/gif;base64," in shown[1].data
    assert "first 16 of 16" not in shown[1].data and "all 16 fixed samples" in shown[1].data
    with Image.open(tmp_path / "out" / "ab.gif") as im:
        assert im.n_frames == 5 and im.info["loop"] == 0
