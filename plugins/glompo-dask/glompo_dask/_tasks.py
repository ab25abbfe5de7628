"""``dispatch='tasks'``: each evaluation is one Dask task; timeouts, cancellation, retries.

:func:`run_tasks` submits every point at once (one task each, without data dependencies,
so the scheduler places each on any free worker) and collects the results in order. An
evaluation the cluster cancels is resubmitted up to ``retries`` times; one that runs
past its deadline is cancelled with those still running after it, and the workers still
busy with them are restarted; the first failure cancels what is still pending.

The ``k``-th round of a population larger than the cluster (``slots`` evaluations run at
once) gets ``k`` times the timeout, counted from its submission.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core.errors import EvaluationTimeout
from glompo_dask._cluster import WAIT_TIMEOUTS, restart_later

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["Session", "run_tasks"]

_log = logging.getLogger("glompo.backends")


@dataclass(frozen=True)
class Session:
    """What the evaluations of a started backend need (fixed once it has started)."""

    #: The backend's client; raises RuntimeError once the backend is shut down.
    require_client: Callable[[], Client]
    #: Name of the worker plugin holding the task.
    plugin: str
    #: Evaluate ``task.detailed_call``.
    detailed: bool
    #: Seconds after which one evaluation is abandoned (None: never).
    timeout: float | None
    #: Resubmissions of an evaluation the cluster cancelled (or lost, for actors).
    retries: int
    #: Seconds to wait for a worker to evaluate on.
    startup_timeout: float


def _submit(session: Session, x: np.ndarray) -> Future:
    from glompo_dask._worker import evaluate

    client = session.require_client()
    return client.submit(evaluate, session.plugin, x, session.detailed, pure=False,
                         key=f"glompo_evaluate-{uuid.uuid4().hex}")


def _abandon(session: Session, futures: Sequence[Future]) -> None:
    """Cancel timed-out evaluations and restart the workers still running them."""
    client = session.require_client()
    try:
        stacks = client.call_stack(keys=[f.key for f in futures])
    except Exception:
        stacks = {}
    busy = sorted(worker for worker, running in stacks.items() if running)
    client.cancel(list(futures))
    if busy:
        restart_later(session.require_client(), busy)


def run_tasks(session: Session, xs: Sequence[np.ndarray], slots: int) -> list[Any]:
    """Submit every point, then collect the results in order.

    Parameters
    ----------
    session
        The started backend's session.
    xs
        The points.
    slots
        Evaluations the cluster runs at once (the length of a round, for timeouts).

    Returns
    -------
    list
        One result per point.

    Raises
    ------
    Exception
        The first exception a task raised (the others still pending are cancelled).
    EvaluationTimeout
        An evaluation ran past its deadline.
    RuntimeError
        An evaluation was cancelled by the cluster more than ``retries`` times.
    """
    n = len(xs)
    submitted = [_submit(session, x) for x in xs]
    started = [time.monotonic()] * n
    rounds = [i // slots + 1 for i in range(n)]
    lost = [0] * n
    results: list[Any] = [None] * n
    timeout = session.timeout
    i = 0
    try:
        while i < n:
            future = submitted[i]
            wait = None  # a finished future is fetched without a deadline
            if timeout is not None and not future.done():
                wait = max(1e-3, started[i] + rounds[i] * timeout - time.monotonic())
            try:
                results[i] = future.result(timeout=wait)
            except concurrent.futures.CancelledError:
                session.require_client()
                if lost[i] >= session.retries:
                    raise RuntimeError(
                        f"the evaluation of x={np.asarray(xs[i]).tolist()} was cancelled "
                        f"by the Dask cluster {lost[i] + 1} times") from None
                lost[i] += 1
                _log.warning("dask backend: the cluster cancelled an evaluation; "
                             "submitting it again (%d of %d)", lost[i], session.retries)
                submitted[i] = _submit(session, xs[i])
                started[i], rounds[i] = time.monotonic(), 1
                continue
            except WAIT_TIMEOUTS:
                if future.done():
                    raise  # the task itself raised TimeoutError
                late = [f for f in submitted[i:] if not f.done()]
                _abandon(session, late)
                raise EvaluationTimeout(
                    f"evaluation of x={np.asarray(xs[i]).tolist()} ran past "
                    f"{timeout} s on the Dask cluster; it was cancelled (and the "
                    "worker running it restarted)") from None
            i += 1
    except BaseException:
        pending = [f for f in submitted[i:] if not f.done()]
        if pending:
            try:
                client = session.require_client()
            except RuntimeError:  # shut down, or never started: nothing to cancel
                client = None
            if client is not None:
                try:
                    client.cancel(pending)
                except Exception:
                    _log.debug("could not cancel pending evaluations", exc_info=True)
        raise
    return results
