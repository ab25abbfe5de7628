"""The 'processes' backend: evaluations run in a pool of worker processes.

The optimizers' control loops stay in threads of the manager's process; only
``task(x)`` crosses to a worker. Each optimizer thread takes an idle worker, sends
it ``x`` and waits on that worker's pipe, so no dispatcher thread sits in between.
A worker whose evaluation exceeds the timeout is killed and replaced; the
evaluation raises :class:`~glompo_core.errors.EvaluationTimeout` in the optimizer.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import pickle
import queue
import sys
import threading
import time
import traceback
from typing import Any

import dill
import numpy as np

from glompo_core.errors import EvaluationTimeout
from glompo_core.protocols import Task

__all__ = ["ProcessesBackend", "ProcessesForcedBackend", "RemoteTaskError"]

_log = logging.getLogger("glompo.backends")


class RemoteTaskError(RuntimeError):
    """Carries the traceback of an exception raised by the task in a worker process."""


def _worker_main(conn: Any, task: Any, detailed: bool) -> None:
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


class _Worker:
    __slots__ = ("conn", "proc")

    def __init__(self, ctx: Any, task: Any, detailed: bool, daemon: bool) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, task, detailed),
                                name="glompo-worker", daemon=daemon)
        self.proc.start()
        child.close()
        self.conn = parent

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        finally:
            self.conn.close()


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
    task cannot start processes of its own; use the ``'processes_forced'`` backend for
    that (non-daemon workers).
    """

    name = "processes"
    daemon = True

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

    def start(self, task: Task, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        """Start ``max_workers`` worker processes holding the task."""
        if detailed and not callable(getattr(task, "detailed_call", None)):
            raise TypeError("is_log_detailed=True needs a task with a detailed_call method")
        self._task = task if self.start_method == "fork" else dill.dumps(task, recurse=True)
        self._detailed = detailed
        self._timeout = timeout if timeout and timeout > 0 else None
        for _ in range(max(1, int(max_workers))):
            self._new_worker()

    def _new_worker(self) -> None:
        worker = _Worker(self._ctx, self._task, self._detailed, self.daemon)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        if not self._closed:
            self._new_worker()

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
        """Ask every worker to finish, then kill those which do not within a second."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
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


class ProcessesForcedBackend(ProcessesBackend):
    """Like ``'processes'``, with non-daemon workers so the task may start processes itself.

    This is what the reference's ``'processes_forced'`` maps to: there it let
    optimizer processes spawn evaluation processes; here optimizers are always
    threads, and this backend lets each evaluation start child processes.
    """

    name = "processes_forced"
    daemon = False
