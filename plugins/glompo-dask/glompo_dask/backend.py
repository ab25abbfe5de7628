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

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from glompo_dask import _cluster
from glompo_dask._actors import ActorPool
from glompo_dask._tasks import Session, run_tasks

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

__all__ = ["DaskBackend"]

_log = logging.getLogger("glompo.backends")

#: Arguments of ``LocalCluster`` that :class:`DaskBackend` sets from its own parameters.
_OWN_CLUSTER_ARGS = ("n_workers", "threads_per_worker", "processes")

#: How evaluations reach the workers (see :class:`DaskBackend`).
DISPATCHES = ("tasks", "actors")


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
    The manager builds it from ``backend="dask"`` and ``backend_kwargs``; on its own,
    with a LocalCluster of one worker thread in this process (no dashboard):

    >>> import math
    >>> import numpy as np
    >>> from glompo_dask import DaskBackend
    >>> backend = DaskBackend(n_workers=1, processes=False,
    ...                       cluster_kwargs={"dashboard_address": None})
    >>> backend
    DaskBackend(LocalCluster(n_workers=1), dispatch='tasks', retries=2)
    >>> backend.start(math.fsum, max_workers=1, detailed=False)
    >>> backend.evaluate(np.array([1.0, 2.5]))
    3.5
    >>> backend.evaluate_batch(np.array([[1.0, 2.0], [3.0, 4.0]]))   # in row order
    [3.0, 7.0]
    >>> backend.shutdown()   # closes the client and the LocalCluster it started
    >>> backend.client is None and backend.cluster is None
    True

    A running scheduler is sized where it was created, not here:

    >>> DaskBackend(address="tcp://10.0.0.5:8786", n_workers=4)
    Traceback (most recent call last):
    ...
    ValueError: n_workers configure the LocalCluster the dask backend starts itself; ...

    In a run, on a cluster started elsewhere (a dask-jobqueue cluster's
    ``scheduler_address``, for example):

    >>> from glompo_core import GloMPOManager
    >>> manager = GloMPOManager.new_manager(  # doctest: +SKIP
    ...     task=task, bounds=bounds, opt_selector=selector, max_jobs=8,
    ...     backend="dask", backend_kwargs={"address": "tcp://10.0.0.5:8786"})
    """

    name = "dask"
    #: A hung evaluation's task is cancelled and its worker restarted; the optimizer goes on.
    kills_hung_evaluations = True

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
        self._plugin: str | None = None
        self._session: Session | None = None
        self._actors: ActorPool | None = None
        self._slots = 1
        self._closed = False

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
        try:
            self.client = client = self._connect(max(1, int(max_workers)))
            _cluster.wait_for_workers(client, self.startup_timeout)
            by_value = _cluster.by_value_module(client, task)
            name = _cluster.new_plugin_name()
            try:
                _cluster.install_task(client, task, by_value, name)
            finally:
                self._plugin = name  # registered with the scheduler even if a worker failed
            self._session = Session(
                require_client=self._require_client, plugin=name, detailed=bool(detailed),
                timeout=float(timeout) if timeout is not None and timeout > 0 else None,
                retries=self.retries, startup_timeout=self.startup_timeout)
            if self.dispatch == "actors":
                self._actors = ActorPool(self._session)
                self._actors.refresh()
                if not len(self._actors):
                    raise RuntimeError("no evaluator actor could be placed on the Dask workers")
        except BaseException:
            self.shutdown()
            raise
        threads = sum(self.client.nthreads().values())
        self._slots = max(1, min(int(max_workers), threads))
        _log.info("dask backend: scheduler %s, %d workers, %d threads, dispatch %r; "
                  "dashboard: %s", _cluster.address(self.client), len(self.client.nthreads()),
                  threads, self.dispatch, _cluster.dashboard_link(self.client))

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

    # ------------------------------------------------------------------------- evaluation
    def _require_client(self) -> Client:
        if self._closed:
            raise RuntimeError("the dask backend was shut down")
        if self.client is None:
            raise RuntimeError("the dask backend is not started: call start() first")
        return self.client

    def _run(self, xs: Sequence[np.ndarray]) -> list[Any]:
        self._require_client()
        session = self._session
        if session is None:  # pragma: no cover - a started backend has its session
            raise RuntimeError("the dask backend is not started: call start() first")
        if self._actors is not None:
            return self._actors.run(xs, self._slots)
        return run_tasks(session, xs, self._slots)

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
        if self._actors is not None:
            self._actors.drop_all()
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
