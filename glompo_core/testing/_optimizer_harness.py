"""The harness of the optimizer conformance kit: wiring, reports, time limits.

Part of the kit (:mod:`glompo_core.testing._optimizers` holds the checks): builds an
optimizer with the manager's runtime arguments and checks that its ``__init__`` passed
them on to ``BaseOptimizer.__init__`` (:func:`wire`), gives a sphere with its minimum
inside given bounds, reports where the optimizer's thread is stuck, and runs each check
in a daemon thread given up after its time limit (:func:`time_limited`).
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import traceback
import unittest
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import numpy as np

from glompo_core.testing._harness import Wired as _Wired
from glompo_core.testing._harness import wires as _wires

__all__: list[str] = []

#: Bounds of the stand-alone checks for optimizers without a declared scaling.
BOUNDS = np.array([(-2.0, 3.0), (-1.0, 4.0), (-3.0, 2.0)])
#: Bounds of the task in :func:`check_scaling` (task units).
TASK_BOUNDS = np.array([(10.0, 20.0), (-5.0, -1.0), (100.0, 300.0)])


class TaskFailure(RuntimeError):
    """Raised by the task of :func:`check_nan_and_raise`."""


def class_name(cls: type) -> str:
    return getattr(cls, "__name__", repr(cls))


def bounds_for(cls: type) -> np.ndarray:
    """Bounds of a stand-alone check: those of the declared scaling, else asymmetric ones."""
    scaling = getattr(cls, "scaling", None)
    if scaling == "linear":
        return np.tile([0.0, 1.0], (3, 1))
    if scaling == "std":
        return np.tile([-1.0, 1.0], (3, 1))
    return BOUNDS.copy()


def wire(cls: type, init_kwargs: Mapping[str, Any] | None, *, opt_id: int = 1,
          workers: int | None = None) -> _Wired:
    """Build ``cls`` with the manager's runtime arguments (as ``GloMPOManager`` does)."""
    kwargs = dict(init_kwargs or {})
    n_workers = int(kwargs.pop("workers", kwargs.pop("_workers", 1)))
    if workers is not None:
        n_workers = workers
    manager_end, opt_end, inbox, pause = _wires()
    try:
        opt = cls(_opt_id=opt_id, _signal_pipe=opt_end, _results_queue=inbox, _pause_flag=pause,
                  _is_log_detailed=False, _workers=n_workers, _backend="threads", **kwargs)
    except Exception as exc:
        raise AssertionError(f"{class_name(cls)}(**{kwargs!r}) could not be created with the "
                             f"manager's runtime arguments: {type(exc).__name__}: {exc}") from exc
    check_base_init(cls, opt, {"_opt_id": opt_id, "_signal_pipe": opt_end,
                                "_results_queue": inbox, "_pause_signal": pause})
    return _Wired(opt, manager_end, inbox, pause)

#: Attributes :meth:`BaseOptimizer.__init__` sets, by which its call is recognised.
_BASE_ATTRS = ("_opt_id", "_signal_pipe", "_results_queue", "_pause_signal", "incumbent",
               "logger", "workers", "_FROM_CHECKPOINT")
_SUPER_CALL = "super().__init__(**kwargs)"


def _init_owner(cls: type) -> str:
    """The name of the most derived class of ``cls`` that defines ``__init__``."""
    from glompo_core.optimizers.baseoptimizer import BaseOptimizer

    for klass in cls.__mro__:
        if klass is BaseOptimizer:
            break
        if "__init__" in vars(klass):
            return class_name(klass)
    return class_name(cls)


def check_base_init(cls: type, opt: Any, given: Mapping[str, Any]) -> None:
    """Fail if ``opt``'s ``__init__`` skipped ``BaseOptimizer.__init__`` or lost its arguments.

    Without that call the optimizer has no pipe, results queue or pause event, and fails
    (or waits forever) at its first ``check_messages()`` or pause.
    """
    from glompo_core.optimizers.baseoptimizer import BaseOptimizer

    if not isinstance(opt, BaseOptimizer):
        return
    owner = _init_owner(cls)
    missing = [a for a in _BASE_ATTRS if a not in vars(opt)]
    if missing:
        raise AssertionError(f"{owner}.__init__ does not call super().__init__(...): the "
                             f"attributes BaseOptimizer.__init__ sets ({', '.join(missing)}) "
                             f"are missing. Call {_SUPER_CALL} in {owner}.__init__ (its "
                             "**kwargs carry the manager's runtime arguments).")
    lost = [a for a, v in given.items() if vars(opt).get(a) is not v and vars(opt).get(a) != v]
    if lost:
        raise AssertionError(f"{owner}.__init__ does not pass the manager's runtime arguments "
                             f"on to super().__init__(...): {', '.join(lost)} differ from "
                             f"what the manager gave. Call {_SUPER_CALL} with the **kwargs "
                             "that carry them.")


