"""The adaptive beta (the blog's part 5): beta follows the batch KLD toward a target, and a run carries
beta and the moving statistics across a checkpoint."""

import math

import numpy as np
import pytest
import torch

from vaegan_nb.adaptive import BETA_FLOOR, AdaptiveBeta, shell_band
from vaegan_nb.config import make_config
from vaegan_nb.losses import kld_batch
from vaegan_nb.runs import RunRecord
from vaegan_nb.training import train


def test_beta_rises_while_the_kld_is_above_its_target_and_falls_to_a_floor_below_it():
    c = AdaptiveBeta(beta=1.0, target=0.1, step=0.5, momentum=0.0)
    z = torch.randn(64, 8) * 3  # codes far wider than N(0, 1): a KLD well above 0.1
    kld = c.kld(z)
    c.update(kld)
    assert c.beta.item() == pytest.approx(1.0 + 0.5 * (kld.item() - 0.1))
    for _ in range(100):
        c.update(c.kld(torch.randn(64, 8)) * 0)  # a KLD of 0, below the target: beta falls
    assert c.beta.item() == pytest.approx(BETA_FLOOR)


def test_without_momentum_the_held_kld_is_the_batch_kld_and_with_it_the_last_batches_count():
    torch.manual_seed(0)
    a, b = torch.randn(64, 8), torch.randn(64, 8) * 2 + 1
    plain = AdaptiveBeta(1.0, 0.1, 0.1, momentum=0.0)
    assert plain.kld(a).item() == pytest.approx(kld_batch(a).item(), rel=1e-6)
    smooth = AdaptiveBeta(1.0, 0.1, 0.1, momentum=0.9)
    smooth.update(smooth.kld(a))
    held = smooth.kld(b)
    mixed_mean = 0.9 * a.mean(0) + 0.1 * b.mean(0)
    mixed_var = 0.9 * a.var(0, unbiased=False) + 0.1 * b.var(0, unbiased=False)
    expected = (-0.5 * (1 + torch.log(mixed_var + 1e-8) - mixed_mean**2 - mixed_var)).mean()
    assert held.item() == pytest.approx(expected.item(), rel=1e-6)
    assert held.item() < kld_batch(b).item()  # the earlier batch, nearer N(0, 1), holds it down


def _cfg(steps, **kw):
    return make_config("vaegan_adaptive", "ci", steps=steps, log_every=1, snapshot_every=8, checkpoint_every=8,
                       num_threads=1, **kw)


def test_the_run_logs_beta_and_moves_it_by_the_rule_at_every_step(tmp_path):
    cfg = _cfg(16)
    m = train(cfg, tmp_path / "run", progress=False).metrics()
    beta, held = m["beta"][1:], m["kld_held"][1:]  # row 0 is the untrained probe
    t = cfg.train
    assert beta[0] == pytest.approx(t.beta)
    expected = np.maximum(BETA_FLOOR, beta[:-1] + t.beta_step * (held[:-1] - t.beta_target))
    np.testing.assert_allclose(beta[1:], expected, rtol=1e-5)
    assert np.all(np.isfinite(m["kld"][1:])) and np.all(np.isfinite(m["kld_batch"][1:]))


def test_a_resumed_run_carries_beta_and_the_moving_statistics_on_exactly(tmp_path):
    whole = train(_cfg(16), tmp_path / "whole", progress=False).metrics()
    train(_cfg(8), tmp_path / "parts", progress=False)
    parts = train(_cfg(16), tmp_path / "parts", resume=True, progress=False).metrics()
    for col in ("beta", "kld_held", "kld", "pixel", "fm"):
        np.testing.assert_array_equal(parts[col], whole[col], err_msg=col)
    assert RunRecord(tmp_path / "parts").finished


def test_the_step_follows_the_profiles_learning_rate():
    full, blog = make_config("vaegan_adaptive", "full"), make_config("vaegan_adaptive", "blog")
    assert blog.train.beta_step == pytest.approx(0.1) and blog.train.beta == 10.0  # the original's last settings
    assert full.train.beta_step == pytest.approx(0.1 * full.train.lr / blog.train.lr)
    assert full.train.fakes and full.train.stats_momentum == 0.1 and full.train.beta_target == 0.1


@pytest.mark.parametrize("field,value", [("beta_target", 0.0), ("beta_step", -0.1), ("stats_momentum", 1.0)])
def test_settings_the_controller_cannot_use_are_refused_by_name(field, value):
    from vaegan_nb.errors import ConfigError

    with pytest.raises(ConfigError, match=f"train.{field}"):
        make_config("vaegan_adaptive", "ci", **{field: value})


def test_one_batch_kld_allows_codes_inside_and_outside_the_shell():
    lo, hi = shell_band(0.1)
    assert 0.69 < lo < 0.71 and 1.32 < hi < 1.34  # variances of about 0.49 and 1.77
    for r in (lo, hi):  # both radii give the target back
        v = r * r
        assert 0.5 * (v - 1 - math.log(v)) == pytest.approx(0.1, rel=1e-9)
    tight, loose = shell_band(0.01), shell_band(1.0)
    assert lo < tight[0] < 1 < tight[1] < hi and loose[0] < lo and loose[1] > hi
    for target in (400.0, 1e-12):  # far from the usual targets the roots are still the target's
        for r in shell_band(target):
            u = 2 * math.log(r)  # log v: v itself underflows at the low root of a large target
            assert 0.5 * (math.expm1(u) - u) == pytest.approx(target, rel=1e-6)
    with pytest.raises(ValueError, match="beta_target"):
        shell_band(0.0)
