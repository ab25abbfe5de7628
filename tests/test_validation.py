"""Tests of the shared argument checks in ``glompo_core._validation``."""

from __future__ import annotations

import math
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
