"""The blog's claims, on small seeded runs: a specification of what the notebooks show.

Each test trains (or shares, through a module-scoped cache) small runs of the ci profile's model and
frame size: the GAN recipes with a latent of 16, batch 16 and 400 steps; the VAE, which is cheap,
with the full profile's latent, batch and frames and 1,500 steps. It reads them with the same functions that
``scripts/phenomena_table.py`` uses on the full-profile runs (``vaegan_nb.claims``) and requires the
claim on two seeds, or, where small runs are noisier, on four of five seeds as the table reads a
claim. docs/phenomena.md has the full-profile rates over several seeds; a claim that
does not reproduce there has no test here.

The thresholds are the claims' own where a small run reaches them. Where it does not, the test says
which weaker form it checks and why.

Two claims reproduce in the full profile but have no small run that shows them within this module's
budget (all claim tests under 6 minutes), so they have no test here; docs/phenomena.md is their
evidence. Measured on the small GAN config below, seeds 0-4, 2026-11-30:
- Claim 5 (the fix's D wins within 10% of the run): D loss first falls below 0.05 at 74%, 28%, 4%,
  4% and 28% of a 400-step run (2 of 5). Read instead on the first 300 steps (10%) of the full
  profile's own fix on CI's two threads, D won at step 20 on seeds 0 and 3 and not at all on seeds 1
  and 2 (3 of 5, 2026-12-01); on one thread, as the table trains it, seed 1 wins at step 290, so a
  test on it would hang on float rounding.
- Claim 8 (the BN cheat's sharp reconstructions): after 400 steps the held-out error is 1.3-1.8 times
  the mean frame's. The full profile needs about 1,600-2,000 steps of batch 32 to reach 0.7 of it.
"""

from __future__ import annotations

import pytest

from vaegan_nb import claims as C
from vaegan_nb import data, prior_gap
from vaegan_nb.config import make_config
from vaegan_nb.training import load_trained, train

SEEDS = (0, 1)
RATE_SEEDS = (0, 1, 2, 3, 4)  # for a claim read as a rate, like docs/phenomena.md
# Two torch threads, CI's default, named so that a machine with more cores trains the same runs:
# a GAN run is chaotic, and the thread count changes the order of float sums. With one thread,
# seed 1's mistaken VAE-GAN grows its KLD only 1.85-fold in this small config (claim 2 asks 2.5).
THREADS = 2
SMALL = dict(n_train=512, n_test=64, batch_size=16, latent_dim=16, log_every=5, snapshot_every=25,
             checkpoint_every=100_000, n_fixed=16, compile="off", num_threads=THREADS)
STEPS = {"vae": 1500, "vaegan": 400, "vaegan_decoder_fm": 400, "aegan_bn": 400}
# Claims 2 and 3 read the mistaken VAE-GAN with D at rule 1's minimum (docs/scaling.md), not the
# profile's wider rule-4 D. With the profile's D a 400-step run is too short for them: the KLD grew
# 14.1, 1.13, 2.26, 1.02 and 6.8-fold on seeds 0-4 (2 of 5 reach 2.5), and claim 3 held on 3 of 5
# (measured 2026-11-30); in the full profile both hold on at least 4 of 5 seeds. Rule 4 was chosen
# for the BN cheat's reconstructions (claim 8). The KLD's growth and the falling pixel error come
# from the encoder and decoder learning through feature matching, which any D that sees the whole
# frame gives them.
RULE1_D = dict(disc_channels=(8, 16, 48, 192))
VAE = dict(n_train=4096, n_test=64, log_every=10, snapshot_every=100, checkpoint_every=100_000, n_fixed=16,
           compile="off", num_threads=THREADS)  # the profile's own latent (64) and batch (32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """runs(seed, names, **overrides) -> {name: RunRecord}, each run trained once per module."""
    root = tmp_path_factory.mktemp("claims")
    cache: dict[tuple[int, str], object] = {}

    def get(seed: int, names: tuple[str, ...], **overrides) -> dict:
        tag = "".join(f"_{k}{v}" for k, v in overrides.items()).replace(" ", "")
        for name in names:
            if (seed, name, tag) not in cache:
                cfg = make_config(name, "ci", steps=STEPS[name], seed=seed,
                                  **(VAE if name == "vae" else SMALL), **overrides)
                cache[seed, name, tag] = train(cfg, root / f"s{seed}{tag}" / name, progress=False)
        return {name: cache[seed, name, tag] for name in names}

    return get


