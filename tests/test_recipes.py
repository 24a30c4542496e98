"""Each recipe's step updates exactly the networks that BLOG.md says it does."""

import pytest
import torch

from vaegan_nb import recipes
from vaegan_nb.config import make_config


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def _one_step(recipe):
    cfg = make_config(recipe, "ci", batch_size=8)
    torch.manual_seed(0)
    t = recipes.build(cfg)
    before = {k: _params(m) for k, m in t.modules().items()}
    x = torch.rand(8, 3, cfg.data.height, cfg.data.width) * 2 - 1
    metrics = recipes.step(recipe, t, x, beta=1.0, fakes=cfg.train.fakes)
    return t, before, metrics


@pytest.mark.parametrize("recipe", recipes.GAN_RECIPES + ("vae",))
def test_every_network_of_the_recipe_learns(recipe):
    t, before, _ = _one_step(recipe)
    for name, module in t.modules().items():
        assert _changed(before[name], module), f"{recipe}: {name} did not change"


def test_vae_has_no_discriminator():
    t, _, metrics = _one_step("vae")
    assert t.discriminator is None and "d_loss" not in metrics


def _encoder_update_after_feature_matching(recipe, beta):
    """Does feature matching move the encoder? beta=0 removes the KLD's own encoder update."""
    cfg = make_config(recipe, "ci", batch_size=8)
    torch.manual_seed(0)
    t = recipes.build(cfg)
    before = _params(t.encoder)
    recipes.step(recipe, t, torch.rand(8, 3, cfg.data.height, cfg.data.width) * 2 - 1, beta=beta, fakes=cfg.train.fakes)
    return _changed(before, t.encoder)


def test_mistaken_vaegan_lets_feature_matching_reach_the_encoder():
    assert _encoder_update_after_feature_matching("vaegan", beta=0.0)


def test_decoder_only_fix_keeps_feature_matching_out_of_the_encoder():
    # With beta = 0 the KLD step has no gradient; Adam's step is then zero, so only feature matching
    # could have moved the encoder.
    assert not _encoder_update_after_feature_matching("vaegan_decoder_fm", beta=0.0)


def test_bn_cheat_monitors_batch_kld_and_has_no_per_sample_kld():
    _, _, metrics = _one_step("aegan_bn")
    assert torch.isnan(metrics["kld"]) and torch.isfinite(metrics["kld_batch"])


@pytest.mark.parametrize("recipe", ["vae", "vaegan", "vaegan_decoder_fm", "aegan_bn"])
def test_step_metrics_are_finite(recipe):
    _, _, metrics = _one_step(recipe)
    for k, v in metrics.items():
        if not (recipe == "aegan_bn" and k == "kld"):
            assert torch.isfinite(torch.as_tensor(v)), k


def test_each_network_trains_at_lr_times_its_factor():
    cfg = make_config("vaegan", "ci", lr=1e-3, lr_factor_encoder=2.0, lr_factor_disc=0.25)
    t = recipes.build(cfg)
    lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in t.optimizers().items()}
    # Exact: the factors are powers of two, so lr x factor rounds to the literal.
    assert lrs == {"encoder": [2e-3], "decoder": [1e-3], "discriminator": [2.5e-4]}


def test_the_bn_heads_scale_and_shift_can_train_at_a_slower_rate():
    cfg = make_config("aegan_bn", "ci", lr=1e-3, lr_factor_encoder=2.0, lr_factor_bn=0.125)
    t = recipes.build(cfg)
    groups = t.opt_e.param_groups
    assert [g["lr"] for g in groups] == [2e-3, 2.5e-4]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in t.encoder.head[1].parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(t.encoder.parameters()))
    assert len(recipes.build(make_config("aegan_bn", "ci")).opt_e.param_groups) == 1  # the default: one rate


@pytest.mark.parametrize("recipe, fakes", [("vaegan", False), ("vaegan_decoder_fm", False), ("aegan_bn", True)])
def test_each_gan_recipe_trains_on_fakes_as_the_blog_did(recipe, fakes):
    # The blog's VAE-GAN dropped fakes G(z) after part 1 (part 3's baseline is part 2's run without
    # them, and the sweep-era trainer has no fake sub-steps); the BN cheat's curves log a G(z) loss.
    assert make_config(recipe, "ci").train.fakes is fakes


@pytest.mark.parametrize("fakes, d_steps, g_steps", [(True, 3, 3), (False, 2, 2)])
def test_without_fakes_d_and_the_decoder_skip_the_two_fake_sub_steps(fakes, d_steps, g_steps):
    # With fakes: D on real, reconstructions and fakes; G on D(recon), D(fake) and feature matching.
    cfg = make_config("vaegan", "ci", batch_size=8)
    torch.manual_seed(0)
    t = recipes.build(cfg)
    x = torch.rand(8, 3, cfg.data.height, cfg.data.width) * 2 - 1
    metrics = recipes.step("vaegan", t, x, beta=1.0, fakes=fakes)
    steps = {name: int(next(iter(opt.state.values()))["step"]) for name, opt in t.optimizers().items()}
    assert steps == {"encoder": 2, "decoder": g_steps, "discriminator": d_steps}
    assert 0 < float(metrics["d_fake"]) < 1  # D's view of the fakes is monitored either way

