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


def _adaptive_run(tmp_path, name, held, z=1.0, pixel=0.03):
    """A vaegan_adaptive record (ci profile, target 0.1) with the held batch KLD ``held`` logged every 10
    steps, codes at ``z`` of the shell and a held-out pixel error ``pixel`` throughout."""
    steps = np.arange(len(held)) * 10
    ones = np.ones(len(held))
    metrics = {"step": steps, "pixel_test": pixel * ones, "z_norm_ratio": z * ones, "kld_held": np.asarray(held),
               "beta": 5 * ones, "kld": ones}
    return {"vaegan_adaptive": RunRecord(make_run(tmp_path, name, steps=steps, recipe="vaegan_adaptive",
                                                  frames=np.stack([_turf(0)] * len(held)), metrics=metrics))}


def test_claim_10_asks_the_held_kld_to_stay_near_its_target_over_the_last_half_only(tmp_path):
    # A wild first half, then within +-50% of 0.1 at 19 of every 20 logged steps: the claim holds.
    first = [0.9] * 40
    last = ([0.14, 0.06, 0.1, 0.12] * 10)[:39] + [0.2]
    runs = _adaptive_run(tmp_path, "near", first + last)
    r = C.read_claim(C.claim(10), runs)
    assert r.ok and r.figures["share of the last half within +-50%"] == pytest.approx(39 / 40)
    # One logged step in ten out of the band: no longer "stays".
    runs = _adaptive_run(tmp_path, "drifts", first + ([0.1] * 9 + [0.16]) * 4)
    assert not C.read_claim(C.claim(10), runs).ok
    # A held KLD that is not finite counts as outside the band, not as missing.
    runs = _adaptive_run(tmp_path, "diverged", first + [0.1] * 36 + [np.inf] * 4)
    assert C.held_share(runs["vaegan_adaptive"]) == pytest.approx(0.9)
    # A run without a controller has nothing to read, and does not meet the claim.
    bn = RunRecord(make_run(tmp_path, "bn"))
    assert np.isnan(C.held_share(bn)) and not C.read_claim(C.claim(10), {"vaegan_adaptive": bn}).ok


@pytest.mark.parametrize(("z", "ok"), [(0.79, False), (0.8, True), (1.25, True), (1.3, False)])
def test_claim_11_keeps_the_codes_within_the_band_around_the_shell(tmp_path, z, ok):
    assert C.read_claim(C.claim(11), _adaptive_run(tmp_path, f"z{z}", [0.1] * 20, z=z)).ok is ok


def test_claim_12_compares_the_held_out_error_with_the_mean_frames(tmp_path):
    runs = _adaptive_run(tmp_path, "sharp", [0.1] * 20, pixel=0.01)
    base = C.mean_frame_mse(runs["vaegan_adaptive"])
    for pixel, ok in ((0.69 * base, True), (0.71 * base, False)):
        r = C.read_claim(C.claim(12), _adaptive_run(tmp_path, f"p{pixel:.5f}", [0.1] * 20, pixel=pixel))
        assert r.ok is ok and r.figures["pixel_test / mean-frame MSE"] == pytest.approx(pixel / base)
