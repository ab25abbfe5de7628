"""Stress: many optimizer threads, STOP_ and CHKPT files and task errors at random.

No deadlock, no evaluation lost or counted twice: the call_ids of the log are exactly 1..N,
N is the manager's f_counter and the number of times the task ran. Each round runs in a
daemon thread; a round that does not end within a deadline far beyond its budget is a
deadlock (the stacks of every thread are printed), not a speed check.
"""

from __future__ import annotations

import faulthandler
import hashlib
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import glompo_core._decisions
from glompo_core import GloMPOManager
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving
from tests.helpers import Recorder, plugin_manager

ROUNDS = 6
DEADLOCK_AFTER = 300.0  # seconds: a round's budget takes a few seconds


class FlakyTask:
    """Sphere that sleeps up to 2 ms and raises for about 5 % of points (by a hash of x)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, x: Any) -> float:
        with self._lock:
            self.calls += 1
        digest = hashlib.blake2b(np.asarray(x, dtype=float).tobytes(), digest_size=2).digest()
        time.sleep(digest[1] / 255 * 0.002)
        if digest[0] < 13:
            raise RuntimeError("the simulation diverged")
        return float(np.sum(np.asarray(x) ** 2))


def _meddle(directory: Path, stop: threading.Event, seed: int, counts: dict[str, int]) -> None:
    """Drop STOP_<id> and CHKPT files into the working directory at random."""
    rng = random.Random(seed)
    while not stop.wait(rng.uniform(0.02, 0.15)):
        if rng.random() < 0.7:
            (directory / f"STOP_{rng.randint(1, 80)}").touch()
            counts["stop"] += 1
        else:
            (directory / "CHKPT").touch()
            counts["chkpt"] += 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_many_threads_stops_checkpoints_and_errors_lose_nothing(tmp_path: Path,
                                                                round_: int) -> None:
    assert glompo_core._decisions.CHECK_LOCKS  # the lock assertions are on (conftest.py)
    task = FlakyTask()
    rec = Recorder()
    work = tmp_path / "run"
    manager = GloMPOManager.new_manager(
        task=task, bounds=[(-5.0, 5.0)] * 4,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4, "iters": 40}),
                                   ("RandomOptimizer", {"popsize": 8, "workers": 4,
                                                        "iters": 15})),
        working_dir=work, max_jobs=32, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=30_000) | MaxSeconds(session_max=60),
        stoppers=BestUnmoving(calls=150, tol=0.0), stopcheck_interval=50,
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=6000,
                                                naming_format="c_%(count)"),
        split_printstreams=False, seed=round_, max_failures_in_a_row=0,
        plugin_manager=plugin_manager(("rec", rec)))
    counts = {"stop": 0, "chkpt": 0}
    stop = threading.Event()
    meddler = threading.Thread(target=_meddle, args=(work, stop, round_, counts), daemon=True)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = manager.start_manager()
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    runner = threading.Thread(target=run, daemon=True)
    faulthandler.dump_traceback_later(DEADLOCK_AFTER, exit=False, file=sys.stderr)
    try:
        runner.start()
        meddler.start()
        runner.join(DEADLOCK_AFTER)
    finally:
        faulthandler.cancel_dump_traceback_later()
        stop.set()
    assert not runner.is_alive(), "deadlock: the run did not end (stacks printed above)"
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]

    call_ids = np.sort(np.concatenate(
        [kw["call_ids"] for name, kw in rec.calls if name == "batch"]))
    n = manager.f_counter
    np.testing.assert_array_equal(call_ids, np.arange(1, n + 1))  # none lost, none twice
    assert task.calls == n == len(manager.opt_log)
    assert result.stats["failed_evaluations"] > 0
    assert not manager.opt_crashed  # task errors are failed evaluations
    assert manager.o_counter > 32  # stopped and converged optimizers were replaced
    assert counts["stop"] > 0 and counts["chkpt"] > 0
    assert len(manager.checkpoint_history) >= 1
    assert all(s in ("stopped", "converged", "ended")
               for s in manager.optimizer_status().values())