def _claim(number: int) -> C.Claim:
    return next(c for c in C.CLAIMS if c.number == number)


@pytest.mark.parametrize("seed", SEEDS)
def test_claim1_the_vae_reconstructs_held_out_frames_and_its_kld_converges(runs, seed):
    r = C.read_claim(_claim(1), runs(seed, ("vae",)))
    assert r.figures["pixel_test / mean-frame MSE"] <= 0.6, r.figures
    # Weaker on convergence: over the last 20% of a 1,500-step run the KLD still moves by 4-14%
    # (measured on six small runs), on both sides of the claim's 10%. The test asks for under 20%.
    assert r.figures["KLD change, last 20%"] < 0.2, r.figures


def test_claim2_the_kld_of_the_mistaken_vaegan_grows_far_above_the_fixs(runs):
    # Read as the full profile's table reads a claim: on five seeds, at least four. These 400-step
    # runs (with RULE1_D, see above) are noisy: measured 2026-11-30, the KLD grew 1.50, 2.70, 7.77,
    # 3.34 and 2.63-fold on seeds 0-4, and at 600 or 800 steps again one seed in four fell short of
    # 2.5. Requiring two fixed seeds would only test which seeds we picked.
    readings = {s: C.read_claim(_claim(2), runs(s, ("vaegan", "vaegan_decoder_fm"), **RULE1_D)) for s in RATE_SEEDS}
    met = [s for s, r in readings.items() if r.ok]
    assert len(met) >= 4, {s: r.figures for s, r in readings.items()}


def test_claim3_pixel_error_falls_while_feature_matching_grows(runs):
    # The claim's own thresholds, read on claim 2's runs as a rate. Measured 2026-11-30: the pixel
    # error fell to 0.56, 0.75, 0.55, 0.50 and 0.56 of its value at 5% on seeds 0-4, and feature
    # matching grew 5.4 to 33-fold.
    readings = {s: C.read_claim(_claim(3), runs(s, ("vaegan",), **RULE1_D)) for s in RATE_SEEDS}
    met = [s for s, r in readings.items() if r.ok]
    assert len(met) >= 4, {s: r.figures for s, r in readings.items()}


@pytest.mark.parametrize("seed", SEEDS)
def test_claim7_the_bn_cheat_keeps_the_batch_kld_bounded(runs, seed):
    r = C.read_claim(_claim(7), runs(seed, ("aegan_bn",)))
    assert r.ok, r.figures


@pytest.mark.parametrize("seed", SEEDS)
def test_claim9_diagnosis_fixed_noise_lands_off_the_codes_the_decoder_learnt(runs, seed):
    # Notebook 04's reading of why the fakes do not look like frames. The same noise moved to a
    # Gaussian fitted to the training codes scores higher than the fixed noise itself: measured
    # 2026-11-30 on 400-step runs of seeds 0-4, 0.25-0.35 against 0.17-0.33 of the real frames'
    # palette fidelity (5 of 5; in the full profile 0.31-0.59 against 0.26-0.29).
    rec = runs(seed, ("aegan_bn",))["aegan_bn"]
    split = data.load_split(rec.config.data, progress=False)
    gap = prior_gap.prior_gap(load_trained(rec), split.train, split.test)
    assert gap["fixed noise through the codes' Gaussian"] > gap["fixed noise"], gap
