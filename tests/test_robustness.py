"""Issues 6 and 16: bad input, interruptions and faults lose nothing and explain themselves.

Every fault here is injected for real: real subprocesses of the CLI, real signals (SIGTERM, SIGINT,
SIGKILL), real files (truncated, random, forged, a pickle that runs code), and real write failures
from the kernel (RLIMIT_FSIZE makes write() fail with EFBIG, "File too large", our stand-in for a
full disk). No mocks are used; the one place a mock would be needed (chmod as root) is skipped or
replaced by a real alternative, see ``test_read_only_run_dir_*``.

Already covered elsewhere and not repeated: bad frames and videos (test_data.py), in-process SIGINT
with exact resume and an fsync failure during a checkpoint write (test_training.py), CLI user
mistakes (test_cli.py).

The CLI runs use the real ``vaegan_nb.__main__.main`` in a fresh ``python`` process, with the ``ci``
profile shrunk to the 24x40 miniature (``DRIVER`` below): the 48x80 ``ci`` model runs at seconds per
step on two shared cores, the miniature at a tenth of a second, and nothing in the loop's mechanics
depends on size. Where nothing trains (bad checkpoints of the wrong profile, bad configs, unwritable
folders) the genuine ``python -m vaegan_nb`` is used.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from vaegan_nb import recipes
from vaegan_nb.checkpoints import load_checkpoint, save_checkpoint
from vaegan_nb.config import RunConfig, make_config
from vaegan_nb.errors import CheckpointError, ConfigError, DivergenceError, UserError
from vaegan_nb.runs import (
    LOCK,
    METRIC_COLUMNS,
    TIMELAPSE,
    TIMELAPSE_PREV,
    MetricsLog,
    RunRecord,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_json,
    config_matches,
    keep_previous,
    read_metrics_rows,
)
from vaegan_nb.training import train, train_or_load

ROOT = Path(__file__).resolve().parents[1]

# The miniature of the model family (as tiny() in test_training.py), logging every step so that a
# checkpoint's step is always a metrics row; 16 fixed samples so the timelapse outgrows a checkpoint.
TINY = {
    "data": {"height": 24, "width": 40, "n_train": 96, "n_test": 32},
    "model": {"latent_dim": 16, "enc_channels": [4, 8, 8], "dec_channels": [8, 8, 8, 4],
              "disc_channels": [4, 8, 8, 8], "disc_hidden": 16},
    "train": {"batch_size": 8, "log_every": 1, "snapshot_every": 4, "checkpoint_every": 4, "n_fixed": 16,
              "device": "cpu"},
}
STEPS = 32  # CLI runs: 8 checkpoints, 9 snapshots
CKPT_EVERY = TINY["train"]["checkpoint_every"]
SNAP_EVERY = TINY["train"]["snapshot_every"]

# The real CLI entry point, with the ci profile shrunk to TINY. VAEGAN_TEST_FSIZE, when set, caps the
# size of any file this process writes (RLIMIT_FSIZE): a real kernel-enforced write failure.
DRIVER = f"""
import os, resource, signal, sys
if os.environ.get("VAEGAN_TEST_FSIZE"):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG rather than kill
    n = int(os.environ["VAEGAN_TEST_FSIZE"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (n, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
from vaegan_nb import config
_base = config._profile_base
def _tiny(profile):
    cfg = _base(profile)
    if profile == "ci":
        for section, fields in {TINY!r}.items():
            for k, v in fields.items():
                setattr(getattr(cfg, section), k, tuple(v) if isinstance(v, list) else v)
    return cfg
config._profile_base = _tiny
from vaegan_nb.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def tiny_cfg(recipe: str = "vaegan", steps: int = STEPS, profile: str = "ci", **kw) -> RunConfig:
    """In process, the config that the DRIVER's CLI builds for ``--recipe recipe --steps steps``."""
    over = {f"{s}__{k}": v for s, fields in TINY.items() for k, v in fields.items()}
    over.update(steps=steps, **kw)
    return make_config(recipe, profile, **over)


def _env(**extra) -> dict[str, str]:
    # One intra-op thread: bit-identical across processes, and fast on two shared cores.
    return dict(os.environ, VAEGAN_PROFILE="ci", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)


def driver_cmd(*args) -> list[str]:
    return [sys.executable, "-c", DRIVER, *map(str, args)]


def train_args(run: Path, recipe: str = "vaegan", steps: int = STEPS, *extra) -> list[str]:
    return ["train", "--recipe", recipe, "--profile", "ci", "--steps", steps, "--out", run, "--no-progress",
            *extra]


def run_driver(*args, timeout=120, **env) -> subprocess.CompletedProcess:
    return subprocess.run(driver_cmd(*args), capture_output=True, text=True, cwd=ROOT, env=_env(**env),
                          timeout=timeout)


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    """The genuine ``python -m vaegan_nb``."""
    return subprocess.run([sys.executable, "-m", "vaegan_nb", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=_env(), timeout=timeout)


def one_clean_line(stderr: str) -> str:
    """The CLI's answer to a fault: exactly one line on stderr, no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def last_step(run: Path) -> int:
    p = run / "metrics.csv"
    if not p.exists():
        return -1
    rows = read_metrics_rows(p)
    return int(float(rows[-1]["step"])) if rows else -1


def wait_for(pred, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before the fault could be injected: "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail("timed out waiting for the run to get going")
        time.sleep(0.02)


def ckpt_step(run: Path) -> int:
    return int(torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)["step"])


def assert_same_metrics(a: RunRecord, b: RunRecord) -> None:
    ma, mb = a.metrics(), b.metrics()
    assert list(ma) == list(mb)
    for col in ma:
        if col != "wall_s":
            np.testing.assert_array_equal(ma[col], mb[col], err_msg=col)


def assert_complete(run: Path, reference: RunRecord | None, steps: int = STEPS) -> None:
    """Finished, every step logged exactly once, every snapshot exactly once, and (given a reference
    run) bit-identical to the uninterrupted run, timelapse frames included."""
    rec = RunRecord(run)
    assert rec.status["state"] == "finished", rec.status
    m = rec.metrics()
    assert m["step"].tolist() == list(range(steps + 1))  # strictly increasing, no duplicate, no gap
    lines = (run / "metrics.csv").read_text().splitlines()
    assert len(lines) == steps + 2 and all(ln.count(",") == lines[0].count(",") for ln in lines)
    tl = rec.timelapse()
    assert tl["steps"].tolist() == list(range(0, steps + 1, SNAP_EVERY))
    assert len(tl["frames"]) == len(tl["latents"]) == len(tl["steps"])
    assert ckpt_step(run) == steps
    assert not list(run.rglob("*.tmp"))
    if reference is not None:
        assert_same_metrics(reference, rec)
        ref = reference.timelapse()
        np.testing.assert_array_equal(ref["frames"], tl["frames"])
        np.testing.assert_array_equal(ref["latents"], tl["latents"])


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """In-process runs use one thread too: the subprocesses' arithmetic, and no fight over the cores
    (module scope, so that it is in force for the module's fixtures as well)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> RunRecord:
    """The uninterrupted CLI run every interrupted one must reproduce."""
    run = tmp_path_factory.mktemp("reference") / "run"
    r = run_driver(*train_args(run))
    assert r.returncode == 0, r.stderr
    assert_complete(run, None)
    return RunRecord(run)


# --------------------------------------------------------------------------------------------------
# 1. SIGTERM / SIGINT on the CLI: a clean stop at a step boundary, then --resume completes the run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_signal_stops_cleanly_and_resume_completes_the_run(tmp_path, reference, sig):
    run = tmp_path / "run"
    p = subprocess.Popen(driver_cmd(*train_args(run)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT, env=_env())
    wait_for(lambda: last_step(run) >= 6, p)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    line = one_clean_line(err)
    assert "interrupted" in line and "--resume" in line

    status = RunRecord(run).status
    assert status["state"] == "interrupted" and "signal" in status["reason"], status
    stopped = ckpt_step(run)
    assert stopped == status["step"] and 6 <= stopped < STEPS
    m = RunRecord(run).metrics()
    assert m["step"].tolist() == list(range(stopped + 1))  # the last row is the checkpoint's step
    tl = RunRecord(run).timelapse()["steps"].tolist()
    assert tl == list(range(0, stopped + 1, SNAP_EVERY))  # last snapshot <= the checkpoint

    r = run_driver(*train_args(run, "vaegan", STEPS, "--resume"))
    assert r.returncode == 0, r.stderr
    assert_complete(run, reference)


# --------------------------------------------------------------------------------------------------
# 2. kill -9 at a random moment: resume continues from the last checkpoint along the same trajectory


def test_kill_9_at_a_random_moment_then_resume_reproduces_the_uninterrupted_run(tmp_path, reference, capsys):
    rng = random.Random(20190601)  # seeded: the same moment (in steps, then seconds) on every run
    target = rng.randint(CKPT_EVERY + 1, STEPS - 8)
    jitter = rng.uniform(0.0, 0.25)  # anywhere in a step: mid-update, mid-append, mid-checkpoint write
    run = tmp_path / "run"
    p = subprocess.Popen(driver_cmd(*train_args(run)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT, env=_env())
    wait_for(lambda: (run / "checkpoints" / "last.pt").exists() and last_step(run) >= target, p)
    time.sleep(jitter)
    assert p.poll() is None, "the run finished before the kill; raise STEPS"
    p.kill()
    p.communicate(timeout=30)
    assert p.returncode == -signal.SIGKILL

    # What the kill left: a loadable checkpoint not ahead of the metrics, no status update.
    rec = RunRecord(run)
    assert rec.status["state"] == "running"
    assert (run / LOCK).read_text().strip() == str(p.pid)  # the lock file outlives its holder: a stale lock
    k = ckpt_step(run)
    assert k % CKPT_EVERY == 0 and CKPT_EVERY <= k <= last_step(run)
    # A kill in the middle of an append leaves a torn last line: make sure there is one.
    with open(run / "metrics.csv", "a") as f:
        f.write("999,7,0.5,0.25")
    assert rec.metrics()["step"].tolist() == list(range(last_step(run) + 1))  # torn line dropped on read
    shutil.copytree(run, tmp_path / "for_train_or_load")

    r = run_driver(*train_args(run, "vaegan", STEPS, "--resume"))
    assert r.returncode == 0, r.stderr
    assert_complete(run, reference)  # the torn line is gone: every line has the header's fields
    assert not (run / LOCK).exists()  # the stale lock held nobody up, and the resume cleared it

    # train_or_load (what the notebooks call) resumes the same killed run, in process.
    cfg = tiny_cfg("vaegan")
    assert cfg.to_dict() == RunRecord(tmp_path / "for_train_or_load").config.to_dict()
    capsys.readouterr()
    train_or_load(cfg, tmp_path / "for_train_or_load", progress=False)
    assert "resuming" in capsys.readouterr().out
    assert_complete(tmp_path / "for_train_or_load", reference)


# --------------------------------------------------------------------------------------------------
# 3. Divergence: an absurd learning rate stops with the step and the loss, and keeps the last good state


@pytest.mark.parametrize("recipe", ["vae", "vaegan"])
def test_cli_divergence_is_one_line_naming_step_and_loss(tmp_path, recipe):
    run = tmp_path / "run"
    r = run_driver(*train_args(run, recipe, 8, "--lr", "1e6"))
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert line.startswith("error: step ") and "non-finite" in line and "lr=1000000.0" in line
    named = line.split("non-finite", 1)[1].split("(")[0].replace(",", " ").split()
    assert named and set(named) <= set(METRIC_COLUMNS), line
    status = RunRecord(run).status
    assert status["state"] == "diverged" and status["reason"] == line.removeprefix("error: ")
    ckpt = run / "checkpoints" / "last.pt"
    if ckpt.exists():  # the message points at it, and it is intact
        assert f"kept at {ckpt}" in line and ckpt_step(run) < int(line.split()[2].rstrip(":"))
    else:  # at 1e6 both diverge before the first checkpoint (step 4): the message promises none
        assert "no checkpoint" in line


def test_divergence_keeps_the_last_good_checkpoint_intact(tmp_path):
    # aegan_bn at lr=100, checkpointing every step: its weights turn non-finite within a few steps,
    # one step before any loss does. The checkpoint on disk must hold finite weights, not those.
    cfg = tiny_cfg("aegan_bn", steps=12, lr=100.0, checkpoint_every=1)
    run = tmp_path / "run"
    with pytest.raises(DivergenceError) as ei:
        train(cfg, run, progress=False)
    msg = str(ei.value)
    assert msg.startswith("step ") and "non-finite" in msg and str(run / "checkpoints" / "last.pt") in msg
    bad_step = int(msg.split()[1].rstrip(":"))
    status = RunRecord(run).status
    assert status["state"] == "diverged" and status["reason"] == msg
    state = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert 1 <= state["step"] < bad_step
    for name, sd in state["modules"].items():
        for k, v in sd.items():
            assert not v.is_floating_point() or torch.isfinite(v).all(), f"{name}.{k} is not finite"
    # ... and it is a working checkpoint: it loads into fresh networks.
    assert load_checkpoint(run / "checkpoints" / "last.pt", recipes.build(cfg), cfg) == state["step"]


# --------------------------------------------------------------------------------------------------
# 4. Bad checkpoints: CheckpointError naming the file, in process and as one line from the CLI


class Evil:
    """Unpickling this runs a shell command; weights_only=True must refuse it."""

    marker = ""

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def good_ckpt(tmp_path_factory) -> tuple[RunConfig, Path]:
    """A genuine checkpoint of the config the DRIVER's CLI builds for ``--steps 4``."""
    cfg = tiny_cfg("vaegan", steps=4)
    run = tmp_path_factory.mktemp("good") / "run"
    train(cfg, run, progress=False)
    return cfg, run / "checkpoints" / "last.pt"


def _forge(kind: str, cfg: RunConfig, good: Path, path: Path, tmp: Path) -> str:
    """Write a bad checkpoint of ``kind`` to ``path``; returns a phrase the error must contain."""
    raw = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
        return "unreadable"
    if kind == "empty":
        path.write_bytes(b"")
        return "unreadable"
    if kind == "random_bytes":
        path.write_bytes(np.random.default_rng(6).bytes(len(raw)))
        return "unreadable"
    state = torch.load(good, map_location="cpu", weights_only=True)
    if kind == "other_latent_dim":  # a genuine checkpoint of another architecture
        other = tiny_cfg("vaegan", steps=4, latent_dim=8)
        save_checkpoint(path, recipes.build(other), 4, other)
        return "different config"
    if kind == "other_profile":
        state["config"]["profile"] = "full"
        torch.save(state, path)
        return "different config"
    if kind == "other_architecture_same_config":  # the config entry forged to match, the weights not
        other = tiny_cfg("vaegan", steps=4, latent_dim=8)
        save_checkpoint(path, recipes.build(other), 4, other)
        forged = torch.load(path, weights_only=True)
        forged["config"] = cfg.to_dict()
        torch.save(forged, path)
        return "does not fit"
    if kind == "no_rng_state":  # e.g. written by another tool
        del state["rng_torch"]
        torch.save(state, path)
        return "incomplete"
    if kind == "pickled_code":
        Evil.marker = str(tmp / "PWNED")
        state["evil"] = Evil()
        torch.save(state, path)
        return "unsafe"
    raise AssertionError(kind)


BAD_CKPTS = ["truncated", "empty", "random_bytes", "other_latent_dim", "other_profile",
             "other_architecture_same_config", "no_rng_state", "pickled_code"]


@pytest.mark.parametrize("kind", BAD_CKPTS)
def test_bad_checkpoint_gives_checkpoint_error_naming_the_file(tmp_path, good_ckpt, kind):
    cfg, good = good_ckpt
    path = tmp_path / "last.pt"
    needle = _forge(kind, cfg, good, path, tmp_path)
    with pytest.raises(CheckpointError) as ei:
        load_checkpoint(path, recipes.build(cfg), cfg)
    msg = str(ei.value)
    assert str(path) in msg and needle in msg and "\n" not in msg, msg
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("kind", ["truncated", "random_bytes", "other_architecture_same_config", "no_rng_state",
                                  "pickled_code"])
def test_cli_resume_from_a_bad_checkpoint_is_one_line(tmp_path, good_ckpt, kind):
    cfg, good = good_ckpt
    run = tmp_path / "run"
    shutil.copytree(good.parent.parent, run)
    path = run / "checkpoints" / "last.pt"
    needle = _forge(kind, cfg, good, path, tmp_path)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    r = run_driver(*train_args(run, "vaegan", 4, "--resume"))
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert str(path) in line and needle in line
    assert not (tmp_path / "PWNED").exists()
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # the record untouched


def test_cli_resume_with_another_profile_is_one_line(tmp_path, good_ckpt):
    # The genuine entry point: the run was made by the (miniature) ci config, resumed as full.
    _, good = good_ckpt
    run = tmp_path / "run"
    shutil.copytree(good.parent.parent, run)
    r = cli("train", "--recipe", "vaegan", "--profile", "full", "--out", run, "--resume", "--no-progress")
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert str(run / "checkpoints" / "last.pt") in line and "different config" in line


# --------------------------------------------------------------------------------------------------
# 5. Bad configs: ConfigError naming the field


def _cfg_dict(**changes) -> dict:
    d = make_config("vae", "ci").to_dict()
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = d
        for p in parents:
            node = node[p]
        node[leaf] = value
    return d


@pytest.mark.parametrize("changes, field", [
    ({"colour": "blue"}, "colour"),
    ({"train.learning_rate": 1e-3}, "learning_rate"),
    ({"model.latent": 8}, "latent"),
    ({"data": [1, 2]}, "config.data"),
    ({"train.beta": -1.0}, "train.beta"),
    ({"train.beta": "high"}, "train.beta"),
    ({"data.height": 4}, "data.height"),
    ({"data.width": 8}, "data.width"),
    ({"data.height": 24.0}, "data.height"),
    ({"train.steps": 0}, "train.steps"),
    ({"train.steps": "10"}, "train.steps"),
    ({"train.batch_size": True}, "train.batch_size"),
    ({"train.lr": "fast"}, "train.lr"),
    ({"train.lr": float("nan")}, "train.lr"),
    ({"train.lr": 1e39}, "train.lr"),  # finite, but Adam's step overflows float32: a raw RuntimeError
    ({"train.lr": True}, "train.lr"),
    ({"train.lr_factor_encoder": 0}, "train.lr_factor_encoder"),
    ({"train.lr_factor_disc": "half"}, "train.lr_factor_disc"),
    ({"train.lr_factor_disc": 1e36}, "train.lr_factor_disc"),  # times lr 1e-3: past Adam's float32 range
    ({"train.fakes": "no"}, "train.fakes"),
    ({"train.seed": "abc"}, "train.seed"),
    ({"train.seed": 1.5}, "train.seed"),
    ({"data.seed": None}, "data.seed"),
    ({"train.num_threads": -1}, "train.num_threads"),
    ({"train.num_threads": "2"}, "train.num_threads"),
    ({"data.test_fraction": "0.1"}, "data.test_fraction"),
    ({"data.test_fraction": 1.5}, "data.test_fraction"),
    ({"data.source": 5}, "data.source"),
    ({"data.keyframes": "no"}, "data.keyframes"),
    ({"model.bn_affine": "no"}, "model.bn_affine"),
    ({"model.bn_scale_init": "normal"}, "model.bn_scale_init"),
    ({"train.lr_factor_bn": 0}, "train.lr_factor_bn"),
    ({"train.lr_factor_bn": 0.1}, "train.lr_factor_bn"),  # the VAE has no BN head
    ({"model.bn_scale_init": "uniform"}, "model.bn_scale_init"),  # nor a scale to start
    ({"model.enc_channels": 5}, "model.enc_channels"),
    ({"model.enc_channels": [4, "x", 8]}, "model.enc_channels"),
    ({"model.dec_channels": [8, 8, 4]}, "model.dec_channels"),
    ({"train.recipe": "gan"}, "train.recipe"),
    ({"profile": "huge"}, "profile"),
])
def test_bad_config_names_the_field(changes, field):
    with pytest.raises(ConfigError) as ei:
        RunConfig.from_dict(_cfg_dict(**changes))
    assert field in str(ei.value)


def test_good_config_round_trips():
    cfg = tiny_cfg("aegan_bn", steps=7, seed=-3)
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_cli_absurd_but_finite_lr_is_one_line(tmp_path):
    r = cli("train", "--recipe", "vae", "--out", tmp_path / "r", "--lr", "1e39")
    assert r.returncode == 2 and "train.lr" in one_clean_line(r.stderr)


@pytest.mark.parametrize("content, meta_ok", [
    ('{"config": {"profile": "ci", "da', False),  # truncated
    ("", False),
    ("[1, 2]", False),
    ('{"recipe": "vae"}', True),  # valid JSON without the config
    ('{"config": {"train": {"stepz": 3}}}', True),  # a config with a field that does not exist
], ids=["truncated", "empty", "not_a_mapping", "no_config_key", "bad_field"])
def test_corrupt_config_json_is_a_clear_user_error(tmp_path, content, meta_ok):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(content)
    rec = RunRecord(run)
    with pytest.raises(UserError) as ei:
        _ = rec.config
    assert str(run / "config.json") in str(ei.value)
    if "stepz" in content:
        assert "stepz" in str(ei.value)
    if meta_ok:
        assert isinstance(rec.meta, dict)
    else:
        with pytest.raises(UserError, match="config.json"):
            _ = rec.meta
    r = cli("summary", run)
    assert r.returncode == 2 and "config.json" in one_clean_line(r.stderr)


def test_corrupt_status_json_is_a_clear_user_error(tmp_path, good_ckpt):
    run = tmp_path / "run"
    shutil.copytree(good_ckpt[1].parent.parent, run)
    (run / "status.json").write_text('{"state": "fini')
    with pytest.raises(UserError, match="status.json"):
        _ = RunRecord(run).status
    r = cli("summary", run)
    assert r.returncode == 2 and "status.json" in one_clean_line(r.stderr)


# --------------------------------------------------------------------------------------------------
# 6. Disk: unwritable run folders fail before training; writes are atomic; torn metrics lines


def test_read_only_run_dir_fails_before_training_chmod(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes through chmod 0o500; the other read-only tests use real faults root cannot "
                    "bypass (a path under a file, a file-size limit)")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        # A data source that does not exist: had training (data loading) started, this would be a DataError.
        cfg = tiny_cfg("vae", steps=2, data__source=str(tmp_path / "no_footage_here"))
        with pytest.raises(UserError, match="cannot write to run directory"):
            train(cfg, ro / "run", progress=False)
    finally:
        ro.chmod(0o700)


def test_run_dir_under_a_file_fails_before_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    cfg = tiny_cfg("vae", steps=2, data__source=str(tmp_path / "no_footage_here"))
    with pytest.raises(UserError, match="cannot write to run directory") as ei:
        train(cfg, blocker / "run", progress=False)
    assert "DataError" not in type(ei.value).__name__
    r = cli("train", "--recipe", "vae", "--out", blocker / "run")
    assert r.returncode == 2 and "cannot write to run directory" in one_clean_line(r.stderr)


def test_no_room_to_write_fails_before_training(tmp_path):
    # RLIMIT_FSIZE=0: every write() that would grow a file fails (EFBIG), as on a full disk.
    run = tmp_path / "run"
    r = run_driver(*train_args(run, "vae", 4), VAEGAN_TEST_FSIZE="0")
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert "cannot write to run directory" in line and "File too large" in line
    assert not [p for p in run.iterdir()]  # nothing half-written, not even the probe


@contextmanager
def file_size_limit(nbytes: int):
    """Make this process's writes past ``nbytes`` fail for real (EFBIG), then lift the limit."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


@pytest.mark.parametrize("what", ["checkpoint", "timelapse", "config"])
def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temp_file(tmp_path, good_ckpt, what):
    cfg, good = good_ckpt
    run = tmp_path / "run"
    shutil.copytree(good.parent.parent, run)
    rec = RunRecord(run)
    if what == "checkpoint":
        path = rec.checkpoint_path
        trainee = recipes.build(cfg)
        load_checkpoint(path, trainee, cfg)
        with torch.no_grad():  # other weights, same size: the new checkpoint differs from the old
            next(trainee.decoder.parameters()).add_(1.0)

        def write():
            save_checkpoint(path, trainee, 2, cfg)
    elif what == "timelapse":
        path = run / "timelapse.npz"
        tl = rec.timelapse()

        def write():
            atomic_save_npz(path, **{k: np.concatenate([v, v]) if k != "noise" else v for k, v in tl.items()})
    else:
        path = run / "config.json"

        def write():
            atomic_write_json(path, {**rec.meta, "note": "x" * 10_000})
    before = path.read_bytes()
    with file_size_limit(len(before) // 2), pytest.raises(OSError) as ei:
        write()
    assert ei.value.errno == 27  # EFBIG: the kernel refused the write part-way
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        p.name for p in (good.parent if what == "checkpoint" else good.parent.parent).iterdir())
    write()  # the limit lifted, the same write goes through
    assert path.read_bytes() != before


def test_disk_filling_up_mid_training_loses_nothing(tmp_path, reference):
    # Cap file sizes just above a checkpoint's: the growing timelapse.npz hits the cap part-way
    # through the run, in the middle of a real write. The CLI says so in one line; after the space
    # comes back, --resume finishes the same run, every snapshot included.
    ck = (reference.path / "checkpoints" / "last.pt").stat().st_size
    assert (reference.path / "timelapse.npz").stat().st_size > ck + 30_000, "the timelapse must outgrow the cap"
    run = tmp_path / "run"
    r = run_driver(*train_args(run), VAEGAN_TEST_FSIZE=str(ck + 4096))
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert "File too large" in line and "--resume" in line
    status = RunRecord(run).status
    assert status["state"] == "failed" and "File too large" in status["reason"]
    k = ckpt_step(run)
    assert CKPT_EVERY <= k < STEPS
    assert not list(run.rglob("*.tmp"))
    r = run_driver(*train_args(run, "vaegan", STEPS, "--resume"))
    assert r.returncode == 0, r.stderr
    assert_complete(run, reference)


def test_torn_metrics_lines_are_dropped_on_read_and_truncated_on_resume(tmp_path):
    p = tmp_path / "metrics.csv"
    log = MetricsLog(p, METRIC_COLUMNS)
    for s in range(6):
        log.append({"step": s, "epoch": 0, "wall_s": s * 0.5, "pixel": 0.1 * s})
    with open(p, "a") as f:
        f.write("6,0,3.0,,0.0")  # a kill mid-append: no newline
    rows = read_metrics_rows(p)
    assert [r["step"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
    log.truncate_after(3)
    text = p.read_text()
    assert text.endswith("\n") and [r["step"] for r in read_metrics_rows(p)] == ["0", "1", "2", "3"]
    assert "3.0,,0.0" not in text


def test_a_short_row_in_the_middle_of_metrics_is_skipped_not_fatal(tmp_path):
    # A write cut short by a full disk, then later appends once space came back.
    run = tmp_path / "run"
    run.mkdir()
    atomic_write_json(run / "config.json", {"config": tiny_cfg("vae").to_dict(), "recipe": "vae"})
    log = MetricsLog(run / "metrics.csv", METRIC_COLUMNS)
    log.append({"step": 0, "pixel": 0.5})
    with open(run / "metrics.csv", "a") as f:
        f.write("1,0,0.1\n")
    log.append({"step": 2, "pixel": 0.25})
    m = RunRecord(run).metrics()
    assert m["step"].tolist() == [0, 2] and m["pixel"].tolist() == [0.5, 0.25]


# --------------------------------------------------------------------------------------------------
# 7. Determinism: the same seed and profile give bit-identical runs for every recipe


@pytest.mark.parametrize("recipe", ["vae", "vaegan_decoder_fm", "aegan_bn"])  # vaegan: test_training.py
def test_same_seed_gives_bit_identical_runs(tmp_path, recipe):
    cfg = tiny_cfg(recipe, steps=8)
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    assert_same_metrics(a, b)
    ta, tb = a.timelapse(), b.timelapse()
    for k in ta:
        np.testing.assert_array_equal(ta[k], tb[k], err_msg=k)
    sa = torch.load(a.checkpoint_path, weights_only=True)
    sb = torch.load(b.checkpoint_path, weights_only=True)
    for name in sa["modules"]:
        for k, v in sa["modules"][name].items():
            assert torch.equal(v, sb["modules"][name][k]), f"{name}.{k}"
    c = train(tiny_cfg(recipe, steps=8, seed=1), tmp_path / "c", progress=False)
    assert not np.array_equal(a.metrics()["pixel_test"], c.metrics()["pixel_test"])  # the seed matters


# --------------------------------------------------------------------------------------------------
# train_or_load: reuse a finished run, retrain on a config change (resume after a kill: test above)


def test_train_or_load_reuses_a_finished_run_and_retrains_on_config_change(tmp_path, capsys):
    cfg = tiny_cfg("vae", steps=4)
    run = tmp_path / "run"
    train(cfg, run, progress=False)
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    rec = train_or_load(cfg, run, progress=False)
    assert "found a finished run" in capsys.readouterr().out
    assert rec.finished and {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.rglob("*")
                             if p.is_file()} == files

    changed = tiny_cfg("vae", steps=4, lr=2e-3)  # any lr but the profile's
    rec = train_or_load(changed, run, progress=False)
    assert rec.finished and rec.config == changed
    assert rec.metrics()["step"].tolist() == [0, 1, 2, 3, 4]
    assert (run / "metrics.csv").read_bytes() != files[run / "metrics.csv"][0]


def test_a_record_written_before_a_config_field_existed_is_reused_and_resumed(tmp_path, capsys):
    # Runs take minutes to hours; a new field at its default must not send every notebook retraining.
    cfg = tiny_cfg("vaegan", steps=4)
    run = tmp_path / "run"
    train(cfg, run, progress=False)
    meta = json.loads((run / "config.json").read_text())
    del meta["config"]["train"]["lr_factor_disc"]  # as a record from before the field was added
    (run / "config.json").write_text(json.dumps(meta))
    ckpt = run / "checkpoints" / "last.pt"
    state = torch.load(ckpt, weights_only=True)
    del state["config"]["train"]["lr_factor_disc"]
    torch.save(state, ckpt)
    capsys.readouterr()
    train_or_load(cfg, run, progress=False)
    assert "found a finished run" in capsys.readouterr().out
    longer = train(tiny_cfg("vaegan", steps=6), run, resume=True, progress=False)
    assert longer.metrics()["step"].tolist()[-1] == 6
    with pytest.raises(CheckpointError, match="different config"):
        train(tiny_cfg("vaegan", steps=8, lr_factor_disc=0.5), run, resume=True, progress=False)
    # Only the fields added since are filled in: a record lacking any other field is not this run.
    meta = json.loads((run / "config.json").read_text())
    del meta["config"]["train"]["kld_reduction"]
    (run / "config.json").write_text(json.dumps(meta))
    assert not config_matches(run, tiny_cfg("vaegan", steps=6))


def test_a_vaegan_record_from_before_fakes_could_be_switched_off_is_not_taken_for_todays_recipe(tmp_path):
    # Such a record trained on fakes, as every GAN run did then; today's VAE-GAN does not.
    run = tmp_path / "run"
    train(tiny_cfg("vaegan", steps=4, fakes=True), run, progress=False)
    meta = json.loads((run / "config.json").read_text())
    del meta["config"]["train"]["fakes"]
    (run / "config.json").write_text(json.dumps(meta))
    assert config_matches(run, tiny_cfg("vaegan", steps=4, fakes=True))
    assert not config_matches(run, tiny_cfg("vaegan", steps=4))


def test_train_or_load_retrains_an_unfinished_run_without_checkpoint(tmp_path, capsys):
    # Killed before its first checkpoint: nothing to resume, so it trains from the start.
    cfg = tiny_cfg("vae", steps=4)
    run = tmp_path / "run"
    train(cfg, run, progress=False)
    (run / "checkpoints" / "last.pt").unlink()
    atomic_write_json(run / "status.json", {"state": "running", "step": 2})
    rec = train_or_load(cfg, run, progress=False)
    assert rec.finished and rec.metrics()["step"].tolist() == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------------------------------
# 8. Issue 16: a damaged timelapse.npz on resume falls back to timelapse.prev.npz, or is refused


def truncate(path: Path) -> None:
    """Cut ``path`` to half its bytes, as a copy or sync tool that died part-way would."""
    raw = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(len(raw) // 2)


def test_cli_resume_with_a_truncated_timelapse_reproduces_the_uninterrupted_run(tmp_path, reference):
    # A clean stop saves the timelapse once more, so timelapse.prev.npz holds every snapshot up to the
    # checkpoint: with timelapse.npz truncated, the resumed run still matches the reference exactly.
    run = tmp_path / "run"
    p = subprocess.Popen(driver_cmd(*train_args(run)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT, env=_env())
    wait_for(lambda: last_step(run) >= 2 * CKPT_EVERY + 1, p)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert 2 * CKPT_EVERY < ckpt_step(run) < STEPS
    truncate(run / TIMELAPSE)
    with pytest.raises(UserError, match=TIMELAPSE):  # readers name the damaged file
        RunRecord(run).timelapse()

    r = run_driver(*train_args(run, "vaegan", STEPS, "--resume"))
    assert r.returncode == 0, r.stderr
    assert str(run / TIMELAPSE) in r.stderr and str(run / TIMELAPSE_PREV) in r.stderr and "damaged" in r.stderr
    assert_complete(run, reference)


def test_resume_with_a_truncated_timelapse_keeps_the_previous_save(tmp_path):
    # A finished run, its last save truncated: timelapse.prev.npz lacks only the snapshots of that save.
    cfg = tiny_cfg("vae", steps=3 * CKPT_EVERY)
    run = tmp_path / "run"
    full = train(cfg, run, progress=False).timelapse()
    assert full["steps"].tolist() == [0, 4, 8, 12]
    assert RunRecord(run).status["state"] == "finished"
    truncate(run / TIMELAPSE)
    with pytest.warns(UserWarning, match="any snapshots after step 8 up to step 12 are lost") as w:
        rec = train(cfg, run, resume=True, progress=False)
    msg = next(str(x.message) for x in w if "lost" in str(x.message))
    assert f"{run / TIMELAPSE}: damaged" in msg and str(run / TIMELAPSE_PREV) in msg and "\n" not in msg
    tl = rec.timelapse()
    assert tl["steps"].tolist() == [0, 4, 8] and rec.finished
    for k in ("frames", "latents", "noise"):
        np.testing.assert_array_equal(tl[k], full[k][: len(tl[k])] if k != "noise" else full[k], err_msg=k)
    # The restored timelapse was written back, and the previous save is intact too.
    assert RunRecord(run).timelapse()["steps"].tolist() == [0, 4, 8]
    np.testing.assert_array_equal(np.load(run / TIMELAPSE_PREV)["steps"], [0, 4, 8])


def test_keeping_the_previous_timelapse_twice_over_leaves_no_temporary_file(tmp_path):
    # A save that failed (a full disk) between two keeps: the backup is already a link to the file.
    atomic_save_npz(tmp_path / "a.npz", a=np.arange(3))
    keep_previous(tmp_path / "a.npz", tmp_path / "a.prev.npz")
    keep_previous(tmp_path / "a.npz", tmp_path / "a.prev.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.prev.npz"]
    np.testing.assert_array_equal(np.load(tmp_path / "a.prev.npz")["a"], np.arange(3))
    keep_previous(tmp_path / "missing.npz", tmp_path / "missing.prev.npz")  # nothing to keep: nothing done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.prev.npz"]


def interrupted_run(run: Path, cfg: RunConfig, after: int, monkeypatch) -> None:
    """Train ``cfg`` into ``run`` and stop it with a real SIGINT (the stop button's) after step ``after``."""
    real_step, calls = recipes.step, {"n": 0}

    def step_then_sigint(*args, **kw):
        out = real_step(*args, **kw)
        calls["n"] += 1
        if calls["n"] == after:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(recipes, "step", step_then_sigint)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False)
    monkeypatch.setattr(recipes, "step", real_step)


@pytest.mark.parametrize("prev", ["missing", "truncated"])
def test_cli_resume_refuses_a_truncated_timelapse_without_a_good_previous_save(tmp_path, monkeypatch, prev):
    cfg = tiny_cfg("vaegan", steps=12)  # what the DRIVER's CLI builds for --steps 12
    run = tmp_path / "run"
    interrupted_run(run, cfg, 7, monkeypatch)
    assert ckpt_step(run) == 7 and RunRecord(run).timelapse()["steps"].tolist() == [0, 4]
    if prev == "missing":
        (run / TIMELAPSE_PREV).unlink()
    else:
        truncate(run / TIMELAPSE_PREV)
    truncate(run / TIMELAPSE)
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    r = run_driver(*train_args(run, "vaegan", 12, "--resume"))
    assert r.returncode == 2
    line = one_clean_line(r.stderr)
    assert f"{run / TIMELAPSE}: damaged" in line and TIMELAPSE_PREV in line and f"delete {run / TIMELAPSE}" in line
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # the record untouched

    # Following the advice: without timelapse.npz the resume goes ahead, with a timelapse from step 7.
    (run / TIMELAPSE).unlink()
    with pytest.warns(UserWarning, match="missing; the timelapse starts again at step 7"):
        rec = train(cfg, run, resume=True, progress=False)
    assert rec.finished and rec.timelapse()["steps"].tolist() == [8, 12]
    assert rec.metrics()["step"].tolist() == list(range(13))


# --------------------------------------------------------------------------------------------------
# 9. Issue 16: one writer per run directory; readers never wait


def test_a_second_training_process_on_the_same_run_is_refused(tmp_path, reference):
    # The first run is frozen with SIGSTOP while the others try, so it surely holds the lock then;
    # after SIGCONT it must finish exactly as if alone.
    run = tmp_path / "run"
    first = subprocess.Popen(driver_cmd(*train_args(run)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env=_env())
    try:
        wait_for(lambda: last_step(run) >= 2, first)
        first.send_signal(signal.SIGSTOP)
        try:
            assert (run / LOCK).read_text().strip() == str(first.pid)
            before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}

            # The genuine CLI, starting afresh: unlocked, it would wipe the first run's record.
            second = cli("train", "--recipe", "vae", "--profile", "ci", "--steps", 4, "--out", run, "--no-progress")
            assert second.returncode == 2
            line = one_clean_line(second.stderr)
            assert str(run) in line and f"PID {first.pid}" in line, line
            # In process, as a notebook would: resuming, and train_or_load.
            with pytest.raises(UserError, match=f"PID {first.pid}"):
                train(tiny_cfg("vaegan"), run, resume=True, progress=False)
            with pytest.raises(UserError, match=f"PID {first.pid}"):
                train_or_load(tiny_cfg("vaegan"), run, progress=False)
            assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before

            # Readers need no lock.
            assert RunRecord(run).metrics()["step"][-1] >= 2
            r = cli("summary", run, "--json")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["state"] == "running"
        finally:
            first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert "run record written" in out
    assert_complete(run, reference)
    assert not (run / LOCK).exists()


# --------------------------------------------------------------------------------------------------
# 10. Issue 16: run-record files get the mode the umask allows, as open() gives


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777  # the bits themselves: root reads any file, so access() says nothing


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=["022", "077", "002"])
def test_atomic_writers_give_the_mode_open_gives(tmp_path, mask):
    with umask(mask):
        with open(tmp_path / "by_open", "wb") as f:
            f.write(b"x")
        atomic_write_bytes(tmp_path / "bytes", b"x")
        atomic_write_json(tmp_path / "j.json", {"a": 1})
        atomic_save_npz(tmp_path / "a.npz", a=np.arange(3))
        keep_previous(tmp_path / "a.npz", tmp_path / "a.prev.npz")
        atomic_write_bytes(tmp_path / "bytes", b"y")  # replacing a file gives the new one the same mode
    assert mode(tmp_path / "by_open") == 0o666 & ~mask
    for name in ("bytes", "j.json", "a.npz", "a.prev.npz"):
        assert mode(tmp_path / name) == 0o666 & ~mask, name


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=["022", "077"])
def test_a_run_record_gets_the_mode_the_umask_allows(tmp_path, mask):
    run = tmp_path / "run"
    with umask(mask):
        train(tiny_cfg("vae", steps=2 * CKPT_EVERY), run, progress=False)
    files = [p for p in run.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "metrics.csv", "status.json", TIMELAPSE, TIMELAPSE_PREV,
                                       "last.pt"}
    for p in files:
        assert mode(p) == 0o666 & ~mask, (p.name, oct(mode(p)))
    for p in [run, *(p for p in run.rglob("*") if p.is_dir())]:
        assert mode(p) == 0o777 & ~mask, (p.name, oct(mode(p)))
