"""Timelapse: grids, captions, step alignment, the fixed-noise check and the GIF file itself."""

import numpy as np
import pytest
from PIL import Image
from run_factory import fixed_noise, make_run

from vaegan_nb import timelapse as TL
from vaegan_nb.errors import UserError


def _gif_frames(path):
    """(durations in ms, loop flag, RGB frames) of a GIF, read back with Pillow."""
    with Image.open(path) as im:
        loop = im.info.get("loop")
        durations, frames = [], []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
            frames.append(np.asarray(im.convert("RGB")))
    return durations, loop, frames


def test_single_run_gif_has_every_snapshot_held_ends_and_loops(tmp_path):
    run = make_run(tmp_path, "vae", steps=range(0, 60, 10))
    out = TL.export_gif(run, tmp_path / "out" / "deep" / "vae.gif", fps=10)
    assert out.is_file() and not list(out.parent.glob(".*.tmp"))
    durations, loop, frames = _gif_frames(out)
    assert len(frames) == 6
    assert loop == 0
    assert durations[0] == 1000 and durations[-1] == 3000
    assert durations[1:-1] == [100] * 4


def test_fps_that_gif_cannot_store_exactly_rounds_to_centiseconds(tmp_path):
    run = make_run(tmp_path, "r", steps=range(0, 40, 10))
    durations, _, _ = _gif_frames(TL.export_gif(run, tmp_path / "r.gif", fps=8, hold_first_ms=500))
    assert durations[0] == 500 and durations[-1] == 3000
    assert all(abs(d - 125) <= 10 for d in durations[1:-1])


def test_gif_pixels_match_the_composed_frames(tmp_path):
    run = make_run(tmp_path, "r", steps=range(0, 50, 10))
    steps, composed = TL.compose_frames(run, scale=2)
    _, _, frames = _gif_frames(TL.export_gif(run, tmp_path / "r.gif", scale=2))
    assert frames[0].shape == composed[0].shape
    for got, want in ((frames[0], composed[0]), (frames[-1], composed[-1])):
        err = np.abs(got.astype(int) - want.astype(int)).mean()
        assert err < 6, err  # palette quantisation, not a scrambled palette


def test_max_frames_keeps_the_first_and_last_snapshot(tmp_path):
    run = make_run(tmp_path, "r", steps=range(0, 200, 10))
    steps, _ = TL.compose_frames(run, max_frames=5, captions=False)
    assert steps.tolist() == [0, 50, 100, 140, 190]
    _, _, frames = _gif_frames(TL.export_gif(run, tmp_path / "r.gif", max_frames=5))
    assert len(frames) == 5


def test_side_by_side_puts_runs_next_to_each_other_at_the_union_of_steps(tmp_path):
    a = make_run(tmp_path, "a", steps=[0, 10, 20, 30], seed=0)
    b = make_run(tmp_path, "b", steps=[0, 15, 30], seed=1)
    steps, frames = TL.compose_frames([a, b], scale=1)
    _, single = TL.compose_frames(a, scale=1)
    assert steps.tolist() == [0, 10, 15, 20, 30]
    assert frames.shape[2] == 2 * single.shape[2] + TL.GAP
    durations, loop, gif = _gif_frames(TL.export_gif([a, b], tmp_path / "ab.gif"))
    assert len(gif) == 5 and loop == 0


def test_side_by_side_refuses_different_fixed_noise(tmp_path):
    a = make_run(tmp_path, "run_a", steps=[0, 10])
    b = make_run(tmp_path, "run_b", steps=[0, 10], noise=fixed_noise(16, 8, seed=99))
    c = make_run(tmp_path, "run_c", steps=[0, 10], noise=fixed_noise(16, 4))
    TL.check_same_noise([a, a])
    with pytest.raises(UserError, match="run_b.*run_a|run_a.*run_b"):
        TL.check_same_noise([a, b])
    with pytest.raises(UserError, match="run_c.*shape"):
        TL.export_gif([a, c], tmp_path / "x.gif")
    assert not (tmp_path / "x.gif").exists()


def test_export_refuses_a_name_that_is_not_a_gif(tmp_path):
    run = make_run(tmp_path, "r", steps=[0, 10])
    with pytest.raises(UserError, match="gif"):
        TL.export_gif(run, tmp_path / "r.png")


