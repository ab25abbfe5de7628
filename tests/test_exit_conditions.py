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


# ---------------------------------------------------------------------------------- progress


def test_progress_of_the_counting_conditions() -> None:
    assert MaxFuncCalls(fmax=200).progress(View(f_counter=50)) == 0.25
    assert MaxFuncCalls(fmax=200).progress(View(f_counter=500)) == 1.0  # clipped
    assert MaxOptsStarted(max_opts=8).progress(View(o_counter=2)) == 0.25
    assert NOptConverged(nconv=4).progress(View(converged=3)) == 0.75
    assert MaxKills(kills_max=2).progress(View(stopped_opts={1: 1.0})) == 0.5
    assert MaxKills(kills_max=2).progress(View(converged=9)) == 0.0  # convergences do not count


@pytest.mark.usefixtures("frozen_time")
def test_progress_of_max_seconds_is_the_larger_share() -> None:
    assert MaxSeconds(session_max=60).progress(View(t_start=NOW - 15, t_used=1e6)) == 0.25
    assert MaxSeconds(session_max=60).progress(View(t_start=None)) == 0.0
    assert MaxSeconds(overall_max=100).progress(View(t_start=NOW - 10, t_used=30)) == 0.4
    both = MaxSeconds(session_max=60, overall_max=100)
    assert both.progress(View(t_start=NOW - 30, t_used=0)) == 0.5  # session: 30/60
    assert both.progress(View(t_start=NOW - 30, t_used=50)) == 0.8  # overall: 80/100
    assert both.progress(View(t_start=NOW - 90, t_used=50)) == 1.0


def test_progress_of_target_cost_is_only_known_once_reached() -> None:
    cond = TargetCost(target=1.0, atol=0.5)
    assert cond.progress(View(result=Result())) is None
    assert cond.progress(View(result=Result(fx=float("nan")))) is None
    assert cond.progress(View(result=Result(fx=1.6))) is None
    assert cond.progress(View(result=Result(fx=1.5))) == 1.0


def test_progress_of_kills_after_convergence_counts_both_stages() -> None:
    cond = KillsAfterConvergence(n_killed=2, n_converged=2)
    stopped = {1: 1.0, 2: 2.0}
    assert cond.progress(View(converged=0, stopped_opts=stopped)) == 0.0  # stops before: no
    assert cond.progress(View(converged=1, stopped_opts=stopped)) == 0.25
    view = View(converged=2, stopped_opts=stopped)
    assert cond.progress(view) == 0.5
    remembered = cond.kills_at_convergence
    assert remembered is None  # progress only reads
    assert cond(view) is False and cond.kills_at_convergence == 2  # set by the call
    view = View(converged=2, stopped_opts={**stopped, 3: 3.0})
    assert (cond(view), cond.progress(view)) == (False, 0.75)
    view = View(converged=2, stopped_opts={**stopped, 3: 3.0, 4: 4.0, 5: 5.0})
    assert (cond(view), cond.progress(view)) == (True, 1.0)
    zero = KillsAfterConvergence(n_killed=0, n_converged=1)
    assert zero.progress(View(converged=1)) == 1.0 and zero(View(converged=1)) is True


def test_progress_of_combinations_or_is_the_max_and_the_min() -> None:
    a, b = MaxFuncCalls(fmax=100), NOptConverged(nconv=4)
    view = View(f_counter=30, converged=2)
    assert (a | b).progress(view) == 0.5
    assert (a & b).progress(view) == 0.3
    assert ((a | b) & MaxOptsStarted(max_opts=10)).progress(View(f_counter=30, converged=2,
                                                                 o_counter=4)) == 0.4


class _NoProgress(BaseExitCondition):
    """A third-party exit condition written before progress existed."""

    def __init__(self, answer: bool = False) -> None:
        super().__init__()
        self.answer = answer

    def __call__(self, manager: Any) -> bool:
        return self.answer


