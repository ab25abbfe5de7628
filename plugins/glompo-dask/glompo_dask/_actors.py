"""``dispatch='actors'``: one evaluator actor per worker, called directly.

:class:`ActorPool` places an :class:`~glompo_dask._worker.Evaluator` on every worker
(and on workers that join later, looked for at most every :data:`REFRESH_EVERY`
seconds), sends each evaluation to the evaluator with the most free threads, and
forgets the evaluators of workers that died or ran past a timeout (those workers are
never used again: a restarted worker has a new address). An evaluation lost with its
worker is run again as a Dask task (:func:`~glompo_dask._tasks.run_tasks`), which the
scheduler places on a live worker and retries.

Locks: ``_placed_lock`` guards the evaluators and their loads (held briefly, by the
optimizers' threads); ``_refresh_lock`` lets one thread at a time place evaluators.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from glompo_core.errors import EvaluationTimeout
from glompo_dask._cluster import WAIT_TIMEOUTS, restart_later
from glompo_dask._tasks import Session, run_tasks

__all__ = ["REFRESH_EVERY", "ActorPool"]

_log = logging.getLogger("glompo.backends")

#: Seconds between two looks for workers without an evaluator.
REFRESH_EVERY = 2.0


@dataclass
class _Placed:
    """An :class:`~glompo_dask._worker.Evaluator` actor on one worker, and its load."""

    worker: str
    actor: Any
    future: Any  # the actor's Dask future: holding it keeps the actor alive
    threads: int
    load: int = 0


def _raise_task_error(exc: BaseException, traceback: dict[str, Any]) -> None:
    """Raise the task's exception with the worker's traceback."""
    from tblib import Traceback

    try:
        tb = Traceback.from_dict(traceback).as_traceback()
    except Exception:
        tb = None
    raise exc.with_traceback(tb)


class ActorPool:
    """The evaluator actors of a started backend, one per worker, and their loads.

    Parameters
    ----------
    session
        The started backend's session (client, task plugin, timeout, retries).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._placed: dict[str, _Placed] = {}
        self._lost_workers: set[str] = set()  # never placed on again (a restart renames)
        self._placed_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._next_refresh = 0.0

    def __len__(self) -> int:
        """Number of evaluators placed."""
        with self._placed_lock:
            return len(self._placed)

    def refresh(self) -> None:
        """Place an evaluator on every worker without one; forget those of gone workers."""
        from glompo_dask._worker import Evaluator

        client = self.session.require_client()
        with self._refresh_lock:
            self._next_refresh = time.monotonic() + REFRESH_EVERY
            threads = client.nthreads()
            with self._placed_lock:
                for worker in [w for w in self._placed if w not in threads]:
                    self._drop(worker)
                new = [w for w in threads
                       if w not in self._placed and w not in self._lost_workers]
            futures = {w: client.submit(Evaluator, self.session.plugin, self.session.detailed,
                                        actor=True, workers=[w], allow_other_workers=False,
                                        pure=False, key=f"glompo-evaluator-{uuid.uuid4().hex}")
                       for w in new}
            with client.as_current():  # the actor handles bind to this (non-default) client
                for worker, future in futures.items():
                    try:
                        actor = future.result(
                            timeout=max(30.0, self.session.startup_timeout / 10))
                    except Exception as exc:  # the worker left meanwhile; retried later
                        _log.info("dask backend: no evaluator placed on %s (%r)", worker, exc)
                        future.cancel()
                        continue
                    with self._placed_lock:
                        self._placed[worker] = _Placed(worker, actor, future, threads[worker])
            if new:
                _log.debug("dask backend: evaluators on %d workers", len(self._placed))

    def drop_all(self) -> None:
        """Forget every evaluator (the backend shuts down)."""
        with self._placed_lock:
            for worker in list(self._placed):
                self._drop(worker)

    def _drop(self, worker: str) -> None:
        """Forget the evaluator on ``worker`` (caller holds ``_placed_lock``)."""
        placed = self._placed.pop(worker, None)
        if placed is not None:
            try:
                placed.future.cancel()
            except Exception:
                _log.debug("could not release the evaluator on %s", worker, exc_info=True)

    def _least_loaded(self) -> _Placed:
        """The evaluator with the most free threads (placing evaluators when needed)."""
        if time.monotonic() >= self._next_refresh and not self._refresh_lock.locked():
            self.refresh()  # workers that joined (or restarted) since the last look
        startup_timeout = self.session.startup_timeout
        deadline = time.monotonic() + startup_timeout
        while True:
            with self._placed_lock:
                if self._placed:
                    placed = min(self._placed.values(), key=lambda p: p.load / p.threads)
                    placed.load += 1
                    return placed
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Dask worker to evaluate on for startup_timeout="
                                   f"{startup_timeout} s: every worker left the cluster")
            client = self.session.require_client()
            try:
                client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            except WAIT_TIMEOUTS:
                continue
            time.sleep(0.2)  # let a restarting worker finish its plugins
            self.refresh()

    def _release(self, placed: _Placed) -> None:
        with self._placed_lock:
            placed.load = max(0, placed.load - 1)

    def _lose(self, placed: _Placed) -> None:
        """``placed``'s worker failed a call: release it and never use that worker again."""
        with self._placed_lock:
            placed.load = max(0, placed.load - 1)
            self._lost_workers.add(placed.worker)
            if self._placed.get(placed.worker) is placed:
                self._drop(placed.worker)

    def _call(self, x: np.ndarray) -> tuple[_Placed, Any, float]:
        """Start evaluating ``x`` on the least loaded evaluator."""
        for _ in range(max(3, self.session.retries + 1)):
            placed = self._least_loaded()
            try:
                return placed, placed.actor.evaluate(x), time.monotonic()
            except Exception as exc:  # distributed knows the evaluator's worker was lost
                _log.info("dask backend: the evaluator on %s is gone (%r)", placed.worker, exc)
                self._lose(placed)
        raise RuntimeError("dask backend: the Dask workers keep failing; no evaluator to use")

    def _abandon(self, workers: Sequence[str]) -> None:
        """Forget the evaluators on ``workers`` and restart those workers (timed out)."""
        with self._placed_lock:
            for worker in workers:
                self._lost_workers.add(worker)
                self._drop(worker)
        restart_later(self.session.require_client(), workers)

    def run(self, xs: Sequence[np.ndarray], slots: int) -> list[Any]:
        """Call the least loaded evaluators for every point; collect the results in order.

        Parameters
        ----------
        xs
            The points.
        slots
            Evaluations the cluster runs at once (the length of a round, for timeouts).

        Returns
        -------
        list
            One result per point.
        """
        n = len(xs)
        session = self.session
        calls: list[tuple[_Placed, Any, float]] = []
        try:
            for x in xs:
                calls.append(self._call(x))
        except BaseException:
            for placed, _, _ in calls:
                self._release(placed)
            raise
        rounds = [i // slots + 1 for i in range(n)]
        results: list[Any] = [None] * n
        i = 0
        try:
            while i < n:
                placed, call, started = calls[i]
                wait = None
                if session.timeout is not None and not call.done():
                    wait = max(1e-3, started + rounds[i] * session.timeout - time.monotonic())
                try:
                    ok, value = call.result(timeout=wait)
                except WAIT_TIMEOUTS:
                    if call.done():
                        raise
                    late = sorted({p.worker for p, c, _ in calls[i:] if not c.done()})
                    self._abandon(late)
                    raise EvaluationTimeout(
                        f"evaluation of x={np.asarray(xs[i]).tolist()} ran past "
                        f"{session.timeout} s on the Dask cluster; it was abandoned and the "
                        "worker running it restarted") from None
                except Exception as exc:  # the worker holding the evaluator is gone
                    session.require_client()
                    self._lose(placed)
                    self._next_refresh = 0.0  # drop the evaluators of dead workers soon
                    if session.retries == 0:
                        raise RuntimeError(
                            f"the evaluation of x={np.asarray(xs[i]).tolist()} was lost with "
                            f"its Dask worker ({exc!r}) and retries=0") from exc
                    # Rerun it as a Dask task: the scheduler knows which workers are alive
                    # (other evaluators may sit on workers that died with this one, and a
                    # call to them fails only after the connect timeout) and retries it.
                    _log.warning("dask backend: worker %s lost an evaluation (%r); running "
                                 "it again as a Dask task", placed.worker, exc)
                    results[i] = run_tasks(session, [xs[i]], slots)[0]
                    i += 1
                    continue
                self._release(placed)
                if not ok:
                    _raise_task_error(*value)
                results[i] = value
                i += 1
        except BaseException:
            for placed, _, _ in calls[i + 1:]:
                self._release(placed)  # their results are dropped when they arrive
            raise
        return results

