"""Validation of constructor and setup arguments, shared by the built-in components.

Each helper takes the ``value`` to check as ``Any`` (it comes from users and run files,
whatever the annotation of the parameter) and the argument's ``name``, returns the value
converted (``int`` or ``float``) when it is valid, and otherwise raises a
:class:`ValueError` reading ``"<name> must be <what>, got <value!r>"``. ``what`` defaults
to a description of the rule; pass it to keep a component's own wording.

Booleans are never accepted as numbers, and NaN never passes a check. Integers are
instances of :class:`numbers.Integral` (``int``, numpy integers); real numbers are
instances of :class:`numbers.Real` (``int``, ``float``, numpy integers and floats,
``Fraction``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = [
    "bounds_array",
    "call_text",
    "fraction",
    "integer",
    "non_negative_int",
    "number",
    "positive_int",
    "positive_number",
]


def _fail(value: Any, name: str, what: str) -> ValueError:
    return ValueError(f"{name} must be {what}, got {value!r}")


def integer(value: Any, name: str, *, minimum: int, what: str | None = None,
            integral_float: bool = False) -> int:
    """``int(value)`` for an integer of at least ``minimum``; else a ValueError.

    Parameters
    ----------
    minimum
        Smallest value allowed.
    what
        What the value must be, for the message; by default "a positive integer"
        (``minimum=1``), "a non-negative integer" (``minimum=0``) or "an integer of at
        least <minimum>".
    integral_float
        Also accept a ``float`` with an integral value, such as ``100.0``.
    """
    ok = not isinstance(value, bool) and (
        isinstance(value, numbers.Integral)
        or (integral_float and isinstance(value, float) and value.is_integer()))
    if not ok or value < minimum:
        if what is None:
            what = {1: "a positive integer", 0: "a non-negative integer"}.get(
                minimum, f"an integer of at least {minimum}")
        raise _fail(value, name, what)
    return int(value)


def positive_int(value: Any, name: str, *, what: str = "a positive integer",
                 integral_float: bool = False) -> int:
    """``int(value)`` for an integer >= 1; else a ValueError (see :func:`integer`)."""
    return integer(value, name, minimum=1, what=what, integral_float=integral_float)


def non_negative_int(value: Any, name: str, *, what: str = "a non-negative integer") -> int:
    """``int(value)`` for an integer >= 0; else a ValueError (see :func:`integer`)."""
    return integer(value, name, minimum=0, what=what)


def _as_float(value: Any) -> float | None:
    """``float(value)`` for a real number that is not a bool, else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer (or Fraction) too large for a float
        return -math.inf if value < 0 else math.inf


def _g(bound: float) -> str:
    return f"{bound:g}"


def _describe(minimum: float | None, maximum: float | None, min_inclusive: bool,
              max_inclusive: bool, finite: bool) -> str:
    """The default ``what`` of :func:`number`."""
    kind = "finite number" if finite else "number"
    if minimum is not None and maximum is not None:
        if min_inclusive and max_inclusive:
            return f"a number between {_g(minimum)} and {_g(maximum)}"
        if not (min_inclusive or max_inclusive):
            return f"a number strictly between {_g(minimum)} and {_g(maximum)}"
        left, right = "[" if min_inclusive else "(", "]" if max_inclusive else ")"
        return f"a number in {left}{_g(minimum)}, {_g(maximum)}{right}"
    if minimum is not None:
        if minimum == 0:
            return f"a {'non-negative' if min_inclusive else 'positive'} {kind}"
        return f"a {kind} {'>=' if min_inclusive else '>'} {_g(minimum)}"
    if maximum is not None:
        return f"a {kind} {'<=' if max_inclusive else '<'} {_g(maximum)}"
    return f"a {kind}"


def number(value: Any, name: str, *, minimum: float | None = None,
           maximum: float | None = None, min_inclusive: bool = True,
           max_inclusive: bool = True, finite: bool = True, what: str | None = None) -> float:
    """``float(value)`` for a real number within the limits given; else a ValueError.

    Parameters
    ----------
    minimum, maximum
        Limits (None: no limit), inclusive unless ``min_inclusive`` or ``max_inclusive``
        is False.
    finite
        Reject ``inf`` and ``-inf`` (NaN is always rejected). With ``finite=False`` an
        infinite value passes if it is within the limits.
    what
        What the value must be, for the message; by default a description of the limits
        such as "a positive finite number" or "a number between 0 and 1".
    """
    x = _as_float(value)
    if x is None or math.isnan(x) or (finite and math.isinf(x)) \
            or (minimum is not None and not (x >= minimum if min_inclusive else x > minimum)) \
            or (maximum is not None and not (x <= maximum if max_inclusive else x < maximum)):
        if what is None:
            what = _describe(minimum, maximum, min_inclusive, max_inclusive, finite)
        raise _fail(value, name, what)
    return x


def positive_number(value: Any, name: str, *, finite: bool = True,
                    what: str | None = None) -> float:
    """``float(value)`` for a number > 0 (and finite, unless ``finite=False``); else a ValueError.

    The default ``what`` is "a positive finite number" ("a positive number" with
    ``finite=False``).
    """
    return number(value, name, minimum=0, min_inclusive=False, finite=finite, what=what)


def fraction(value: Any, name: str, *, strict: bool = False, what: str | None = None) -> float:
    """``float(value)`` for a number in [0, 1] (in (0, 1) if ``strict``); else a ValueError.

    The default ``what`` is "a number between 0 and 1" ("a number strictly between 0 and
    1" if ``strict``).
    """
    return number(value, name, minimum=0, maximum=1, min_inclusive=not strict,
                  max_inclusive=not strict, what=what)


def bounds_array(bounds: Any, name: str = "bounds") -> np.ndarray:
    """``bounds`` as a float array of shape (n, 2), n >= 1, finite, min < max in every row.

    Raises
    ------
    ValueError
        Naming ``name`` and what is wrong (the rows at fault when it can).
    """
    try:
        arr = np.array(bounds, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of (min, max) pairs of numbers, one per "
                         f"parameter, got {bounds!r}") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a sequence of (min, max) pairs, one per parameter, "
                         f"got {bounds!r} (an array of shape {arr.shape})")
    finite = np.all(np.isfinite(arr), axis=1)
    if not finite.all():
        raise ValueError(f"{name} must be finite with min < max for every parameter; rows "
                         f"{np.flatnonzero(~finite).tolist()} are not finite")
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if bad.size:
        raise ValueError(f"{name} must be finite with min < max for every parameter; rows "
                         f"{bad.tolist()} have min >= max")
    return arr


def _short(value: Any) -> str:
    """A setting as it reads in :func:`call_text` (arrays as lists)."""
    return repr(value.tolist()) if isinstance(value, np.ndarray) else repr(value)


def call_text(obj: object, *parts: str, **settings: Any) -> str:
    """``ClassName(part, ..., key=value, ...)``: how a component reads in the summary.

    ``parts`` are put in as they are; ``settings`` as ``key=repr(value)`` (numpy arrays
    as lists).
    """
    args = [*parts, *(f"{key}={_short(val)}" for key, val in settings.items())]
    return f"{type(obj).__name__}({', '.join(args)})"

