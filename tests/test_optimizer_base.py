"""BaseOptimizer's contract: messages, pause, stop, inject, checkpoint; RandomOptimizer."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glompo_core.optimizers import BaseOptimizer, RandomOptimizer, evaluate_population
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.testing import Inbox
from glompo_core.testing import wired as wire
from tests.helpers import Rendezvous, StepOptimizer, sphere


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


def wired(cls: type = StepOptimizer, **kw: Any) -> tuple[Any, ThreadPipe, Inbox,
                                                          threading.Event]:
    """An optimizer with ID 7 wired as the manager wires it (glompo_core.testing.wired)."""
    w = wire(cls, kw, opt_id=7)
    return w.opt, w.pipe, w.inbox, w.pause


def test_pause_acknowledges_and_stops_evaluating() -> None:
    opt, pipe, results, pause = wired()
    calls = 0
    while_paused: list[int] = []  # evaluations made while the pause flag was clear
    resumed = threading.Event()
    acknowledged_at: list[int] = []

    def task(x: Any) -> float:
        nonlocal calls
        calls += 1
        if not pause.is_set():
            while_paused.append(calls)
        if acknowledged_at and calls > acknowledged_at[0]:
            resumed.set()
        return sphere(x)

    pipe.send((Signal.PAUSE,))
    thread = drive(opt, task, [(-1, 1)] * 2)
    assert results.wait_for_key(1, 5)
    assert results.items == [ManagerMessage(7, 1, None)]  # acknowledged
    acknowledged_at.append(calls)
    assert not pause.is_set()  # the optimizer cleared its flag before acknowledging
    # the optimizer now waits on the flag: an evaluation before it is set is recorded
    time.sleep(0.05)  # (a window for a broken pause to evaluate; nothing waits on it)
    pause.set()
    assert resumed.wait(5), "the optimizer did not evaluate again once the flag was set"
    pipe.send((Signal.STOP, "done"))
    thread.join(5)
    assert not thread.is_alive()
    assert while_paused == []


def stopping_after(pipe: ThreadPipe, n: int, *signals: tuple[Any, ...]) -> Any:
    """A task that sends ``signals`` (default: a stop) through ``pipe`` at its n-th call."""
    calls: list[int] = []

    def task(x: Any) -> float:
        calls.append(1)
        if len(calls) == n:
            for sig in signals or ((Signal.STOP, "enough"),):
                pipe.send(sig)
        return sphere(x)

    task.calls = calls  # type: ignore[attr-defined]
    return task


def test_stop_signal_ends_minimize_at_the_next_iteration() -> None:
    opt, pipe, _, _ = wired()  # one evaluation per iteration, then check_messages
    task = stopping_after(pipe, 5)
    thread = drive(opt, task, [(-1, 1)] * 2)
    thread.join(10)
    assert not thread.is_alive()
    assert len(task.calls) == 5  # the stop sent during evaluation 5 ends the loop right after


def test_inject_signal_updates_the_incumbent() -> None:
    opt, pipe, _, _ = wired()
    pipe.send((Signal.INJECT, np.array([0.0, 0.0]), -5.0))
    thread = drive(opt, stopping_after(pipe, 2), [(-1, 1)] * 2)  # inject read after call 1
    thread.join(5)
    assert opt.incumbent["fx"] == -5.0
    np.testing.assert_array_equal(opt.incumbent["x"], [0.0, 0.0])
    opt.inject([1.0, 1.0], 3.0)  # worse: ignored
    assert opt.incumbent["fx"] == -5.0


def test_message_key_9_and_convergence_key_0() -> None:
    opt, _, results, _ = wired(iters=3)
    opt.message_manager(9, "hello")
    opt.minimize(sphere, [0.1, 0.1], [(-1, 1)] * 2)
    messages = results.items
    assert messages[0] == ManagerMessage(7, 9, "hello")
    assert messages[-1] == ManagerMessage(7, 0, "step budget used")


def test_checkpoint_signal_writes_a_restart_file(tmp_path: Path) -> None:
    opt, pipe, results, _ = wired(iters=3, step=0.25)
    pipe.send((Signal.CHECKPOINT, tmp_path / "opt.pkl"))
    opt.minimize(sphere, [0.0, 0.0], [(-1, 1)] * 2)
    assert ManagerMessage(7, 2, str(tmp_path / "opt.pkl")) in results.items
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


def test_evaluate_population_uses_the_function_batch_or_threads(tmp_path: Path) -> None:
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

    together = Rendezvous(tmp_path / "three", group=3)  # each row waits for the other two
    assert evaluate_population(together, xs, workers=3) == [1.0, 1.0, 1.0]
    assert [m.met for m in together.meetings()] == [True] * 3  # the three ran at once
    one_by_one = Rendezvous(tmp_path / "one", group=1)
    assert evaluate_population(one_by_one, xs, workers=1) == [1.0, 1.0, 1.0]
    assert max(m.crowd for m in one_by_one.meetings()) == 1  # workers=1: in turn


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


# --------------------------------------------------------------------------- seeding
def test_seed_and_set_seed_are_the_one_way_to_seed() -> None:
    bounds = [(-1.0, 1.0)] * 2
    built = RandomOptimizer(iters=20, popsize=3, seed=11).minimize(sphere, [0.5, 0.5], bounds)
    reset = RandomOptimizer(iters=20, popsize=3, seed=99)
    reset.set_seed(11)
    assert reset.seed == 11
    again = reset.minimize(sphere, [0.5, 0.5], bounds)
    np.testing.assert_array_equal(built.x, again.x)
    # any BaseOptimizer has the seed and a generator made from it
    a, b = StepOptimizer(seed=3), StepOptimizer()
    b.set_seed(3)
    assert a.rng.random() == b.rng.random() == np.random.default_rng(3).random()
    b.rng = np.random.default_rng(4)  # a subclass may install a generator of its own
    assert b.rng.random() == np.random.default_rng(4).random()


def test_bad_seeds_and_generators_are_refused_with_the_way_to_seed() -> None:
    with pytest.raises(ValueError, match=r"seed must be None or an integer >= 0, got seed=-1"):
        RandomOptimizer(seed=-1)
    with pytest.raises(ValueError, match=r"got seed='7'"):
        StepOptimizer().set_seed("7")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator.*set_seed\(seed\)"):
        StepOptimizer().rng = 5  # type: ignore[assignment]


# --------------------------------------------------------------------------- scaling
@pytest.mark.parametrize(("value", "hint"), [("Linear", r"; did you mean 'linear'\?"),
                                             ("standard", r"; did you mean 'std'\?"),
                                             ("unit", r"\.")])
def test_an_unknown_scaling_is_refused_when_the_class_is_defined(value: str, hint: str) -> None:
    with pytest.raises(TypeError, match=rf"Bad.scaling = '{value}' is not a scaling{hint} Use "
                                        r"'linear' \(parameters in \[0, 1\]\), "
                                        r"'std' \(\[-1, 1\]\), "
                                        r"'none' \(never scaled\) or leave it unset / None "
                                        r"\(any scaling\)"):
        class Bad(StepOptimizer):
            scaling = value


@pytest.mark.parametrize("value", ["linear", "std", "none", None])
def test_the_spec_scalings_are_accepted(value: str | None) -> None:
    class Fine(StepOptimizer):
        scaling = value

    assert Fine.scaling == value
