"""The blog's claims, on small seeded runs: a specification of what the notebooks show.

Each test trains (or shares, through a module-scoped cache) seeded runs of the ci profile's model and
frame size: the BN cheat with a latent of 16, batch 16 and 400 steps; the VAE, which is cheap, with
the full profile's latent, batch and frames and 1,500 steps; the mistaken VAE-GAN and its fix as the
full profile trains them, for its first 400 steps (the beta-0.1 run for 200, as the sweep runs half
as long). It reads them with the same functions that
``scripts/phenomena_table.py`` uses on the full-profile runs (``vaegan_nb.claims``) and requires a
claim on two seeds, or, where small runs are noisier, on four of five seeds as the table reads a
claim. A GAN run is chaotic, and CPUs of different models round the same sums differently, so each
CPU model draws its own sample of runs from the same seeds. The mistaken VAE-GAN's claims (2-4) are
read as rates, at thresholds that the runs of two CPU models both meet. docs/phenomena.md has the
full-profile rates over several seeds; a claim that does not reproduce there has no test here.

The thresholds are the claims' own where a small run reaches them. Where it does not, the test says
which weaker form it checks and why.

Two claims reproduce in the full profile but have no small run that shows them within this module's
budget (all claim tests under 6 minutes), so they have no test here; docs/phenomena.md is their
evidence. Measured on the small GAN config below, seeds 0-4, 2026-11-30, when the fix still trained on
fakes:
- Claim 5 (the fix's D wins within 10% of the run): D loss first falls below 0.05 at 74%, 28%, 4%,
  4% and 28% of a 400-step run (2 of 5). Read instead on the first 300 steps (10%) of the full
  profile's own fix on CI's two threads, D won at step 20 on seeds 0 and 3 and not at all on seeds 1
  and 2 (3 of 5, 2026-12-01); on one thread, as the table trains it, seed 1 wins at step 290, so a
  test on it would hang on float rounding.
- Claim 8 (the BN cheat's sharp reconstructions): after 400 steps the held-out error is 1.3-1.8 times
  the mean frame's. The full profile needs about 1,600-2,000 steps of batch 32 to reach 0.7 of it.

Claims 2-4 used to be read on the small config with a latent of 16. Since the VAE-GAN trains without
fakes (2026-12-01, ``train.fakes``), 400 such steps no longer show claim 3: the pixel error ended at
0.76-0.94 of its value at 5% on seeds 0-4 (claim 3 asks 0.7), with a latent of 64 at 0.45-1.12, and
at beta 1 the codes ended at 0.94-1.21 of the shell. The full profile's first 400 steps show all three.
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
# a GAN run is chaotic, and the thread count changes the order of float sums, so the figures below
# hold for two threads (docs/phenomena.md trains on one).
THREADS = 2
SMALL = dict(n_train=512, n_test=64, batch_size=16, latent_dim=16, log_every=5, snapshot_every=25,
             checkpoint_every=100_000, n_fixed=16, compile="off", num_threads=THREADS)
STEPS = {"vae": 1500, "aegan_bn": 400}
GAN_STEPS = 400  # the mistaken VAE-GAN and its fix, in the full profile
# Claims 2-4: the full profile's own VAE-GAN runs, shortened to 400 steps and lighter on monitoring.
PROFILE_GAN = dict(n_test=64, log_every=10, snapshot_every=100, checkpoint_every=100_000, n_fixed=16,
                   compile="off", num_threads=THREADS)
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
                if name.startswith("vaegan"):  # vaegan_beta0.1: the sweep's run, half as long
                    beta = float(name.removeprefix("vaegan_beta")) if "beta" in name else 1.0
                    recipe = "vaegan" if "beta" in name else name
                    steps = GAN_STEPS // 2 if "beta" in name else GAN_STEPS
                    cfg = make_config(recipe, "full", steps=steps, seed=seed, beta=beta, **PROFILE_GAN, **overrides)
                else:
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
    # The growth half in a weaker form, as a rate on five seeds: the KLD at least doubles within 400 steps,
    # where the claim asks 2.5-fold (met on 4 of 5 seeds by the full profile's 3,000 steps).
    # Measured 2026-12-01 over 400 steps, seeds 0-4: 4.3, 7.7, 12.5, 12.6 and 3.2-fold on one AVX512 Xeon;
    # 2.23, 7.20, 8.06, 2.60 and 2.29-fold on another (model 207), which draws other runs from the same
    # seeds. 8 of these 10 reach 2.5: four of five seeds at 2.5 would fail on about one CPU model in four.
    # The fix half as the claim states it, on two seeds: 4,200-9,700 times the fix's KLD at the end.
    growth = {s: C.growth(runs(s, ("vaegan",))["vaegan"], "kld") for s in RATE_SEEDS}
    assert sum(g >= 2.0 for g in growth.values()) >= 4, growth
    for seed in SEEDS:
        r = C.read_claim(_claim(2), runs(seed, ("vaegan", "vaegan_decoder_fm")))
        assert r.figures["KLD vs the fix"] >= 10, r.figures


def test_claim3_pixel_error_falls_while_feature_matching_grows(runs):
    # Read as a rate on five seeds, at the claim's own thresholds. Measured 2026-12-01 on seeds 0-4: on one
    # AVX512 Xeon the pixel error fell to 0.61-0.67 of its value at 5% and feature matching grew 11 to
    # 50-fold; on another (model 207) to 0.57, 0.61, 0.55, 0.91 and 0.61, and 8 to 43-fold.
    readings = {s: C.read_claim(_claim(3), runs(s, ("vaegan",))) for s in RATE_SEEDS}
    assert sum(r.ok for r in readings.values()) >= 4, {s: r.figures for s, r in readings.items()}


def test_claim4_the_codes_drift_off_the_shell_while_the_vaes_stay_on_it(runs):
    # The VAE-GAN's half read as a rate on five seeds, at least four. At beta 0.1 the claim's own 1.5:
    # the codes end at 3.0-4.3 times the shell on seeds 0-4 on one AVX512 Xeon, 2.1-3.5 on another (model
    # 207; 2026-12-01). At beta 1 a weaker form: outside the band the VAE's codes stay in (above 1.1),
    # where the claim asks 1.2. The codes ended at 1.30, 1.198, 1.34, 1.40 and 1.56 on the first Xeon and
    # at 1.21, 1.24, 1.19, 1.105 and 1.49 on the second: 7 of these 10 samples at 1.2, so four of five
    # seeds at 1.2 would test which CPU drew them. The VAE's half on claim 1's runs.
    drift = {s: {b: C.final(runs(s, (name,))[name], "z_norm_ratio") for b, name in
                 ((0.1, "vaegan_beta0.1"), (1.0, "vaegan"))} for s in RATE_SEEDS}
    met = [s for s, z in drift.items() if z[0.1] >= 1.5 and z[1.0] > 1.1]
    assert len(met) >= 4, drift
    for s in SEEDS:
        assert 0.9 <= C.final(runs(s, ("vae",))["vae"], "z_norm_ratio") <= 1.1


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
