"""The component checks of glompo_core.testing fail broken components, saying what to fix."""

from __future__ import annotations

import threading
import unittest
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from glompo_core.backends import ThreadsBackend
from glompo_core.exit_conditions import BaseExitCondition, MaxFuncCalls
from glompo_core.generators import BaseGenerator, RandomGenerator
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.optimizers import RandomOptimizer
from glompo_core.selectors import BaseSelector, CycleSelector
from glompo_core.stoppers import BaseStopper, BestUnmoving
from glompo_core.testing import (
    COMPONENT_CHECKS,
    check_component,
    component_kind,
    parametrize_with_component_checks,
)
from glompo_core.testing._backends import (
    check_backend_order,
    check_backend_shutdown,
    check_backend_task_errors,
)
from glompo_core.testing._conditions import (
    check_combinable,
    check_condition_pickles,
    check_condition_protocol,
    check_condition_reset,
    check_condition_seeded,
    check_expression_round_trip,
    check_stopper_history_window,
)
from glompo_core.testing._loggers import check_logger_checkpoint, check_logger_rows
from glompo_core.testing._spawning import (
    check_generator_pickles,
    check_generator_points_in_bounds,
    check_generator_seeded,
    check_selector_protocol,
    check_selector_returns_copies,
)

# -- stoppers and exit conditions ----------------------------------------------------------


class OpaqueArgument(BaseStopper):
    """Takes a function: str() shows its repr, which no run file can hold."""

    def __init__(self, measure: Any = np.mean) -> None:
        super().__init__()
        self.measure = measure

    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        return bool(self.measure(log.get_history(tested_opt_id, "fx")) > 1)


class Unseeded(BaseStopper):
    """Draws from a generator it makes itself: set_seed() cannot reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.gen = np.random.default_rng()

    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        return bool(self.gen.random() < 0.5)


class FailsOnNaN(BaseStopper):
    def __init__(self) -> None:
        super().__init__()

    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        fx = log.get_history(tested_opt_id, "fx")
        if not np.all(np.isfinite(fx)):
            raise ValueError("cannot handle a failed evaluation")
        return False


class HoldsALock(BaseExitCondition):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self, manager: Any) -> bool:
        return manager.f_counter > 10


class CountsCalls(BaseExitCondition):
    """Its answer depends on how often it was called, and unpickling loses the count."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __call__(self, manager: Any) -> bool:
        self.count += 1
        return self.count % 5 == 0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "count": 0}


class ForgetsReset(BaseStopper):
    def __init__(self) -> None:
        super().__init__()

    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        return True

    def reset(self) -> None:
        pass  # does not call super().reset()


