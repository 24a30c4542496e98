"""The loss helpers compute what BLOG.md writes down."""

import math

import torch

from vaegan_nb.losses import kld_batch, kld_parts, kld_per_sample, reconstruction_sum


def test_batch_kld_against_a_hand_computed_value():
    # Two latent dimensions over a batch of 4.
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [1.0, 2.0], [3.0, 2.0]])
    # dim 0: mean 2, var 1 -> -0.5 (1 + 0 - 4 - 1) = 2.0
    # dim 1: mean 1, var 1 -> -0.5 (1 + 0 - 1 - 1) = 0.5
    assert math.isclose(kld_batch(z).item(), (2.0 + 0.5) / 2, rel_tol=1e-5)


def test_batch_kld_is_zero_for_a_standardised_batch():
    z = torch.randn(256, 8)
    z = (z - z.mean(0)) / z.std(0, unbiased=False)
    assert abs(kld_batch(z).item()) < 1e-5


def test_per_sample_kld_is_zero_at_the_prior_and_matches_the_closed_form():
    assert torch.allclose(kld_per_sample(torch.zeros(3, 5), torch.zeros(3, 5)), torch.zeros(3))
    mean, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[math.log(4.0), 0.0]])
    expected = 0.5 * ((4 + 1 - 1 - math.log(4)) + (1 + 4 - 1 - 0))
    assert math.isclose(kld_per_sample(mean, logvar).item(), expected, rel_tol=1e-6)


def test_kld_parts_split_the_logged_kld_into_where_the_codes_sit_and_how_narrow_they_are():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(16, 8, generator=g) * 3 + 1, torch.randn(16, 8, generator=g) - 4
    assert math.isclose(sum(kld_parts(mean, logvar)).item(), kld_per_sample(mean, logvar).mean().item() / 8,
                        rel_tol=1e-5)
    # Codes at the origin with unit variance cost nothing. Moving every code by the same vector costs
    # only the offset; scattering codes around the origin, only the spread; narrowing, only the last.
    zero = torch.zeros(4, 2)
    assert [p.item() for p in kld_parts(zero, zero)] == [0.0, 0.0, 0.0]
    assert [p.item() for p in kld_parts(zero + 2.0, zero)] == [2.0, 0.0, 0.0]
    assert [p.item() for p in kld_parts(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]), torch.zeros(2, 2))] == [0.0, 0.5, 0.0]
    narrow = kld_parts(zero, zero - 6.0)
    assert narrow[0] == narrow[1] == 0.0 and math.isclose(narrow[2].item(), 0.5 * (math.exp(-6) - 1 + 6), rel_tol=1e-6)


def test_reconstruction_is_summed_per_image_and_averaged_over_the_batch():
    x = torch.zeros(2, 3, 4, 5)
    assert reconstruction_sum(x + 1, x).item() == 60.0
