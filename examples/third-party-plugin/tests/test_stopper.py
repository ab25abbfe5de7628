"""StallSeconds: on hand-built logs with a fake clock, then in real GloMPO runs."""

from __future__ import annotations

import itertools
import pickle
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import glompo_compass.hooks
import glompo_compass.stopper
import numpy as np
import pytest
from glompo_compass import StallSeconds

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
from glompo_core.expressions import parse_expression
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
from glompo_core.stoppers import BaseStopper, BestUnmoving, MinFuncCalls
from glompo_core.testing import parametrize_with_component_checks

PM = PluginManager(load_entrypoints=False, plugins=[("compass", glompo_compass.hooks)])


class Clock:
    """A settable clock, installed in place of the stopper's."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(glompo_compass.stopper, "_now", fake)
    return fake


def put(log: BaseLogger, opt_id: int, fx: Sequence[float]) -> None:
    """Record evaluations ``fx`` of optimizer ``opt_id`` (added to the log if new)."""
    if opt_id not in log.opt_ids:
        log.add_optimizer(opt_id, "CompassSearch", 0.0)
    start = len(log)
    log.put_iteration(opt_id, call_ids=np.arange(start + 1, start + 1 + len(fx)),
                      x=np.zeros((len(fx), log.n_parms)), fx=np.array(fx, dtype=float))


# -------------------------------------------------------------------- conformance kit


@parametrize_with_component_checks(
    [StallSeconds(seconds=600), StallSeconds(seconds=30, tol=0.01),
     MinFuncCalls(min_pts=20) & StallSeconds(seconds=60)], plugin_manager=PM)
def test_conformance(component: Any, check: Callable[[Any], None]) -> None:
    check(component)


# ------------------------------------------------------------------ the rule, precisely


def test_stops_after_the_stall_and_not_before(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [5.0, 4.0])
    stopper = StallSeconds(seconds=10)
    assert stopper(log, 1, 1) is False  # first seen: the clock starts (t = 1000)
    put(log, 1, [4.5, 6.0])  # evaluations, no improvement
    clock.t = 1009.999
    assert (stopper(log, 1, 1), stopper.last_result) == (False, False)
    clock.t = 1010.0
    assert (stopper(log, 1, 1), stopper.last_result) == (True, True)
    assert stopper.stalled_for(1) == pytest.approx(10.0)
    assert stopper.stalled_for(2) is None


def test_an_improvement_restarts_the_clock(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [5.0])
    stopper = StallSeconds(seconds=10)
    assert not stopper(log, 1, 1)
    clock.t = 1008.0
    put(log, 1, [4.9])  # a new best
    assert not stopper(log, 1, 1)
    clock.t = 1017.0  # 17 s after the start, 9 s after the improvement
    assert not stopper(log, 1, 1)
    clock.t = 1018.0
    assert stopper(log, 1, 1)


def test_an_optimizer_that_keeps_improving_is_never_stopped(clock: Clock) -> None:
    log = BaseLogger(1)
    stopper = StallSeconds(seconds=1)
    for i in range(200):
        put(log, 1, [100.0 - i])
        clock.t += 5.0  # checks are far apart, but each one sees a better value
        assert not stopper(log, 1, 1), i


def test_tol_ignores_small_improvements(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [100.0])
    stopper = StallSeconds(seconds=10, tol=0.01)
    assert not stopper(log, 1, 1)
    clock.t = 1005.0
    put(log, 1, [99.5])  # -0.5 %: not significant, the clock keeps running
    assert not stopper(log, 1, 1)
    clock.t = 1010.0
    assert stopper(log, 1, 1)
    put(log, 1, [98.0])  # -2 %: significant
    assert not stopper(log, 1, 1)
    clock.t = 1019.9
    assert not stopper(log, 1, 1)


def test_optimizers_have_their_own_clocks(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [1.0])
    put(log, 2, [2.0])
    stopper = StallSeconds(seconds=10)
    assert not stopper(log, 1, 1)
    clock.t = 1006.0
    assert not stopper(log, 1, 2)  # optimizer 2 first seen now
    clock.t = 1010.0
    assert stopper(log, 1, 1) and not stopper(log, 1, 2)
    clock.t = 1016.0
    assert stopper(log, 1, 2)


def test_no_finite_value_is_a_stall_too(clock: Clock) -> None:
    log = BaseLogger(1)
    log.add_optimizer(1, "CompassSearch", 0.0)  # no evaluation yet: best is +inf
    stopper = StallSeconds(seconds=2)
    assert not stopper(log, 1, 1)
    put(log, 1, [float("nan"), float("inf")])
    clock.t = 1002.0
    assert stopper(log, 1, 1)
    put(log, 1, [7.0])  # the first finite value is an improvement
    assert not stopper(log, 1, 1)


# ------------------------------------------------------- the core stopper protocol


def test_it_is_a_stopper_that_prints_like_the_core_ones() -> None:
    stopper = StallSeconds(seconds=30, tol=0.001)
    assert isinstance(stopper, BaseStopper) and stopper.kind == "stopper"
    assert str(stopper) == repr(stopper) == "StallSeconds(seconds=30, tol=0.001)"
    assert str(StallSeconds(2.5)) == "StallSeconds(seconds=2.5, tol=0)"
    assert stopper.history_needed == 0


def test_it_combines_with_core_stoppers(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [3.0, 3.0, 3.0])
    both = MinFuncCalls(min_pts=5) & StallSeconds(seconds=10)
    either = StallSeconds(seconds=10) | BestUnmoving(calls=4)
    assert str(both) == "MinFuncCalls(min_pts=5) & StallSeconds(seconds=10, tol=0)"
    assert str(either) == "StallSeconds(seconds=10, tol=0) | BestUnmoving(calls=4, tol=0)"
    stall_b = both.leaves()[1]
    assert isinstance(stall_b, StallSeconds)

    both.reset()
    assert not both(log, 1, 1)
    assert stall_b.last_result is None  # not called: MinFuncCalls is False (3 < 5)
    put(log, 1, [3.0, 3.0])
    both.reset()
    assert not both(log, 1, 1)  # called at last: its clock starts now
    clock.t = 1010.0
    both.reset()
    assert both(log, 1, 1)
    assert both.str_with_result() == ("MinFuncCalls(min_pts=5) = True &\n"
                                      "StallSeconds(seconds=10, tol=0) = True")

    falling = BaseLogger(1)
    put(falling, 1, [5.0, 4.0, 3.0])
    either.reset()
    assert not either(falling, 1, 1)  # StallSeconds: first seen; BestUnmoving: improving
    clock.t = 1020.0
    either.reset()
    assert either(falling, 1, 1)  # 10 s stalled: BestUnmoving is not even asked
    assert either.leaves()[1].last_result is None
    put(falling, 1, [2.0] * 5)  # an improvement, then 4 evaluations without a change
    either.reset()
    assert either(falling, 1, 1)  # no stall (the clock restarted) but BestUnmoving fires
    assert [leaf.last_result for leaf in either.leaves()] == [False, True]


def test_it_is_found_by_name_in_expressions() -> None:
    cond = parse_expression("StallSeconds(seconds=1.5) & MinFuncCalls(min_pts=10)",
                            "stopper", PM)
    assert str(cond) == "StallSeconds(seconds=1.5, tol=0) & MinFuncCalls(min_pts=10)"
    assert isinstance(cond.leaves()[0], StallSeconds)


def test_a_pickled_stopper_restarts_its_clocks(clock: Clock) -> None:
    log = BaseLogger(1)
    put(log, 1, [1.0])
    stopper = StallSeconds(seconds=10, tol=0.5)
    assert not stopper(log, 1, 1)
    clock.t = 1009.0
    copy = pickle.loads(pickle.dumps(stopper))
    assert str(copy) == str(stopper) and copy.history_needed == 0
    clock.t = 1010.0
    assert stopper(log, 1, 1)
    assert not copy(log, 1, 1)  # resumed: the optimizer gets its 10 s afresh
    clock.t = 1020.0
    assert copy(log, 1, 1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"seconds": 0}, "seconds must be a positive finite number, got 0"),
    ({"seconds": -1.0}, "seconds must be a positive finite number"),
    ({"seconds": float("inf")}, "seconds must be a positive finite number"),
    ({"seconds": float("nan")}, "seconds must be a positive finite number"),
    ({"seconds": True}, "seconds must be a positive finite number"),
    ({"seconds": "10"}, "seconds must be a positive finite number"),
    ({"seconds": 1, "tol": 1.5}, "tol must be a number between 0 and 1, got 1.5"),
    ({"seconds": 1, "tol": -0.1}, "tol must be a number between 0 and 1"),
])
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StallSeconds(**kwargs)


# ------------------------------------------------------------------- in GloMPO runs


def manager_run(tmp_path: Path, task: Any, stoppers: Any, **kwargs: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=task, bounds=[(-1.0, 1.0)] * 2,
        opt_selector=CycleSelector("RandomOptimizer", plugin_manager=PM),
        working_dir=tmp_path, max_jobs=1, backend="threads", stoppers=stoppers,
        stopcheck_interval=1, apply_stoppers_to_best=True, split_printstreams=False,
        summary_files=0, seed=1, plugin_manager=PM)
    settings.update(kwargs)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


def test_a_stalled_optimizer_is_stopped_after_the_stall(tmp_path: Path) -> None:
    def flat(x: Sequence[float]) -> float:  # a plateau: nothing ever improves
        time.sleep(0.001)
        return 1.0

    manager = manager_run(
        tmp_path, flat, StallSeconds(seconds=0.3),
        opt_selector=CycleSelector("RandomOptimizer", plugin_manager=PM,
                                   allow_spawn=NOptimizersSpawnStop(max_opts=1)),
        exit_conditions=MaxSeconds(session_max=10))
    assert manager.o_counter == 1 and list(manager.stopped_opts) == [1]
    ran = manager.stopped_opts[1] - manager.opt_log.get_metadata(1, "t_start")
    assert ran >= 0.3  # not before the stall's 0.3 s; by this stopper, not the run's end:
    assert manager.opt_log.get_metadata(1, "end_cond") == "StallSeconds(seconds=0.3, tol=0) = True"


def test_an_improving_optimizer_is_never_stopped(tmp_path: Path) -> None:
    counter = itertools.count()

    def falling(x: Sequence[float]) -> float:  # every evaluation beats all earlier ones
        time.sleep(0.001)
        return -float(next(counter))

    # one optimizer: every check follows one of its batches, each holding a new best,
    # so however the threads are scheduled the clock restarts at every check
    manager = manager_run(tmp_path, falling, StallSeconds(seconds=0.05),
                          exit_conditions=MaxFuncCalls(fmax=300) | MaxSeconds(session_max=60))
    assert manager.o_counter == 1 and manager.stopped_opts == {}
    assert manager.f_counter >= 300  # the run went on: 300 checks, no stop
    assert manager.hunt_counter >= 299