def test_caption_adds_a_strip_whose_pixels_depend_on_the_text():
    img = np.full((40, 120, 3), 200, dtype=np.uint8)
    a = TL.caption(img, "step 100")
    b = TL.caption(img, "step 200")
    blank = TL.caption(img, "")
    assert a.shape[0] > img.shape[0] and a.shape[1:] == img.shape[1:]
    assert np.array_equal(a[: img.shape[0]], img)  # the samples themselves are not covered
    assert not np.array_equal(a, b) and not np.array_equal(a, blank)
    top = TL.caption(img, "step 100", where="top")
    assert np.array_equal(top[-img.shape[0]:], img)
    big = TL.caption(np.zeros((40, 240, 3), np.uint8), "step 100", scale=2)
    assert big.shape[0] == 40 + 2 * (a.shape[0] - 40) and big.shape[1] == 240


def test_align_steps_takes_the_nearest_earlier_frame_and_clamps_at_the_first():
    common, (ia, ib) = TL.align_steps([np.array([0, 10, 20]), np.array([5, 15, 30])])
    assert common.tolist() == [0, 5, 10, 15, 20, 30]
    assert ia.tolist() == [0, 0, 1, 1, 2, 2]
    assert ib.tolist() == [0, 0, 0, 1, 1, 2]  # before its first snapshot, b shows that one


def test_grid_frames_lays_out_samples_and_upscales_by_nearest_neighbour():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 256, (3, 16, 24, 40, 3), dtype=np.uint8)
    g1 = TL.grid_frames(f, scale=1)
    g2 = TL.grid_frames(f, scale=2)
    assert g1.shape == (3, 4 * 26 + 2, 4 * 42 + 2, 3) and g1.dtype == np.uint8
    assert g2.shape == (3, 2 * g1.shape[1], 2 * g1.shape[2], 3)
    assert np.array_equal(g2[:, ::2, ::2], g1)
    assert np.array_equal(g1[1, 2:26, 2:42], f[1, 0])  # first sample, inside the padding
    assert TL.grid_frames(f[0], nrow=8).shape[:3] == (1, 2 * (2 * 26 + 2), 2 * (8 * 42 + 2))


def test_gif_durations():
    assert TL.gif_durations(4, fps=5) == [1000, 200, 200, 3000]
    assert TL.gif_durations(1) == [3000]
    assert TL.gif_durations(0) == []
    with pytest.raises(UserError):
        TL.gif_durations(3, fps=0)


@pytest.mark.parametrize("n, nrow", [(16, None), (10, 4), (64, 8), (3, 8)])
def test_grid_frames_matches_torchvision_make_grid(n, nrow):
    import math

    import torch
    from torchvision.utils import make_grid

    f = np.random.default_rng(n).integers(0, 256, (2, n, 12, 20, 3), dtype=np.uint8)
    got = TL.grid_frames(f, nrow=nrow, scale=1, padding=2)
    for t in range(2):
        ref = make_grid(torch.from_numpy(f[t]).permute(0, 3, 1, 2), nrow=nrow or math.ceil(math.sqrt(n)),
                        padding=2, pad_value=TL.BACKGROUND[0]).permute(1, 2, 0).numpy()
        assert np.array_equal(got[t], ref)


def test_samples_keeps_the_first_samples_only(tmp_path):
    run = make_run(tmp_path, "r", steps=[0, 10])  # 16 samples: a 4x4 grid
    _, four = TL.compose_frames(run, samples=4, captions=False)
    _, all16 = TL.compose_frames(run, captions=False)
    assert four.shape[1:3] == (2 * 26 + 2, 2 * 42 + 2) and all16.shape[1:3] == (4 * 26 + 2, 4 * 42 + 2)
    assert np.array_equal(four[:, 2:26, 2:42], all16[:, 2:26, 2:42])


def test_gif_html_inlines_the_gif_at_browser_scale(tmp_path):
    run = make_run(tmp_path, "r", steps=[0, 10])
    data = TL.gif_bytes(run, scale=1)
    tag = TL.gif_html(data, scale=3, alt='a "quoted" name')
    with Image.open(__import__("io").BytesIO(data)) as im:
        w, h = im.size
    assert f'width="{3 * w}" height="{3 * h}"' in tag and "&quot;quoted&quot;" in tag
