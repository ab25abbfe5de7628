"""Conditions that combine with ``&`` and ``|``: the base of stoppers and exit conditions.

A condition remembers its last truth value, and prints as the expression it is::

    >>> from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
    >>> cond = MaxFuncCalls(fmax=100) | MaxSeconds(session_max=60)
    >>> str(cond)
    'MaxFuncCalls(fmax=100) | MaxSeconds(session_max=60, overall_max=None)'

Combinations evaluate lazily, left to right: in ``a | b`` the right side is not
called when ``a`` is True, and in ``a & b`` not when ``a`` is False. Exit conditions
also say how close they are (``progress``): ``a | b`` the largest of its parts', ``a & b``
the smallest.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import numpy as np

__all__ = ["Combinable", "format_value"]

_C = TypeVar("_C", bound="Combinable")


def format_value(name: str, value: Any) -> str:
    """Format one argument as the summary prints it (and :func:`parse_expression` reads it)."""
    if name == "bounds":
        return "bounds"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value == float("inf"):
        return "inf"
    if isinstance(value, type):
        return repr(value.__name__)
    return repr(value)


def _record(call: Callable[..., bool]) -> Callable[..., bool]:
    @functools.wraps(call)
    def wrapper(self: Combinable, *args: Any, **kwargs: Any) -> bool:
        self._last_result = None
        result = bool(call(self, *args, **kwargs))
        self._last_result = result
        return result

    wrapper._glompo_recorded = True  # type: ignore[attr-defined]
    return wrapper


class Combinable:
    """Base of conditions that combine with ``&`` and ``|`` and print as expressions.

    Subclasses implement ``__call__`` returning a bool; its result is recorded
    automatically in :attr:`last_result`. The arguments shown by ``str()`` are the
    parameters of ``__init__`` with the values the instance was made with.
    """

    _logger_name: str = "glompo"
    #: What the condition decides: ``"stopper"`` or ``"exit_condition"``.
    kind: str = "condition"
    _init_args: dict[str, Any]
    _last_result: bool | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None and not getattr(call, "_glompo_recorded", False):
            cls.__call__ = _record(call)  # type: ignore[method-assign]

    def __new__(cls: type[_C], *args: Any, **kwargs: Any) -> _C:
        obj = super().__new__(cls)
        init_args: dict[str, Any] = {}
        try:
            sig = inspect.signature(cls.__init__)
            bound = sig.bind(None, *args, **kwargs)
            bound.apply_defaults()
            params = list(sig.parameters.values())[1:]
            for p in params:
                if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    extra = bound.arguments.get(p.name)
                    if isinstance(extra, dict):
                        init_args.update(extra)
                    continue
                init_args[p.name] = bound.arguments.get(p.name, p.default)
        except TypeError:
            pass  # __init__ will raise the real error with its own message
        obj._init_args = init_args
        obj._last_result = None
        return obj

    def __init__(self) -> None:
        self.logger = logging.getLogger(self._logger_name)

    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        """Evaluate the condition (subclasses define the arguments)."""
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    @property
    def last_result(self) -> bool | None:
        """The truth value of the last evaluation, None if not evaluated since :meth:`reset`."""
        return self._last_result

    def reset(self) -> None:
        """Forget the last result (of this condition and every part of a combination)."""
        self._last_result = None

    def progress(self, manager: Any) -> float | None:
        """How close the condition is to being met, from 0 to 1; None when it cannot tell.

        Exit conditions implement it (see
        :meth:`~glompo_core.exit_conditions.BaseExitCondition.progress`); stoppers answer
        None.
        """
        return None

    def __and__(self, other: Combinable) -> Combinable:
        return _And(self, other)

    def __or__(self, other: Combinable) -> Combinable:
        return _Or(self, other)

    def _args_str(self) -> str:
        parts = []
        for k, v in self._init_args.items():
            kept = getattr(self, k, v)
            if isinstance(kept, int) and isinstance(v, float) and kept == v:
                v = kept  # a whole float given for a count (fmax=1e5) prints as the count
            parts.append("bounds" if k == "bounds" else f"{k}={format_value(k, v)}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{type(self).__name__}({self._args_str()})"

    def __repr__(self) -> str:
        return str(self)

    def str_with_result(self) -> str:
        """The expression with each condition's last truth value, as the summary prints it."""
        return f"{self} = {self._last_result}"

    def leaves(self) -> list[Combinable]:
        """Every elementary condition of this (possibly combined) condition."""
        return [self]


def _part_progress(part: Combinable, manager: Any) -> float | None:
    """A part's ``progress(manager)`` clipped to [0, 1]; None if it has none or cannot tell."""
    method = getattr(part, "progress", None)
    value = method(manager) if callable(method) else None
    if value is None or not np.isfinite(float(value)):
        return None
    return min(max(float(value), 0.0), 1.0)


class _Combination(Combinable):
    _symbol: ClassVar[str] = "?"

    def __init__(self, first: Combinable, second: Combinable) -> None:
        for part in (first, second):
            if not isinstance(part, Combinable) or part.kind != first.kind:
                raise TypeError(
                    f"cannot combine {first!s} with {part!s} by '{self._symbol}': both sides "
                    "must be conditions of the same kind (two stoppers, or two exit conditions)"
                )
        super().__init__()
        self.kind = first.kind
        self._logger_name = first._logger_name
        self.first = first
        self.second = second

    def reset(self) -> None:
        super().reset()
        self.first.reset()
        self.second.reset()

    def leaves(self) -> list[Combinable]:
        return self.first.leaves() + self.second.leaves()

    def progress(self, manager: Any) -> float | None:
        """How close the combination is to being met (exit conditions; see
        :meth:`~glompo_core.exit_conditions.BaseExitCondition.progress`).

        ``a | b``: the largest, ``a & b``: the smallest progress of the parts that can
        tell (parts answering None are left out); None when no part can tell (always, for
        stoppers, which have no progress).
        """
        values = [v for v in (_part_progress(self.first, manager),
                              _part_progress(self.second, manager)) if v is not None]
        return self._combine_progress(values) if values else None

    @staticmethod
    def _combine_progress(values: list[float]) -> float:
        """How the progress of the parts combines: ``|`` the largest (``&`` overrides)."""
        return max(values)

    @staticmethod
    def _wrap(part: Combinable, text: str, parent: type) -> str:
        if isinstance(part, _Combination) and type(part) is not parent:
            return f"[{text}]"
        return text

    def __str__(self) -> str:
        return (f"{self._wrap(self.first, str(self.first), type(self))} {self._symbol} "
                f"{self._wrap(self.second, str(self.second), type(self))}")

    def str_with_result(self) -> str:
        a = self._wrap(self.first, self.first.str_with_result(), type(self))
        b = self._wrap(self.second, self.second.str_with_result(), type(self))
        return f"{a} {self._symbol}\n{b}"


class _Or(_Combination):
    _symbol = "|"

    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.second.reset()
        return bool(self.first(*args, **kwargs)) or bool(self.second(*args, **kwargs))


class _And(_Combination):
    _symbol = "&"

    @staticmethod
    def _combine_progress(values: list[float]) -> float:
        return min(values)

    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.second.reset()
        return bool(self.first(*args, **kwargs)) and bool(self.second(*args, **kwargs))
