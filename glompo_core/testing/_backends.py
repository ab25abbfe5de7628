"""Conformance checks of evaluation backends (see :mod:`glompo_core.testing`).

Each check takes the backend *class* and the keyword arguments it is built with (as a run
file's ``backend_kwargs``), starts it on a task of the kit's (defined at module level, so
it pickles for process and cluster backends), and shuts it down at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import psutil

from glompo_core.testing._common import name_of

__all__ = [
    "BACKEND_CHECKS",
    "BackendTaskError",
    "check_backend_detailed",
    "check_backend_order",
    "check_backend_protocol",
    "check_backend_shutdown",
    "check_backend_task_errors",
]

_METHODS = ("start", "evaluate", "evaluate_batch", "shutdown")


class BackendTaskError(ValueError):
    """Raised by the kit's task: the backend must re-raise it as this type."""


class OrderTask:
    """``fx = sum(x**2)``; rows with ``x[1] > 0`` sleep ``x[1]`` seconds first, so later
    rows of a batch may finish first; ``x[0] < -100`` raises :class:`BackendTaskError`."""

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        point = np.asarray(x, dtype=float)
        if point[0] < -100:
            raise BackendTaskError(f"conformance task: refused x[0]={point[0]}")
        if point[1] > 0:
            time.sleep(float(point[1]))
        return float(np.sum(point ** 2))

    def detailed_call(self, x: Sequence[float] | np.ndarray) -> tuple[float, float, str]:
        point = np.asarray(x, dtype=float)
        return self(point), float(point[0]), f"row {point[0]:g}"


def _build(cls: type, init_kwargs: Mapping[str, Any] | None) -> Any:
    try:
        return cls(**dict(init_kwargs or {}))
    except Exception as exc:
        raise AssertionError(f"{name_of(cls)}(**{dict(init_kwargs or {})!r}) failed: "
                             f"{type(exc).__name__}: {exc}") from exc


def _started(cls: type, init_kwargs: Mapping[str, Any] | None, max_workers: int = 4,
             detailed: bool = False) -> Any:
    backend = _build(cls, init_kwargs)
    try:
        backend.start(OrderTask(), max_workers, detailed=detailed, timeout=None)
    except Exception as exc:
        _shutdown(backend)
        raise AssertionError(f"{name_of(cls)}.start(task, {max_workers}, detailed={detailed}, "
                             f"timeout=None) failed: {type(exc).__name__}: {exc}") from exc
    return backend


def _shutdown(backend: Any) -> None:
    try:
        backend.shutdown()
    except Exception as exc:
        raise AssertionError(f"{name_of(backend)}.shutdown() raised {type(exc).__name__}: "
                             f"{exc}") from exc


def _rows(n: int) -> np.ndarray:
    """Rows whose evaluation time falls with the row number (the first is the slowest) and
    whose values are in no sorted order."""
    return np.array([[(i * 5) % n + 0.5, 0.02 * (n - i)] for i in range(n)])


