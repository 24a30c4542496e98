"""Independent runs side by side: one worker process per core, one torch thread each, every core busy.

One run on one thread is also one run made the same way every time: a run trained on two threads
rounds some float sums differently, and a GAN's trajectory parts from the one-thread run within tens
of steps. Side by side costs no throughput: a full-profile GAN step takes about 157 ms on one thread
and 86 ms on two, so two one-thread runs finish together about when the same runs would one after
the other on two threads (``make bench`` measures it).
A worker trains its runs one after another, so torch is imported once per worker, not once per run
(about 6 s a process). Each run is trained as ``train_or_load`` would train it alone: a finished run
with the same config is reused, an interrupted one resumed, and a failure leaves the same run record
and raises an error of the same type and message.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from .config import RunConfig
from .errors import UserError
from .runs import RunRecord, config_matches, shown

POLL_S = 0.5
STOP_TIMEOUT_S = 60  # a run stops within one step of SIGTERM; this is for one that cannot


def workers_for(n_runs: int) -> int:
    """One process per core, never more than there are runs."""
    return max(1, min(n_runs, os.cpu_count() or 1))


def train_side_by_side(jobs: Sequence[tuple[RunConfig, str | os.PathLike]], workers: int | None = None,
                       retrain: bool = False, progress: bool = True, longest_first: bool = True) -> list[RunRecord]:
    """Train (or load) every ``(config, run_dir)`` of ``jobs``, ``workers`` at a time; their records in order.

    Longest runs start first (unless ``longest_first`` is False: then in the order given), so that the
    short ones fill the gaps at the end. If a run fails, the
    others still finish; then the first failure is raised as it was raised in its process. Ctrl-C
    (Jupyter's stop button) stops every run at its next step boundary with a checkpoint, as it would
    stop one run trained in the notebook's own process.
    """
    jobs = [(cfg, Path(d)) for cfg, d in jobs]
    shared = sorted(str(d) for d, n in Counter(d for _, d in jobs).items() if n > 1)
    if shared:
        raise UserError(f"two runs of train_side_by_side share a run directory: {', '.join(shared)}")
    todo = [(cfg, d) for cfg, d in jobs if retrain or not _finished(cfg, d)]
    for _, d in jobs:
        if all(d != t for _, t in todo):  # the same words as train_or_load's, for the same event
            print(f"found a finished run in {shown(d)}, loading it (set RETRAIN = True to train again)")
    if longest_first:
        todo.sort(key=lambda job: -job[0].train.steps)
    errors = _train_in_workers(todo, min(workers or workers_for(len(todo)), len(todo)), retrain, progress)
    if errors:
        for d, e in errors.items():
            print(f"{d}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise next(iter(errors.values()))
    return [RunRecord(d) for _, d in jobs]


def _train_in_workers(todo: list[tuple[RunConfig, Path]], workers: int, retrain: bool,
                      progress: bool) -> dict[Path, BaseException]:
    """Train ``todo`` in that order on ``workers`` processes; each failed run's error by run_dir."""
    # A run that starts over still has the old record's metrics.csv until its worker rewrites it.
    stale = {d: retrain or not config_matches(d, cfg) for cfg, d in todo}
    steps = {d: cfg.train.steps for cfg, d in todo}
    ctx = mp.get_context("spawn")  # no fork of a process that holds torch's thread pools (or a kernel)
    tasks: mp.Queue = ctx.Queue()
    results: mp.Queue = ctx.Queue()
    for cfg, d in todo:
        tasks.put((cfg.to_dict(), str(d)))
    for _ in range(workers):
        tasks.put(None)  # one stop sign per worker, after every run
    procs = [ctx.Process(target=_worker, args=(tasks, results, retrain), daemon=True) for _ in range(workers)]
    for p in procs:
        p.start()
    left = set(steps)
    current: dict[int, Path] = {}  # worker pid -> the run it trains
    bars = _Bars(progress)
    errors: dict[Path, BaseException] = {}
    try:
        while left:
            alive = any(p.is_alive() for p in procs)  # before reading: a worker may report, then exit
            messages = _messages(results)
            for kind, pid, d, err in messages:
                if kind == "start":
                    current[pid] = d
                    bars.start(d, steps[d], stale=stale[d])
                    continue
                current.pop(pid, None)
                left.discard(d)
                if err is not None:
                    errors[d] = err
                bars.finish(d, err)
            bars.update()
            if not messages and not alive:
                break
        codes = {p.pid: p.exitcode for p in procs}
        for pid, d in current.items():  # killed (out of memory, kill -9): no exception came back
            errors[d] = RuntimeError(f"{d}: the training process died (exit code {codes.get(pid)}); "
                                     "train it again to resume from its last checkpoint")
            left.discard(d)
        for d in sorted(left):
            errors[d] = RuntimeError(f"{d}: not trained: every worker process had stopped before it")
        for p in procs:
            p.join()
    except BaseException:  # Ctrl-C, or a fault here: never leave workers taking runs in the background
        _stop(procs)
        raise
    finally:
        bars.close()
    return errors


def _stop(procs: list[mp.Process]) -> None:
    for p in procs:
        if p.is_alive():
            os.kill(p.pid, signal.SIGTERM)  # the loop checkpoints at the step boundary and stops
    for p in procs:
        p.join(STOP_TIMEOUT_S)
        if p.is_alive():  # stuck outside the loop (a hung decoder, a full pipe): never leave it behind
            p.kill()
            p.join()


def _finished(cfg: RunConfig, run_dir: Path) -> bool:
    return config_matches(run_dir, cfg) and RunRecord(run_dir).finished


def _worker(tasks, results, retrain: bool) -> None:
    """One worker process: trains runs from ``tasks`` one after another on one thread, each as
    ``train_or_load`` does in the notebook, until the stop sign. Torch is imported once."""
    import torch

    from .training import train_or_load

    _stop_with_parent()
    while (task := tasks.get()) is not None:
        cfg_dict, run_dir = task
        results.put(("start", os.getpid(), run_dir, None))
        torch.set_num_threads(1)  # again for each run: a run's config may have set another count
        try:
            train_or_load(RunConfig.from_dict(cfg_dict), run_dir, retrain=retrain, progress=False)
        except BaseException as e:  # KeyboardInterrupt too: the parent re-raises what the run raised
            results.put(("done", os.getpid(), run_dir, _picklable(e)))
            if not isinstance(e, Exception):
                return  # stopped (Ctrl-C, SIGTERM): start no other run
            continue
        results.put(("done", os.getpid(), run_dir, None))


def _stop_with_parent() -> None:
    """Stop this worker if its parent dies: a run in its loop stops at the step boundary with a
    checkpoint, as the parent's own ``_stop`` would stop it; anywhere else the worker simply ends
    (every record write is atomic, and the run's lock dies with the process).

    Daemon workers are stopped only by a parent that exits normally. One killed alone (the
    out-of-memory killer, ``kill`` of a script) would leave them training the rest of the queue unseen,
    holding the runs' locks. Jupyter's restart is not such a case: it signals the whole process group.
    """
    parent = mp.parent_process()
    if parent is None:  # called in the parent's own process (the tests do)
        return

    def watch():
        parent.join()  # returns once the parent's sentinel closes, however it died
        signal.raise_signal(signal.SIGTERM)  # the loop's handler where one is installed, else the end

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def _picklable(e: BaseException) -> BaseException:
    """``e`` if it survives the trip to the parent, else a RuntimeError with its type and message."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e


def _messages(results) -> list[tuple[str, int, Path, BaseException | None]]:
    """What the workers reported within one poll: ("start" or "done", pid, run_dir, error)."""
    out = []
    try:
        out.append(results.get(timeout=POLL_S))
        while True:
            out.append(results.get_nowait())
    except queue.Empty:
        pass
    return [(kind, pid, Path(d), err) for kind, pid, d, err in out]


class _Bars:
    """A progress bar per running run, read off the steps its metrics.csv has logged so far."""

    def __init__(self, show: bool):
        self.show = show
        self.bars = {}
        self.stale = {}  # run_dir -> the old metrics.csv's (inode, mtime) while it is not yet rewritten

    def start(self, run_dir: Path, steps: int, stale: bool = False) -> None:
        """``stale``: the run starts over, so the metrics.csv already there belongs to the old record."""
        if self.show:
            from tqdm.auto import tqdm

            self.bars[run_dir] = tqdm(total=steps, desc=run_dir.name, unit="step", dynamic_ncols=True)
            if stale:
                self.stale[run_dir] = _stamp(run_dir / "metrics.csv")

    def _step(self, run_dir: Path) -> int:
        path = run_dir / "metrics.csv"
        if run_dir in self.stale:
            if _stamp(path) == self.stale[run_dir]:
                return 0
            del self.stale[run_dir]
        return _last_step(path)

    def update(self) -> None:
        for d, bar in self.bars.items():
            step = self._step(d)
            if step > bar.n:
                bar.update(step - bar.n)

    def finish(self, run_dir: Path, error: BaseException | None) -> None:
        bar = self.bars.pop(run_dir, None)
        if bar is not None:
            step = self._step(run_dir)
            self.stale.pop(run_dir, None)
            bar.update(max(0, step - bar.n))
            if error is not None:
                bar.set_postfix_str(f"{type(error).__name__}", refresh=True)
            bar.close()

    def close(self) -> None:
        for d in list(self.bars):
            self.finish(d, None)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _last_step(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 512))
            last = f.read().splitlines()[-1].split(b",", 1)[0]
        return int(float(last))
    except (OSError, IndexError, ValueError):
        return 0
