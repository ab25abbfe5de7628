"""The budget rule (glompo_core.budget) and the manager filling an optimizer's budget argument."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from glompo_core import GloMPOManager
from glompo_core.budget import (
    BudgetShare,
    bounding_condition,
    budget_share,
    fill_budget_argument,
    optimizer_budget,
    run_budget,
)
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds, NOptConverged, TargetCost
from glompo_core.optimizers import BaseOptimizer
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
from tests.helpers import StepOptimizer, sphere

F100, F400 = MaxFuncCalls(fmax=100), MaxFuncCalls(fmax=400)
SECONDS, TARGET = MaxSeconds(session_max=60), TargetCost(target=0.0)


@pytest.mark.parametrize(("conditions", "expected"), [
    (None, None),
    (F100, 100),
    (SECONDS, None),
    (TARGET | SECONDS, None),
    (F100 | SECONDS, 100),                   # either side ends the run: 100 at the latest
    (SECONDS | F100, 100),
    (F100 | F400, 100),                      # the smaller of two bounds
    (F400 | F100, 100),
    (F100 & SECONDS, None),                  # may run past 100 evaluations: no budget
    (SECONDS & F100, None),
    (F100 & F400, 400),                      # both must be true: the larger bound
    ((F100 | TARGET) & F400, 400),
    ((F100 | TARGET) & (SECONDS | F400), 400),
    ((F100 & SECONDS) | F400, 400),          # the left side bounds nothing
    ((F100 & SECONDS) | (TARGET & SECONDS), None),
    ((F100 & F400) | (MaxFuncCalls(fmax=250) | TARGET), 250),
    (NOptConverged(nconv=2) | (F400 & (F100 | SECONDS)), 400),
    (MaxFuncCalls(fmax=1e5), 100_000),       # a whole float, as a run file may give it
], ids=lambda v: str(v))
def test_the_runs_budget_follows_the_or_and_and_of_its_exit_conditions(
        conditions: Any, expected: int | None) -> None:
    assert run_budget(conditions) == expected
    cond = bounding_condition(conditions)
    assert (cond is None) == (expected is None)
    if cond is not None:
        assert isinstance(cond, MaxFuncCalls) and cond.fmax == expected


@pytest.mark.parametrize(("f_counter", "max_jobs", "workers", "expected"), [
    (0, 1, 1, 10_000),
    (0, 4, 1, 2_500),
    (4_000, 4, 1, 1_500),      # what is left, shared
    (0, 8, 2, 2_500),          # 8 slots, 2 per optimizer: 4 at once
    (0, 8, 3, 5_000),          # 8 // 3 = 2 at once
    (0, 2, 4, 10_000),         # more workers than max_jobs: still one at a time
    (0, 3, 1, 3_333),          # rounded down: the shares never exceed what is left
    (9_999, 4, 1, 1),          # at least 1
    (12_000, 4, 1, 1),         # overspent (evaluations in flight): still at least 1
])
def test_an_optimizers_share_is_what_is_left_divided_among_those_running_at_once(
        f_counter: int, max_jobs: int, workers: int, expected: int) -> None:
    cond = MaxFuncCalls(fmax=10_000) | SECONDS
    assert optimizer_budget(cond, f_counter, max_jobs, workers) == expected
    share = budget_share(cond, f_counter, max_jobs, workers)
    assert share is not None and share.value == expected and share.spent == f_counter
    assert share.run_budget == 10_000 and share.source is cond.first  # type: ignore[attr-defined]


def test_no_budget_without_a_bounding_max_func_calls() -> None:
    assert optimizer_budget(F100 & SECONDS, 0, 4, 1) is None
    assert optimizer_budget(None, 0, 4, 1) is None
    assert budget_share(TARGET, 0, 4) is None


def test_the_share_says_where_it_came_from() -> None:
    share = budget_share(F400 | SECONDS, f_counter=100, max_jobs=6, workers=2)
    assert share == BudgetShare(value=100, run_budget=400, spent=100, slots=3, source=F400)
    assert share.describe() == (
        "budget=100 from the run's MaxFuncCalls(fmax=400): (400 - 100 spent) // 3 at once")
    filled = fill_budget_argument(Budgeted, {}, F400 | SECONDS, 100, 6, 2)
    assert filled is not None and filled.argument == "iters"
    assert filled.describe().startswith("iters=100 from the run's MaxFuncCalls(fmax=400)")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"f_counter": -1}, ValueError, "f_counter must be >= 0, got f_counter=-1"),
    ({"max_jobs": 0}, ValueError, "max_jobs must be >= 1, got max_jobs=0"),
    ({"workers": 0}, ValueError, "workers must be >= 1, got workers=0"),
    ({"workers": 1.5}, TypeError, "workers must be a whole number, got workers=1.5"),
    ({"max_jobs": True}, TypeError, "max_jobs must be a whole number"),
])
def test_bad_counts_are_refused_by_name(kwargs: dict[str, Any], error: type[Exception],
                                        match: str) -> None:
    args: dict[str, Any] = {"f_counter": 0, "max_jobs": 4, "workers": 1, **kwargs}
    with pytest.raises(error, match=match):
        optimizer_budget(F100, **args)


def test_numpy_counts_are_whole_numbers() -> None:
    assert optimizer_budget(F400, np.int64(100), np.int32(3), np.int64(1)) == 100


class Budgeted(StepOptimizer):
    """A StepOptimizer whose ``iters`` is a budget the manager may fill."""

    budget_argument: ClassVar[str | None] = "iters"


def test_fill_only_an_argument_the_class_declares_and_the_user_left_out() -> None:
    init: dict[str, Any] = {"step": 0.1}
    share = fill_budget_argument(Budgeted, init, F400, 0, 4, 1)
    assert share is not None and init == {"step": 0.1, "iters": 100}
    given: dict[str, Any] = {"iters": 7}
    assert fill_budget_argument(Budgeted, given, F400, 0, 4, 1) is None and given == {"iters": 7}
    explicit_none: dict[str, Any] = {"iters": None}  # the user's choice: no budget
    assert fill_budget_argument(Budgeted, explicit_none, F400, 0, 4, 1) is None
    assert explicit_none == {"iters": None}
    plain: dict[str, Any] = {}
    assert fill_budget_argument(StepOptimizer, plain, F400, 0, 4, 1) is None and plain == {}
    assert BaseOptimizer.budget_argument is None
    unbounded: dict[str, Any] = {}
    assert fill_budget_argument(Budgeted, unbounded, SECONDS, 0, 4, 1) is None
    assert unbounded == {}


def run(tmp_path: Path, *avail: Any, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=sphere, bounds=[(-2.0, 2.0)] * 2,
        opt_selector=CycleSelector(*avail, allow_spawn=NOptimizersSpawnStop(max_opts=4)),
        working_dir=tmp_path / "run", max_jobs=4, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=400) | MaxSeconds(session_max=600),
        split_printstreams=False, seed=1)
    settings.update(kw)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


def test_the_manager_gives_an_optimizer_its_share_logs_it_and_records_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="glompo"):
        manager = run(tmp_path, (Budgeted, {"step": 0.01}))
    opt_ids = sorted(manager.opt_log.opt_ids)
    assert opt_ids == [1, 2, 3, 4]  # four at once, started together at f_counter = 0
    for opt_id in opt_ids:
        assert manager.opt_log.get_metadata(opt_id, "init_kwargs") == {
            "step": 0.01, "iters": 100, "workers": 1}
        assert manager._opts[opt_id].optimizer.iters == 100
        assert f"optimizer {opt_id}: iters=100 from the run's MaxFuncCalls(fmax=400): " \
               "(400 - 0 spent) // 4 at once" in caplog.messages
    # each used its share (the last may be told to stop as the run ends with it)
    assert [manager.opt_log.len(i) for i in opt_ids] == [100] * 4
    assert manager.f_counter == 400


def test_a_budget_the_user_gives_is_kept(tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="glompo"):
        manager = run(tmp_path, (Budgeted, {"iters": 30}), exit_conditions=MaxFuncCalls(fmax=120))
    assert manager.opt_log.opt_ids
    for opt_id in manager.opt_log.opt_ids:
        assert manager.opt_log.get_metadata(opt_id, "init_kwargs")["iters"] == 30
    assert not any("from the run's MaxFuncCalls" in m for m in caplog.messages)


def test_no_budget_is_filled_when_the_run_has_none(tmp_path: Path) -> None:
    # '&': the run goes on past 50 evaluations until the target is reached too (here at
    # once: the sphere is below 10 everywhere in the bounds), so it has no budget
    manager = run(tmp_path, (Budgeted, {"step": 0.01}), max_jobs=1,
                  exit_conditions=MaxFuncCalls(fmax=50) & TargetCost(target=10.0))
    assert manager.f_counter >= 50
    assert manager.opt_log.get_metadata(1, "init_kwargs") == {"step": 0.01, "workers": 1}
    assert manager._opts[1].optimizer.iters is None
