"""The 'processes' backend: evaluations run in a pool of worker processes.

The optimizers' control loops stay in threads of the manager's process; only
``task(x)`` crosses to a worker. Each optimizer thread takes an idle worker, sends
it ``x`` and waits on that worker's pipe, so no dispatcher thread sits in between.
A worker whose evaluation exceeds the timeout is killed and replaced; the
evaluation raises :class:`~glompo_core.errors.EvaluationTimeout` in the optimizer.

No worker outlives the manager
------------------------------
However the manager ends (``SIGKILL`` included), its workers end with it:

- on Linux each worker asks the kernel for ``SIGKILL`` when its parent goes
  (``prctl(PR_SET_PDEATHSIG)``). The kernel sends it when the *thread* that forked the
  worker ends, so every worker is forked by one long-lived thread of the backend
  (``glompo-worker-spawner``), never by the optimizer thread that replaces a timed-out
  worker; the thread ends in :meth:`ProcessesBackend.shutdown`, after the workers;
- everywhere, a daemon thread of the worker watches its parent (the parent process's
  sentinel pipe, and ``os.getppid()``) and ends the worker with ``os._exit`` once the
  parent is gone, whatever the task is doing (as long as the task lets Python threads
  run; the Linux signal needs no such help);
- workers reset ``SIGTERM`` and ``SIGHUP`` to their default action (a forked worker would
  otherwise inherit the manager's handlers, and ignore them); ``SIGINT`` does nothing in a
  worker: on Ctrl-C the manager decides and stops the workers itself.

The processes a task starts (with :mod:`subprocess`; with :mod:`multiprocessing` too
under ``'processes_forced'``) end with their worker: each worker leads its own process
group and starts a small *reaper* process in it, which kills the whole group as soon as
the worker is gone, however it went; and the backend kills a worker's whole process tree
when it kills the worker (timeout, shutdown). A process the task moves to a session or
process group of its own is beyond the reaper (the backend still kills it if it is a
descendant of the worker when the worker is killed).

Files the run keeps from children (:mod:`glompo_core._fork_safety`, e.g. the HDF5 log)
are closed in forked workers.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import dill
import numpy as np
import psutil

from glompo_core._fork_safety import _open_fds
from glompo_core.errors import EvaluationTimeout
from glompo_core.protocols import Task

__all__ = ["ProcessesBackend", "ProcessesForcedBackend", "RemoteTaskError"]

_log = logging.getLogger("glompo.backends")

_T = TypeVar("_T")

#: ``prctl`` option: the signal this process receives when its parent thread ends (Linux).
_PR_SET_PDEATHSIG = 1
#: How often (seconds) a worker's watcher thread checks ``os.getppid()``; the parent's
#: sentinel pipe wakes it at once.
_WATCH_INTERVAL = 0.2
#: Exit status of a worker that ended because its manager was gone.
ORPHAN_EXIT_STATUS = 70


class RemoteTaskError(RuntimeError):
    """Carries the traceback of an exception raised by the task in a worker process."""


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent thread ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(ppid: int, sentinel: int | None) -> None:
    """Worker thread: end the process once its parent is gone."""
    while os.getppid() == ppid:
        if sentinel is None:
            time.sleep(_WATCH_INTERVAL)
            continue
        try:
            if multiprocessing.connection.wait([sentinel], timeout=_WATCH_INTERVAL):
                break  # EOF: every copy of the parent's end is closed
        except (OSError, ValueError):
            sentinel = None
    os._exit(ORPHAN_EXIT_STATUS)


def _die_with_parent(manager_pid: int | None) -> None:
    """In a new worker: end it when its parent ends, however that happens.

    ``manager_pid`` is the expected parent (None when the worker's parent is a fork
    server, which itself ends with the manager).
    """
    _set_parent_death_signal(signal.SIGKILL)
    ppid = os.getppid()
    if manager_pid is not None and ppid != manager_pid:
        os._exit(ORPHAN_EXIT_STATUS)  # the manager ended before the signal was asked for
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None) if parent is not None else None
    threading.Thread(target=_watch_parent, args=(ppid, sentinel), name="glompo-parent-watch",
                     daemon=True).start()


def _reap_group_when_gone(worker_pid: int) -> None:
    """In the reaper (a child of the worker): wait for the worker to end, then kill the
    process group (the worker's, which the reaper is in)."""
    try:
        for fd in _open_fds():  # hold none of the worker's pipes or files
            if fd > 2:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if sys.platform.startswith("linux"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            if _set_parent_death_signal(signal.SIGUSR1) and os.getppid() == worker_pid:
                signal.sigwait({signal.SIGUSR1})
        while os.getppid() == worker_pid:
            time.sleep(_WATCH_INTERVAL)
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(0)


def _lead_own_group() -> None:
    """In a worker: lead a process group, killed by a reaper when the worker goes."""
    try:
        os.setpgid(0, 0)
    except OSError:
        return  # cannot: the backend then kills the tree it can see
    worker = os.getpid()
    if os.fork() == 0:
        _reap_group_when_gone(worker)


def _reset_signals() -> None:
    """Default SIGTERM/SIGHUP (not the manager's inherited handlers); ignore Ctrl-C."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, lambda signum, frame: None)


def _worker_main(conn: Any, task: Any, detailed: bool, manager_pid: int | None = None,
                 own_group: bool = False) -> None:
    _reset_signals()
    if own_group and hasattr(os, "setpgid"):
        _lead_own_group()  # forks the reaper: before any thread starts
    _die_with_parent(manager_pid)
    if isinstance(task, bytes):
        task = dill.loads(task)
    fn = task.detailed_call if detailed else task
    while True:
        try:
            x = conn.recv()
        except (EOFError, OSError):
            return
        if x is None:
            return
        try:
            result: tuple[bool, Any] = (True, fn(x))
        except BaseException as exc:  # report every failure of the task to the optimizer
            text = traceback.format_exc()
            try:
                pickle.dumps(exc)
                payload: Any = exc
            except Exception:
                payload = RuntimeError(repr(exc))
            result = (False, (payload, text))
        try:
            conn.send(result)
        except Exception as exc:  # the result itself does not pickle
            conn.send((False, (TypeError(f"task result could not be sent back: {exc!r}"), "")))


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _ended(proc: psutil.Process) -> bool:
    """True once ``proc`` ended (a zombie has: only its parent's reaping is missing)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _kill_all(procs: list[psutil.Process], wait: float = 5.0) -> None:
    """SIGKILL ``procs`` (``psutil`` checks each is still the process it was), and wait up
    to ``wait`` seconds for them to end (not for them to be reaped: most are not our
    children)."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    deadline = time.monotonic() + wait
    pending = [p for p in procs if not _ended(p)]
    while pending and time.monotonic() < deadline:
        time.sleep(0.01)
        pending = [p for p in pending if not _ended(p)]


class _Worker:
    __slots__ = ("conn", "own_group", "proc")

    def __init__(self, ctx: Any, task: Any, detailed: bool, daemon: bool,
                 own_group: bool) -> None:
        parent, child = ctx.Pipe(duplex=True)
        manager_pid = None if ctx.get_start_method() == "forkserver" else os.getpid()
        self.own_group = own_group
        self.proc = ctx.Process(target=_worker_main,
                                args=(child, task, detailed, manager_pid, own_group),
                                name="glompo-worker", daemon=daemon)
        self.proc.start()
        child.close()
        self.conn = parent

    def tree(self) -> list[psutil.Process]:
        """The worker's descendants (the task's processes, the reaper)."""
        return _descendants(self.proc.pid) if self.proc.pid else []

    def kill_group(self) -> None:
        """Kill the worker's process group, if the worker leads one (before it is reaped)."""
        pid = self.proc.pid
        if not self.own_group or not pid or not hasattr(os, "killpg"):
            return
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:  # never our own group
                os.killpg(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill the worker and every process of its tree."""
        try:
            tree = self.tree()
            self.kill_group()
            self.proc.kill()
            self.proc.join(5)
            _kill_all(tree)
        finally:
            self.conn.close()


class _Spawner:
    """The one thread that forks every worker of a backend.

    Linux sends a worker its parent-death signal when the thread that forked it ends:
    forking from optimizer threads (which end while the run goes on) would kill workers
    that are still in use.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]
                                      | None] = queue.SimpleQueue()
        self._guard = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="glompo-worker-spawner",
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return  # stop() queued it after every job it accepted
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` in the spawner thread and return its result.

        Raises
        ------
        RuntimeError
            The spawner was stopped.
        """
        if threading.current_thread() is self._thread:
            return fn()
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._guard:
            if self._stopped:
                raise RuntimeError("the processes backend was shut down")
            self._jobs.put((fn, future))
        return future.result()

    def stop(self) -> None:
        """End the thread after the jobs already accepted (call it once the workers it
        forked are gone)."""
        with self._guard:
            if self._stopped:
                return
            self._stopped = True
            self._jobs.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join()


class ProcessesBackend:
    """Evaluate the task in a pool of ``max_jobs`` worker processes.

    Parameters
    ----------
    start_method
        ``'fork'`` (default on Linux: the task is inherited, nothing is pickled, and
        scripts need no ``if __name__ == '__main__'`` guard), ``'spawn'`` or
        ``'forkserver'`` (the task is sent once to each worker with dill; the script
        needs the guard). Default: ``'fork'`` where available, else ``'spawn'``.

    Notes
    -----
    The task is sent to each worker once, at start; each evaluation sends only ``x``
    and returns ``fx`` (or the detailed tuple). Workers are daemon processes, so the
    task cannot start :mod:`multiprocessing` processes of its own; use the
    ``'processes_forced'`` backend for that (non-daemon workers).

    No worker, nor any process its task started, outlives the manager, however the
    manager ends (module docstring); :meth:`shutdown` leaves no process.

    Examples
    --------
    The manager builds it from ``backend="processes"``; on its own:

    >>> import math
    >>> import numpy as np
    >>> import psutil
    >>> backend = ProcessesBackend()
    >>> backend.start(math.fsum, max_workers=2, detailed=False)
    >>> backend.evaluate_batch(np.array([[1.0, 2.0], [3.0, 4.0]]))   # in row order
    [3.0, 7.0]
    >>> workers = backend.worker_pids()
    >>> len(workers)
    2
    >>> backend.shutdown()   # no worker is left
    >>> backend.worker_pids(), [pid for pid in workers if psutil.pid_exists(pid)
    ...                         and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    ([], [])
    """

    name = "processes"
    #: A hung evaluation's worker is killed and replaced; the optimizer goes on.
    kills_hung_evaluations = True
    daemon = True
    #: Each worker leads its own process group, with a reaper that ends the group (the
    #: processes the task started) once the worker is gone.
    own_group = True

    def __init__(self, start_method: str | None = None) -> None:
        methods = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = "fork" if "fork" in methods and sys.platform != "darwin" else "spawn"
        if start_method not in methods:
            raise ValueError(f"start_method {start_method!r} is not available here; "
                             f"choose one of {methods}")
        self.start_method = start_method
        self._ctx = multiprocessing.get_context(start_method)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._task: Any = None
        self._detailed = False
        self._timeout: float | None = None
        self._closed = False
        self._spawner: _Spawner | None = None

    def start(self, task: Task, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        """Start ``max_workers`` worker processes holding the task."""
        if detailed and not callable(getattr(task, "detailed_call", None)):
            raise TypeError("is_log_detailed=True needs a task with a detailed_call method")
        self._task = task if self.start_method == "fork" else dill.dumps(task, recurse=True)
        self._detailed = detailed
        self._timeout = timeout if timeout and timeout > 0 else None
        with self._lock:
            self._closed = False
            if self._spawner is None:
                self._spawner = _Spawner()
        for _ in range(max(1, int(max_workers))):
            self._new_worker()

    def _new_worker(self) -> None:
        with self._lock:
            spawner = self._spawner
        if spawner is None:
            return  # shut down
        try:
            worker = spawner.call(lambda: _Worker(self._ctx, self._task, self._detailed,
                                                  self.daemon, self.own_group))
        except RuntimeError:
            if self._closed:
                return  # shut down meanwhile
            raise
        with self._lock:
            if not self._closed:
                self._all.append(worker)
                self._idle.put(worker)
                return
        worker.kill()  # shut down meanwhile

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            closed = self._closed
        if not closed:
            self._new_worker()

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers (for monitoring and tests)."""
        with self._lock:
            return [w.proc.pid for w in self._all if w.proc.pid is not None]

    def _take(self) -> _Worker:
        while True:
            if self._closed:
                raise RuntimeError("the processes backend was shut down")
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def _receive(self, worker: _Worker, x: np.ndarray) -> tuple[bool, Any]:
        try:
            return worker.conn.recv()
        except (EOFError, OSError):
            code = worker.proc.exitcode
            self._replace(worker)
            raise RuntimeError(f"evaluation worker process died (exit code {code}) while "
                               f"evaluating x={np.asarray(x).tolist()}") from None

    @staticmethod
    def _unwrap(ok: bool, value: Any) -> Any:
        if ok:
            return value
        exc, text = value
        if text:
            raise exc from RemoteTaskError(f"in the worker process:\n{text}")
        raise exc

    def evaluate(self, x: np.ndarray) -> Any:
        """Evaluate ``x`` in an idle worker (blocks the calling thread until done)."""
        worker = self._take()
        try:
            worker.conn.send(x)
        except (OSError, ValueError):
            self._replace(worker)
            raise RuntimeError("evaluation worker process is gone") from None
        if self._timeout is not None and not worker.conn.poll(self._timeout):
            self._replace(worker)
            raise EvaluationTimeout(f"evaluation of x={np.asarray(x).tolist()} ran past "
                                    f"{self._timeout} s; its worker was killed and replaced")
        ok, value = self._receive(worker, x)
        self._idle.put(worker)
        return self._unwrap(ok, value)

    def evaluate_batch(self, xs: np.ndarray) -> list[Any]:
        """Evaluate the rows of ``xs`` concurrently on as many idle workers as there are."""
        n = len(xs)
        results: list[Any] = [None] * n
        errors: list[BaseException] = []
        pending: dict[Any, tuple[_Worker, int, float]] = {}
        i = 0
        while i < n or pending:
            while i < n:
                try:
                    worker = self._idle.get_nowait() if pending else self._take()
                except queue.Empty:
                    break
                worker.conn.send(xs[i])
                pending[worker.conn] = (worker, i, time.monotonic())
                i += 1
            wait_for = None
            if self._timeout is not None:
                oldest = min(t for _, _, t in pending.values())
                wait_for = max(0.0, oldest + self._timeout - time.monotonic())
            ready = multiprocessing.connection.wait(list(pending), timeout=wait_for)
            if not ready:
                for conn in list(pending):
                    worker, j, t0 = pending[conn]
                    if self._timeout is not None and time.monotonic() - t0 >= self._timeout:
                        del pending[conn]
                        self._replace(worker)
                        errors.append(EvaluationTimeout(
                            f"evaluation of x={np.asarray(xs[j]).tolist()} ran past "
                            f"{self._timeout} s; its worker was killed and replaced"))
                continue
            for conn in ready:
                worker, j, _ = pending.pop(conn)
                try:
                    ok, value = self._receive(worker, xs[j])
                except RuntimeError as exc:
                    errors.append(exc)
                    continue
                self._idle.put(worker)
                try:
                    results[j] = self._unwrap(ok, value)
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            raise errors[0]
        return results

    def shutdown(self) -> None:
        """Ask every worker to finish, kill those which do not within a second, and end
        the spawner thread: no worker (nor, with ``'processes_forced'``, a process of its
        tree) is left."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            spawner, self._spawner = self._spawner, None
        trees = [w.tree() for w in workers]
        for worker in workers:
            try:
                worker.conn.send(None)
            except Exception:
                pass
        deadline = time.monotonic() + 1.0
        for worker in workers:
            worker.proc.join(max(0.0, deadline - time.monotonic()))
            if worker.proc.is_alive():
                worker.kill()
            else:
                worker.conn.close()
        _kill_all([p for tree in trees for p in tree])
        if spawner is not None:
            spawner.stop()


class ProcessesForcedBackend(ProcessesBackend):
    """Like ``'processes'``, with non-daemon workers so the task may start processes itself.

    This is what the reference's ``'processes_forced'`` maps to: there it let
    optimizer processes spawn evaluation processes; here optimizers are always
    threads, and this backend lets each evaluation start child processes (with
    :mod:`multiprocessing`: :mod:`subprocess` works with either backend). They end with
    their worker, as described in the module's docstring.

    Examples
    --------
    A task that starts a process of its own (a daemon worker could not):

    >>> import math
    >>> import multiprocessing
    >>> import numpy as np
    >>> def task(x):
    ...     with multiprocessing.get_context("fork").Pool(1) as pool:
    ...         return pool.apply(math.fsum, (x,))
    >>> backend = ProcessesForcedBackend()
    >>> backend.start(task, max_workers=1, detailed=False)
    >>> backend.evaluate(np.array([1.0, 2.5]))
    3.5
    >>> backend.shutdown()
    """

    name = "processes_forced"
    daemon = False
