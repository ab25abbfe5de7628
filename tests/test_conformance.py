"""The conformance kit (glompo_core.testing): RandomOptimizer passes it, broken optimizers fail."""

from __future__ import annotations

import inspect
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from glompo_core.optimizers import RandomOptimizer
from glompo_core.optimizers.baseoptimizer import Signal
from glompo_core.plugins import PluginManager
from glompo_core.result import MinimizeResult
from glompo_core.testing import (
    ALL_CHECKS,
    check_callstop,
    check_checkpoint,
    check_convergence_message,
    check_inject,
    check_minimizes_sphere,
    check_nan_and_raise,
    check_optimizer,
    check_pause,
    check_registered,
    check_respects_bounds,
    check_scaling,
    check_workers_population,
    parametrize_with_checks,
)
from tests.helpers import ScaledStepOptimizer, StepOptimizer, StepPlugin

PM = PluginManager(load_entrypoints=False, plugins=[("step", StepPlugin())])


@parametrize_with_checks([(RandomOptimizer, {"seed": 3}, {"iters": 5})],
                         plugin_manager=PluginManager(load_entrypoints=False))
def test_random_optimizer_conforms(optimizer: type, check: Callable[[type], None]) -> None:
    check(optimizer)


# -- the kit passes good optimizers ------------------------------------------------------

def test_parametrize_with_checks_ids_and_skip() -> None:
    mark = parametrize_with_checks([RandomOptimizer, (RandomOptimizer, {"seed": 1}),
                                    (RandomOptimizer, {"seed": 1}, {"iters": 2})],
                                   skip={"check_checkpoint"})
    argnames, params = mark.args
    assert argnames == ("optimizer", "check")
    ids = [p.id for p in params]
    assert len(ids) == len(set(ids)) == 3 * (len(ALL_CHECKS) - 1)
    assert "RandomOptimizer(seed=1)#2-check_inject" in ids
    assert ids[0] == "RandomOptimizer-check_registered"
    assert "RandomOptimizer(seed=1)-check_pause" in ids
    assert not any("check_checkpoint" in i for i in ids)
    assert all(p.values[0] is RandomOptimizer for p in params)
    assert params[1].values[1].__name__ == "check_minimizes_sphere"


def test_parametrize_with_checks_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"unknown check\(s\) in skip: \['check_nothing'\]"):
        parametrize_with_checks([RandomOptimizer], skip=["check_nothing"])
    with pytest.raises(TypeError, match="each optimizer must be a class"):
        parametrize_with_checks(["RandomOptimizer"])  # type: ignore[list-item]


def test_check_optimizer_without_pytest_reports_each_check() -> None:
    outcome = check_optimizer(RandomOptimizer, {"seed": 2}, converge_kwargs={"iters": 5})
    assert outcome["check_registered"].startswith("skipped: no plugin_manager")
    assert {k for k, v in outcome.items() if v == "passed"} == \
        {c.__name__ for c in ALL_CHECKS} - {"check_registered"}


def test_registration_check() -> None:
    check_registered(StepOptimizer, plugin_manager=PM)
    check_registered(StepOptimizer, plugin_manager=PM, name="stepoptimizer")
    with pytest.raises(AssertionError, match="BadInject is not registered as an optimizer"):
        check_registered(BadInject, plugin_manager=PM)
    with pytest.raises(AssertionError, match="registered as 'StepOptimizer' is"):
        check_registered(ScaledStepOptimizer, plugin_manager=PM, name="StepOptimizer")
    import unittest

    with pytest.raises(unittest.SkipTest):
        check_registered(StepOptimizer)


def test_scaling_check_on_a_linear_optimizer() -> None:
    check_scaling(ScaledStepOptimizer, {"iters": 3})


def test_importing_the_kit_does_not_import_pytest() -> None:
    code = ("import sys, glompo_core.testing; "
            "print('pytest' in sys.modules, '_pytest' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False", "False"]


# -- ... and fails broken ones -----------------------------------------------------------

class _Loop(RandomOptimizer):
    """RandomOptimizer whose loop pieces can be broken one at a time by subclasses."""

    def evaluate(self, function: Callable[[Sequence[float]], float],
                 xs: np.ndarray) -> list[float]:
        from glompo_core.optimizers import evaluate_population

        return evaluate_population(function, xs, self.workers)

    def wait(self) -> None:
        self.check_messages()
        self._pause_signal.wait()

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        b = np.asarray(bounds, dtype=float)
        self._stop = False
        t0 = time.monotonic()
        while not self._stop and time.monotonic() - t0 < 3:  # bounded, even when broken
            xs = self.rng.uniform(b[:, 0], b[:, 1], size=(self.popsize, len(b)))
            xs = self.transform(xs, b)
            for x, fx in zip(xs, self.evaluate(function, xs)):
                self._update_incumbent(x, fx)
            self.wait()
        return MinimizeResult(True, self.incumbent["x"], self.incumbent["fx"])

    def transform(self, xs: np.ndarray, b: np.ndarray) -> np.ndarray:
        return xs


