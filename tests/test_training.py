"""The training loop writes a complete run record, checkpoints atomically and resumes exactly."""

import os
import signal

import numpy as np
import pytest
import torch

from vaegan_nb import data, recipes, runs
from vaegan_nb.config import make_config
from vaegan_nb.errors import CheckpointError
from vaegan_nb.runs import RunRecord
from vaegan_nb.training import fixed_noise, load_checkpoint, train


@pytest.fixture(scope="module")
def frames():
    return data.turf_frames(96, 24, 40, seed=1), data.turf_frames(32, 24, 40, seed=2)


def tiny(recipe, **kw):
    """The loop's mechanics do not depend on size: a miniature of the family keeps these tests fast."""
    base = dict(steps=8, batch_size=8, log_every=2, snapshot_every=4, checkpoint_every=4, n_fixed=4,
                data__height=24, data__width=40, latent_dim=16, enc_channels=(4, 8, 8),
                dec_channels=(8, 8, 8, 4), disc_channels=(4, 8, 8, 8), disc_hidden=16)
    base.update(kw)
    return make_config(recipe, "ci", **base)


@pytest.mark.parametrize("recipe", ["vae", "vaegan", "vaegan_decoder_fm", "aegan_bn"])
def test_each_recipe_writes_a_complete_run_record(tmp_path, frames, recipe):
    rec = train(tiny(recipe), tmp_path / recipe, progress=False, frames=frames)
    assert rec.finished and rec.config.train.recipe == recipe
    m = rec.metrics()
    assert list(m["step"]) == [0, 2, 4, 6, 8]
    for col in runs.METRIC_COLUMNS:
        assert col in m
    assert np.all(np.isfinite(m["pixel"][1:])) and np.all(np.isfinite(m["pixel_test"]))
    assert np.isnan(m["kld"][-1]) == (recipe == "aegan_bn")
    tl = rec.timelapse()
    assert list(tl["steps"]) == [0, 4, 8]
    assert tl["frames"].shape == (3, 4, 24, 40, 3) and tl["frames"].dtype == np.uint8
    assert tl["latents"].shape == (3, 32, 16)
    assert np.array_equal(tl["noise"], fixed_noise(4, 16).numpy())
    assert rec.checkpoint_path.exists()


def test_checkpoint_loads_with_weights_only(tmp_path, frames):
    rec = train(tiny("aegan_bn"), tmp_path / "r", progress=False, frames=frames)
    state = torch.load(rec.checkpoint_path, weights_only=True)
    assert state["step"] == 8 and set(state["modules"]) == {"encoder", "decoder", "discriminator"}


def test_a_failed_checkpoint_write_leaves_the_previous_one_intact(tmp_path, frames, monkeypatch):
    rec = train(tiny("vae"), tmp_path / "r", progress=False, frames=frames)
    before = rec.checkpoint_path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)  # a full disk cannot be produced for real here
    with pytest.raises(OSError):
        runs.atomic_write_bytes(rec.checkpoint_path, b"half a checkpoint")
    assert rec.checkpoint_path.read_bytes() == before
    assert not [p for p in rec.checkpoint_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_same_seed_gives_bit_identical_metrics(tmp_path, frames):
    a = train(tiny("vaegan"), tmp_path / "a", progress=False, frames=frames).metrics()
    b = train(tiny("vaegan"), tmp_path / "b", progress=False, frames=frames).metrics()
    for col in a:
        if col != "wall_s":
            np.testing.assert_array_equal(a[col], b[col], err_msg=col)


@pytest.mark.parametrize("recipe, over", [("vae", {}), ("vaegan", {}), ("vaegan_decoder_fm", {}), ("aegan_bn", {}),
                                          ("aegan_bn", {"bn_scale_init": "uniform", "lr_factor_bn": 0.5})])
def test_interrupted_and_resumed_run_reproduces_the_uninterrupted_one(tmp_path, frames, monkeypatch, recipe, over):
    cfg = tiny(recipe, steps=12, **over)  # the last: the BN head's scale and shift in a second Adam group
    full = train(cfg, tmp_path / "full", progress=False, frames=frames)

    real_step, calls = recipes.step, {"n": 0}

    def step_then_sigint(*args, **kw):
        out = real_step(*args, **kw)
        calls["n"] += 1
        if calls["n"] == 7:  # a real SIGINT, as Jupyter's stop button sends, in the middle of the run
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(recipes, "step", step_then_sigint)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "split", progress=False, frames=frames)
    monkeypatch.setattr(recipes, "step", real_step)
    part = RunRecord(tmp_path / "split")
    assert part.status["state"] == "interrupted" and part.status["step"] == 7
    assert torch.load(part.checkpoint_path, weights_only=True)["step"] == 7

    resumed = train(cfg, tmp_path / "split", resume=True, progress=False, frames=frames)
    a, b = full.metrics(), resumed.metrics()
    for col in a:
        if col != "wall_s":
            np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    ta, tb = full.timelapse(), resumed.timelapse()
    np.testing.assert_array_equal(ta["steps"], tb["steps"])
    np.testing.assert_array_equal(ta["frames"], tb["frames"])


