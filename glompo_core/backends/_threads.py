"""The 'threads' backend: evaluations run in the optimizer's own thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["ThreadsBackend"]


class ThreadsBackend:
    """Evaluate the task in the calling optimizer thread.

    A population (optimizers with ``workers`` > 1) is evaluated by a pool of up to
    ``max_jobs`` threads. Suits tasks that release the GIL (numpy, I/O, external
    programs run with :mod:`subprocess`) and cheap tasks, where it adds the least
    overhead. A hung evaluation cannot be killed in a thread: with
    ``force_terminations_after`` the manager abandons its optimizer instead.

    Examples
    --------
    The manager builds it from ``backend="threads"``; on its own:

    >>> import numpy as np
    >>> backend = ThreadsBackend()
    >>> backend.start(lambda x: float(np.sum(x ** 2)), max_workers=2, detailed=False)
    >>> backend.evaluate(np.array([1.0, 2.0]))
    5.0
    >>> backend.evaluate_batch(np.array([[1.0, 0.0], [0.0, 3.0]]))   # in row order
    [1.0, 9.0]
    >>> backend.shutdown()
    """

    name = "threads"
    #: An evaluation runs in the optimizer's thread, which cannot be killed: the manager
    #: abandons an optimizer whose evaluation ran past ``force_terminations_after``.
    kills_hung_evaluations = False

    def __init__(self) -> None:
        self._fn: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._max_workers = 1

    def start(self, task: Any, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        """Bind the task (``task.detailed_call`` when ``detailed``)."""
        self._fn = task.detailed_call if detailed else task
        self._max_workers = max(1, int(max_workers))

    def evaluate(self, x: np.ndarray) -> Any:
        """Evaluate ``x`` in the calling thread."""
        return self._fn(x)

    def evaluate_batch(self, xs: np.ndarray) -> list[Any]:
        """Evaluate the rows of ``xs`` concurrently in a thread pool."""
        if len(xs) <= 1 or self._max_workers == 1:
            return [self._fn(x) for x in xs]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="glompo-eval")
        return list(self._pool.map(self._fn, list(xs)))

    def shutdown(self) -> None:
        """Stop the thread pool (if one was started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