class NoPause(_Loop):
    def check_messages(self) -> list[int]:
        """Acknowledges a pause, but never waits on the pause event."""
        while self._signal_pipe.poll():
            code, *_ = self._signal_pipe.recv()
            if code == Signal.PAUSE:
                self.message_manager(1)
            elif code == Signal.STOP:
                self.callstop()
        return []

    def wait(self) -> None:
        self.check_messages()


class OutOfBounds(_Loop):
    def transform(self, xs: np.ndarray, b: np.ndarray) -> np.ndarray:
        return xs + 0.5 * (b[:, 1] - b[:, 0])


class IgnoresStop(_Loop):
    def callstop(self, reason: str = "") -> None:
        pass


class BadInject(_Loop):
    def inject(self, x: Sequence[float], fx: float) -> None:
        pass


class PointByPoint(_Loop):
    def evaluate(self, function: Callable[[Sequence[float]], float],
                 xs: np.ndarray) -> list[float]:
        return [function(x) for x in xs]


class ScaledOutside(StepOptimizer):
    scaling = "linear"

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        function([1.5] * len(bounds))
        return MinimizeResult(True, None, float("inf"))


class ReturnsX0(RandomOptimizer):
    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        res = super().minimize(function, x0, bounds)
        return MinimizeResult(True, np.asarray(x0), function(x0), res.stats)


class NoCheckpoint(RandomOptimizer):
    def checkpoint_save(self, path: Any, force: Any = None, block: Any = None) -> None:
        raise OSError("disk full")


class HangsOnNaN(_Loop):
    def evaluate(self, function: Callable[[Sequence[float]], float],
                 xs: np.ndarray) -> list[float]:
        t0 = time.monotonic()
        fxs = super().evaluate(function, xs)
        while any(f != f for f in fxs) and time.monotonic() - t0 < 3:  # retries "forever"
            fxs = super().evaluate(function, xs)
        return fxs


class MasksErrors(_Loop):
    def evaluate(self, function: Callable[[Sequence[float]], float],
                 xs: np.ndarray) -> list[float]:
        try:
            return super().evaluate(function, xs)
        except RuntimeError:
            raise KeyError("something else") from None


@pytest.mark.parametrize(("check", "cls", "kwargs", "match"), [
    (check_pause, NoPause, {}, "evaluation\\(s\\) while paused"),
    (check_respects_bounds, OutOfBounds, {}, "outside its bounds"),
    (check_callstop, IgnoresStop, {"limit": 0.5}, "did not return within 0.5 s of a stop"),
    (check_inject, BadInject, {"timeout": 0.5}, "did not take an injected better point"),
    (check_workers_population, PointByPoint, {}, "never evaluated a population at once"),
    (check_scaling, ScaledOutside, {}, "outside \\[\\[10.0, 20.0\\]"),
    (check_convergence_message, RandomOptimizer, {"budget": 300},
     "did not report convergence .* converge_kwargs"),
    (check_minimizes_sphere, ReturnsX0, {}, "returned fx=.* but the best value"),
    (check_checkpoint, NoCheckpoint, {}, "did not confirm a checkpoint .*disk full"),
    (check_nan_and_raise, HangsOnNaN, {"timeout": 1.0}, "hangs on a task returning NaN"),
    (check_nan_and_raise, MasksErrors, {}, "raised KeyError.*not the task's exception"),
])
def test_checks_fail_broken_optimizers(check: Callable[..., None], cls: type,
                                       kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check(cls, {"seed": 1}, **kwargs)


# -- the kit never hangs, and says what is wrong with __init__ -----------------------------

#: Set at the end of each test below: releases the threads its broken optimizers block.
RELEASE = threading.Event()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    RELEASE.clear()
    try:
        yield RELEASE
    finally:
        RELEASE.set()


class NoSuperInit(RandomOptimizer):
    def __init__(self, _opt_id: int | None = None, _signal_pipe: Any = None,
                 _results_queue: Any = None, _pause_flag: Any = None, **kwargs: Any) -> None:
        self.popsize = 4  # forgot super().__init__(...)
        self._pause_signal = threading.Event()  # and made a pause event of its own


class DropsThePipe(RandomOptimizer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "_signal_pipe": None})  # passes None for the pipe


class Intermediate(RandomOptimizer):
    pass


