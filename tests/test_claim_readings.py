"""How claims 6 and 9 are read, as issue 34 restated them, on records whose answer is known."""

import numpy as np
import pytest
from run_factory import make_run

from vaegan_nb import claims as C
from vaegan_nb import data
from vaegan_nb import diagnostics as D
from vaegan_nb.runs import RunRecord


def test_the_order_half_of_claim_6_is_a_trend_that_allows_one_swap_of_neighbours():
    betas = C.BETAS
    assert C.spearman(betas, [7.7, 2.3, 2.0, 1.5, 1.1]) == pytest.approx(-1.0)  # the blog's own ends
    # The reference sweep's pattern: beta 2 beyond beta 1, the rest in order (-0.9, inside the bar).
    rho = C.spearman(betas, [2.95, 1.69, 2.00, 1.55, 1.31])
    assert rho == pytest.approx(-0.9) and rho <= C.ORDER_TREND
    # Beta 1's codes nearer the origin than beta 2's and beta 4's: no longer a falling trend (-0.7).
    rho = C.spearman(betas, [2.95, 1.40, 2.00, 1.69, 1.31])
    assert rho == pytest.approx(-0.7) and rho > C.ORDER_TREND
    assert C.spearman(betas, sorted([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(1.0)
    # Ties share their mean rank; a value that is not finite fails the claim rather than taking a rank.
    assert C.spearman([1, 2, 3], [2.0, 2.0, 1.0]) == pytest.approx(-0.866, abs=1e-3)
    assert np.isnan(C.spearman(betas, [2.95, np.nan, 2.00, 1.55, 1.31]))


STEPS = tuple(range(0, 100, 10))


def _bn_run(tmp_path, name, snapshots):
    """A BN-cheat record (ci profile, turf frames) whose fixed-noise snapshots are ``snapshots``."""
    return RunRecord(make_run(tmp_path, name, steps=STEPS[: len(snapshots)], frames=np.stack(snapshots)))


def _turf(seed, n=64):  # a batch of 64, as the profiles' fixed noise: the bars are set for that size
    return data.turf_frames(n, 24, 40, seed)


def test_claim_9_is_met_by_fakes_that_look_like_frames_and_then_collapse(tmp_path):
    grey = np.full((64, 24, 40, 3), 128, np.uint8)
    looks = [_turf(10 + i) for i in range(3)]
    collapsed = np.repeat(_turf(20)[:2], 32, axis=0)  # two samples, 32 copies each
    rec = _bn_run(tmp_path, "bn", [grey, grey, D.gaussian_blur(_turf(9), 1.5), *looks, collapsed, collapsed])
    f = C.likeness_reading(rec)
    assert f["first step that looks like frames"] == 30 == f["nearest step"]
    assert f["patch distance / bar, nearest"] <= 1 and f["hue bins / bar, nearest"] <= 1
    assert f["duplicate share after"] == 1.0
    assert C.read_claim(C.claim(9), {"aegan_bn": rec}).ok


def test_claim_9_is_not_met_by_frame_like_fakes_that_stay_diverse(tmp_path):
    rec = _bn_run(tmp_path, "bn", [_turf(10 + i) for i in range(6)])
    f = C.likeness_reading(rec)
    assert f["first step that looks like frames"] == 0
    assert f["duplicate share after"] == 0.0 and f["diversity drop after"] < 0.5
    assert not C.read_claim(C.claim(9), {"aegan_bn": rec}).ok


def test_claim_9_is_not_met_by_fakes_that_never_look_like_frames_however_they_collapse(tmp_path):
    smeared = D.gaussian_blur(_turf(9), 1.5)
    rec = _bn_run(tmp_path, "bn", [smeared, smeared, np.repeat(smeared[:1], 64, axis=0)])
    f = C.likeness_reading(rec)
    assert f["first step that looks like frames"] == float("inf")
    assert f["patch distance / bar, nearest"] > 1  # the blur fails texture
    assert not C.read_claim(C.claim(9), {"aegan_bn": rec}).ok


def test_the_ruler_over_training_shows_where_each_half_passes(tmp_path):
    from vaegan_nb import plots

    grey = np.full((64, 24, 40, 3), 128, np.uint8)
    rec = _bn_run(tmp_path, "bn", [grey, D.gaussian_blur(_turf(9), 1.5), _turf(10)])
    s = C.likeness_series(rec)
    assert list(s["steps"]) == [0, 10, 20]
    assert s["texture"][0] > 1 and s["texture"][2] <= 1 and s["colour"][2] <= 1  # grey fails, real frames pass
    fig = plots.likeness_plot([rec])
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]  # the run's curve and the bar, on each half