def test_resume_refuses_a_checkpoint_from_another_config(tmp_path, frames):
    rec = train(tiny("vaegan"), tmp_path / "r", progress=False, frames=frames)
    other = tiny("vaegan", latent_dim=8)
    trainee = recipes.build(other)
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(rec.checkpoint_path, trainee, other)


@pytest.mark.parametrize("recipe", ["vaegan", "aegan_bn"])
def test_a_finished_run_resumed_with_more_steps_is_the_longer_run(tmp_path, frames, recipe):
    # How a learner continues a finished run (--resume --steps N), and how the sweep's runs were extended.
    longer = train(tiny(recipe, steps=12), tmp_path / "longer", progress=False, frames=frames)
    train(tiny(recipe, steps=8), tmp_path / "extended", progress=False, frames=frames)
    extended = train(tiny(recipe, steps=12), tmp_path / "extended", resume=True, progress=False, frames=frames)
    assert extended.finished and extended.config.train.steps == 12
    a, b = longer.metrics(), extended.metrics()
    for col in a:
        if col != "wall_s":
            np.testing.assert_array_equal(a[col], b[col], err_msg=col)
    np.testing.assert_array_equal(longer.timelapse()["frames"], extended.timelapse()["frames"])


@pytest.mark.parametrize("change", [dict(steps=6), dict(steps=12, lr=2e-3), dict(steps=12, beta=2.0)],
                         ids=["fewer steps", "more steps and another lr", "more steps and another beta"])
def test_resume_refuses_anything_but_more_steps(tmp_path, frames, change):
    rec = train(tiny("vaegan", steps=8), tmp_path / "r", progress=False, frames=frames)
    other = tiny("vaegan", **change)
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(rec.checkpoint_path, recipes.build(other), other)


def test_messages_name_a_run_relative_to_its_checkout(tmp_path):
    # A notebook's stored "found a finished run in ..." line must not carry the machine's own path.
    (tmp_path / "checkout" / "vaegan_nb").mkdir(parents=True)
    (tmp_path / "checkout" / "pyproject.toml").write_text("")
    assert runs.shown(tmp_path / "checkout" / "data" / "runs" / "full" / "vae") == "data/runs/full/vae"
    assert runs.shown(tmp_path / "elsewhere" / "vae") == str((tmp_path / "elsewhere" / "vae").resolve())


def test_a_resume_clears_the_half_written_files_of_a_writer_killed_mid_write(tmp_path, frames):
    run = tmp_path / "r"
    train(tiny("vae", steps=12), run, progress=False, frames=frames)
    torn = [run / ".timelapse.npz.0123456789ab.tmp", run / "checkpoints" / ".last.pt.ba9876543210.tmp"]
    for p in torn:  # what kill -9 leaves when it lands inside an atomic write
        p.write_bytes(b"half a file")
    train(tiny("vae", steps=16), run, resume=True, progress=False, frames=frames)
    assert not any(p.exists() for p in torn) and RunRecord(run).finished
