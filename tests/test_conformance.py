"""The conformance kit (glompo_core.testing): RandomOptimizer passes it, broken optimizers fail."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
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
