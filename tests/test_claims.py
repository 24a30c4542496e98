"""The blog's claims on small seeded runs (GitHub issue 3).

Each test trains (or shares, through a module-scoped fixture) a small run with its own config (smaller
frames, latent and batch than the ``ci`` profile's model) and asserts on smoothed figures from the run
record, with the thresholds of issue 3. The full-profile figures are in docs/phenomena.md
(scripts/claims_full.py, scripts/phenomena_table.py).

Smoothing: a value "at x%" is the median of the logged rows in a 10%-wide window around x% of the run,
so one noisy logged step cannot make or break a claim.
"""

from __future__ import annotations

import numpy as np
import pytest

from vaegan_nb import data
from vaegan_nb.config import make_config
from vaegan_nb.training import train

H, W = 24, 40  # a quarter of the full profile's pixels
TINY = dict(
    height=H, width=W, n_train=512, n_test=64, batch_size=16, latent_dim=16, lr=1e-3,
    log_every=5, snapshot_every=50, checkpoint_every=100_000, n_fixed=16, num_threads=1,
)
STEPS = 150  # every run; about 20-30 s each for the GAN recipes on one core

# Claims that did not reproduce at laptop scale (docs/phenomena.md has the full-profile figures). The
# assertions keep the thresholds; strict xfail turns a run that starts showing them into a failure,
# so whoever changes the recipes notices and moves the claim back into the passing set.
NO_DRIFT = pytest.mark.xfail(
    strict=True,
    reason="issue 3: no drift off the sqrt(d) shell at this scale (mean|z|/sqrt(d) stays 0.9-1.1 in vaegan; "
           "its KLD grows through shrinking posterior variances instead)",
)


@pytest.fixture(scope="module")
def frames():
    return data.turf_frames(512, H, W, seed=1), data.turf_frames(64, H, W, seed=2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, frames):
    """Lazily trained small runs, shared by the tests of this module: runs(name) -> metrics dict."""
    root = tmp_path_factory.mktemp("claims")
    cache: dict[str, dict[str, np.ndarray]] = {}

    def get(name: str, recipe: str | None = None, **overrides) -> dict[str, np.ndarray]:
        if name not in cache:
            recipe = recipe or name
            cfg = make_config(recipe, "ci", **{**TINY, "steps": STEPS, **overrides})
            cache[name] = train(cfg, root / name, progress=False, frames=frames).metrics()
        return cache[name]

    return get


def at(m: dict, col: str, frac: float, window: float = 0.1) -> float:
    """Median of the finite values of ``col`` logged within +-window/2 of ``frac`` of the run (step 0 left out)."""
    steps, v = m["step"], m[col]
    total = steps.max()
    lo, hi = (total * (1 - window), total) if frac >= 1 else (total * (frac - window / 2), total * (frac + window / 2))
    sel = (steps >= lo) & (steps <= hi) & (steps > 0) & np.isfinite(v)
    assert sel.any(), f"no logged {col} near {frac:.0%} of the run"
    return float(np.median(v[sel]))


def test_claim1_vae_reconstructs_held_out_frames(runs):
    m = runs("vae")
    start, end = at(m, "pixel_test", 0.05), at(m, "pixel_test", 1.0)
    assert end < 0.15, f"held-out pixel MSE {end:.3f} (from {start:.3f})"
    assert end < start


def test_claim2_kld_grows_in_the_mistaken_vaegan_not_in_the_fix(runs):
    g, f = runs("vaegan"), runs("vaegan_decoder_fm")
    kg, kf = at(g, "kld", 1.0), at(f, "kld", 1.0)
    assert kg >= 10 * kf, f"KLD/dim vaegan {kg:.3g} vs decoder-only fix {kf:.3g}"
    assert kg > at(g, "kld", 0.1), "KLD should grow in the mistaken VAE-GAN"


def test_claim3_pixel_falls_while_feature_matching_grows(runs):
    m = runs("vaegan")
    p0, p1 = at(m, "pixel", 0.15, 0.2), at(m, "pixel", 1.0, 0.2)
    f0, f1 = at(m, "fm", 0.15, 0.2), at(m, "fm", 1.0, 0.2)
    assert p1 < p0, f"pixel {p0:.3f} -> {p1:.3f}"
    assert f1 > f0, f"fm {f0:.3g} -> {f1:.3g}"


# This small run sits on the threshold: mean|z|/sqrt(d) ends at 1.25 with channels-last activations and
# at 1.15 in NCHW, the same math with different float rounding (measured 2026-11-24). Whether it passes is
# therefore not a property of the recipe, so neither outcome fails the suite; the full-profile book run
# shows no drift at beta 1 (docs/phenomena.md, claim 4).
@pytest.mark.xfail(strict=False, reason="on a knife edge at this scale: passes or fails with float rounding")
def test_claim4_latents_drift_off_the_sqrt_d_shell(runs):
    rg, rv = at(runs("vaegan"), "z_norm_ratio", 1.0), at(runs("vae"), "z_norm_ratio", 1.0)
    assert rg >= 1.2, f"vaegan mean|z|/sqrt(d) = {rg:.2f}"
    assert 0.8 <= rv <= 1.2, f"VAE mean|z|/sqrt(d) = {rv:.2f}"


@pytest.mark.parametrize("name", ["vaegan", "vaegan_decoder_fm"])
def test_claim5_discriminator_wins_quickly(runs, name):
    m = runs(name)
    first = m["d_loss"][np.isfinite(m["d_loss"])][0]  # about 2 * ln 2 + ln 2: D cannot tell yet
    sel = (m["step"] > 0.05 * m["step"].max()) & (m["step"] <= 0.4 * m["step"].max())
    d_loss, d_real, d_fake = (float(np.median(m[c][sel])) for c in ("d_loss", "d_real", "d_fake"))
    assert d_loss < 0.5 * first, f"median D loss {d_loss:.3g} over 5-40% of the run (first logged {first:.3g})"
    assert d_real - d_fake > 0.7, f"D(real) {d_real:.3f}, D(fake) {d_fake:.3f} over 5-40% of the run"


@NO_DRIFT
def test_claim6_a_larger_beta_does_not_stop_the_drift(runs):
    ratios = {1.0: at(runs("vaegan"), "z_norm_ratio", 1.0),
              8.0: at(runs("vaegan_beta8", "vaegan", beta=8.0), "z_norm_ratio", 1.0)}
    assert all(r >= 1.2 for r in ratios.values()), f"mean|z|/sqrt(d) by beta: {ratios}"


def test_claim7_bn_cheat_keeps_batch_kld_small(runs):
    m = runs("aegan_bn")
    kb = m["kld_batch"][np.isfinite(m["kld_batch"])]
    assert len(kb) and kb.max() < 0.05, f"batch KLD max {kb.max():.3g}"
