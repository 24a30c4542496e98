"""The prior-gap probe moves fixed noise to where the codes live, and measures fakes against reconstructions."""

import pytest
import torch

from vaegan_nb import data, prior_gap, recipes
from vaegan_nb.config import make_config


def test_the_fitted_gaussian_has_the_codes_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(6, 6, generator=g)
    codes = 3.0 + 0.4 * torch.randn(20_000, 6, generator=g) @ mix  # shrunk, shifted, correlated
    mean, tril = prior_gap.fitted_gaussian(codes)
    z = prior_gap.through(torch.randn(20_000, 6, generator=g), mean, tril)
    assert torch.allclose(z.mean(0), codes.mean(0), atol=0.05)
    assert torch.allclose(torch.cov(z.T), torch.cov(codes.T), atol=0.05)


def test_noise_already_from_the_prior_is_left_almost_where_it_was():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(64, 8, generator=g)
    moved = prior_gap.through(z, *prior_gap.fitted_gaussian(torch.randn(50_000, 8, generator=g)))
    assert (moved - z).abs().max() < 0.1


def test_too_few_codes_to_fit_is_a_clear_error():
    with pytest.raises(ValueError, match="more codes than dimensions"):
        prior_gap.fitted_gaussian(torch.randn(8, 16))


def test_the_probe_reads_every_row_and_leaves_nothing_behind():
    cfg = make_config("aegan_bn", "ci")
    torch.manual_seed(0)
    t = recipes.build(cfg)
    for m in t.modules().values():
        m.eval()
    frames = data.turf_frames(96, cfg.data.height, cfg.data.width, seed=2)
    rng = torch.get_rng_state()
    gap = prior_gap.prior_gap(t, frames[:80], frames[80:], n=16)
    assert list(gap) == [*prior_gap.ROWS, "codes' |z| / sqrt(d)", "codes' effective dimensions"]
    assert all(v >= 0 for v in gap.values()), gap
    assert torch.equal(torch.get_rng_state(), rng), "the probe drew from the global RNG"


def test_effective_dims_counts_the_directions_codes_spread_over():
    g = torch.Generator().manual_seed(0)
    assert 15 < prior_gap.effective_dims(torch.randn(20_000, 16, generator=g)) <= 16
    line = torch.randn(5_000, 1, generator=g) * torch.ones(1, 16)
    assert prior_gap.effective_dims(line + 1e-3 * torch.randn(5_000, 16, generator=g)) < 1.1
    plane = torch.randn(5_000, 2, generator=g) @ torch.randn(2, 16, generator=g)
    assert 1.0 < prior_gap.effective_dims(plane) <= 2.0
    assert prior_gap.effective_dims(torch.ones(10, 16)) == 0.0
    assert 0.99 < prior_gap.effective_dims(torch.randn(100, 1, generator=g)) < 1.01
    with pytest.raises(ValueError, match=r"shape \(1, 16\)"):
        prior_gap.effective_dims(torch.randn(1, 16))
