"""The scaling rules: every profile keeps what carries the blog's phenomena (docs/scaling.md)."""

import numpy as np
import pytest
import torch

from vaegan_nb import data, scaling
from vaegan_nb.config import PROFILES, ModelConfig, make_config, scaling_checks
from vaegan_nb.models import Discriminator


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_keeps_the_scaling_rules(profile):
    broken = [c for c in scaling_checks(make_config("vaegan", profile)) if not c.ok]
    assert not broken, "; ".join(f"{c.rule} = {c.value:g}, needs {c.bound}" for c in broken)


def test_ci_keeps_the_full_profiles_frames_and_model():
    ci, full = make_config("vaegan", "ci"), make_config("vaegan", "full")
    assert (ci.data.height, ci.data.width) == (full.data.height, full.data.width)
    assert ci.model == full.model


def test_the_rule_flags_the_old_narrow_discriminator():
    cfg = make_config("vaegan", "full", disc_channels=(8, 32, 64, 64))
    assert [c.ok for c in scaling_checks(cfg)][:4] == [True, True, True, False]


@pytest.mark.parametrize("channels, flags", [((8, 16, 48, 192), [True, False, False, False]),
                                             ((8, 24, 64, 256), [True, True, False, True])])
def test_the_margin_rule_flags_a_discriminator_at_rule_1s_bare_minimum(channels, flags):
    """Rule 4: both probes that lost the decoder's tug of war (docs/scaling.md) break it."""
    cfg = make_config("vaegan", "full", disc_channels=channels)
    assert [c.ok for c in scaling_checks(cfg) if "margin" in c.rule] == flags


def test_a_margin_over_rule_1_lets_feature_matching_hear_more_of_the_frame():
    """Rule 4's measurement: at initialisation the old minimal D amplifies less of a frame's variance."""
    frames = data.load_split(make_config("vaegan", "full", n_test=256).data, progress=False).test
    shares = {}
    for channels in ((8, 16, 48, 192), (16, 32, 96, 256)):
        torch.manual_seed(0)
        disc = Discriminator(ModelConfig(disc_channels=channels), 24, 40)
        shares[channels] = scaling.visible_share(disc.features, frames)
    assert shares[(8, 16, 48, 192)] < 0.9 < 0.97 < shares[(16, 32, 96, 256)], shares


def test_the_rule_flags_a_hidden_layer_too_narrow_to_survive():
    cfg = make_config("vaegan", "full", disc_hidden=64)
    assert [c.ok for c in scaling_checks(cfg) if c.rule == "D hidden units"] == [False]


def test_most_of_ds_hidden_units_die_within_its_first_steps(tmp_path):
    """Why rule 3 counts units: at lr 1e-3 most hidden ReLUs of D stop firing within 40 steps."""
    from vaegan_nb.training import load_trained, train

    cfg = make_config("vaegan", "full", seed=3, steps=40, n_train=512, n_test=64, compile="off",
                      log_every=40, snapshot_every=40, checkpoint_every=40)
    held_out = data.load_split(cfg.data, progress=False).test
    at_start = scaling.live_hidden_share(_fresh_disc(cfg), held_out)
    train(cfg, tmp_path, progress=False)
    after = scaling.live_hidden_share(load_trained(tmp_path).discriminator, held_out)
    assert at_start > 0.9 and after < 0.6, (at_start, after)


def _fresh_disc(cfg):
    torch.manual_seed(cfg.train.seed)
    return Discriminator(cfg.model, cfg.data.height, cfg.data.width)


@pytest.fixture(scope="module")
def frames():
    return data.turf_frames(256, 16, 24, seed=3)  # small frames: the feature matrix has 1,152 columns


def _blind(channels, frames) -> float:
    torch.manual_seed(0)
    d = Discriminator(ModelConfig(disc_channels=channels), frames.shape[1], frames.shape[2])
    return scaling.blind_share(d.features, frames)


def test_a_discriminator_that_keeps_the_rule_sees_the_whole_frame(frames):
    assert _blind((8, 16, 48, 192), frames) < 0.01


@pytest.mark.parametrize("channels", [(8, 32, 64, 64), (8, 8, 48, 192), (8, 16, 24, 192)])
def test_a_layer_below_the_rule_hides_part_of_every_frame_from_feature_matching(channels, frames):
    assert _blind(channels, frames) > 0.15


def test_blind_share_is_the_null_space_share_of_a_known_linear_map():
    # A map that keeps only the first of three channels: two thirds of white noise is invisible.
    feats = torch.nn.Conv2d(3, 1, 1, bias=True)
    with torch.no_grad():
        feats.weight.copy_(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1))
    noise = np.random.default_rng(0).integers(0, 256, (400, 4, 6, 3), dtype=np.uint8)
    assert scaling.blind_share(feats, noise) == pytest.approx(2 / 3, abs=0.03)


def test_the_full_profile_runs_ahead_of_the_original_only_in_its_discriminator():
    # docs/scaling.md, "Compressed in time": at lr 1e-3 the narrow networks move per step about as far
    # as the original's wide ones at 1e-4 (the decoder), or less (the encoder); only D runs ahead.
    runs = [scaling.network_speeds(make_config("vaegan", "full", seed=s, n_train=512, n_test=64, compile="off"))
            for s in (0, 1)]
    ours = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    rel = {k: ours[k] / scaling.ORIGINAL_SPEEDS[k] for k in ours}
    assert 0.6 <= rel["decoder"] <= 1.0, rel  # measured 0.80
    assert rel["encoder"] <= 0.75, rel  # 0.59
    assert rel["disc"] >= 2.0, rel  # 2.75