def check_backend_protocol(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """It has a ``name`` and the methods the manager calls, and evaluates one point.

    Raises
    ------
    AssertionError
        A missing method or name, or ``evaluate`` does not return the task's value.
    """
    name = name_of(cls)
    missing = [m for m in _METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise AssertionError(f"{name} lacks {', '.join(missing)}: a backend has start(task, "
                             "max_workers, *, detailed, timeout=None), evaluate(x), "
                             "evaluate_batch(xs) and shutdown()")
    if not isinstance(getattr(cls, "name", None), str):
        raise AssertionError(f"{name}.name is {getattr(cls, 'name', None)!r}: a backend has a "
                             "class attribute name (its registered name)")
    backend = _started(cls, init_kwargs)
    try:
        x = np.array([3.0, 0.0])
        got = backend.evaluate(x)
    finally:
        _shutdown(backend)
    if got != 9.0:
        raise AssertionError(f"{name}.evaluate([3, 0]) returned {got!r}; the task returns 9.0")


def check_backend_order(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """``evaluate_batch`` returns the results in the order of the rows, whatever order the
    evaluations end in (here the first row takes longest), and so do the batches of
    several optimizer threads at once.

    Raises
    ------
    AssertionError
        Results out of order or missing.
    """
    import threading

    backend = _started(cls, init_kwargs)
    try:
        xs = _rows(6)
        want = [float(np.sum(r ** 2)) for r in xs]
        got = list(backend.evaluate_batch(xs))
        if got != want:
            raise AssertionError(f"{name_of(cls)}.evaluate_batch returned {got}, expected "
                                 f"{want}: results must be in the order of the rows")
        outcomes: dict[int, Any] = {}

        def batch(k: int) -> None:
            rows = np.vstack([xs, [[100.0 * k, 0.0]]])
            try:
                outcomes[k] = (list(backend.evaluate_batch(rows)),
                               [float(np.sum(r ** 2)) for r in rows])
            except Exception as exc:
                outcomes[k] = exc

        threads = [threading.Thread(target=batch, args=(k,), daemon=True) for k in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for k in (1, 2):
            result = outcomes.get(k)
            if isinstance(result, BaseException) or result is None:
                raise AssertionError(f"{name_of(cls)}.evaluate_batch from two optimizer "
                                     f"threads at once failed: {result!r}")
            if result[0] != result[1]:
                raise AssertionError(f"{name_of(cls)}.evaluate_batch from two threads at once "
                                     f"returned {result[0]}, expected {result[1]}")
    finally:
        _shutdown(backend)


def check_backend_task_errors(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """A task error comes back as an exception of the task's type, and the backend goes on.

    The manager records a failed evaluation with its error (and ``task_errors='crash'``
    ends the run with it): ``evaluate`` and ``evaluate_batch`` must raise the task's own
    exception type (here :class:`BackendTaskError`), with its message, and evaluate
    normally afterwards.

    Raises
    ------
    AssertionError
        Nothing raised, another exception type, or the backend broken afterwards.
    """
    name = name_of(cls)
    backend = _started(cls, init_kwargs)
    try:
        for what, call in (("evaluate", lambda: backend.evaluate(np.array([-200.0, 0.0]))),
                           ("evaluate_batch", lambda: backend.evaluate_batch(
                               np.array([[1.0, 0.0], [-200.0, 0.0], [2.0, 0.0]])))):
            try:
                call()
            except BackendTaskError as exc:
                if "refused x[0]=-200" not in str(exc):
                    raise AssertionError(f"{name}.{what} raised the task's BackendTaskError "
                                         f"but lost its message: {exc!r}") from exc
            except Exception as exc:
                raise AssertionError(f"{name}.{what} raised {type(exc).__name__}: {exc} for a "
                                     "task raising BackendTaskError; re-raise the task's own "
                                     "exception (its type and message)") from exc
            else:
                raise AssertionError(f"{name}.{what} returned for a task that raised "
                                     "BackendTaskError; it must re-raise it")
            got = backend.evaluate(np.array([2.0, 0.0]))
            if got != 4.0:
                raise AssertionError(f"{name}.evaluate returned {got!r} after a task error in "
                                     f"{what}; expected 4.0: the backend must go on")
    finally:
        _shutdown(backend)


def check_backend_detailed(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """Started with ``detailed=True`` it returns ``task.detailed_call(x)`` (in row order).

    Raises
    ------
    AssertionError
        Plain values instead of the detailed tuples, or out of order.
    """
    backend = _started(cls, init_kwargs, detailed=True)
    try:
        xs = _rows(4)
        got = [tuple(r) for r in backend.evaluate_batch(xs)]
        one = tuple(backend.evaluate(np.array([3.0, 0.0])))
    finally:
        _shutdown(backend)
    want = [OrderTask().detailed_call(r) for r in xs]
    if got != want or one != (9.0, 3.0, "row 3"):
        raise AssertionError(f"{name_of(cls)} started with detailed=True returned {got} and "
                             f"{one}; expected task.detailed_call(x) for each row: {want}")


def check_backend_shutdown(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """After ``shutdown()`` no process the backend started is left running.

    Raises
    ------
    AssertionError
        A child process started by the backend is still alive 10 s after ``shutdown()``.
    """
    me = psutil.Process(os.getpid())
    before = {p.pid for p in me.children(recursive=True)}
    backend = _started(cls, init_kwargs)
    try:
        backend.evaluate_batch(_rows(4))
        started = [p for p in me.children(recursive=True) if p.pid not in before]
    finally:
        _shutdown(backend)
    _, alive = psutil.wait_procs(started, timeout=10)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    if alive:
        raise AssertionError(f"{name_of(cls)}.shutdown() left {len(alive)} of the processes "
                             f"it started running (pids {[p.pid for p in alive]}); end them "
                             "in shutdown()")


BACKEND_CHECKS: tuple[Callable[..., None], ...] = (
    check_backend_protocol,
    check_backend_order,
    check_backend_task_errors,
    check_backend_detailed,
    check_backend_shutdown,
)
