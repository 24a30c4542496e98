"""Independent runs side by side: the same records as one at a time, the same errors, nothing retrained."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from vaegan_nb.config import make_config
from vaegan_nb.errors import DivergenceError, UserError
from vaegan_nb.parallel import train_side_by_side
from vaegan_nb.runs import LOCK, RunRecord
from vaegan_nb.training import train

TINY = dict(data__height=24, data__width=40, data__n_train=96, data__n_test=32, latent_dim=16,
            enc_channels=[4, 8, 8], dec_channels=[8, 8, 8, 4], disc_channels=[4, 8, 8, 8], disc_hidden=16,
            batch_size=8, log_every=2, snapshot_every=4, checkpoint_every=4, n_fixed=16, device="cpu",
            compile="off")


def tiny(recipe, **kw):
    return make_config(recipe, "ci", **{**TINY, "steps": 12, **kw})


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(f)]


def test_side_by_side_runs_are_the_runs_trained_one_at_a_time_on_one_thread(tmp_path):
    jobs = [(tiny("vaegan", seed=1), tmp_path / "par" / "a"), (tiny("aegan_bn", seed=2), tmp_path / "par" / "b")]
    records = train_side_by_side(jobs, workers=2, progress=False)
    assert [r.path for r in records] == [d for _, d in jobs]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for cfg, d in jobs:
            alone = train(cfg, tmp_path / "alone" / d.name, progress=False)
            assert rows(alone.path) == rows(d), f"{d.name}: side by side differs from alone"
    finally:
        torch.set_num_threads(threads)


def test_a_failed_run_raises_its_own_error_after_the_others_finish(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    jobs = [(tiny("aegan_bn", lr=100.0, checkpoint_every=1), bad), (tiny("vae"), good)]
    with pytest.raises(DivergenceError, match="non-finite"):
        train_side_by_side(jobs, workers=2, progress=False)
    assert RunRecord(bad).status["state"] == "diverged"
    assert RunRecord(good).finished


def test_finished_runs_are_loaded_not_trained_again(tmp_path):
    jobs = [(tiny("vae"), tmp_path / "v")]
    train_side_by_side(jobs)  # with its progress bar
    stamp = (tmp_path / "v" / "status.json").stat().st_mtime_ns
    [rec] = train_side_by_side(jobs, progress=False)
    assert rec.finished and (tmp_path / "v" / "status.json").stat().st_mtime_ns == stamp


def test_a_run_that_starts_over_does_not_show_the_old_records_steps(tmp_path):
    from vaegan_nb.parallel import _Bars

    old = tmp_path / "metrics.csv"
    old.write_text("step,pixel\n0,1\n3000,0.5\n")
    bars = _Bars(show=True)
    bars.start(tmp_path, 3000, stale=True)
    bars.update()
    assert bars.bars[tmp_path].n == 0, "the bar read the finished old record as this run's progress"
    time.sleep(0.01)
    old.write_text("step,pixel\n0,1\n10,0.9\n")  # the worker rewrites the record
    bars.update()
    assert bars.bars[tmp_path].n == 10
    bars.close()


def _two_long_runs_and_one_queued(tmp_path):
    """Start a parent process training two endless runs side by side and a short one queued behind
    them; return it once both runs have logged steps (their loops now defer signals to a step boundary)."""
    script = tmp_path / "side.py"
    script.write_text(
        "import json, signal, sys\n"
        "from vaegan_nb.config import RunConfig\n"
        "from vaegan_nb.parallel import train_side_by_side\n"
        "if __name__ == '__main__':\n"
        # Ctrl-C raises KeyboardInterrupt, as in a Jupyter kernel, even when this test runs in a
        # background job, whose processes start with SIGINT ignored.
        "    signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "    jobs = json.loads(sys.argv[1])\n"
        "    train_side_by_side([(RunConfig.from_dict(c), d) for c, d in jobs], workers=2, progress=False)\n")
    dirs = [tmp_path / "a", tmp_path / "b"]
    jobs = [(tiny("vaegan", seed=s, steps=100_000).to_dict(), str(d)) for s, d in enumerate(dirs)]
    jobs.append((tiny("vae", steps=12).to_dict(), str(tmp_path / "queued")))  # shorter: starts last
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:  # a file, not a pipe: the workers inherit it and may outlive a read
        proc = subprocess.Popen([sys.executable, str(script), json.dumps(jobs)], stderr=err)
    deadline = time.time() + 120
    while not all((d / "metrics.csv").exists() and len((d / "metrics.csv").read_text().splitlines()) > 3
                  for d in dirs):
        if time.time() > deadline:  # checked only while waiting: runs that logged in time never fail here
            proc.kill()
            pytest.fail(f"the runs never logged a step: {log.read_text()}")
        time.sleep(0.5)
    return proc, dirs, log


def _assert_interrupted_with_checkpoints(tmp_path, dirs):
    for d in dirs:
        rec = RunRecord(d)
        assert rec.status["state"] == "interrupted", rec.status
        assert rec.checkpoint_path.exists() and rec.status["step"] > 0
    assert not (tmp_path / "queued").exists(), "a run still queued started after the stop"


def test_ctrl_c_stops_every_run_at_a_step_boundary_with_a_checkpoint(tmp_path):
    proc, dirs, log = _two_long_runs_and_one_queued(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C reaches only the notebook's (here: the parent's) process
        proc.wait(timeout=150)
    finally:
        proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in log.read_text()
    _assert_interrupted_with_checkpoints(tmp_path, dirs)


def test_a_parent_killed_alone_takes_its_workers_with_it_and_leaves_its_runs_resumable(tmp_path):
    # The out-of-memory killer, or `kill` of `make phenomena`'s script, ends the parent alone with no
    # chance to stop its workers. Left behind, they would train the whole queue unseen and hold the
    # runs' locks against the next attempt.
    proc, dirs, _ = _two_long_runs_and_one_queued(tmp_path)
    workers = [int((d / LOCK).read_text()) for d in dirs]  # each run's lock names the worker training it
    try:
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.time() + 60
        while time.time() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
    finally:
        proc.kill()
    alive = [pid for pid in workers if _alive(pid)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "workers trained on after their parent died"
    _assert_interrupted_with_checkpoints(tmp_path, dirs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has stopped; only whoever adopted it has yet to reap it
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # reaped since (Linux), or no /proc at all (macOS): alive as far as we know
        return not os.path.isdir("/proc")


def test_a_worker_trains_its_runs_one_after_another_and_goes_on_after_a_failure(tmp_path):
    import queue

    from vaegan_nb.parallel import _worker

    tasks, results = queue.Queue(), queue.Queue()
    dirs = [tmp_path / "bad", tmp_path / "a", tmp_path / "b"]
    for cfg, d in zip((tiny("aegan_bn", lr=100.0), tiny("vae"), tiny("vaegan")), dirs, strict=True):
        tasks.put((cfg.to_dict(), str(d)))
    tasks.put(None)
    tasks.put((tiny("vae").to_dict(), str(tmp_path / "after_the_stop_sign")))
    threads = torch.get_num_threads()
    try:
        _worker(tasks, results, retrain=False)
    finally:
        torch.set_num_threads(threads)
    said = [results.get_nowait() for _ in range(results.qsize())]
    assert [(kind, d) for kind, _, d, _ in said] == [(k, str(d)) for d in dirs for k in ("start", "done")]
    assert isinstance(said[1][3], DivergenceError) and said[3][3] is None and said[5][3] is None
    assert RunRecord(dirs[1]).finished and RunRecord(dirs[2]).finished
    assert not (tmp_path / "after_the_stop_sign").exists()


@pytest.mark.parametrize("workers", [2, 1])
def test_a_killed_worker_fails_its_own_run_and_the_rest_train_on_the_other_worker(tmp_path, workers):
    script = tmp_path / "side.py"
    script.write_text(
        "import json, sys\n"
        "from vaegan_nb.config import RunConfig\n"
        "from vaegan_nb.parallel import train_side_by_side\n"
        "if __name__ == '__main__':\n"
        "    jobs, workers = json.loads(sys.argv[1]), int(sys.argv[2])\n"
        "    train_side_by_side([(RunConfig.from_dict(c), d) for c, d in jobs], workers=workers,\n"
        "                       progress=False, longest_first=False)\n")
    victim, other, queued = tmp_path / "victim", tmp_path / "other", tmp_path / "queued"
    steps = {victim: 100_000, other: 300, queued: 12}
    jobs = [(tiny("vae", steps=n).to_dict(), str(d)) for d, n in steps.items()]
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, str(script), json.dumps(jobs), str(workers)], stderr=err)
    try:
        lock = victim / LOCK  # the worker that trains the run holds its lock and writes its pid there
        deadline = time.time() + 120
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.2)
        assert lock.exists(), "the run never started"
        os.kill(int(lock.read_text()), signal.SIGKILL)
        proc.wait(timeout=150)
    finally:
        proc.kill()
    text = log.read_text()
    assert proc.returncode != 0 and f"{victim}: the training process died (exit code -9)" in text, text
    if workers == 2:
        assert RunRecord(other).finished and RunRecord(queued).finished
    else:  # no worker left: the queued runs are reported, not silently skipped
        for d in (other, queued):
            assert f"{d}: not trained" in text and not d.exists(), text


def test_two_runs_in_one_directory_are_refused_before_anything_trains(tmp_path):
    with pytest.raises(UserError, match="share a run directory"):
        train_side_by_side([(tiny("vae"), tmp_path / "r"), (tiny("vaegan"), tmp_path / "r")], progress=False)
    assert not (tmp_path / "r").exists()