def test_a_condition_without_progress_keeps_working_and_is_left_out() -> None:
    old = _NoProgress()
    view = View(f_counter=30)
    assert old.progress(view) is None
    assert old(view) is False
    assert (old | MaxFuncCalls(fmax=100)).progress(view) == 0.3
    assert (MaxFuncCalls(fmax=100) & old).progress(view) == 0.3
    assert (old | TargetCost(target=0)).progress(View(result=Result(fx=3.0))) is None
    assert str(old | MaxFuncCalls(fmax=100)) == "_NoProgress(answer=False) | MaxFuncCalls(fmax=100)"


def test_progress_of_a_part_is_clipped_and_nan_is_cannot_tell() -> None:
    class Wild(_NoProgress):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def progress(self, manager: Any) -> float | None:
            return self.value

    view = View(f_counter=10)
    assert (Wild(1.7) | MaxFuncCalls(fmax=100)).progress(view) == 1.0
    assert (Wild(-0.5) | MaxFuncCalls(fmax=100)).progress(view) == 0.1
    assert (Wild(float("nan")) & MaxFuncCalls(fmax=100)).progress(view) == 0.1


def test_stopper_combinations_cannot_tell() -> None:
    combo: Any = MinFuncCalls(min_pts=3) | MinFuncCalls(min_pts=5)
    assert combo.progress(View()) is None


# ------------------------------------------------------------- the conformance check of progress


class _Budget(BaseExitCondition):
    """Met at ``fmax`` evaluations; its progress is a settable formula (for the kit's check)."""

    def __init__(self, fmax: int = 60, how: str = "right") -> None:
        super().__init__()
        self.fmax = fmax
        self.how = how
        self.calls = 0

    def __call__(self, manager: Any) -> bool:
        if self.how == "mutates":
            return self.calls >= 3
        return manager.f_counter >= self.fmax

    def progress(self, manager: Any) -> float | None:
        share = manager.f_counter / self.fmax
        if self.how == "unclipped":
            return share
        if self.how == "half-when-met":
            return min(share, 0.5)
        if self.how == "mutates":
            self.calls += 1
        return min(share, 1.0)


@pytest.mark.parametrize("cond", [
    MaxFuncCalls(fmax=60), MaxOptsStarted(max_opts=2), MaxKills(kills_max=2),
    NOptConverged(nconv=1), MaxSeconds(overall_max=10), TargetCost(target=0.3, atol=0.1),
    KillsAfterConvergence(n_killed=1, n_converged=1), _Budget(),
    MaxFuncCalls(fmax=60) | TargetCost(target=0.3), NOptConverged(nconv=2) & MaxKills(2),
    _NoProgress() | MaxFuncCalls(fmax=60),
], ids=str)
def test_the_kits_progress_check_passes_good_conditions(cond: Any) -> None:
    from glompo_core.testing._conditions import check_condition_progress

    check_condition_progress(cond)


@pytest.mark.parametrize(("how", "match"), [
    ("unclipped", r"returned 1\.09\d* at step \d+: return a number in \[0, 1\]"),
    ("half-when-met", r"returned 0\.5 at step \d+, when the condition answered True"),
    ("mutates", r"answers differently when progress is called between its answers"),
])
def test_the_kits_progress_check_fails_bad_progress(how: str, match: str) -> None:
    from glompo_core.testing._conditions import check_condition_progress

    with pytest.raises(AssertionError, match=match):
        check_condition_progress(_Budget(fmax=110, how=how) if how == "unclipped" else
                                 _Budget(how=how))


def test_the_kits_progress_check_is_run_for_exit_conditions_only() -> None:
    from glompo_core.testing import COMPONENT_CHECKS

    assert "check_condition_progress" in {c.__name__ for c in COMPONENT_CHECKS["exit_condition"]}
    assert "check_condition_progress" not in {c.__name__ for c in COMPONENT_CHECKS["stopper"]}
