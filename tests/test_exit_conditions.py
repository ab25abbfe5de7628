"""Tests of the built-in exit conditions, on a fake manager view."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from glompo_core.exit_conditions import (
    BaseExitCondition,
    KillsAfterConvergence,
    MaxFuncCalls,
    MaxKills,
    MaxOptsStarted,
    MaxSeconds,
    NOptConverged,
    TargetCost,
)
from glompo_core.exit_conditions import __all__ as exit_all
from glompo_core.result import Result
from glompo_core.stoppers import MinFuncCalls
from glompo_core.testing import FakeManagerView

NOW = 1_000_000.0


def View(**attributes: Any) -> Any:
    """A fake manager view (typed Any: it stands in for the ManagerView protocol)."""
    return FakeManagerView(**attributes)


@pytest.fixture
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)


def test_all_lists_every_exit_condition() -> None:
    assert exit_all == ["BaseExitCondition", "KillsAfterConvergence", "MaxFuncCalls", "MaxKills",
                        "MaxOptsStarted", "MaxSeconds", "NOptConverged", "TargetCost"]


def test_max_func_calls() -> None:
    cond = MaxFuncCalls(fmax=100)
    assert cond(View(f_counter=99)) is False
    assert cond(View(f_counter=100)) is True
    assert cond(View(f_counter=101)) is True
    assert cond.last_result is True


def test_max_opts_started() -> None:
    cond = MaxOptsStarted(max_opts=3)
    assert cond(View(o_counter=2)) is False
    assert cond(View(o_counter=3)) is True


def test_n_opt_converged() -> None:
    cond = NOptConverged(nconv=2)
    assert cond(View(converged=1)) is False
    assert cond(View(converged=2)) is True


def test_max_kills() -> None:
    cond = MaxKills(kills_max=2)
    assert cond(View(stopped_opts={}, converged=5)) is False
    assert cond(View(stopped_opts={4: 10.0})) is False
    assert cond(View(stopped_opts={4: 10.0, 7: 12.5})) is True


def test_target_cost() -> None:
    cond = TargetCost(target=1.0, atol=0.5)
    assert cond(View(result=Result(fx=1.5))) is True  # within atol above the target
    assert cond(View(result=Result(fx=1.5000001))) is False
    assert cond(View(result=Result(fx=-3.0))) is True  # beyond the target
    assert cond(View(result=Result())) is False  # nothing found yet: fx = inf
    assert cond(View(result=Result(fx=float("nan")))) is False


def test_target_cost_default_atol() -> None:
    cond = TargetCost(target=0)
    assert cond(View(result=Result(fx=1e-6))) is True
    assert cond(View(result=Result(fx=2e-6))) is False


@pytest.mark.usefixtures("frozen_time")
def test_max_seconds_session() -> None:
    cond = MaxSeconds(session_max=60)
    assert cond(View(t_start=NOW - 59.5, t_used=1e6)) is False  # t_used does not count
    assert cond(View(t_start=NOW - 60)) is True
    assert cond(View(t_start=None)) is False  # not started


@pytest.mark.usefixtures("frozen_time")
def test_max_seconds_overall() -> None:
    cond = MaxSeconds(overall_max=100)
    assert cond(View(t_start=NOW - 60, t_used=39.5)) is False
    assert cond(View(t_start=NOW - 60, t_used=40)) is True
    assert cond(View(t_start=None, t_used=100)) is True
    assert cond(View(t_start=None, t_used=99)) is False


@pytest.mark.usefixtures("frozen_time")
def test_max_seconds_both() -> None:
    cond = MaxSeconds(session_max=60, overall_max=100)
    assert cond(View(t_start=NOW - 50, t_used=49)) is False
    assert cond(View(t_start=NOW - 50, t_used=50)) is True  # overall reached first
    assert cond(View(t_start=NOW - 60, t_used=0)) is True  # session reached first


def test_max_seconds_real_clock() -> None:
    assert MaxSeconds(session_max=3600)(View(t_start=time.time())) is False
    assert MaxSeconds(session_max=1)(View(t_start=time.time() - 5)) is True


def test_kills_after_convergence() -> None:
    cond = KillsAfterConvergence(n_killed=2, n_converged=1)
    stopped = {1: 1.0, 2: 2.0, 3: 3.0}
    assert cond(View(converged=0, stopped_opts=stopped)) is False  # kills before do not count
    assert cond(View(converged=1, stopped_opts=stopped)) is False
    assert cond.kills_at_convergence == 3
    cond.reset()  # only forgets the last result
    assert cond.kills_at_convergence == 3
    assert cond(View(converged=1, stopped_opts={**stopped, 4: 4.0})) is False
    assert cond(View(converged=1, stopped_opts={**stopped, 4: 4.0, 5: 5.0})) is True


def test_kills_after_convergence_defaults_and_zero() -> None:
    cond = KillsAfterConvergence()
    assert str(cond) == "KillsAfterConvergence(n_killed=1, n_converged=1)"
    assert cond(View(converged=1)) is False
    assert cond(View(converged=1, stopped_opts={9: 1.0})) is True
    cond = KillsAfterConvergence(n_killed=0, n_converged=2)
    assert cond(View(converged=1)) is False
    assert cond(View(converged=2)) is True


def test_combination_is_lazy_and_prints() -> None:
    a = MaxFuncCalls(fmax=100)
    b = MaxSeconds(session_max=60)
    c = NOptConverged(nconv=1)
    combo: Any = (a | b) & c
    assert isinstance(a, BaseExitCondition)
    assert str(a | b) == "MaxFuncCalls(fmax=100) | MaxSeconds(session_max=60, overall_max=None)"
    assert str(combo) == ("[MaxFuncCalls(fmax=100) | MaxSeconds(session_max=60, overall_max=None)]"
                          " & NOptConverged(nconv=1)")

    assert combo(View(f_counter=100, converged=0)) is False
    assert (a.last_result, b.last_result, c.last_result) == (True, None, False)
    assert combo.str_with_result() == (
        "[MaxFuncCalls(fmax=100) = True |\nMaxSeconds(session_max=60, overall_max=None) = None]"
        " &\nNOptConverged(nconv=1) = False")

    assert combo(View(f_counter=5, t_start=None, converged=3)) is False
    assert (a.last_result, b.last_result, c.last_result) == (False, False, None)

    assert combo(View(f_counter=5, t_start=time.time() - 61, converged=3)) is True
    assert (a.last_result, b.last_result, c.last_result) == (False, True, True)


def test_exit_conditions_do_not_combine_with_stoppers() -> None:
    with pytest.raises(TypeError):
        _ = MaxFuncCalls(fmax=10) | MinFuncCalls(min_pts=3)


def test_str() -> None:
    assert str(TargetCost(0)) == "TargetCost(target=0, atol=1e-06)"
    assert str(MaxKills(3) | MaxOptsStarted(4)) == ("MaxKills(kills_max=3) | "
                                                    "MaxOptsStarted(max_opts=4)")


@pytest.mark.parametrize(("make", "match"), [
    (lambda: MaxFuncCalls(fmax=0), r"fmax must be a positive integer, got 0"),
    (lambda: MaxFuncCalls(fmax=10.5), r"fmax must be a positive integer, got 10\.5"),  # type: ignore[arg-type]
    (lambda: MaxOptsStarted(max_opts=-1), r"max_opts must be a positive integer, got -1"),
    (lambda: NOptConverged(nconv=0), r"nconv must be a positive integer, got 0"),
    (lambda: MaxKills(kills_max=0), r"kills_max must be a positive integer, got 0"),
    (lambda: KillsAfterConvergence(n_killed=-1), r"n_killed must be a non-negative integer"),
    (lambda: KillsAfterConvergence(n_converged=0), r"n_converged must be a positive integer"),
    (lambda: TargetCost(target=float("inf")), r"target must be a finite number"),
    (lambda: TargetCost(target="0"), r"target must be a finite number"),  # type: ignore[arg-type]
    (lambda: TargetCost(target=0, atol=-1e-3), r"atol must be a non-negative finite number"),
    (lambda: MaxSeconds(), r"MaxSeconds needs session_max or overall_max"),
    (lambda: MaxSeconds(session_max=0), r"session_max must be a positive finite number"),
    (lambda: MaxSeconds(overall_max=-5), r"overall_max must be a positive finite number"),
    (lambda: MaxSeconds(session_max="60"), r"session_max must be a positive finite number"),  # type: ignore[arg-type]
])
def test_bad_arguments(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
