"""The decoder's tug of war is measured without touching the run it measures."""

import math

import pytest
import torch

from vaegan_nb import data, pulls, recipes
from vaegan_nb.config import make_config


def _trainee(recipe):
    cfg = make_config(recipe, "ci")
    torch.manual_seed(0)
    t = recipes.build(cfg)
    x = data.to_tensor(data.turf_frames(16, cfg.data.height, cfg.data.width, seed=1))
    return t, x


@pytest.mark.parametrize("recipe", recipes.GAN_RECIPES)
def test_each_decoder_objective_the_recipe_trains_has_a_pull(recipe):
    t, x = _trainee(recipe)
    fakes = make_config(recipe, "ci").train.fakes
    pl = pulls.decoder_pulls(t, x, fakes=fakes)
    # Without fakes (the VAE-GAN and its fix) sub-step (5) does not run, so it pulls on nothing.
    assert list(pl) == [p for p in pulls.PULLS if fakes or "fakes" not in p]
    assert all(math.isfinite(v) and v > 0 for v in pl.values()), pl
    adversarial = [v for k, v in pl.items() if k.startswith("adversarial")]
    assert pulls.feature_matching_share(pl) == pl["feature matching"] / max(adversarial)


def test_measuring_the_pulls_leaves_the_run_untouched():
    t, x = _trainee("aegan_bn")
    for m in t.modules().values():
        m.eval()
    before = {k: {n: v.clone() for n, v in m.state_dict().items()} for k, m in t.modules().items()}
    pulls.decoder_pulls(t, x)
    for k, m in t.modules().items():
        assert not m.training, f"{k} was left in train mode"
        for n, v in m.state_dict().items():
            assert torch.equal(v, before[k][n]), f"{k}.{n} changed (BatchNorm's running statistics?)"
        assert all(p.grad is None for p in m.parameters()), f"{k} kept gradients"


def test_the_same_batch_and_seed_give_the_same_pulls():
    t, x = _trainee("aegan_bn")
    assert pulls.decoder_pulls(t, x, seed=3) == pulls.decoder_pulls(t, x, seed=3)


def test_a_vae_has_no_discriminator_to_pull_against():
    t, x = _trainee("vae")
    with pytest.raises(ValueError, match="no discriminator"):
        pulls.decoder_pulls(t, x)
