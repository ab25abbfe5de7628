"""The 'dask' backend: evaluations run as Dask tasks on a local or remote cluster.

The optimizers' control loops stay in threads of the manager's process; only
``task(x)`` goes to the cluster. The task reaches each worker once, in a worker plugin
that the scheduler also installs on workers joining later; each evaluation, and each
row of a population, is one Dask task without data dependencies, which the scheduler
runs on whichever worker is free. A worker that dies while it evaluates costs a rerun
of that evaluation on another worker, not the optimizer.

This module imports :mod:`distributed` only when a backend starts, so registering the
backend (which imports this module) stays light.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from glompo_core.errors import EvaluationTimeout

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

    from glompo_dask._worker import TaskPlugin

__all__ = ["DaskBackend"]

_log = logging.getLogger("glompo.backends")

#: Arguments of ``LocalCluster`` that :class:`DaskBackend` sets from its own parameters.
_OWN_CLUSTER_ARGS = ("n_workers", "threads_per_worker", "processes")

#: Errors ``Future.result(timeout=...)`` raises when the time is up (asyncio's differs
#: from the builtin before Python 3.11).
_WAIT_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

_by_value_lock = threading.Lock()

#: How evaluations reach the workers (see :class:`DaskBackend`).
DISPATCHES = ("tasks", "actors")

#: Seconds between two looks for workers without an evaluator (``dispatch='actors'``).
_REFRESH_EVERY = 2.0


@dataclass
class _Placed:
    """An :class:`~glompo_dask._worker.Evaluator` actor on one worker, and its load."""

    worker: str
    actor: Any
    future: Any  # the actor's Dask future: holding it keeps the actor alive
    threads: int
    load: int = 0


def _importable(module: str) -> bool:
    """On a worker: True if ``module`` can be imported there (nothing is imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or not a module path
        return False


def _module_of(task: Any) -> str | None:
    """Name of the module defining the task (its class, or the function itself)."""
    name = getattr(task, "__module__", None)
    if not isinstance(name, str) or name in ("__main__", "builtins") or name not in sys.modules:
        return None  # cloudpickle sends what __main__ defines by value anyway
    return name


def _address(client: Client) -> str:
    """The address of the scheduler ``client`` is connected to."""
    return str(getattr(client.scheduler, "address", "?"))


def _register(client: Client, plugin: TaskPlugin, name: str) -> None:
    """Register a worker plugin on every worker, present and future."""
    register = getattr(client, "register_plugin", None)
    if register is None:  # distributed < 2023.9.2
        register = client.register_worker_plugin  # type: ignore[attr-defined]
    register(plugin, name=name)


def _raise_if_glompo_dask_missing(exc: BaseException) -> None:
    """Explain an error of the workers that cannot import glompo_dask itself."""
    if "No module named 'glompo_dask" in str(exc):
        raise RuntimeError("glompo-dask must be installed where the Dask workers run (pip "
                           f"install glompo-dask there): the workers report {exc!r}") from exc


@contextmanager
def _pickled_by_value(module: str | None) -> Iterator[None]:
    """Within the block, cloudpickle serialises what ``module`` defines by value."""
    if module is None:
        yield
        return
    import cloudpickle

    with _by_value_lock:
        already = module in cloudpickle.list_registry_pickle_by_value()
        if not already:
            cloudpickle.register_pickle_by_value(sys.modules[module])
        try:
            yield
        finally:
            if not already:
                cloudpickle.unregister_pickle_by_value(sys.modules[module])


class DaskBackend:
    """Evaluate the task on a Dask cluster: a LocalCluster it starts, or a running one.

    Parameters
    ----------
    address
        Address of a running Dask scheduler (``'tcp://10.0.0.5:8786'``, or
        ``cluster.scheduler_address`` of a dask-jobqueue cluster). The backend connects
        a :class:`distributed.Client` to it and, at the end of the run, closes only that
        client: the scheduler and its workers keep running.
    n_workers
        Workers of the LocalCluster started when neither ``address`` nor ``client`` is
        given. Default: the run's ``max_jobs``.
    threads_per_worker
        Threads of each LocalCluster worker (evaluations it runs at once).
    processes
        LocalCluster workers are processes (True: each has a nanny that restarts it if
        it dies, and CPU-bound Python tasks run in parallel) or threads of this process.
    retries
        How many times one evaluation is run again after the worker running it died
        (the scheduler's ``allowed_failures``; once more lost, the optimizer gets
        :class:`distributed.scheduler.KilledWorker`), and how many times it is resubmitted
        if the cluster cancels it (e.g. ``client.restart()``). An exception raised by the
        task itself is never retried: it reaches the optimizer at once, as with the
        other backends. With ``address`` or ``client`` the scheduler's own
        ``distributed.scheduler.allowed-failures`` setting (default 3) applies to dead
        workers instead.
    client
        A connected, synchronous :class:`distributed.Client` to use. It is left open at
        the end of the run (the backend only removes the task it installed).
    cluster_kwargs
        More arguments for :class:`distributed.LocalCluster` (``dashboard_address``,
        ``memory_limit``, ``silence_logs``, ``scheduler_kwargs``, ...).
    startup_timeout
        Seconds :meth:`start` waits for a first worker to join the scheduler (workers
        of a batch system may still be queued) before it gives up.
    dispatch
        How evaluations reach the workers. ``'tasks'`` (default): each evaluation is a
        Dask task; the scheduler places it on any free worker, shows it in the
        dashboard's task stream and reruns it if its worker dies. Each costs a few
        scheduler round trips: about 10 ms on a small machine, nothing beside
        evaluations of a second or more. ``'actors'``: one
        :class:`~glompo_dask._worker.Evaluator` actor per worker, called directly
        (about 2 ms per evaluation); GloMPO balances the evaluations over the workers'
        threads, places an actor on every worker that joins, and reruns an
        evaluation whose worker died as a Dask task (retried as above). Use
        it for evaluations of less than about 0.1 s. The backend's own client then
        talks to the workers directly (``direct_to_workers=True``): the manager's
        machine must reach the workers' addresses, as it does on a cluster's network
        (else pass a ``client`` made with ``direct_to_workers=False``).

    Attributes
    ----------
    client : distributed.Client or None
        The client the evaluations go through, while the backend runs.
    cluster : distributed.LocalCluster or None
        The LocalCluster the backend started, if it started one.

    Notes
    -----
    The task is pickled once (cloudpickle) into a worker plugin: the scheduler installs
    it on every worker, including workers that join or restart later. Each evaluation
    is a Dask task without data dependencies that sends ``x`` and returns ``fx`` (or
    the detailed tuple), so the scheduler balances evaluations over all the workers.
    (A task scattered to the workers would pin the evaluations to the workers holding a
    copy: Dask's active memory manager soon keeps one copy only, and workers that join
    later have none.) Tasks defined in a script, a closure or a class of a module the
    workers cannot import are sent by value; everything else they use must be
    importable on the workers, and so must ``glompo_dask``.

    With ``force_terminations_after`` (``timeout``) an evaluation that has not
    finished that many seconds after it was handed to the scheduler (``k`` times that
    for the ``k``-th round of a population larger than the cluster) is cancelled, its
    worker is restarted (when a nanny watches it) and the optimizer gets
    :class:`~glompo_core.errors.EvaluationTimeout`.

    Worker processes are started with the ``spawn`` method: a script that starts a run
    on a LocalCluster needs the ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> from glompo_core import GloMPOManager
    >>> manager = GloMPOManager.new_manager(  # doctest: +SKIP
    ...     task=task, bounds=bounds, opt_selector=selector, max_jobs=8,
    ...     backend="dask", backend_kwargs={"address": "tcp://10.0.0.5:8786"})
    """

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int | None = None,
                 threads_per_worker: int = 1, processes: bool = True, retries: int = 2,
                 client: Client | None = None, cluster_kwargs: Mapping[str, Any] | None = None,
                 startup_timeout: float = 300.0,
                 dispatch: Literal["tasks", "actors"] = "tasks") -> None:
        if address is not None and client is not None:
            raise ValueError("give the dask backend either address= (a scheduler to connect "
                             "to) or client= (a connected Client), not both")
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a scheduler address such as "
                            f"'tcp://10.0.0.5:8786', got {address!r}")
        if client is not None and not callable(getattr(client, "submit", None)):
            raise TypeError(f"client must be a distributed.Client, got {client!r}")
        if client is not None and getattr(client, "asynchronous", False):
            raise ValueError("client must be a synchronous distributed.Client "
                             "(asynchronous=False): optimizers wait on it from threads")
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive integer or None, got {n_workers!r}")
        if not isinstance(threads_per_worker, int) or threads_per_worker < 1:
            raise ValueError("threads_per_worker must be a positive integer, "
                             f"got {threads_per_worker!r}")
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        if not isinstance(startup_timeout, (int, float)) or startup_timeout <= 0:
            raise ValueError(f"startup_timeout must be a positive number of seconds, "
                             f"got {startup_timeout!r}")
        if dispatch not in DISPATCHES:
            raise ValueError(f"dispatch must be one of {', '.join(map(repr, DISPATCHES))}, "
                             f"got {dispatch!r}")
        cluster_kwargs = dict(cluster_kwargs or {})
        clash = [k for k in _OWN_CLUSTER_ARGS if k in cluster_kwargs]
        if clash:
            raise ValueError(f"pass {', '.join(clash)} to the dask backend itself, not in "
                             "cluster_kwargs")
        if address is not None or client is not None:
            local_only = [name for name, given in (
                ("n_workers", n_workers is not None),
                ("threads_per_worker", threads_per_worker != 1),
                ("processes", processes is not True),
                ("cluster_kwargs", bool(cluster_kwargs))) if given]
            if local_only:
                raise ValueError(f"{', '.join(local_only)} configure the LocalCluster the "
                                 "dask backend starts itself; with address= or client= size "
                                 "the cluster where it is created")
        self.address = address
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = bool(processes)
        self.retries = retries
        self.cluster_kwargs = cluster_kwargs
        self.startup_timeout = float(startup_timeout)
        self.dispatch = dispatch
        self._given_client = client
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None
        self._task: Any = None
        self._plugin: str | None = None
        self._by_value: str | None = None
        self._detailed = False
        self._timeout: float | None = None
        self._slots = 1
        self._closed = False
        self._placed: dict[str, _Placed] = {}
        self._lost_workers: set[str] = set()  # never placed on again (a restart renames)
        self._placed_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._next_refresh = 0.0

    def __repr__(self) -> str:
        where = (f"address={self.address!r}" if self.address is not None else
                 "client=<given>" if self._given_client is not None else
                 f"LocalCluster(n_workers={self.n_workers})")
        return f"DaskBackend({where}, dispatch={self.dispatch!r}, retries={self.retries})"

    # ------------------------------------------------------------------------------ start
    def start(self, task: Any, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        """Connect to (or start) the cluster and send the task to every worker.

        Parameters
        ----------
        task
            The function being minimised.
        max_workers
            The run's ``max_jobs``: the workers of the LocalCluster when ``n_workers``
            is None.
        detailed
            Evaluate ``task.detailed_call`` (``is_log_detailed=True``).
        timeout
            Seconds after which one evaluation is abandoned (None: never).

        Raises
        ------
        TypeError
            ``detailed`` and the task has no ``detailed_call``.
        RuntimeError
            The backend was started already, no worker joined within
            ``startup_timeout``, or the task could not be sent to the workers.
        """
        if self.client is not None or self._closed:
            raise RuntimeError("this dask backend was started already; create a new one")
        if detailed and not callable(getattr(task, "detailed_call", None)):
            raise TypeError("is_log_detailed=True needs a task with a detailed_call method")
        self._task = task
        self._detailed = bool(detailed)
        self._timeout = float(timeout) if timeout is not None and timeout > 0 else None
        try:
            self.client = self._connect(max(1, int(max_workers)))
            self._wait_for_workers()
            self._check_workers()
            self._install_task()
            if self.dispatch == "actors":
                self._refresh_actors()
                if not self._placed:
                    raise RuntimeError("no evaluator actor could be placed on the Dask workers")
        except BaseException:
            self.shutdown()
            raise
        threads = sum(self.client.nthreads().values())
        self._slots = max(1, min(int(max_workers), threads))
        _log.info("dask backend: scheduler %s, %d workers, %d threads, dispatch %r; "
                  "dashboard: %s", _address(self.client), len(self.client.nthreads()),
                  threads, self.dispatch, self._dashboard_link())

    def _connect(self, max_workers: int) -> Client:
        from distributed import Client, LocalCluster

        if self._given_client is not None:
            return self._given_client
        # Actor calls go straight to the workers when the client may connect to them (one
        # hop, not two through the scheduler's proxy).
        direct = True if self.dispatch == "actors" else None
        if self.address is not None:
            return Client(self.address, set_as_default=False, direct_to_workers=direct)
        kwargs = dict(self.cluster_kwargs)
        scheduler_kwargs = dict(kwargs.pop("scheduler_kwargs", None) or {})
        scheduler_kwargs.setdefault("allowed_failures", self.retries)
        self.cluster = LocalCluster(n_workers=self.n_workers or max_workers,
                                    threads_per_worker=self.threads_per_worker,
                                    processes=self.processes, scheduler_kwargs=scheduler_kwargs,
                                    **kwargs)
        return Client(self.cluster, set_as_default=False, direct_to_workers=direct)

    def _wait_for_workers(self) -> None:
        client = self._require_client()
        if client.nthreads():
            return
        _log.info("dask backend: waiting up to %s s for a first worker to join %s",
                  self.startup_timeout, _address(client))
        try:
            client.wait_for_workers(1, timeout=self.startup_timeout)
        except _WAIT_TIMEOUTS:
            raise RuntimeError(
                f"no Dask worker joined the scheduler at {_address(client)} within "
                f"startup_timeout={self.startup_timeout} s: start workers (dask worker "
                f"{_address(client)}) or scale the cluster up "
                "(cluster.scale(jobs=...))") from None

    def _check_workers(self) -> None:
        """Decide how the task is sent: by value when its module is missing on a worker."""
        client = self._require_client()
        module = _module_of(self._task)
        if module is None:
            return
        try:
            found = client.run(_importable, module)
        except Exception as exc:
            _raise_if_glompo_dask_missing(exc)
            raise
        missing = sorted(worker for worker, ok in found.items() if not ok)
        if missing:
            self._by_value = module
            _log.info("dask backend: the task's module %r cannot be imported on %d worker(s); "
                      "the task is sent by value", module, len(missing))

    def _install_task(self) -> None:
        """Pickle the task once and install it on every worker, present and future."""
        import cloudpickle

        from glompo_dask._worker import TaskPlugin

        client = self._require_client()
        with _pickled_by_value(self._by_value):
            payload = cloudpickle.dumps(self._task)
        name = f"glompo-task-{uuid.uuid4().hex}"
        try:
            _register(client, TaskPlugin(payload), name)
        except Exception as exc:
            _raise_if_glompo_dask_missing(exc)
            raise RuntimeError(
                f"the task could not be installed on the Dask workers ({exc!r}): everything "
                "it uses must be importable where the workers run (install it there), or "
                "be defined in the script that starts the run") from exc
        finally:
            self._plugin = name  # registered with the scheduler even if a worker failed
        _log.debug("dask backend: task installed on the workers as %s (%d bytes)", name,
                   len(payload))

    def _dashboard_link(self) -> str:
        try:
            link = self._require_client().dashboard_link
        except Exception:
            link = None
        return str(link) if link else "not available"

    # ------------------------------------------------------------------------- evaluation
    def _require_client(self) -> Client:
        if self._closed:
            raise RuntimeError("the dask backend was shut down")
        if self.client is None:
            raise RuntimeError("the dask backend is not started: call start() first")
        return self.client

    def _submit(self, x: np.ndarray) -> Future:
        from glompo_dask._worker import evaluate

        client = self._require_client()
        return client.submit(evaluate, self._plugin, x, self._detailed, pure=False,
                             key=f"glompo_evaluate-{uuid.uuid4().hex}")

    def _abandon(self, futures: Sequence[Future]) -> None:
        """Cancel timed-out evaluations and restart the workers still running them."""
        client = self._require_client()
        try:
            stacks = client.call_stack(keys=[f.key for f in futures])
        except Exception:
            stacks = {}
        busy = sorted(worker for worker, running in stacks.items() if running)
        client.cancel(list(futures))
        if busy:
            self._restart_later(busy)

    def _restart_later(self, workers: Sequence[str]) -> None:
        """Restart ``workers`` (running abandoned evaluations) in a background thread."""
        client = self._require_client()
        restart = getattr(client, "restart_workers", None)
        if restart is None:
            _log.warning("dask backend: workers %s keep running abandoned evaluations (this "
                         "version of distributed cannot restart single workers)", workers)
            return
        workers = list(workers)

        def restart_them() -> None:
            try:
                status = restart(workers, raise_for_error=False)
            except Exception as exc:
                status = {w: repr(exc) for w in workers}
            failed = {w: s for w, s in dict(status or {}).items() if s != "OK"}
            if failed:
                _log.warning("dask backend: workers running abandoned evaluations could not "
                             "be restarted (no nanny?): %s", failed)

        threading.Thread(target=restart_them, name="glompo-dask-restart", daemon=True).start()

    def _run(self, xs: Sequence[np.ndarray]) -> list[Any]:
        if self.dispatch == "actors":
            return self._run_actors(xs)
        return self._run_tasks(xs)

    def _run_tasks(self, xs: Sequence[np.ndarray]) -> list[Any]:
        """Submit every point, then collect the results in order (see the class notes)."""
        n = len(xs)
        submitted = [self._submit(x) for x in xs]
        started = [time.monotonic()] * n
        rounds = [i // self._slots + 1 for i in range(n)]
        lost = [0] * n
        results: list[Any] = [None] * n
        i = 0
        try:
            while i < n:
                future = submitted[i]
                wait = None  # a finished future is fetched without a deadline
                if self._timeout is not None and not future.done():
                    wait = max(1e-3, started[i] + rounds[i] * self._timeout - time.monotonic())
                try:
                    results[i] = future.result(timeout=wait)
                except concurrent.futures.CancelledError:
                    self._require_client()
                    if lost[i] >= self.retries:
                        raise RuntimeError(
                            f"the evaluation of x={np.asarray(xs[i]).tolist()} was cancelled "
                            f"by the Dask cluster {lost[i] + 1} times") from None
                    lost[i] += 1
                    _log.warning("dask backend: the cluster cancelled an evaluation; "
                                 "submitting it again (%d of %d)", lost[i], self.retries)
                    submitted[i] = self._submit(xs[i])
                    started[i], rounds[i] = time.monotonic(), 1
                    continue
                except _WAIT_TIMEOUTS:
                    if future.done():
                        raise  # the task itself raised TimeoutError
                    late = [f for f in submitted[i:] if not f.done()]
                    self._abandon(late)
                    raise EvaluationTimeout(
                        f"evaluation of x={np.asarray(xs[i]).tolist()} ran past "
                        f"{self._timeout} s on the Dask cluster; it was cancelled (and the "
                        "worker running it restarted)") from None
                i += 1
        except BaseException:
            pending = [f for f in submitted[i:] if not f.done()]
            if pending and self.client is not None and not self._closed:
                try:
                    self.client.cancel(pending)
                except Exception:
                    _log.debug("could not cancel pending evaluations", exc_info=True)
            raise
        return results

    # -------------------------------------------------------------- dispatch='actors'
    def _refresh_actors(self) -> None:
        """Place an evaluator on every worker without one; forget those of gone workers."""
        from glompo_dask._worker import Evaluator

        client = self._require_client()
        with self._refresh_lock:
            self._next_refresh = time.monotonic() + _REFRESH_EVERY
            threads = client.nthreads()
            with self._placed_lock:
                for worker in [w for w in self._placed if w not in threads]:
                    self._drop_actor(worker)
                new = [w for w in threads
                       if w not in self._placed and w not in self._lost_workers]
            futures = {w: client.submit(Evaluator, self._plugin, self._detailed, actor=True,
                                        workers=[w], allow_other_workers=False, pure=False,
                                        key=f"glompo-evaluator-{uuid.uuid4().hex}")
                       for w in new}
            with client.as_current():  # the actor handles bind to this (non-default) client
                for worker, future in futures.items():
                    try:
                        actor = future.result(timeout=max(30.0, self.startup_timeout / 10))
                    except Exception as exc:  # the worker left meanwhile; retried later
                        _log.info("dask backend: no evaluator placed on %s (%r)", worker, exc)
                        future.cancel()
                        continue
                    with self._placed_lock:
                        self._placed[worker] = _Placed(worker, actor, future, threads[worker])
            if new:
                _log.debug("dask backend: evaluators on %d workers", len(self._placed))

    def _drop_actor(self, worker: str) -> None:
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
            self._refresh_actors()  # workers that joined (or restarted) since the last look
        deadline = time.monotonic() + self.startup_timeout
        while True:
            with self._placed_lock:
                if self._placed:
                    placed = min(self._placed.values(), key=lambda p: p.load / p.threads)
                    placed.load += 1
                    return placed
            if time.monotonic() > deadline:
                raise RuntimeError(f"no Dask worker to evaluate on for startup_timeout="
                                   f"{self.startup_timeout} s: every worker left the cluster")
            client = self._require_client()
            try:
                client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            except _WAIT_TIMEOUTS:
                continue
            time.sleep(0.2)  # let a restarting worker finish its plugins
            self._refresh_actors()

    def _release(self, placed: _Placed) -> None:
        with self._placed_lock:
            placed.load = max(0, placed.load - 1)

    def _lose(self, placed: _Placed) -> None:
        """``placed``'s worker failed a call: release it and never use that worker again."""
        with self._placed_lock:
            placed.load = max(0, placed.load - 1)
            self._lost_workers.add(placed.worker)
            if self._placed.get(placed.worker) is placed:
                self._drop_actor(placed.worker)

    def _call(self, x: np.ndarray) -> tuple[_Placed, Any, float]:
        """Start evaluating ``x`` on the least loaded evaluator."""
        for _ in range(max(3, self.retries + 1)):
            placed = self._least_loaded()
            try:
                return placed, placed.actor.evaluate(x), time.monotonic()
            except Exception as exc:  # distributed knows the evaluator's worker was lost
                _log.info("dask backend: the evaluator on %s is gone (%r)", placed.worker, exc)
                self._lose(placed)
        raise RuntimeError("dask backend: the Dask workers keep failing; no evaluator to use")

    def _abandon_actors(self, workers: Sequence[str]) -> None:
        """Forget the evaluators on ``workers`` and restart those workers (timed out)."""
        with self._placed_lock:
            for worker in workers:
                self._lost_workers.add(worker)
                self._drop_actor(worker)
        self._restart_later(workers)

    def _run_actors(self, xs: Sequence[np.ndarray]) -> list[Any]:
        """Call the least loaded evaluators for every point; collect the results in order."""
        n = len(xs)
        calls: list[tuple[_Placed, Any, float]] = []
        try:
            for x in xs:
                calls.append(self._call(x))
        except BaseException:
            for placed, _, _ in calls:
                self._release(placed)
            raise
        rounds = [i // self._slots + 1 for i in range(n)]
        results: list[Any] = [None] * n
        i = 0
        try:
            while i < n:
                placed, call, started = calls[i]
                wait = None
                if self._timeout is not None and not call.done():
                    wait = max(1e-3, started + rounds[i] * self._timeout - time.monotonic())
                try:
                    ok, value = call.result(timeout=wait)
                except _WAIT_TIMEOUTS:
                    if call.done():
                        raise
                    late = sorted({p.worker for p, c, _ in calls[i:] if not c.done()})
                    self._abandon_actors(late)
                    raise EvaluationTimeout(
                        f"evaluation of x={np.asarray(xs[i]).tolist()} ran past "
                        f"{self._timeout} s on the Dask cluster; it was abandoned and the "
                        "worker running it restarted") from None
                except Exception as exc:  # the worker holding the evaluator is gone
                    self._require_client()
                    self._lose(placed)
                    self._next_refresh = 0.0  # drop the evaluators of dead workers soon
                    if self.retries == 0:
                        raise RuntimeError(
                            f"the evaluation of x={np.asarray(xs[i]).tolist()} was lost with "
                            f"its Dask worker ({exc!r}) and retries=0") from exc
                    # Rerun it as a Dask task: the scheduler knows which workers are alive
                    # (other evaluators may sit on workers that died with this one, and a
                    # call to them fails only after the connect timeout) and retries it.
                    _log.warning("dask backend: worker %s lost an evaluation (%r); running "
                                 "it again as a Dask task", placed.worker, exc)
                    results[i] = self._run_tasks([xs[i]])[0]
                    i += 1
                    continue
                self._release(placed)
                if not ok:
                    self._raise_task_error(*value)
                results[i] = value
                i += 1
        except BaseException:
            for placed, _, _ in calls[i + 1:]:
                self._release(placed)  # their results are dropped when they arrive
            raise
        return results

    @staticmethod
    def _raise_task_error(exc: BaseException, traceback: dict[str, Any]) -> None:
        """Raise the task's exception with the worker's traceback."""
        from tblib import Traceback

        try:
            tb = Traceback.from_dict(traceback).as_traceback()
        except Exception:
            tb = None
        raise exc.with_traceback(tb)

    # ------------------------------------------------------------------------- evaluation
    def evaluate(self, x: np.ndarray) -> Any:
        """Evaluate ``x`` on the cluster; blocks the calling (optimizer) thread until done.

        Parameters
        ----------
        x
            The point, in the task's own units.

        Returns
        -------
        Any
            ``fx``, or the detailed tuple when started with ``detailed=True``.

        Raises
        ------
        Exception
            The exception the task raised on the worker (its original type, with the
            worker's traceback).
        EvaluationTimeout
            The evaluation ran past the timeout.
        distributed.scheduler.KilledWorker
            More than ``retries`` workers died while running it.
        """
        return self._run([x])[0]

    def evaluate_batch(self, xs: np.ndarray) -> list[Any]:
        """Evaluate the rows of ``xs`` concurrently on the cluster; results in order.

        Every row is submitted at once (one Dask task each); the results are collected
        in order. The first row that fails raises (see :meth:`evaluate`) and the rows not
        yet finished are cancelled.

        Parameters
        ----------
        xs
            Array of shape (n_points, n_parms).

        Returns
        -------
        list
            One result per row.
        """
        return self._run(list(xs))

    # ---------------------------------------------------------------------------- the end
    def shutdown(self) -> None:
        """Release the task and close the client and the LocalCluster the backend opened.

        A scheduler given by ``address`` and a ``client`` given by the caller keep
        running; only what this backend created is closed. Calling it twice is harmless.
        """
        self._closed = True
        with self._placed_lock:
            for worker in list(self._placed):
                self._drop_actor(worker)
        client, cluster, plugin = self.client, self.cluster, self._plugin
        self.client, self.cluster, self._plugin = None, None, None
        if client is not None and plugin is not None and cluster is None:
            try:  # a scheduler that outlives the run must not keep the task
                client.unregister_worker_plugin(plugin)
            except Exception:
                _log.warning("dask backend: the task could not be removed from the workers",
                             exc_info=True)
        if client is not None and client is not self._given_client:
            try:
                client.close()
            except Exception:
                _log.warning("dask backend: the client did not close cleanly", exc_info=True)
        if cluster is not None:
            try:
                cluster.close()
            except Exception:
                _log.warning("dask backend: the LocalCluster did not close cleanly",
                             exc_info=True)