def sphere_for(bounds: np.ndarray) -> tuple[Callable[[np.ndarray], float], np.ndarray,
                                             np.ndarray]:
    """A sphere whose minimum lies inside ``bounds`` (off-centre), and a far starting point."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    centre = lo + 0.4 * (hi - lo)
    x0 = lo + 0.9 * (hi - lo)

    def sphere(x: np.ndarray) -> float:
        return float(np.sum((np.asarray(x, dtype=float) - centre) ** 2))

    return sphere, centre, x0


def thread_stack(thread: threading.Thread | None, limit: int = 6) -> str:
    """Where ``thread`` is now: its innermost ``limit`` frames, or '' if it has ended."""
    if thread is None or thread.ident is None or not thread.is_alive():
        return ""
    frame = sys._current_frames().get(thread.ident)
    if frame is None:
        return ""
    frames = traceback.extract_stack(frame)[-limit:]
    return "".join(traceback.format_list(frames)).rstrip()


def where(wired: _Wired) -> str:
    """A sentence saying where the optimizer's thread is, for a failure's report."""
    stack = thread_stack(wired.thread)
    return f"\nIts thread is at (innermost last):\n{stack}" if stack else ""


def finish(wired: _Wired, timeout: float, what: str) -> None:
    """Fail if ``minimize`` is still running ``timeout`` seconds after ``what``."""
    if not wired.join(timeout):
        raise AssertionError(f"{class_name(type(wired.opt))}.minimize() still runs {timeout} s "
                             f"after {what}; it must return once callstop() is called (check "
                             f"check_messages() is called once per iteration){where(wired)}")


def raise_error(wired: _Wired, context: str) -> None:
    error = wired.error
    if error is not None:
        frames = traceback.extract_tb(error.__traceback__)
        where = f" (at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" \
            if frames else ""
        raise AssertionError(f"{class_name(type(wired.opt))}.minimize() raised {context}: "
                             f"{type(error).__name__}: {error}{where}") from error


def skip_check(reason: str) -> None:
    raise unittest.SkipTest(reason)


#: A check's time limit: ``_LIMIT_FACTOR * timeout + _LIMIT_SLACK`` seconds.
_LIMIT_FACTOR = 4.0
_LIMIT_SLACK = 30.0
_F = TypeVar("_F", bound=Callable[..., None])


def time_limited(timeout_arg: str, extra: float = 0.0) -> Callable[[_F], _F]:
    """Run the decorated check in a daemon thread and give it up after its time limit.

    Each wait of a check has a timeout, but a broken optimizer can still block the
    check's own thread (an ``__init__`` or ``inject`` that never returns, a lock it
    holds). The limit is ``4 * <timeout_arg> + 30 + extra`` seconds; past it the check
    fails with the stacks of the threads it started (the check's and the optimizer's),
    which are daemon threads and are left behind.
    """

    def decorate(check: _F) -> _F:
        sig = inspect.signature(check)

        @functools.wraps(check)
        def limited(*args: Any, **kwargs: Any) -> None:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            limit = _LIMIT_FACTOR * float(bound.arguments[timeout_arg]) + _LIMIT_SLACK + extra
            cls = bound.arguments.get("cls")
            outcome: list[BaseException | None] = []
            before = set(threading.enumerate())

            def body() -> None:
                try:
                    check(*args, **kwargs)
                except BaseException as exc:
                    outcome.append(exc)
                else:
                    outcome.append(None)

            runner = threading.Thread(target=body, daemon=True,
                                      name=f"glompo-conformance-{check.__name__}")
            runner.start()
            runner.join(limit)
            if outcome:
                error = outcome[0]
                if error is not None:
                    raise error.with_traceback(error.__traceback__)
                return
            stacks = []
            for thread in [runner, *(t for t in threading.enumerate() if t not in before
                                     and t is not runner)]:
                stack = thread_stack(thread, limit=8)
                if stack:
                    stacks.append(f"thread {thread.name!r} (innermost last):\n{stack}")
            who = class_name(cls) if cls is not None else "the optimizer"
            raise AssertionError(
                f"{check.__name__} did not finish within its limit of {limit:.0f} s "
                f"({_LIMIT_FACTOR:g} x {timeout_arg}={bound.arguments[timeout_arg]} + "
                f"{_LIMIT_SLACK + extra:g} s): {who} "
                "blocks it and cannot be ended from outside. Its threads are left running "
                "(daemon). Where they are:\n" + "\n".join(stacks))

        return cast(_F, limited)

    return decorate
