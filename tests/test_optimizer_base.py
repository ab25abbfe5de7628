"""BaseOptimizer's contract: messages, pause, stop, inject, checkpoint; RandomOptimizer."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glompo_core.optimizers import BaseOptimizer, RandomOptimizer, evaluate_population
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from tests.helpers import StepOptimizer, sphere


def test_base_optimizer_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        BaseOptimizer()  # type: ignore[abstract]


def test_bad_workers_and_unknown_arguments() -> None:
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        RandomOptimizer(workers=0)
    with pytest.raises(TypeError, match=r"unexpected argument.*'sigma'"):
        RandomOptimizer(sigma=3)
    with pytest.raises(ValueError, match="popsize"):
        RandomOptimizer(popsize=0)


def test_random_optimizer_stand_alone_and_seeded() -> None:
    bounds = [(-1.0, 1.0)] * 3
    a = RandomOptimizer(iters=200, popsize=5, seed=4).minimize(sphere, [0.9] * 3, bounds)
    b = RandomOptimizer(iters=200, popsize=5, seed=4).minimize(sphere, [0.9] * 3, bounds)
    assert a.success and a.fx == b.fx and a.fx < 0.1
    np.testing.assert_array_equal(a.x, b.x)
    assert a.stats == {"iterations": 200}


def test_random_optimizer_evaluates_x0_first_and_stays_in_bounds() -> None:
    seen: list[np.ndarray] = []

    def f(x: Any) -> float:
        seen.append(np.array(x))
        return sphere(x)

    bounds = [(10.0, 11.0), (-3.0, -2.0)]
    RandomOptimizer(iters=50, popsize=4, seed=1).minimize(f, [10.5, -2.5], bounds)
    np.testing.assert_array_equal(seen[0], [10.5, -2.5])
    xs = np.array(seen)
    assert len(xs) == 200
    assert np.all(xs[:, 0] >= 10) and np.all(xs[:, 0] <= 11)
    assert np.all(xs[:, 1] >= -3) and np.all(xs[:, 1] <= -2)


def drive(opt: BaseOptimizer, task: Any, bounds: Any) -> threading.Thread:
    thread = threading.Thread(target=opt.minimize, args=(task, [0.5] * len(bounds), bounds),
                              daemon=True)
    thread.start()
    return thread


def wired(cls: type = StepOptimizer, **kw: Any) -> tuple[Any, ThreadPipe, queue.Queue[Any],
                                                          threading.Event]:
    manager_end, opt_end = ThreadPipe.pair()
    results: queue.Queue[Any] = queue.Queue()
    pause = threading.Event()
    pause.set()
    opt = cls(_opt_id=7, _signal_pipe=opt_end, _results_queue=results, _pause_flag=pause, **kw)
    return opt, manager_end, results, pause


def test_pause_acknowledges_and_stops_evaluating() -> None:
    calls: list[float] = []

    def task(x: Any) -> float:
        calls.append(time.time())
        time.sleep(0.002)
        return sphere(x)

    opt, pipe, results, pause = wired()
    pause.clear()
    pipe.send((Signal.PAUSE,))
    thread = drive(opt, task, [(-1, 1)] * 2)
    msg = results.get(timeout=5)
    assert msg == ManagerMessage(7, 1, None)
    time.sleep(0.1)
    n_paused = len(calls)
    time.sleep(0.3)
    assert len(calls) == n_paused  # nothing evaluated while paused
    pause.set()
    time.sleep(0.2)
    assert len(calls) > n_paused
    pipe.send((Signal.STOP, "done"))
    thread.join(5)
    assert not thread.is_alive()


def test_stop_signal_ends_minimize_promptly() -> None:
    opt, pipe, _, _ = wired()
    thread = drive(opt, lambda x: (time.sleep(0.01), sphere(x))[1], [(-1, 1)] * 2)
    time.sleep(0.1)
    t0 = time.time()
    pipe.send((Signal.STOP, "enough"))
    thread.join(5)
    assert not thread.is_alive() and time.time() - t0 < 0.5


def test_inject_signal_updates_the_incumbent() -> None:
    opt, pipe, _, _ = wired()
    pipe.send((Signal.INJECT, np.array([0.0, 0.0]), -5.0))
    thread = drive(opt, sphere, [(-1, 1)] * 2)
    time.sleep(0.1)
    pipe.send((Signal.STOP, ""))
    thread.join(5)
    assert opt.incumbent["fx"] == -5.0
    np.testing.assert_array_equal(opt.incumbent["x"], [0.0, 0.0])
    opt.inject([1.0, 1.0], 3.0)  # worse: ignored
    assert opt.incumbent["fx"] == -5.0


def test_message_key_9_and_convergence_key_0() -> None:
    opt, _, results, _ = wired(iters=3)
    opt.message_manager(9, "hello")
    opt.minimize(sphere, [0.1, 0.1], [(-1, 1)] * 2)
    messages = []
    while not results.empty():
        messages.append(results.get())
    assert messages[0] == ManagerMessage(7, 9, "hello")
    assert messages[-1] == ManagerMessage(7, 0, "step budget used")


def test_checkpoint_signal_writes_a_restart_file(tmp_path: Path) -> None:
    opt, pipe, results, _ = wired(iters=3, step=0.25)
    pipe.send((Signal.CHECKPOINT, tmp_path / "opt.pkl"))
    opt.minimize(sphere, [0.0, 0.0], [(-1, 1)] * 2)
    assert ManagerMessage(7, 2, str(tmp_path / "opt.pkl")) in list(results.queue)
    loaded = StepOptimizer.checkpoint_load(tmp_path / "opt.pkl", _opt_id=9)
    assert isinstance(loaded, StepOptimizer)
    assert loaded.is_restart and loaded.opt_id == 9 and loaded.step == 0.25
    assert loaded.logger.name == "glompo.optimizers.opt9"
    res = loaded.minimize(sphere, [0.5, 0.5], [(-1, 1)] * 2)
    assert res.fx <= 0.5


def test_checkpoint_force_and_block(tmp_path: Path) -> None:
    opt = StepOptimizer(step=0.5, chatty=True)
    opt.checkpoint_save(tmp_path / "a", block={"chatty"})
    assert not hasattr(StepOptimizer.checkpoint_load(tmp_path / "a"), "chatty")


def test_evaluate_population_uses_the_function_batch_or_threads() -> None:
    class Batchy:
        def __init__(self) -> None:
            self.batches = 0

        def __call__(self, x: Any) -> float:
            raise AssertionError("should use evaluate_population")

        def evaluate_population(self, xs: Any) -> list[float]:
            self.batches += 1
            return [sphere(x) for x in xs]

    f = Batchy()
    xs = np.eye(3)
    assert evaluate_population(f, xs, 3) == [1.0, 1.0, 1.0] and f.batches == 1

    def slow(x: Any) -> float:
        time.sleep(0.1)
        return sphere(x)

    t0 = time.time()
    assert evaluate_population(slow, xs, workers=3) == [1.0, 1.0, 1.0]
    assert time.time() - t0 < 0.25


def test_thread_pipe_order_and_poll() -> None:
    a, b = ThreadPipe.pair()
    assert not b.poll()
    a.send(1)
    a.send(2)
    assert b.poll() and b.recv() == 1 and b.recv() == 2
    t0 = time.time()
    assert not b.poll(0.1)
    assert time.time() - t0 >= 0.09
    b.send("back")
    assert a.recv() == "back"