class ReadsTooMuch(BaseStopper):
    """Declares a window of 5 rows but reads the whole history."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def history_needed(self) -> int:
        return 5

    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        return len(log.get_history(tested_opt_id, "fx")) > 40


class NotCombinable:
    def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
        return False


@pytest.mark.parametrize(("check", "component", "match"), [
    (check_expression_round_trip, OpaqueArgument(),
     r"str\(OpaqueArgument\) is 'OpaqueArgument\(measure=<function mean.*does not parse back"),
    (check_condition_seeded, Unseeded(), "seeded alike answered differently .*self.rng"),
    (check_condition_protocol, FailsOnNaN(), "raised ValueError: cannot handle a failed "
                                             "evaluation in the conformance scenario"),
    (check_condition_pickles, HoldsALock(), "cannot be copied|does not pickle"),
    (check_condition_pickles, CountsCalls(), "unpickled after 12 answers answers differently"),
    (check_condition_reset, ForgetsReset(), r"reset\(\) left last_result = True"),
    (check_stopper_history_window, ReadsTooMuch(),
     "declares history_needed=5 but answers differently"),
    (check_condition_protocol, NotCombinable(), "is not a BaseStopper: subclass "
                                                "glompo_core.stoppers.BaseStopper"),
    (check_combinable, NotCombinable(), r"c \| True failed"),
])
def test_condition_checks_fail_broken_conditions(check: Any, component: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check(component)


def test_the_history_window_check_is_skipped_where_it_does_not_apply() -> None:
    with pytest.raises(unittest.SkipTest, match="not a stopper"):
        check_stopper_history_window(MaxFuncCalls(fmax=3))


# -- generators and selectors ----------------------------------------------------------------


class Overshoots(BaseGenerator):
    def generate(self, manager: Any) -> np.ndarray:
        b = np.asarray(manager.bounds)
        return b[:, 1] + 0.1 * (b[:, 1] - b[:, 0]) * self.rng.random(len(b))


class GlobalRandom(BaseGenerator):
    def generate(self, manager: Any) -> np.ndarray:
        b = np.asarray(manager.bounds)
        return b[:, 0] + (b[:, 1] - b[:, 0]) * np.random.default_rng().random(len(b))


class PicklesWithoutItsState(RandomGenerator):
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_rng"}


class SharesItsKwargs(BaseSelector):
    def choose(self, manager: Any, log: Any) -> Any:
        return self.avail_opts[0]

    def select_optimizer(self, manager: Any, log: Any, slots_available: int) -> Any:
        cls, init, call = self.avail_opts[0]
        if init.get("glompo_conformance_mutated"):
            return None
        return cls, init, call  # the stored dicts themselves


class ComesBack(CycleSelector):
    def select_optimizer(self, manager: Any, log: Any, slots_available: int) -> Any:
        return False if manager.f_counter < 20 else super().select_optimizer(
            manager, log, slots_available)


@pytest.mark.parametrize(("check", "component", "match"), [
    (check_generator_points_in_bounds, Overshoots(), r"outside the bounds \[\[-2.0, 3.0\]"),
    (check_generator_seeded, GlobalRandom(), "seeded alike generated different points"),
    (check_generator_pickles, PicklesWithoutItsState(), "unpickled mid-run generates other"),
    (check_selector_returns_copies, SharesItsKwargs(RandomOptimizer),
     "returns its own init_kwargs/call_kwargs dicts"),
    (check_selector_protocol, ComesBack(RandomOptimizer),
     "after returning False: False means spawning is over for good"),
])
def test_spawning_checks_fail_broken_components(check: Any, component: Any, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check(component)


# -- backends ------------------------------------------------------------------------------------


class Unordered(ThreadsBackend):
    def evaluate_batch(self, xs: np.ndarray) -> list[Any]:
        return sorted(super().evaluate_batch(xs))


class WrapsErrors(ThreadsBackend):
    def evaluate(self, x: np.ndarray) -> Any:
        try:
            return super().evaluate(x)
        except Exception as exc:
            raise RuntimeError(f"task failed: {exc}") from exc


class SwallowsErrors(ThreadsBackend):
    def evaluate(self, x: np.ndarray) -> Any:
        try:
            return super().evaluate(x)
        except Exception:
            return float("nan")


class LeavesAProcess(ThreadsBackend):
    """Starts a helper process at start() and never ends it."""

    def start(self, task: Any, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        import subprocess
        import sys

        super().start(task, max_workers, detailed=detailed, timeout=timeout)
        self.helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_backend_checks_fail_broken_backends() -> None:
    with pytest.raises(AssertionError, match="results must be in the order of the rows"):
        check_backend_order(Unordered)
    with pytest.raises(AssertionError, match=r"raised RuntimeError: task failed.*re-raise the "
                                             r"task's own exception"):
        check_backend_task_errors(WrapsErrors)
    with pytest.raises(AssertionError, match="returned for a task that raised"):
        check_backend_task_errors(SwallowsErrors)
    with pytest.raises(AssertionError, match="left 1 of the processes it started running"):
        try:
            check_backend_shutdown(LeavesAProcess)
        finally:
            import psutil

            for child in psutil.Process().children():
                if child.cmdline()[-1:] == ["import time; time.sleep(60)"]:
                    child.kill()
                    child.wait(10)


# -- loggers -------------------------------------------------------------------------------------


class DropsFailed(BaseLogger):
    def put_iteration(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                      extras: Sequence[Sequence[Any]] | None = None) -> None:
        keep = np.isfinite(fx)
        super().put_iteration(opt_id, call_ids[keep], x[keep], fx[keep], extras)


class ForgetsMessages(BaseLogger):
    def checkpoint_save(self, path: Any = "", block: Sequence[str] | None = None) -> None:
        super().checkpoint_save(path, [*(block or ()), "_messages"])

    @classmethod
    def checkpoint_load(cls, path: Any) -> BaseLogger:
        log = super().checkpoint_load(path)
        log._messages = {}
        return log


def test_logger_checks_fail_broken_loggers() -> None:
    with pytest.raises(AssertionError, match=r"DropsFailed.get_history\(2, 'call_id'\) returned "
                                             r"\[6, 7, 9, 10, 12, 13, 20, 21\], but"):
        check_logger_rows(DropsFailed)
    with pytest.raises(AssertionError, match=r"loaded from a checkpoint has messages \[\]"):
        check_logger_checkpoint(ForgetsMessages)


# -- entry points --------------------------------------------------------------------------------


def test_component_kinds_are_recognised_and_mistakes_named() -> None:
    assert component_kind(BestUnmoving(calls=3)) == "stopper"
    assert component_kind(MaxFuncCalls(fmax=3)) == "exit_condition"
    assert component_kind(RandomGenerator()) == "generator"
    assert component_kind(CycleSelector(RandomOptimizer)) == "selector"
    assert component_kind(ThreadsBackend) == "backend"
    assert component_kind(BaseLogger) == "logger"
    with pytest.raises(TypeError, match="is an optimizer: check it with parametrize_with_checks"):
        component_kind(RandomOptimizer)
    with pytest.raises(TypeError, match="given as instances"):
        component_kind(BestUnmoving)


def test_parametrize_ids_kinds_and_skip() -> None:
    mark = parametrize_with_component_checks(
        [BestUnmoving(calls=3), MaxFuncCalls(fmax=3), RandomGenerator(),
         (ThreadsBackend, {}), BaseLogger], skip={"check_condition_pickles"})
    argnames, params = mark.args
    assert argnames == ("component", "check")
    ids = [p.id for p in params]
    n = {k: len(v) for k, v in COMPONENT_CHECKS.items()}
    assert len(ids) == len(set(ids)) == (n["stopper"] - 1) + (n["exit_condition"] - 1) + \
        n["generator"] + n["backend"] + n["logger"]
    assert "BestUnmoving(calls=3, tol=0)-check_expression_round_trip" in ids
    assert "MaxFuncCalls(fmax=3)-check_stopper_history_window" not in ids
    assert "ThreadsBackend-check_backend_order" in ids
    assert not any("check_condition_pickles" in i for i in ids)
    with pytest.raises(ValueError, match=r"unknown check\(s\) in skip: \['check_nothing'\]"):
        parametrize_with_component_checks([BaseLogger], skip=["check_nothing"])


def test_check_component_without_pytest() -> None:
    outcome = check_component(BestUnmoving(calls=20, tol=0.01))
    assert set(outcome) == {c.__name__ for c in COMPONENT_CHECKS["stopper"]}
    assert set(outcome.values()) == {"passed"}
    with pytest.raises(AssertionError, match=r"^check_generator_points_in_bounds: Overshoots"):
        check_component(Overshoots())


def test_the_plugin_guide_lists_every_registration_hook_and_every_check() -> None:
    from pathlib import Path

    import glompo_core.hookspecs as specs
    from glompo_core.testing import ALL_CHECKS

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guides" /
             "writing-a-plugin.md").read_text(encoding="utf-8")
    hooks = [name for name in vars(specs) if name.startswith("glompo_register_")]
    assert len(hooks) >= 8
    checks = {c.__name__ for kind in COMPONENT_CHECKS.values() for c in kind}
    assert [h for h in hooks if f"`{h}`" not in guide] == []
    assert sorted(c for c in checks if f"`{c}`" not in guide) == []
    assert "check_checkpoint" in {c.__name__ for c in ALL_CHECKS}


# -- the harness ---------------------------------------------------------------------------------


def test_the_hook_recorder_takes_every_argument_of_every_lifecycle_hook() -> None:
    import inspect

    import glompo_core.hookspecs as specs
    from glompo_core.testing import HookRecorder

    for hook in specs.LIFECYCLE_HOOKS:
        spec = list(inspect.signature(getattr(specs, hook)).parameters)
        impl = list(inspect.signature(getattr(HookRecorder(), hook)).parameters)
        assert impl == spec, hook


def test_the_hook_recorder_records_a_run(tmp_path: Any) -> None:
    from glompo_core import GloMPOManager
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.plugins import PluginManager
    from glompo_core.testing import HookRecorder

    recorder = HookRecorder()
    pm = PluginManager(load_entrypoints=False, plugins=[("recorder", recorder)])
    manager = GloMPOManager.new_manager(
        task=lambda x: float(np.sum(np.asarray(x) ** 2)), bounds=[(-1.0, 1.0)] * 2,
        opt_selector=CycleSelector((RandomOptimizer, {"popsize": 5}, {}), plugin_manager=pm),
        working_dir=tmp_path, max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=40), summary_files=0, split_printstreams=False,
        seed=3, plugin_manager=pm)
    manager.start_manager()
    names = recorder.names()
    assert names[:2] == ["glompo_run_control", "glompo_run_started"]
    assert names[-1] == "glompo_run_finished"
    batches = recorder.of("glompo_iteration_batch")
    call_ids = np.concatenate([b["call_ids"] for b in batches])
    assert sorted(call_ids.tolist()) == list(range(1, manager.f_counter + 1))
    assert recorder.of("glompo_optimizer_started")[0]["opt_id"] == 1
    best = recorder.of("glompo_best_improved")[-1]
    assert best["fx"] == manager.result.fx
