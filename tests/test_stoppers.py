"""Tests of the built-in stoppers: hand-built histories around each threshold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.stoppers import (
    BaseStopper,
    BestUnmoving,
    EvaluationsUnmoving,
    LastPointsInvalid,
    MinFuncCalls,
    ParameterDistance,
    StepSize,
    TimeAnnealing,
    TypeStopper,
    ValueAnnealing,
)
from glompo_core.stoppers import __all__ as stoppers_all

INF = float("inf")
NAN = float("nan")


def put(log: BaseLogger, opt_id: int, fx: Sequence[float] | np.ndarray,
        x: Sequence[Sequence[float]] | None = None, opt_type: str = "RandomOptimizer") -> None:
    """Add optimizer ``opt_id`` (if new) and record evaluations ``fx`` at points ``x``."""
    if opt_id not in log.opt_ids:
        log.add_optimizer(opt_id, opt_type, 0.0)
    fx_arr = np.array(fx, dtype=float)
    x_arr = np.zeros((len(fx_arr), log.n_parms)) if x is None else np.array(x, dtype=float)
    start = len(log)
    log.put_iteration(opt_id, call_ids=np.arange(start + 1, start + 1 + len(fx_arr)),
                      x=x_arr, fx=fx_arr)


def log_with(fx: Sequence[float] | np.ndarray, n_parms: int = 1,
             window: int | None = None) -> BaseLogger:
    """A log with optimizer 1 holding evaluations ``fx``."""
    log = BaseLogger(n_parms, window=window)
    put(log, 1, fx)
    return log


# -- package -----------------------------------------------------------------------------
def test_all_lists_every_stopper() -> None:
    assert stoppers_all == ["BaseStopper", "BestUnmoving", "EvaluationsUnmoving",
                            "LastPointsInvalid", "MinFuncCalls", "ParameterDistance", "StepSize",
                            "TimeAnnealing", "TypeStopper", "ValueAnnealing"]


def test_history_needed() -> None:
    bounds = [[0, 1], [0, 1]]
    assert BestUnmoving(calls=10).history_needed == 11
    assert EvaluationsUnmoving(calls=10).history_needed == 10
    assert LastPointsInvalid(n_iters=4).history_needed == 4
    assert LastPointsInvalid().history_needed == 1
    assert MinFuncCalls(min_pts=100).history_needed == 0
    assert ParameterDistance(bounds, 0.1).history_needed == 1
    assert StepSize(bounds, calls=7).history_needed == 7
    assert TimeAnnealing().history_needed == 0
    assert ValueAnnealing().history_needed == 0
    assert TypeStopper("RandomOptimizer").history_needed == 0


# -- BestUnmoving ------------------------------------------------------------------------
def test_best_unmoving_threshold() -> None:
    # best 3 evaluations ago: 8; best now 6 -> |6 - 8| = 2 = 0.25 * 8
    assert BestUnmoving(calls=3, tol=0.25)(log_with([10, 8, 9, 7, 6]), 1, 1) is True
    # best now 5.75 -> 2.25 > 2
    assert BestUnmoving(calls=3, tol=0.25)(log_with([10, 8, 9, 7, 5.75]), 1, 1) is False


def test_best_unmoving_tol_zero() -> None:
    # best was 4 three evaluations ago and is 4 now, worse values in between do not matter
    assert BestUnmoving(calls=3)(log_with([5, 4, 7, 9, 8]), 1, 1) is True
    assert BestUnmoving(calls=3)(log_with([5, 4, 7, 9, 3.999]), 1, 1) is False


def test_best_unmoving_reads_exactly_calls_back() -> None:
    # with calls=2 the comparison point is fx_best[-3] = 7 (not 10 or 8)
    stopper = BestUnmoving(calls=2, tol=0.5)
    assert stopper(log_with([10, 8, 7, 3.5, 3.5]), 1, 1) is True  # |3.5 - 7| = 3.5 = 0.5 * 7
    assert stopper(log_with([10, 8, 7, 3.4, 3.5]), 1, 1) is False


def test_best_unmoving_not_enough_data() -> None:
    assert BestUnmoving(calls=3)(log_with([1, 1, 1]), 1, 1) is False
    assert BestUnmoving(calls=3)(log_with([1, 1, 1, 1]), 1, 1) is True
    log = BaseLogger(1)
    log.add_optimizer(1, "RandomOptimizer", 0.0)
    assert BestUnmoving(calls=1)(log, 1, 1) is False


def test_best_unmoving_non_finite() -> None:
    # no finite best value 3 evaluations ago -> not enough information
    assert BestUnmoving(calls=3, tol=1)(log_with([INF, NAN, 3, 3]), 1, 1) is False
    # non-finite values never become the best
    assert BestUnmoving(calls=3)(log_with([2, 2, INF, NAN, -INF]), 1, 1) is True


def test_best_unmoving_windowed_log() -> None:
    log = log_with(np.linspace(100, 1, 1000), window=BestUnmoving(calls=5).history_needed)
    assert len(log.get_history(1, "fx")) == 6
    assert BestUnmoving(calls=5, tol=0.1)(log, 1, 1) is False
    put(log, 1, [1.0] * 5)
    assert BestUnmoving(calls=5)(log, 1, 1) is True


# -- EvaluationsUnmoving -----------------------------------------------------------------
def test_evaluations_unmoving_threshold() -> None:
    # last 4 values [3, 5, 3, 5]: population std 1, latest 5 -> 1 <= 0.2 * 5
    assert EvaluationsUnmoving(calls=4, tol=0.2)(log_with([100, 3, 5, 3, 5]), 1, 1) is True
    # latest 3 -> 1 > 0.2 * 3
    assert EvaluationsUnmoving(calls=4, tol=0.2)(log_with([100, 5, 3, 5, 3]), 1, 1) is False
    # the value before the window (100) is not read; with it std would be huge
    assert EvaluationsUnmoving(calls=5, tol=0.2)(log_with([100, 3, 5, 3, 5]), 1, 1) is False


def test_evaluations_unmoving_tol_zero() -> None:
    assert EvaluationsUnmoving(calls=3)(log_with([1, 2, 2, 2]), 1, 1) is True
    assert EvaluationsUnmoving(calls=3)(log_with([2, 2, 2, 2.5]), 1, 1) is False


def test_evaluations_unmoving_not_enough_data() -> None:
    assert EvaluationsUnmoving(calls=4)(log_with([2, 2, 2]), 1, 1) is False


def test_evaluations_unmoving_non_finite() -> None:
    # finite values in the window: [4, 4] -> std 0
    assert EvaluationsUnmoving(calls=4)(log_with([4, INF, 4, NAN]), 1, 1) is True
    # finite [3, 5, 5]: std = sqrt(8/9) = 0.943 <= 0.2 * 5
    assert EvaluationsUnmoving(calls=4, tol=0.2)(log_with([3, 5, NAN, 5]), 1, 1) is True
    assert EvaluationsUnmoving(calls=4, tol=0.18)(log_with([3, 5, NAN, 5]), 1, 1) is False
    # fewer than two finite values
    assert EvaluationsUnmoving(calls=4, tol=1)(log_with([INF, INF, NAN, 4]), 1, 1) is False


# -- LastPointsInvalid -------------------------------------------------------------------
def test_last_points_invalid() -> None:
    assert LastPointsInvalid(n_iters=3)(log_with([1, INF, NAN, -INF]), 1, 1) is True
    assert LastPointsInvalid(n_iters=3)(log_with([INF, 1, INF, INF]), 1, 1) is False
    assert LastPointsInvalid(n_iters=3)(log_with([INF, INF]), 1, 1) is False
    assert LastPointsInvalid()(log_with([1, NAN]), 1, 1) is True
    assert LastPointsInvalid()(log_with([NAN, 1]), 1, 1) is False


# -- MinFuncCalls ------------------------------------------------------------------------
def test_min_func_calls() -> None:
    assert MinFuncCalls(min_pts=5)(log_with([1, 2, 3, 4]), 1, 1) is False
    assert MinFuncCalls(min_pts=5)(log_with([1, 2, 3, 4, 5]), 1, 1) is True


def test_min_func_calls_counts_all_evaluations() -> None:
    log = log_with([1.0] * 6, window=2)
    assert len(log.get_history(1, "fx")) == 2
    assert MinFuncCalls(min_pts=6)(log, 1, 1) is True
    assert MinFuncCalls(min_pts=7)(log, 1, 1) is False


# -- ParameterDistance -------------------------------------------------------------------
BOX = [[0, 6], [0, 8]]  # diagonal 10


def two_opt_log(best_x: Sequence[float], victim_xs: Sequence[Sequence[float]]) -> BaseLogger:
    log = BaseLogger(2)
    put(log, 1, [1.0], [best_x])
    put(log, 2, [2.0] * len(victim_xs), victim_xs)
    return log


def test_parameter_distance_threshold() -> None:
    stopper = ParameterDistance(BOX, relative_distance=0.5)  # limit 5
    assert stopper(two_opt_log([0, 0], [[3, 4]]), 1, 2) is True  # distance exactly 5
    assert stopper(two_opt_log([0, 0], [[3, 4.5]]), 1, 2) is False
    # only the latest point of the tested optimizer counts
    assert stopper(two_opt_log([0, 0], [[0, 0], [6, 8]]), 1, 2) is False
    assert stopper(two_opt_log([0, 0], [[6, 8], [1, 1]]), 1, 2) is True
    # and the latest point of the other optimizer
    log = BaseLogger(2)
    put(log, 1, [1.0, 1.0], [[6, 8], [0, 0]])
    put(log, 2, [2.0], [[0.5, 0.5]])
    assert stopper(log, 1, 2) is True


def test_parameter_distance_test_all() -> None:
    log = two_opt_log([0, 0], [[6, 8]])
    put(log, 3, [3.0], [[5, 5]])  # sqrt(1 + 9) = 3.16 from the tested optimizer
    log.add_optimizer(4, "RandomOptimizer", 0.0)  # no evaluations: skipped
    assert ParameterDistance(BOX, 0.5)(log, 1, 2) is False
    assert ParameterDistance(BOX, 0.5, test_all=True)(log, 1, 2) is True
    assert ParameterDistance(BOX, 0.3, test_all=True)(log, 1, 2) is False


def test_parameter_distance_not_compared_with_itself() -> None:
    log = two_opt_log([0, 0], [[6, 8]])
    assert ParameterDistance(BOX, 0.5)(log, 1, 1) is False
    assert ParameterDistance(BOX, 0.5, test_all=True)(log, 1, 1) is False


def test_parameter_distance_no_data() -> None:
    log = BaseLogger(2)
    put(log, 1, [1.0], [[0, 0]])
    log.add_optimizer(2, "RandomOptimizer", 0.0)
    assert ParameterDistance(BOX, 0.5)(log, 1, 2) is False
    assert ParameterDistance(BOX, 0.5)(log, 2, 1) is False


def test_parameter_distance_accepts_array_bounds() -> None:
    stopper = ParameterDistance(np.array(BOX, dtype=float), 0.5)
    assert stopper(two_opt_log([0, 0], [[3, 4]]), 1, 2) is True
    assert str(stopper) == "ParameterDistance(bounds, relative_distance=0.5, test_all=False)"


# -- StepSize ----------------------------------------------------------------------------
def test_step_size_threshold() -> None:
    stopper = StepSize(BOX, calls=3, relative_tol=0.1)  # limit: mean step <= 1
    log = BaseLogger(2)
    put(log, 1, [1, 1, 1, 1], [[6, 8], [0, 0], [0, 1], [0, 2]])  # steps 1 and 1
    assert stopper(log, 1, 1) is True
    log = BaseLogger(2)
    put(log, 1, [1, 1, 1, 1], [[6, 8], [0, 0], [0, 1], [0, 2.5]])  # steps 1 and 1.5
    assert stopper(log, 1, 1) is False
    # the first step (10 long) is outside the window of 3 points, but inside one of 4
    log = BaseLogger(2)
    put(log, 1, [1, 1, 1, 1], [[6, 8], [0, 0], [0, 1], [0, 2]])
    assert StepSize(BOX, calls=4, relative_tol=0.1)(log, 1, 1) is False
    assert StepSize(BOX, calls=4, relative_tol=0.4)(log, 1, 1) is True  # 12 / 3 = 4


def test_step_size_not_enough_data() -> None:
    log = BaseLogger(2)
    put(log, 1, [1, 1], [[0, 0], [0, 0]])
    assert StepSize(BOX, calls=3)(log, 1, 1) is False
    assert StepSize(BOX, calls=2)(log, 1, 1) is True


# -- TimeAnnealing -----------------------------------------------------------------------
def annealing_log(n_best: int, n_tested: int, f_best: float = 1.0,
                  f_tested: float = 2.0) -> BaseLogger:
    log = BaseLogger(1)
    put(log, 1, [f_best] * n_best)
    put(log, 2, [f_tested] * n_tested)
    return log


def test_time_annealing_never_stops_when_ratio_reaches_crit_ratio() -> None:
    stopper = TimeAnnealing(crit_ratio=1)
    stopper.set_seed(0)
    log = annealing_log(10, 10)
    assert not any(stopper(log, 1, 2) for _ in range(200))
    stopper = TimeAnnealing(crit_ratio=2)
    log = annealing_log(20, 10)
    assert not any(stopper(log, 1, 2) for _ in range(200))


def test_time_annealing_probability() -> None:
    # ratio 5 / 20 = 0.25, crit_ratio 1: stop with probability 0.75
    stopper = TimeAnnealing(crit_ratio=1)
    stopper.set_seed(12)
    log = annealing_log(5, 20)
    hits = sum(stopper(log, 1, 2) for _ in range(4000))
    assert abs(hits / 4000 - 0.75) < 0.03
    # ratio 1, crit_ratio 4: probability 1 - 1/4
    stopper = TimeAnnealing(crit_ratio=4)
    stopper.set_seed(13)
    log = annealing_log(10, 10)
    hits = sum(stopper(log, 1, 2) for _ in range(4000))
    assert abs(hits / 4000 - 0.75) < 0.03


def test_time_annealing_no_evaluations() -> None:
    log = annealing_log(5, 0)
    log.add_optimizer(2, "RandomOptimizer", 0.0)
    assert TimeAnnealing(crit_ratio=1000)(log, 1, 2) is False


def test_time_annealing_seeded() -> None:
    log = annealing_log(5, 10)
    a, b, c = TimeAnnealing(), TimeAnnealing(), TimeAnnealing()
    a.set_seed(1)
    b.set_seed(1)
    c.set_seed(2)
    da = [a(log, 1, 2) for _ in range(50)]
    db = [b(log, 1, 2) for _ in range(50)]
    dc = [c(log, 1, 2) for _ in range(50)]
    assert da == db
    assert da != dc
    assert True in da and False in da
    # the same draws by hand: u ~ U[0, 1) compared with 5 / 10
    rng = np.random.default_rng(1)
    assert da == [bool(rng.uniform(0, 1) > 0.5) for _ in range(50)]


# -- ValueAnnealing ----------------------------------------------------------------------
def stop_rate(stopper: ValueAnnealing, log: BaseLogger, n: int = 4000) -> float:
    return sum(stopper(log, 1, 2) for _ in range(n)) / n


@pytest.mark.parametrize(("f_best", "f_tested", "chance", "p_stop"), [
    (10.0, 20.0, 0.5, 0.5),     # relative gap 1: crit_stop_chance itself
    (10.0, 40.0, 0.5, 0.875),   # gap 3: 1 - 0.5 ** 3
    (10.0, 20.0, 0.2, 0.2),
    (-10.0, -5.0, 0.5, 1 - 0.5 ** 0.5),  # gap 0.5 with negative values
])
def test_value_annealing_probability(f_best: float, f_tested: float, chance: float,
                                     p_stop: float) -> None:
    stopper = ValueAnnealing(crit_stop_chance=chance)
    stopper.set_seed(7)
    assert abs(stop_rate(stopper, annealing_log(3, 3, f_best, f_tested)) - p_stop) < 0.03


def test_value_annealing_never_stops_better_or_undefined() -> None:
    stopper = ValueAnnealing(crit_stop_chance=0.99)
    stopper.set_seed(3)
    assert stop_rate(stopper, annealing_log(3, 3, 10.0, 10.0), 200) == 0  # equal
    assert stop_rate(stopper, annealing_log(3, 3, 10.0, 5.0), 200) == 0  # tested is better
    assert stop_rate(stopper, annealing_log(3, 3, 0.0, 5.0), 200) == 0  # no relative scale
    log = annealing_log(3, 0, 1.0)
    put(log, 2, [INF, NAN])
    assert stop_rate(stopper, log, 200) == 0  # tested has no finite value


def test_value_annealing_seeded() -> None:
    log = annealing_log(3, 3, 10.0, 20.0)
    a, b = ValueAnnealing(), ValueAnnealing()
    a.set_seed(1)
    b.set_seed(1)
    da = [a(log, 1, 2) for _ in range(50)]
    assert da == [b(log, 1, 2) for _ in range(50)]
    assert True in da and False in da
    rng = np.random.default_rng(1)
    assert da == [bool(rng.random() < 0.5) for _ in range(50)]


# -- TypeStopper -------------------------------------------------------------------------
class RandomOptimizer:
    """Stands in for an optimizer class of that name."""


def test_type_stopper() -> None:
    log = BaseLogger(1)
    put(log, 1, [1.0], opt_type="RandomOptimizer")
    put(log, 2, [1.0], opt_type="CMAOptimizer")
    assert TypeStopper("RandomOptimizer")(log, 2, 1) is True
    assert TypeStopper("RandomOptimizer")(log, 1, 2) is False
    assert TypeStopper(RandomOptimizer)(log, 2, 1) is True
    assert TypeStopper("CMAOptimizer")(log, 1, 2) is True


def test_type_stopper_str_round_trips_as_a_name() -> None:
    assert str(TypeStopper(RandomOptimizer)) == "TypeStopper(opt_type='RandomOptimizer')"
    assert str(TypeStopper("CMAOptimizer")) == "TypeStopper(opt_type='CMAOptimizer')"


# -- combinations ------------------------------------------------------------------------
def test_combination_is_lazy_and_prints() -> None:
    a = BestUnmoving(calls=100, tol=0.01)
    b = MinFuncCalls(min_pts=5)
    c = LastPointsInvalid(n_iters=1)
    combo: Any = (a | b) & c
    assert isinstance(a, BaseStopper)
    assert str(combo) == ("[BestUnmoving(calls=100, tol=0.01) | MinFuncCalls(min_pts=5)] & "
                          "LastPointsInvalid(n_iters=1)")
    assert combo.str_with_result() == ("[BestUnmoving(calls=100, tol=0.01) = None |\n"
                                       "MinFuncCalls(min_pts=5) = None] &\n"
                                       "LastPointsInvalid(n_iters=1) = None")

    # a False, b False -> the & is decided, c is not called
    log = log_with([1, 2, 3])
    assert combo(log, 1, 1) is False
    assert (a.last_result, b.last_result, c.last_result) == (False, False, None)
    assert combo.str_with_result() == ("[BestUnmoving(calls=100, tol=0.01) = False |\n"
                                       "MinFuncCalls(min_pts=5) = False] &\n"
                                       "LastPointsInvalid(n_iters=1) = None")

    # b True, c True
    log = log_with([1, 2, 3, 4, INF])
    assert combo(log, 1, 1) is True
    assert (a.last_result, b.last_result, c.last_result) == (False, True, True)


def test_combination_skips_right_of_or() -> None:
    a = MinFuncCalls(min_pts=1)
    b = BestUnmoving(calls=1)
    combo: Any = a | b
    log = log_with([1.0, 1.0])
    b(log, 1, 1)
    assert b.last_result is True
    assert combo(log, 1, 1) is True
    assert (a.last_result, b.last_result) == (True, None)  # b reset and not called
    assert combo.str_with_result() == ("MinFuncCalls(min_pts=1) = True |\n"
                                       "BestUnmoving(calls=1, tol=0) = None")
    combo.reset()
    assert a.last_result is None


def test_stoppers_do_not_combine_with_exit_conditions() -> None:
    with pytest.raises(TypeError):
        _ = BestUnmoving(calls=100, tol=0.01) | MaxFuncCalls(fmax=10)
    with pytest.raises(TypeError):
        _ = MaxFuncCalls(fmax=10) & MinFuncCalls(min_pts=3)


def test_str_shows_defaults() -> None:
    assert str(BestUnmoving(calls=3)) == "BestUnmoving(calls=3, tol=0)"
    assert str(EvaluationsUnmoving(5, 0.1)) == "EvaluationsUnmoving(calls=5, tol=0.1)"
    assert str(StepSize(BOX, 5)) == "StepSize(bounds, calls=5, relative_tol=0.05)"
    assert str(TimeAnnealing()) == "TimeAnnealing(crit_ratio=1)"
    assert str(ValueAnnealing()) == "ValueAnnealing(crit_stop_chance=0.5)"
    assert str(LastPointsInvalid()) == "LastPointsInvalid(n_iters=1)"


# -- bad arguments -----------------------------------------------------------------------
@pytest.mark.parametrize(("make", "match"), [
    (lambda: BestUnmoving(calls=0), r"calls must be a positive integer, got 0"),
    (lambda: BestUnmoving(calls=2.5), r"calls must be a positive integer, got 2\.5"),  # type: ignore[arg-type]
    (lambda: BestUnmoving(calls=True), r"calls must be a positive integer"),
    (lambda: BestUnmoving(calls=5, tol=-0.1), r"tol must be a number between 0 and 1"),
    (lambda: BestUnmoving(calls=5, tol=1.5), r"tol must be a number between 0 and 1"),
    (lambda: EvaluationsUnmoving(calls=1), r"calls must be an integer of at least 2, got 1"),
    (lambda: EvaluationsUnmoving(calls=5, tol=2), r"tol must be a number between 0 and 1"),
    (lambda: LastPointsInvalid(n_iters=0), r"n_iters must be a positive integer, got 0"),
    (lambda: MinFuncCalls(min_pts=-3), r"min_pts must be a positive integer, got -3"),
    (lambda: ParameterDistance(BOX, 0), r"relative_distance must be a positive finite number"),
    (lambda: ParameterDistance(BOX, INF), r"relative_distance must be a positive finite number"),
    (lambda: ParameterDistance([[1, 0]], 0.1), r"bounds must be finite with min < max"),
    (lambda: ParameterDistance([0, 1], 0.1), r"bounds must be a sequence of \(min, max\) pairs"),  # type: ignore[list-item]
    (lambda: ParameterDistance([[0, 1, 2]], 0.1), r"bounds must be a sequence of \(min, max\)"),
    (lambda: ParameterDistance(BOX, 0.1, test_all="yes"), r"test_all must be True or False"),  # type: ignore[arg-type]
    (lambda: StepSize([[0, INF]], 5), r"bounds must be finite"),
    (lambda: StepSize(BOX, 1), r"calls must be an integer of at least 2, got 1"),
    (lambda: StepSize(BOX, 5, relative_tol=1.2), r"relative_tol must be a number between 0 and 1"),
    (lambda: TimeAnnealing(crit_ratio=0), r"crit_ratio must be a positive finite number, got 0"),
    (lambda: ValueAnnealing(crit_stop_chance=1), r"crit_stop_chance must be a number strictly "
                                                 r"between 0 and 1, got 1"),
    (lambda: ValueAnnealing(crit_stop_chance=0), r"crit_stop_chance must be a number strictly"),
    (lambda: TypeStopper(3), r"opt_type must be an optimizer class or a non-empty class name"),  # type: ignore[arg-type]
    (lambda: TypeStopper(""), r"opt_type must be an optimizer class or a non-empty class name"),
])
def test_bad_arguments(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
