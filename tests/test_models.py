"""The network family has the original's shapes in every profile."""

import pytest
import torch

from vaegan_nb.config import make_config
from vaegan_nb.losses import kld_batch
from vaegan_nb.models import Decoder, Discriminator, Encoder, count_parameters, encoder_sizes


@pytest.mark.parametrize("profile", ["ci", "full", "blog"])
def test_shapes_round_trip_in_every_profile(profile):
    cfg = make_config("vaegan", profile)
    m, d = cfg.model, cfg.data
    x = torch.zeros(2, 3, d.height, d.width)
    enc, dec, disc = Encoder(m, d.height, d.width), Decoder(m, d.height, d.width), Discriminator(m, d.height, d.width)
    mean, logvar = enc(x)
    assert mean.shape == logvar.shape == (2, m.latent_dim)
    assert dec(mean).shape == x.shape
    logit, phi = disc(x)
    assert logit.shape == (2,)
    assert phi.shape == (2, m.disc_channels[-1], *encoder_sizes(d.height, d.width, 3)[-1])


def test_blog_profile_uses_the_original_sizes():
    cfg = make_config("vaegan", "blog")
    assert (cfg.data.height, cfg.data.width, cfg.model.latent_dim) == (65, 121, 1024)
    assert cfg.model.enc_channels == (64, 128, 256) and cfg.model.disc_channels == (32, 128, 256, 256)


def test_bn_cheat_head_normalises_each_latent_dimension_over_the_batch():
    cfg = make_config("aegan_bn", "ci")
    enc = Encoder(cfg.model, 48, 80, variational=False)
    z, logvar = enc(torch.randn(32, 3, 48, 80) * 3 + 1)
    assert logvar is None
    assert torch.allclose(z.mean(0), torch.zeros(cfg.model.latent_dim), atol=1e-5)
    assert torch.allclose(z.var(0, unbiased=False), torch.ones(cfg.model.latent_dim), atol=1e-3)
    head_linear, head_bn = enc.head
    assert head_linear.bias is None and head_bn.affine


def test_bn_affine_can_be_switched_off():
    cfg = make_config("aegan_bn", "ci", bn_affine=False)
    enc = Encoder(cfg.model, 48, 80, variational=False)
    assert not enc.head[1].affine


@pytest.mark.parametrize("init, expected", [("ones", 0.0), ("uniform", 2 / 3)])
def test_bn_scale_init_sets_where_the_batch_kld_starts(init, expected):
    """U(0, 1), PyTorch <= 1.1's default, starts the batch KLD at E[(g^2 - 1 - log g^2) / 2] = 2/3: the
    blog's part-4 curve starts at 0.66. PyTorch's present default (ones) starts it at 0."""
    torch.manual_seed(0)
    cfg = make_config("aegan_bn", "ci", bn_scale_init=init, latent_dim=2048)
    enc = Encoder(cfg.model, 48, 80, variational=False)
    scale = enc.head[1].weight.detach()
    assert bool(((scale >= 0) & (scale <= 1)).all())
    z, _ = enc(torch.randn(64, 3, 48, 80))
    assert abs(kld_batch(z.detach()).item() - expected) < 0.1


def test_discriminator_features_are_purely_linear_before_the_classifier():
    cfg = make_config("vaegan", "ci")
    disc = Discriminator(cfg.model, 48, 80)
    assert all(isinstance(layer, torch.nn.Conv2d) for layer in disc.features)
    x, y = torch.randn(1, 3, 48, 80), torch.randn(1, 3, 48, 80)
    # Linear up to the biases: phi(x + y) - phi(0) = (phi(x) - phi(0)) + (phi(y) - phi(0))
    zero = disc(torch.zeros_like(x))[1]
    assert torch.allclose(disc(x + y)[1] - zero, (disc(x)[1] - zero) + (disc(y)[1] - zero), atol=1e-4)


def test_full_profile_is_laptop_sized():
    cfg = make_config("vaegan", "full")
    m, h, w = cfg.model, cfg.data.height, cfg.data.width
    total = sum(count_parameters(n) for n in (Encoder(m, h, w), Decoder(m, h, w), Discriminator(m, h, w)))
    assert total < 3_000_000
