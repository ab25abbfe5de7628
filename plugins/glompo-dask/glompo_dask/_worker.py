"""What runs on the Dask workers: the plugin holding the task, and what evaluates it.

Imported by :class:`~glompo_dask.backend.DaskBackend` when it starts (it imports
:mod:`distributed`), and by each worker when it installs the plugin.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import numpy as np
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin
from tblib import Traceback

__all__ = ["Evaluator", "TaskPlugin", "evaluate"]


class TaskPlugin(WorkerPlugin):
    """Holds the task on every worker of the cluster: those running now, those to come.

    The scheduler keeps the plugin and installs it on every worker that joins later
    (a restarted worker, a new batch job), so the task reaches each worker once and
    evaluations need no data dependency: the scheduler may run them on any worker.

    Parameters
    ----------
    payload
        The task pickled with cloudpickle (loaded on the worker by :meth:`setup`).
    """

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.task: Any = None

    def setup(self, worker: Any) -> None:
        """Load the task on the worker (once per worker)."""
        self.task = pickle.loads(self.payload)
        self.payload = b""

    def teardown(self, worker: Any) -> None:
        """Drop the task (the run is over)."""
        self.task = None


def evaluate(plugin: str, x: np.ndarray, detailed: bool) -> Any:
    """Evaluate the task at ``x`` on this worker: what every evaluation task runs.

    Parameters
    ----------
    plugin
        Name of the :class:`TaskPlugin` holding the task.
    x
        The point, in the task's own units.
    detailed
        Call ``task.detailed_call(x)`` instead of ``task(x)``.

    Returns
    -------
    Any
        ``fx``, or the sequence ``detailed_call`` returns.
    """
    task = _installed_task(get_worker(), plugin)
    return task.detailed_call(x) if detailed else task(x)


def _installed_task(worker: Any, plugin: str) -> Any:
    holder = worker.plugins.get(plugin)
    task = getattr(holder, "task", None)
    if task is None:
        raise RuntimeError(f"the GloMPO task {plugin!r} is not installed on this Dask worker "
                           "(the run has ended, or the worker plugin failed to load)")
    return task


def _picklable(exc: BaseException) -> BaseException:
    """``exc``, or a RuntimeError with its type and text if it cannot be pickled."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class Evaluator:
    """A Dask actor evaluating the task on its worker (``dispatch='actors'``).

    Calls go from the client to the worker directly (or through the scheduler's proxy),
    without the scheduler's task bookkeeping. The evaluation runs in the worker's thread
    pool, so a worker with ``n`` threads evaluates ``n`` points at once.

    Parameters
    ----------
    plugin
        Name of the :class:`TaskPlugin` holding the task.
    detailed
        Call ``task.detailed_call(x)`` instead of ``task(x)``.
    """

    def __init__(self, plugin: str, detailed: bool) -> None:
        self.plugin = plugin
        self.detailed = detailed

    async def evaluate(self, x: np.ndarray) -> tuple[bool, Any]:
        """Evaluate ``x``: ``(True, result)``, or ``(False, (exception, traceback dict))``.

        An exception of the task is returned, not raised, so the caller tells it apart
        from a failure of the cluster (a lost worker), which it retries.
        """
        worker = get_worker()
        try:
            task = _installed_task(worker, self.plugin)
            call = task.detailed_call if self.detailed else task
            value = await asyncio.get_running_loop().run_in_executor(worker.executor, call, x)
        except Exception as exc:
            return False, (_picklable(exc), Traceback(exc.__traceback__).as_dict())
        return True, value
