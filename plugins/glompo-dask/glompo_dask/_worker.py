"""What runs on the Dask workers: the plugin holding the task, and the evaluation function.

Imported by :class:`~glompo_dask.backend.DaskBackend` when it starts (it imports
:mod:`distributed`), and by each worker when it installs the plugin.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["TaskPlugin", "evaluate"]


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
    holder = get_worker().plugins.get(plugin)
    task = getattr(holder, "task", None)
    if task is None:
        raise RuntimeError(f"the GloMPO task {plugin!r} is not installed on this Dask worker "
                           "(the run has ended, or the worker plugin failed to load)")
    return task.detailed_call(x) if detailed else task(x)
