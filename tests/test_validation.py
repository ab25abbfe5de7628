"""Tests of the shared argument checks in ``glompo_core._validation``."""

from __future__ import annotations

import math
import os
import re
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from glompo_core import _setup_checks as checks
from glompo_core._validation import (
    fraction,
    integer,
    non_negative_int,
    number,
    positive_int,
    positive_number,
)

INF = float("inf")
NAN = float("nan")
NOT_NUMBERS = [True, False, np.bool_(True), None, "3", b"3", [3], (3,), 3 + 0j, object()]


def exact(message: str) -> str:
    """A ``match=`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


# -- integers ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [1, 7, 10**30, np.int64(3), np.uint8(2), np.int32(1)])
def test_positive_int_accepts_integers(value: Any) -> None:
    result = positive_int(value, "n")
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize("value", [0, -1, np.int64(0), 2.0, 2.5, INF, NAN, *NOT_NUMBERS])
def test_positive_int_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match=exact(f"calls must be a positive integer, got {value!r}")):
        positive_int(value, "calls")


def test_positive_int_custom_wording() -> None:
    with pytest.raises(ValueError, match=exact("max_jobs must be a whole number >= 1, got 0")):
        positive_int(0, "max_jobs", what="a whole number >= 1")


@pytest.mark.parametrize("value", [3.0, np.float64(4.0), 1, np.int64(2)])
def test_integral_float_accepts_whole_floats(value: Any) -> None:
    result = positive_int(value, "max_calls", integral_float=True)
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize("value", [2.5, 0.0, -1.0, INF, -INF, NAN, True, "10", None])
def test_integral_float_still_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match=exact(
            f"max_calls must be an integer >= 1, got {value!r}")):
        positive_int(value, "max_calls", what="an integer >= 1", integral_float=True)


def test_non_negative_int() -> None:
    assert non_negative_int(0, "n_killed") == 0
    assert non_negative_int(np.int16(5), "n_killed") == 5
    for value in (-1, False, 0.0):
        with pytest.raises(ValueError, match=exact(
                f"n_killed must be a non-negative integer, got {value!r}")):
            non_negative_int(value, "n_killed")


def test_integer_default_wording_names_the_minimum() -> None:
    assert integer(2, "calls", minimum=2) == 2
    with pytest.raises(ValueError, match=exact("calls must be an integer of at least 2, got 1")):
        integer(1, "calls", minimum=2)
    with pytest.raises(ValueError, match=exact("k must be a positive integer, got 0")):
        integer(0, "k", minimum=1)
    with pytest.raises(ValueError, match=exact("k must be a non-negative integer, got -2")):
        integer(-2, "k", minimum=0)


# -- real numbers --------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1, -2.5, 1e300, np.float32(0.5), np.int64(-3),
                                   np.float64(2.0), Fraction(1, 3)])
def test_number_accepts_real_numbers(value: Any) -> None:
    result = number(value, "x")
    assert result == float(value)
    assert type(result) is float


@pytest.mark.parametrize("value", [INF, -INF, NAN, np.float64("nan"), *NOT_NUMBERS])
def test_number_rejects_non_finite_and_non_numbers(value: Any) -> None:
    with pytest.raises(ValueError, match=exact(f"target must be a finite number, got {value!r}")):
        number(value, "target")


def test_number_infinity_only_when_allowed() -> None:
    assert number(INF, "t", finite=False) == INF
    assert number(-INF, "t", finite=False) == -INF
    assert positive_number(INF, "t", finite=False) == INF
    with pytest.raises(ValueError, match=exact("t must be a positive number, got -inf")):
        positive_number(-INF, "t", finite=False)
    with pytest.raises(ValueError, match=exact("t must be a number, got nan")):
        number(NAN, "t", finite=False)


def test_number_too_large_for_a_float_is_infinite() -> None:
    with pytest.raises(ValueError, match="x must be a finite number, got 1000"):
        number(10**400, "x")
    assert number(10**400, "x", finite=False) == INF
    assert number(-(10**400), "x", finite=False) == -INF
    with pytest.raises(ValueError, match="x must be a positive number"):
        positive_number(-(10**400), "x", finite=False)


@pytest.mark.parametrize(("kwargs", "good", "bad"), [
    ({"minimum": 0}, [0, 0.0, -0.0, 5], [-1e-9]),
    ({"minimum": 0, "min_inclusive": False}, [1e-300, 3], [0, -1]),
    ({"maximum": 1, "max_inclusive": False}, [0.999, -1e6], [1, 2]),
    ({"maximum": 1}, [1, -5], [1.0001]),
    ({"minimum": 1, "maximum": 3, "min_inclusive": False, "max_inclusive": False},
     [1.5, 2.999], [1, 3]),
    ({"minimum": 0, "maximum": 1}, [0, 1, 0.5], [-0.1, 1.1]),
])
def test_number_limits(kwargs: dict[str, Any], good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert number(value, "x", **kwargs) == value
    for value in bad:
        with pytest.raises(ValueError, match=r"^x must be .*, got "):
            number(value, "x", **kwargs)


@pytest.mark.parametrize(("kwargs", "what"), [
    ({}, "a finite number"),
    ({"finite": False}, "a number"),
    ({"minimum": 0}, "a non-negative finite number"),
    ({"minimum": 0, "finite": False}, "a non-negative number"),
    ({"minimum": 0, "min_inclusive": False}, "a positive finite number"),
    ({"minimum": 2}, "a finite number >= 2"),
    ({"minimum": 0.5, "min_inclusive": False}, "a finite number > 0.5"),
    ({"maximum": 1, "max_inclusive": False}, "a finite number < 1"),
    ({"maximum": 1e-6}, "a finite number <= 1e-06"),
    ({"minimum": 0, "maximum": 1}, "a number between 0 and 1"),
    ({"minimum": 0, "maximum": 1, "min_inclusive": False, "max_inclusive": False},
     "a number strictly between 0 and 1"),
    ({"minimum": 1, "maximum": 3, "min_inclusive": False}, "a number in (1, 3]"),
    ({"minimum": 1, "maximum": 3, "max_inclusive": False}, "a number in [1, 3)"),
])
def test_number_default_wording(kwargs: dict[str, Any], what: str) -> None:
    with pytest.raises(ValueError, match=exact(f"x must be {what}, got 'a'")):
        number("a", "x", **kwargs)


def test_number_custom_wording() -> None:
    with pytest.raises(ValueError, match=exact("qv must be in the open interval (1, 3), got 3")):
        number(3, "qv", minimum=1, maximum=3, min_inclusive=False, max_inclusive=False,
               what="in the open interval (1, 3)")


def test_positive_number() -> None:
    assert positive_number(0.25, "crit_ratio") == 0.25
    for value in (0, -1, INF, NAN, True, "1"):
        with pytest.raises(ValueError, match=exact(
                f"crit_ratio must be a positive finite number, got {value!r}")):
            positive_number(value, "crit_ratio")


def test_fraction() -> None:
    assert fraction(0, "tol") == 0.0
    assert fraction(1, "tol") == 1.0
    assert fraction(np.float32(0.5), "tol") == 0.5
    for value in (-0.1, 1.5, INF, NAN, True, False, None):
        with pytest.raises(ValueError, match=exact(
                f"tol must be a number between 0 and 1, got {value!r}")):
            fraction(value, "tol")


def test_strict_fraction() -> None:
    assert fraction(0.5, "p", strict=True) == 0.5
    for value in (0, 1, NAN, True):
        with pytest.raises(ValueError, match=exact(
                f"p must be a number strictly between 0 and 1, got {value!r}")):
            fraction(value, "p", strict=True)
    with pytest.raises(ValueError, match=exact(
            "factor must be a number in the open interval (0, 1), got 1.5")):
        fraction(1.5, "factor", strict=True, what="a number in the open interval (0, 1)")


# -- the setup checks built on them -------------------------------------------------------
def test_setup_checks_keep_their_messages() -> None:
    assert checks.positive_int(np.int64(3), "stopcheck_interval") == 3
    with pytest.raises(ValueError, match=exact(
            "stopcheck_interval must be a whole number >= 1, got 0")):
        checks.positive_int(0, "stopcheck_interval")
    assert checks.check_max_jobs(4) == 4
    assert checks.check_max_jobs(None) >= 1
    with pytest.raises(ValueError, match=exact("max_jobs must be a whole number >= 1, got True")):
        checks.check_max_jobs(True)
    assert checks.check_seed(None) is None
    assert checks.check_seed(0) == 0
    with pytest.raises(ValueError, match=exact("seed must be a whole number >= 0 or None, got -1")):
        checks.check_seed(-1)


def test_setup_positive_number_accepts_infinity_only() -> None:
    assert checks.positive_number(INF, "status_interval") == INF
    assert math.isclose(checks.positive_number(0.5, "status_interval"), 0.5)
    for value in (0, -1.0, NAN, False, "10", 1j):
        with pytest.raises(ValueError, match=exact(
                f"status_interval must be a number > 0, got {value!r}")):
            checks.positive_number(value, "status_interval")


# -- which setting an error is about (run files name its line) ---------------------------
def test_setup_checks_name_the_setting_of_their_errors() -> None:
    from glompo_core.plugins import PluginManager

    pm = PluginManager(load_entrypoints=False)
    cases: list[tuple[Any, str, tuple[Any, ...]]] = [
        (lambda: checks.check_bounds([(0, 1), (3, 1)], None), "bounds", ("bounds", 1)),
        (lambda: checks.check_bounds([(0, 1), (2, 2), (1, 1)], None), "bounds", ("bounds", 1)),
        (lambda: checks.check_bounds([(0, 1), (0, INF)], None), "bounds", ("bounds", 1)),
        (lambda: checks.check_bounds("wide", None), "bounds", ("bounds",)),
        (lambda: checks.check_max_jobs(0), "max_jobs", ("max_jobs",)),
        (lambda: checks.positive_int(0, "stopcheck_interval"), "stopcheck_interval",
         ("stopcheck_interval",)),
        (lambda: checks.positive_number(-1, "status_interval"), "status_interval",
         ("status_interval",)),
        (lambda: checks.check_summary_files(7, pm), "summary_files", ("summary_files",)),
        (lambda: checks.check_seed(-1), "seed", ("seed",)),
        (lambda: checks.resolve_backend("thread", None, pm), "backend", ("backend",)),
        (lambda: checks.resolve_backend("threads", {"nope": 1}, pm), "backend", ("backend",)),
        (lambda: checks.resolve_condition("MaxFuncCalls(fmax=0)", "exit_condition", pm,
                                          np.array([[0.0, 1.0]])),
         "exit_conditions", ("exit_conditions",)),
        (lambda: checks.resolve_condition(3, "stopper", pm, np.array([[0.0, 1.0]])),
         "stoppers", ("stoppers",)),
        (lambda: checks.resolve_generator(3, pm), "x0_generator", ("x0_generator",)),
        (lambda: checks.check_selector("RandomOptimizer", pm), "opt_selector",
         ("opt_selector",)),
        (lambda: checks.check_checkpoint_control({"nope": 1}), "checkpoint_control",
         ("checkpoint_control",)),
        (lambda: checks.resolve_task(3, pm), "task", ("task",)),
    ]
    for call, setting, path in cases:
        with pytest.raises(Exception) as info:
            call()
        assert checks.setting_of(info.value) == setting, (setting, info.value)
        assert getattr(info.value, "setting_path", None) == path, (setting, info.value)
    assert checks.setting_of(ValueError("not from a check")) is None


def test_bounds_message_shows_plain_numbers() -> None:
    with pytest.raises(ValueError, match=re.escape("(e.g. parameter 1: (3.0, 1.0))")):
        checks.check_bounds([(0, 1), (3, 1)], None)


# -- optimizer arguments against the class's signatures ----------------------------------
def _problems(cls: type, init: dict[str, Any] | None = None,
              call: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    return [(p.part, p.key, p.message)
            for p in checks.optimizer_argument_problems(cls, init or {}, call or {})]


def test_misspelt_init_argument_gets_did_you_mean() -> None:
    from glompo_core.optimizers import RandomOptimizer

    assert _problems(RandomOptimizer, {"popsiz": 8, "iters": 3, "workers": 2, "seed": 1}) == [
        ("init", "popsiz", "not an argument of RandomOptimizer; did you mean 'popsize'?")]
    # nothing close: the accepted arguments are listed (never the manager's underscored ones)
    assert _problems(RandomOptimizer, {"sigma0": 1.0}) == [
        ("init", "sigma0", "not an argument of RandomOptimizer, which accepts: iters, popsize, "
                           "seed, workers")]


def test_arguments_the_manager_sets_are_refused() -> None:
    from glompo_core.optimizers import RandomOptimizer

    assert _problems(RandomOptimizer, {"_opt_id": 3, "_workers": 2}, {"x0": [0.0]}) == [
        ("init", "_opt_id", "set by the manager for every optimizer; remove it"),
        ("call", "x0", "given to RandomOptimizer.minimize() by the manager; remove it")]


def test_call_arguments_are_checked_against_minimize() -> None:
    from glompo_core.optimizers import RandomOptimizer
    from glompo_core.result import MinimizeResult

    assert _problems(RandomOptimizer, call={"maxiter": 5}) == [
        ("call", "maxiter", "not an argument of RandomOptimizer.minimize(), which takes only "
                            "function, x0, bounds (given by the manager); remove it")]

    class WithOptions(RandomOptimizer):
        def minimize(self, function: Any, x0: Any, bounds: Any, *,
                     tolerance: float = 1e-3) -> MinimizeResult:
            raise NotImplementedError

    class AnyOptions(RandomOptimizer):
        def minimize(self, function: Any, x0: Any, bounds: Any,
                     **options: Any) -> MinimizeResult:
            raise NotImplementedError

    assert _problems(WithOptions, call={"tolerance": 0.1}) == []
    assert _problems(WithOptions, call={"tolerence": 0.1}) == [
        ("call", "tolerence", "not an argument of WithOptions.minimize(); did you mean "
                              "'tolerance'?")]
    assert _problems(AnyOptions, call={"anything": 1}) == []


def _kwargs_classes() -> dict[str, type]:
    """Optimizers with each shape of ``__init__``: forwarding, keeping, declaring, closed."""
    from glompo_core.optimizers import RandomOptimizer

    class Forwarding(RandomOptimizer):
        def __init__(self, _opt_id: int | None = None, *, depth: int = 1,
                     **kwargs: Any) -> None:
            super().__init__(_opt_id=_opt_id, **kwargs)
            self.depth = depth

    class Keeping(RandomOptimizer):  # **options are a library's: not checkable
        def __init__(self, _opt_id: int | None = None, **options: Any) -> None:
            super().__init__(_opt_id=_opt_id)
            self.options = options

    class Declaring(Keeping):
        @classmethod
        def known_init_options(cls, init_kwargs: Any) -> list[str]:
            return ["tolfun", "maxfevals"]

    class Closed(RandomOptimizer):
        def __init__(self, _opt_id: int | None = None, _signal_pipe: Any = None,
                     _results_queue: Any = None, _pause_flag: Any = None,
                     _is_log_detailed: bool = False, _workers: int = 1,
                     _backend: str = "threads", rate: float = 0.1) -> None:
            super().__init__(_opt_id=_opt_id, _signal_pipe=_signal_pipe,
                             _results_queue=_results_queue, _pause_flag=_pause_flag,
                             _is_log_detailed=_is_log_detailed, _workers=_workers,
                             _backend=_backend)
            self.rate = rate

    return {c.__name__: c for c in (Forwarding, Keeping, Declaring, Closed)}


def test_init_signatures_are_read_along_the_mro_while_kwargs_are_passed_on() -> None:
    c = _kwargs_classes()
    # Forwarding -> RandomOptimizer -> BaseOptimizer: the arguments of all three
    assert _problems(c["Forwarding"], {"depth": 2, "popsize": 4, "seed": 1}) == []
    assert _problems(c["Forwarding"], {"deph": 2}) == [
        ("init", "deph", "not an argument of Forwarding; did you mean 'depth'?")]
    assert _problems(c["Forwarding"], {"popsiz": 2}) == [
        ("init", "popsiz", "not an argument of Forwarding; did you mean 'popsize'?")]
    # an __init__ keeping **kwargs for itself is not checked, unless it declares them
    assert _problems(c["Keeping"], {"popsiz": 2, "anything": 1}) == []
    assert _problems(c["Declaring"], {"tolfun": 1e-9, "maxfevals": 10}) == []
    assert _problems(c["Declaring"], {"maxfeval": 10}) == [
        ("init", "maxfeval", "not an argument of Declaring; did you mean 'maxfevals'?")]
    # without **kwargs: exactly its own arguments (workers is always the manager's to take)
    assert _problems(c["Closed"], {"rate": 0.2, "workers": 2}) == []
    assert _problems(c["Closed"], {"seed": 1}) == [
        ("init", "seed", "not an argument of Closed, which accepts: rate, workers")]


def test_the_selector_check_refuses_unknown_arguments_before_setup_goes_on() -> None:
    from glompo_core.plugins import PluginManager
    from glompo_core.selectors import ChainSelector

    pm = PluginManager(load_entrypoints=False)
    good = ChainSelector(("RandomOptimizer", {"popsize": 4}), "RandomOptimizer",
                         fcall_thresholds=[10], plugin_manager=pm)
    assert checks.check_selector(good, pm) is good
    bad = ChainSelector(("RandomOptimizer", {"popsize": 4}),
                        ("RandomOptimizer", {"popsiz": 4}, {"maxiter": 3}),
                        fcall_thresholds=[10], plugin_manager=pm)
    with pytest.raises(TypeError) as info:
        checks.check_selector(bad, pm)
    assert str(info.value).splitlines() == [
        "ChainSelector optimizer #2: init argument 'popsiz': not an argument of "
        "RandomOptimizer; did you mean 'popsize'?",
        "ChainSelector optimizer #2: call argument 'maxiter': not an argument of "
        "RandomOptimizer.minimize(), which takes only function, x0, bounds (given by the "
        "manager); remove it"]
    assert checks.setting_of(info.value) == "opt_selector"


def test_plugin_optimizers_are_checked_as_far_as_they_can_be() -> None:
    cma = pytest.importorskip("glompo_cma")
    scipy_plugin = pytest.importorskip("glompo_scipy")
    nevergrad_plugin = pytest.importorskip("glompo_nevergrad")
    # CMAOptimizer keeps **cmasettings for pycma and declares them (pycma reads any case
    # and unique prefixes: accepted as written)
    cls = cma.CMAOptimizer
    assert _problems(cls, {"sigma0": 0.5, "popsize": 8, "PopSize": 8, "maxfev": 100,
                           "tolfun": 1e-9, "minsigma": 1e-6, "storeC": False, "seed": 1,
                           "verbose": False}) == []
    assert _problems(cls, {"popsiz": 8}) == [
        ("init", "popsiz", "not an argument of CMAOptimizer; did you mean 'popsize'?")]
    assert _problems(cls, {"sigma": 0.5}) == [
        ("init", "sigma", "not an argument of CMAOptimizer; did you mean 'sigma0'?")]
    # NevergradOptimizer passes **kwargs on to BaseOptimizer
    assert _problems(nevergrad_plugin.NevergradOptimizer, {"optimizer": "CMA", "budgett": 9}) \
        == [("init", "budgett", "not an argument of NevergradOptimizer; did you mean "
                                "'budget'?")]
    # the scipy optimizers keep their **options for scipy and declare them (per method)
    for name in ("ScipyOptimizer", "NelderMead"):
        assert _problems(getattr(scipy_plugin, name), {"maxfev": 100, "maxiter": 3}) == []
    assert _problems(scipy_plugin.DualAnnealing, {"maxfev": 100, "maxiter": 3}) == [
        ("init", "maxfev", "not an argument of DualAnnealing; did you mean 'maxfun'?")]


# -- the working directory ---------------------------------------------------------------
def test_working_dir_under_a_regular_file_is_refused(tmp_path: Any) -> None:
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "run" / "deeper"
    with pytest.raises(NotADirectoryError, match=exact(
            f"working_dir {target} cannot be created: {tmp_path / 'afile'} is a file, not a "
            "directory; choose another working_dir")) as info:
        checks.prepare_working_dir(target, False, ())
    assert checks.setting_of(info.value) == "working_dir"
    with pytest.raises(NotADirectoryError, match=exact(
            f"working_dir {tmp_path / 'afile'} exists and is not a directory; choose another "
            "working_dir")):
        checks.prepare_working_dir(tmp_path / "afile", False, ())


def test_a_writable_working_dir_is_created_and_left_clean(tmp_path: Any) -> None:
    target = tmp_path / "a" / "b"
    checks.ensure_writable_dir(target)
    assert target.is_dir()
    assert list(target.iterdir()) == []  # the write probe is gone


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes in read-only directories")
def test_read_only_working_dir_is_refused(tmp_path: Any) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match=re.escape(
                f"working_dir {locked} is not writable: Permission denied")):
            checks.prepare_working_dir(locked, False, ())
        with pytest.raises(PermissionError, match=re.escape(
                f"working_dir {locked / 'sub'} cannot be created: Permission denied")):
            checks.prepare_working_dir(locked / "sub", False, ())
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
