"""What the component checks share: fresh copies, seeding, pickling, failure messages."""

from __future__ import annotations

import copy
import unittest
from typing import Any, NoReturn

__all__: list[str] = []


def name_of(obj: Any) -> str:
    """A component's class name (or the name of a class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return getattr(cls, "__name__", repr(cls))


def skip(reason: str) -> NoReturn:
    raise unittest.SkipTest(reason)


def fresh(component: Any) -> Any:
    """An independent copy of ``component`` as the user built it (``copy.deepcopy``)."""
    try:
        return copy.deepcopy(component)
    except Exception as exc:
        raise AssertionError(
            f"{name_of(component)} cannot be copied with copy.deepcopy ({type(exc).__name__}: "
            f"{exc}); the checks need fresh copies of the instance, and a checkpoint pickles "
            "it: keep only picklable state (no open files, locks or lambdas)") from exc


def seed(component: Any, value: int) -> None:
    """Seed every part of ``component`` that takes a seed (``set_seed``), as the manager does."""
    parts = component.leaves() if hasattr(component, "leaves") else [component]
    for part in parts:
        if callable(getattr(part, "set_seed", None)):
            part.set_seed(value)


def scramble(component: Any) -> None:
    """Advance every random source ``component`` could draw from besides the one
    ``set_seed`` replaces: generators it holds, numpy's and Python's global state.

    A component seeded after this must behave as one seeded fresh; one that draws from
    elsewhere does not.
    """
    import random

    import numpy as np

    parts = component.leaves() if hasattr(component, "leaves") else [component]
    for part in parts:
        for value in list(getattr(part, "__dict__", {}).values()):
            if isinstance(value, np.random.Generator):
                value.random(7)
            elif isinstance(value, np.random.RandomState):
                value.random_sample(7)
    np.random.random(7)  # the global state is what is scrambled
    random.random()


def pickled(component: Any) -> Any:
    """``component`` after a round trip through dill (what a checkpoint does)."""
    import dill

    try:
        data = dill.dumps(component)
    except Exception as exc:
        raise AssertionError(
            f"{name_of(component)} does not pickle ({type(exc).__name__}: {exc}): a "
            "checkpoint saves it with dill; keep only picklable state, or rebuild what "
            "does not pickle in __setstate__") from exc
    try:
        return dill.loads(data)
    except Exception as exc:
        raise AssertionError(
            f"{name_of(component)} pickles but does not unpickle ({type(exc).__name__}: "
            f"{exc}): a checkpoint could not be resumed") from exc


def differ(a: list[Any], b: list[Any]) -> str:
    """Where two sequences of outcomes first differ, as a sentence."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if not _same(x, y):
            return f"call {i + 1}: {x!r} != {y!r}"
    return f"lengths {len(a)} != {len(b)}"


def _same(x: Any, y: Any) -> bool:
    import numpy as np

    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return bool(np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    return bool(x == y)


def same(a: list[Any], b: list[Any]) -> bool:
    """Whether two sequences of outcomes are equal (arrays compared by value, NaN == NaN)."""
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
