"""Our fast training step does the same math as the reference trainer, which keeps the original's structure.

benchmarks/reference_step.py recomputes every forward the way the original did; recipes.step runs
each forward once, freezes D while G learns from it, skips the metrics on unlogged steps and stores
activations channels-last. For a fixed seed both must move the parameters the same way, so the
benchmark's speed-up is not bought with a different training run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from vaegan_nb import data, recipes
from vaegan_nb.config import RECIPES, make_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference_step import reference_step  # noqa: E402

STEPS = 4


def _trajectory(cfg, frames, fast: bool, channels_last: bool):
    torch.manual_seed(cfg.train.seed)
    t = recipes.build(cfg)
    fmt = recipes.speed_up(t, channels_last=channels_last, compile=False) if fast else torch.contiguous_format
    t_cfg = cfg.train
    for i in range(STEPS):
        x = data.batches(frames, t_cfg.batch_size, i, t_cfg.seed).contiguous(memory_format=fmt)
        if fast:
            recipes.step(t_cfg.recipe, t, x, t_cfg.beta, t_cfg.recon_reduction, t_cfg.recon_weight,
                         t_cfg.kld_reduction, fakes=t_cfg.fakes, metrics=i % 2 == 0)
        else:
            reference_step(t_cfg.recipe, t, x, t_cfg.beta, t_cfg.recon_reduction, t_cfg.recon_weight,
                           t_cfg.kld_reduction, t_cfg.fakes)
    return t


def _params(t) -> dict[str, torch.Tensor]:
    return {f"{k}.{n}": p.detach().contiguous() for k, m in t.modules().items() for n, p in m.named_parameters()}


@pytest.fixture(scope="module")
def frames():
    return data.turf_frames(64, 24, 40, seed=3)


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
def test_fast_step_moves_parameters_like_the_reference(recipe, channels_last, frames):
    # lr 1e-4: Adam divides by the root of tiny second moments early on, so a larger lr would amplify
    # float rounding differences of a different memory layout into visible parameter differences.
    cfg = make_config(recipe, "ci", height=24, width=40, batch_size=8, latent_dim=16, lr=1e-4,
                      recon_weight=1.0 if recipe == "aegan_bn" else 0.0)
    ref = _params(_trajectory(cfg, frames, fast=False, channels_last=False))
    ours = _params(_trajectory(cfg, frames, fast=True, channels_last=channels_last))
    assert ref.keys() == ours.keys()
    moved = max((ref[k] - p0).abs().max().item()
                for k, p0 in _params(_trajectory_start(cfg)).items())
    assert moved > 1e-4, "the parameters did not move, so the comparison proves nothing"
    if not channels_last:
        # In NCHW the floats come out identical (0.0 on the machine this was written on).
        worst = max(ours, key=lambda k: (ours[k] - ref[k]).abs().max().item())
        diff = (ours[worst] - ref[worst]).abs().max().item()
        assert diff <= 1e-6, f"{recipe}: {worst} differs by {diff:.2e} after {STEPS} steps (moved up to {moved:.2e})"
        return
    # Channels-last reorders the sums inside convolutions. In Adam's first steps an entry whose
    # gradient is near zero can take a full step either way on a last-bit difference, so one entry's
    # difference says little; the update as a whole is what must agree. Measured 2026-11-25 at the
    # 24x40 profile: 0 for three recipes, 4% for the BN cheat, whose batch of 8 magnifies rounding.
    start = _params(_trajectory_start(cfg))
    off = sum(((ours[k] - ref[k]) ** 2).sum() for k in ref).sqrt().item()
    update = sum(((ref[k] - start[k]) ** 2).sum() for k in ref).sqrt().item()
    assert off <= 0.1 * update, f"{recipe}: the update differs by {off / update:.1%} of its size after {STEPS} steps"


def _trajectory_start(cfg):
    torch.manual_seed(cfg.train.seed)
    return recipes.build(cfg)


def test_a_changed_step_is_caught(frames):
    """The comparison can fail: one extra KLD sub-step in the reference is visible in the encoder."""
    cfg = make_config("vaegan", "ci", height=24, width=40, batch_size=8, latent_dim=16, lr=1e-4)
    ours = _params(_trajectory(cfg, frames, fast=True, channels_last=False))
    other = make_config("vaegan", "ci", height=24, width=40, batch_size=8, latent_dim=16, lr=1e-4, beta=1.01)
    ref = _params(_trajectory(other, frames, fast=False, channels_last=False))
    assert max((ours[k] - ref[k]).abs().max().item() for k in ours) > 1e-6


def test_compiled_decoder_moves_parameters_like_eager(frames):
    """torch.compile (on for full-profile runs where a C++ compiler exists) changes speed, not the run."""
    import shutil

    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        pytest.skip("no C++ compiler: torch.compile cannot build CPU kernels here, and training stays eager")
    cfg = make_config("vaegan", "ci", height=24, width=40, batch_size=8, latent_dim=16, lr=1e-4)
    runs = {}
    for compiled in (False, True):
        torch.manual_seed(cfg.train.seed)
        t = recipes.build(cfg)
        recipes.speed_up(t, channels_last=False, compile=compiled)
        for i in range(STEPS):
            x = data.batches(frames, cfg.train.batch_size, i, cfg.train.seed)
            recipes.step("vaegan", t, x, 1.0, kld_reduction="mean", fakes=cfg.train.fakes, metrics=True)
        runs[compiled] = _params(t)
        if compiled:
            assert hasattr(t.decoder, "_compiled_call_impl"), "the decoder was not compiled"
    moved = max((runs[False][k] - p0).abs().max().item() for k, p0 in _params(_trajectory_start(cfg)).items())
    diff = max((runs[True][k] - runs[False][k]).abs().max().item() for k in runs[False])
    # Inductor fuses the norms and activations, so sums are reordered as with channels-last.
    assert diff <= 0.05 * moved, f"compiled and eager runs differ by {diff:.2e} (moved up to {moved:.2e})"