class NoSuperInDerived(Intermediate):
    def __init__(self, **kwargs: Any) -> None:
        self.extra = 1


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c is not check_registered],
                         ids=lambda c: c.__name__)
def test_every_check_reports_a_missing_super_init(check: Callable[..., None]) -> None:
    with pytest.raises(AssertionError, match=r"NoSuperInit\.__init__ does not call "
                                             r"super\(\)\.__init__\(\.\.\.\).*_signal_pipe"):
        check(NoSuperInit, {"seed": 1}, **({"limit": 0.5} if "limit" in
                                           inspect.signature(check).parameters else
                                           {"timeout": 2.0}))


def test_the_class_whose_init_skips_super_is_named() -> None:
    with pytest.raises(AssertionError, match=r"^NoSuperInDerived\.__init__ does not call"):
        check_minimizes_sphere(NoSuperInDerived, {}, timeout=2.0)


def test_runtime_arguments_not_passed_on_to_super_init_are_reported() -> None:
    with pytest.raises(AssertionError, match=r"DropsThePipe\.__init__ does not pass the "
                                             r"manager's runtime arguments on to super\(\)"
                                             r"\.__init__\(\.\.\.\): _signal_pipe differ"):
        check_pause(DropsThePipe, {"seed": 1}, timeout=2.0)


class HoldsTheTaskLock(RandomOptimizer):
    """Evaluates x0, then blocks holding the task's lock (the kit's report once waited on
    that lock to count the evaluations, and hung for as long as the optimizer did)."""

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        function(x0)
        with function.lock:  # type: ignore[attr-defined]
            RELEASE.wait(120)
        return MinimizeResult(True, None, float("inf"))


@pytest.mark.parametrize("check", [check_nan_and_raise, check_minimizes_sphere,
                                   check_convergence_message, check_checkpoint],
                         ids=lambda c: c.__name__)
def test_a_report_never_waits_on_what_the_optimizer_holds(
        check: Callable[..., None], release: threading.Event) -> None:
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            check(HoldsTheTaskLock, {"seed": 1}, timeout=0.5)
        except BaseException as exc:
            errors.append(exc)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    # generous: the check's own limit is 0.5 s per wait; 60 s means it waited on the lock
    assert done.wait(60), f"{check.__name__} hangs on an optimizer that holds the task's lock"
    assert len(errors) == 1 and isinstance(errors[0], AssertionError), errors
    message = str(errors[0])
    assert ("still r" in message and "1 evaluations" in message) or "still runs" in message
    assert "Its thread is at" in message and "in minimize" in message
    assert "RELEASE.wait(120)" in message  # the line it is stuck on


class BlocksInInit(RandomOptimizer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        RELEASE.wait(120)  # e.g. waits for a licence server that never answers


def test_a_check_blocked_outside_its_waits_fails_at_its_limit_with_the_stacks(
        monkeypatch: pytest.MonkeyPatch, release: threading.Event) -> None:
    import glompo_core.testing._optimizer_harness as kit

    monkeypatch.setattr(kit, "_LIMIT_SLACK", 1.0)  # limit: 4 x 0.5 + 1 = 3 s
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as info:
        check_minimizes_sphere(BlocksInInit, {"seed": 1}, timeout=0.5)
    assert time.monotonic() - t0 >= 3.0  # given its whole limit, then given up
    message = str(info.value)
    assert message.startswith("check_minimizes_sphere did not finish within its limit of 3 s "
                              "(4 x timeout=0.5 + 1 s): BlocksInInit blocks it")
    assert "thread 'glompo-conformance-check_minimizes_sphere'" in message
    assert "in __init__" in message and "RELEASE.wait(120)" in message


class RaisesOnInfinity(_Loop):
    def evaluate(self, function: Callable[[Sequence[float]], float],
                 xs: np.ndarray) -> list[float]:
        fxs = super().evaluate(function, xs)
        if not all(np.isfinite(fxs)):
            raise ValueError("objective is not finite")
        return fxs


class ForgetsFiniteBest(_Loop):
    def _update_incumbent(self, x: Any, fx: float) -> None:
        self.incumbent = {"x": np.asarray(x), "fx": fx}  # the last, not the best


@pytest.mark.parametrize(("cls", "match"), [
    (RaisesOnInfinity, "RaisesOnInfinity.minimize\\(\\) raised on a task returning NaN; "
                       "inside a run, failed evaluations reach the optimizer as NaN or \\+inf"),
    (ForgetsFiniteBest, "returned fx=inf on a task returning \\+inf for every other point, "
                        "though it evaluated .* finite values"),
])
def test_failed_evaluations_must_not_crash_the_optimizer(cls: type, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_nan_and_raise(cls, {"seed": 1}, timeout=10.0)
