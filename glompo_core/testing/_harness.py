"""The test harness: a component's surroundings in a run, without a manager.

:class:`FakeManagerView` stands in for the manager that exit conditions, generators and
selectors read; :func:`wired` builds an optimizer connected as the manager connects it
(the manager's end of a :class:`ThreadPipe`, an :class:`Inbox` as its results queue and a
pause event); :class:`RecordingTask` is a task that records every point it is given.
The conformance checks are built on these, and plugin tests use them directly::

    >>> import numpy as np
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.optimizers.baseoptimizer import Signal
    >>> from glompo_core.testing import RecordingTask, wired
    >>> w = wired(RandomOptimizer, {"seed": 1, "iters": 3})
    >>> task = RecordingTask(lambda x: float(np.sum(x ** 2)))
    >>> w.start(task, np.array([0.5, 0.5]), np.array([[-1.0, 1.0], [-1.0, 1.0]]))
    >>> w.join(30)
    True
    >>> task.n_evals > 0 and w.inbox.keys()[-1] == 0   # evaluated; reported convergence
    True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from glompo_core.hookspecs import hookimpl
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.result import Result

__all__ = ["BatchRecordingTask", "FakeManagerView", "HookRecorder", "Inbox", "RecordingTask",
           "Wired", "wired", "wires"]

_STOP_REASON = "conformance check: evaluation budget used"


@dataclass
class FakeManagerView:
    """A plain-data stand-in for :class:`~glompo_core.protocols.ManagerView`.

    Every attribute can be set at construction; ``opt_log`` defaults to an empty
    :class:`BaseLogger` over ``bounds``.

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> MaxFuncCalls(fmax=10)(FakeManagerView(f_counter=12))
    True
    """

    bounds: Any = ((-1.0, 1.0), (-1.0, 1.0))
    f_counter: int = 0
    o_counter: int = 0
    converged: int = 0
    opt_crashed: bool = False
    stopped_opts: dict[int, float] = field(default_factory=dict)
    hunt_counter: int = 0
    t_start: float | None = None
    t_used: float = 0.0
    max_jobs: int = 1
    last_opt_spawn: tuple[int, int] = (0, 0)
    result: Result = field(default_factory=Result)
    task: Any = None
    opt_log: BaseLogger = None  # type: ignore[assignment]
    run_budget: int | None = None
    exit_conditions: Any = None
    failed_evaluations: int = 0
    workers_busy: int = 0
    working_dir: Path | None = None
    is_log_detailed: bool = False
    summary_files: int = 0
    checksum: str = ""

    def __post_init__(self) -> None:
        self.bounds = np.asarray(self.bounds, dtype=float)
        # the field's default is None (see its declaration): give the empty log here
        if cast("BaseLogger | None", self.opt_log) is None:
            self.opt_log = BaseLogger(self.n_parms)

    @property
    def n_parms(self) -> int:
        """Number of parameters (rows of ``bounds``)."""
        return len(self.bounds)


class Inbox:
    """An optimizer's results queue (``_results_queue``) that keeps every message.

    The optimizer calls :meth:`put`; the test reads :attr:`items` (a copy), the keys of
    the :class:`ManagerMessage` items, or waits for one. No lock: ``list.append`` and
    copying a list are atomic, so the test's thread never waits on anything the
    optimizer's thread could hold.
    """

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._arrived = threading.Event()

    def put(self, item: Any) -> None:
        """Keep ``item`` (called by the optimizer)."""
        self._items.append(item)
        self._arrived.set()

    @property
    def items(self) -> list[Any]:
        """Everything put so far, oldest first (a copy)."""
        return self._items.copy()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Any:
        return self._items[index]

    def messages(self) -> list[ManagerMessage]:
        """The :class:`ManagerMessage` items (what ``message_manager`` sent), oldest first."""
        return [m for m in self.items if isinstance(m, ManagerMessage)]

    def keys(self) -> list[int]:
        """The keys of the :class:`ManagerMessage` items (0 converged, 1 paused, ...)."""
        return [m.key for m in self.messages()]

    def wait_for_key(self, key: int, timeout: float) -> bool:
        """Wait until a :class:`ManagerMessage` with ``key`` arrived; return whether it did."""
        deadline = time.monotonic() + timeout
        while True:
            self._arrived.clear()
            if key in self.keys():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._arrived.wait(min(remaining, 0.05))


class RecordingTask:
    """A task that records every point and value; it may sleep, hold, or stop the optimizer.

    Parameters
    ----------
    f
        The function: ``f(x)`` for a 1-D float array.
    delay
        Seconds each evaluation sleeps.
    budget, pipe
        Once ``budget`` evaluations are made, ``Signal.STOP`` is sent (once) through
        ``pipe`` (the manager's end), as a manager's stopper would.
    hold_at, hold_timeout
        Evaluation number ``hold_at`` and every later one wait until :attr:`released`
        is set (at most ``hold_timeout`` seconds): the test then knows the optimizer is
        inside that evaluation.

    Attributes
    ----------
    xs, fxs : list
        Points evaluated (1-D arrays) and their values, in the order they were made.
    lock : threading.Lock
        Held while the lists are appended to.
    """

    def __init__(self, f: Callable[[np.ndarray], float], *, delay: float = 0.0,
                 budget: int | None = None, pipe: ThreadPipe | None = None,
                 hold_at: int | None = None, hold_timeout: float = 60.0) -> None:
        self.f = f
        self.delay = delay
        self.budget = budget
        self.pipe = pipe
        self.lock = threading.Lock()
        self.xs: list[np.ndarray] = []
        self.fxs: list[float] = []
        self.stop_sent = False
        self.hold_at = hold_at
        self.hold_timeout = hold_timeout
        self.released = threading.Event()
        self._started = 0

    @property
    def n_evals(self) -> int:
        """Evaluations made so far; read without the lock (the optimizer's threads may hold
        it, or starve the check's thread of it, for as long as they like)."""
        return len(self.xs)

    def _evaluate(self, x: Any) -> float:
        point = np.array(x, dtype=float).ravel()
        if self.hold_at is not None:
            with self.lock:
                self._started += 1
                hold = self._started >= self.hold_at
            if hold:
                self.released.wait(self.hold_timeout)
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.xs.append(point)
            n = len(self.xs)
        if self.budget is not None and n >= self.budget and self.pipe is not None:
            with self.lock:
                send = not self.stop_sent
                self.stop_sent = True
            if send:
                self.pipe.send((Signal.STOP, _STOP_REASON))
        fx = float(self.f(point))
        with self.lock:
            self.fxs.append(fx)
        return fx

    def __call__(self, x: Sequence[float]) -> float:
        return self._evaluate(x)

    def wait_for_evals(self, n: int, timeout: float) -> bool:
        """Wait until ``n`` evaluations are made; return whether they were in time."""
        deadline = time.monotonic() + timeout
        while self.n_evals < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


class BatchRecordingTask(RecordingTask):
    """A :class:`RecordingTask` which also offers ``evaluate_population``, as the manager's
    function wrapper does; :attr:`batches` holds the size of each population evaluated
    and :attr:`single_calls` counts the points evaluated one at a time."""

    def __init__(self, f: Callable[[np.ndarray], float], **kwargs: Any) -> None:
        super().__init__(f, **kwargs)
        self.batches: list[int] = []
        self.single_calls = 0

    def __call__(self, x: Sequence[float]) -> float:
        with self.lock:
            self.single_calls += 1
        return self._evaluate(x)

    def evaluate_population(self, xs: Sequence[Sequence[float]]) -> list[float]:
        """Evaluate the rows of ``xs`` in order and record the population's size."""
        rows = np.atleast_2d(np.asarray(xs, dtype=float))
        with self.lock:
            self.batches.append(len(rows))
        return [self._evaluate(x) for x in rows]


@dataclass
class Wired:
    """An optimizer wired as the manager wires it, and the manager's ends of the wires.

    Attributes
    ----------
    opt
        The optimizer.
    pipe
        The manager's end of the signal pipe: ``pipe.send((Signal.STOP, "why"))``.
    inbox
        The optimizer's results queue.
    pause
        The pause event (set: running; clear: paused).
    result, error
        What :meth:`start`'s ``minimize`` returned or raised.
    thread
        The thread :meth:`start` runs ``minimize`` in.
    """

    opt: Any
    pipe: ThreadPipe
    inbox: Inbox
    pause: threading.Event
    result: Any = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self, task: Callable[[Sequence[float]], float], x0: Any, bounds: Any) -> None:
        """Run ``opt.minimize(task, x0, bounds)`` in a daemon thread."""
        bounds_arg = [tuple(b) for b in np.asarray(bounds, dtype=float).tolist()]
        start = np.array(x0, dtype=float)

        def target() -> None:
            try:
                self.result = self.opt.minimize(task, start, bounds_arg)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(
            target=target, daemon=True,
            name=f"glompo-conformance-{getattr(type(self.opt), '__name__', 'optimizer')}")
        self.thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``minimize`` to end; return whether it did."""
        if self.thread is None:
            raise RuntimeError("Wired.join() before Wired.start()")
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def stop(self, timeout: float) -> bool:
        """Send ``Signal.STOP`` (releasing a pause) and wait for ``minimize`` to end."""
        self.pipe.send((Signal.STOP, "conformance check: stop"))
        self.pause.set()
        return self.join(timeout)


def wires() -> tuple[ThreadPipe, ThreadPipe, Inbox, threading.Event]:
    """The manager's end and the optimizer's end of a pipe, a results inbox, a pause event
    (set: not paused)."""
    manager_end, opt_end = ThreadPipe.pair()
    pause = threading.Event()
    pause.set()
    return manager_end, opt_end, Inbox(), pause


def wired(cls: type, init_kwargs: Mapping[str, Any] | None = None, *, opt_id: int = 1,
          workers: int | None = None, is_log_detailed: bool = False,
          backend: str = "threads") -> Wired:
    """Build ``cls(**init_kwargs)`` with the runtime arguments the manager gives.

    Parameters
    ----------
    cls
        The optimizer class.
    init_kwargs
        Its initialisation arguments; ``workers`` (or ``_workers``) among them sets the
        number of workers, as the manager's ``workers`` setting does.
    opt_id
        The optimizer's ID (``_opt_id``).
    workers
        Number of workers, overriding ``init_kwargs``.
    is_log_detailed, backend
        ``_is_log_detailed`` and ``_backend``.

    Returns
    -------
    Wired
        The optimizer with the manager's end of its pipe, its inbox and its pause event.
    """
    kwargs = dict(init_kwargs or {})
    n_workers = int(kwargs.pop("workers", kwargs.pop("_workers", 1)))
    if workers is not None:
        n_workers = workers
    manager_end, opt_end, inbox, pause = wires()
    opt = cls(_opt_id=opt_id, _signal_pipe=opt_end, _results_queue=inbox, _pause_flag=pause,
              _is_log_detailed=is_log_detailed, _workers=n_workers, _backend=backend,
              **kwargs)
    return Wired(opt, manager_end, inbox, pause)


class HookRecorder:
    """A plugin that records every lifecycle hook call of a run (for tests of plugins and
    of what a run announces).

    Register it as a run-scoped plugin, e.g. ``PluginManager(load_entrypoints=False,
    plugins=[("recorder", recorder)])``. Each call is kept as ``(hook name, arguments)``
    with the hook's arguments but ``manager``; arrays are copied.

    Examples
    --------
    >>> recorder = HookRecorder()
    >>> recorder.glompo_optimizer_stopped(manager=None, opt_id=2, reason="BestUnmoving")
    >>> recorder.names(), recorder.of("glompo_optimizer_stopped")
    (['glompo_optimizer_stopped'], [{'opt_id': 2, 'reason': 'BestUnmoving'}])
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _record(self, name: str, **arguments: Any) -> None:
        kept = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                for k, v in arguments.items()}
        with self.lock:
            self.calls.append((name, kept))

    def names(self) -> list[str]:
        """The hooks called, in order."""
        with self.lock:
            return [name for name, _ in self.calls]

    def of(self, hook: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``hook``, in order."""
        with self.lock:
            return [arguments for name, arguments in self.calls if name == hook]

    @hookimpl
    def glompo_run_control(self, manager: Any, control: Any) -> None:
        self._record("glompo_run_control", control=control)

    @hookimpl
    def glompo_run_started(self, manager: Any) -> None:
        self._record("glompo_run_started")

    @hookimpl
    def glompo_run_finished(self, manager: Any, result: Any, reason: str) -> None:
        self._record("glompo_run_finished", result=result, reason=reason)

    @hookimpl
    def glompo_optimizer_started(self, manager: Any, opt_id: int, optimizer_type: str,
                                 x0: np.ndarray, init_kwargs: dict[str, Any]) -> None:
        self._record("glompo_optimizer_started", opt_id=opt_id,
                     optimizer_type=optimizer_type, x0=x0, init_kwargs=dict(init_kwargs))

    @hookimpl
    def glompo_iteration_batch(self, manager: Any, opt_id: int, call_ids: np.ndarray,
                               x: np.ndarray, fx: np.ndarray,
                               extras: Sequence[np.ndarray] | None) -> None:
        self._record("glompo_iteration_batch", opt_id=opt_id, call_ids=call_ids, x=x, fx=fx,
                     extras=None if extras is None else [list(e) for e in extras])

    @hookimpl
    def glompo_optimizer_stopped(self, manager: Any, opt_id: int, reason: str) -> None:
        self._record("glompo_optimizer_stopped", opt_id=opt_id, reason=reason)

    @hookimpl
    def glompo_optimizer_converged(self, manager: Any, opt_id: int, reason: str) -> None:
        self._record("glompo_optimizer_converged", opt_id=opt_id, reason=reason)

    @hookimpl
    def glompo_optimizer_crashed(self, manager: Any, opt_id: int, error: str) -> None:
        self._record("glompo_optimizer_crashed", opt_id=opt_id, error=error)

    @hookimpl
    def glompo_optimizer_paused(self, manager: Any, opt_id: int) -> None:
        self._record("glompo_optimizer_paused", opt_id=opt_id)

    @hookimpl
    def glompo_optimizer_resumed(self, manager: Any, opt_id: int) -> None:
        self._record("glompo_optimizer_resumed", opt_id=opt_id)

    @hookimpl
    def glompo_best_improved(self, manager: Any, opt_id: int, x: np.ndarray, fx: float,
                             call_id: int) -> None:
        self._record("glompo_best_improved", opt_id=opt_id, x=x, fx=fx, call_id=call_id)

    @hookimpl
    def glompo_checkpoint_written(self, manager: Any, path: str) -> None:
        self._record("glompo_checkpoint_written", path=path)
