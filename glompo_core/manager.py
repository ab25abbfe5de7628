"""GloMPOManager: runs the child optimizers, watches them and decides.

How a run works
---------------
Each child optimizer runs its control loop in a thread of this process. The
function it minimises is a wrapper that sends each evaluation to the run's backend
(the same thread, a process pool, a Dask cluster), then buffers the result. Once
per iteration (when the optimizer calls ``check_messages``, or every 64
evaluations) the buffered batch is processed, under the manager's lock and in the
optimizer's thread: it is logged, counted, compared with the best, and every
``stopcheck_interval`` evaluations the stoppers run; then the exit conditions. So
the manager's decisions are current to the iteration and a seeded run with one
optimizer at a time is reproducible, without a thread hand-off per evaluation.
The manager's own thread starts new optimizers, fires the lifecycle hooks of
plugins (per batch), logs the status, watches ``STOP_<id>`` files and timeouts,
and at the end stops and joins every optimizer and writes the summary.
"""

from __future__ import annotations

import getpass
import itertools
import logging
import os
import queue
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core.errors import GloMPOError
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.printstreams import PrintStreamRouter, route_thread_to
from glompo_core.result import Result

__all__ = ["GloMPOManager"]

_FLUSH_EVERY = 64  # evaluations buffered at most before a batch is processed
_LOOP_WAIT = 0.05  # seconds the manager's thread waits for events per loop
_OUTPUT_NAMES = ("glompo_manager_log.yml", "glompo_log.h5", "trajectories.png",
                 "trajectories_best.png", "trajectories_log.png", "trajectories_log_best.png",
                 "glompo_optimizer_printstreams")


@dataclass
class _OptRecord:
    """What the manager knows of one child optimizer."""

    opt_id: int
    optimizer: Any
    type: str
    workers: int
    pipe: ThreadPipe
    pause_flag: threading.Event
    wrapper: _FunctionWrapper
    init_kwargs: dict[str, Any]
    call_kwargs: dict[str, Any]
    x0: np.ndarray
    scaling: str | None
    thread: threading.Thread | None = None
    t_start: float = field(default_factory=time.time)
    t_end: float | None = None
    last_activity: float = field(default_factory=time.time)
    status: str = "running"  # running, stopped, converged, crashed, ended (by the run's end)
    stop_requested: bool = False
    converged_msg: str | None = None
    end_reason: str = ""
    abandoned: bool = False

    @property
    def alive(self) -> bool:
        return self.status == "running" and not self.abandoned


class _Scaler:
    """Maps between the task's units and an optimizer's declared scaling."""

    def __init__(self, bounds: np.ndarray, scaling: str | None) -> None:
        self.lo = bounds[:, 0]
        self.span = bounds[:, 1] - bounds[:, 0]
        self.scaling = scaling if scaling in ("linear", "std") else None
        if self.scaling == "linear":
            self.bounds = np.tile([0.0, 1.0], (len(bounds), 1))
        elif self.scaling == "std":
            self.bounds = np.tile([-1.0, 1.0], (len(bounds), 1))
        else:
            self.bounds = bounds

    def to_task(self, x: np.ndarray) -> np.ndarray:
        if self.scaling == "linear":
            return self.lo + x * self.span
        if self.scaling == "std":
            return self.lo + (x + 1.0) * 0.5 * self.span
        return x

    def from_task(self, x: np.ndarray) -> np.ndarray:
        if self.scaling == "linear":
            return (x - self.lo) / self.span
        if self.scaling == "std":
            return 2.0 * (x - self.lo) / self.span - 1.0
        return x


class _FunctionWrapper:
    """The function an optimizer minimises: evaluates through the backend, buffers results."""

    def __init__(self, manager: GloMPOManager, opt_id: int, scaler: _Scaler) -> None:
        self._manager = manager
        self._opt_id = opt_id
        self._scaler = scaler
        self._backend = manager._backend_obj
        self._detailed = manager.is_log_detailed
        self._counter = manager._call_counter
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._xs: list[np.ndarray] = []
        self._fxs: list[float] = []
        self._extras: list[Sequence[Any]] = []

    def _split(self, out: Any) -> tuple[float, Sequence[Any]]:
        if self._detailed:
            seq = list(out)
            return float(seq[0]), seq[1:]
        return float(out), ()

    def __call__(self, x: Sequence[float]) -> float:
        x_task = self._scaler.to_task(np.asarray(x, dtype=float).ravel())
        fx, extras = self._split(self._backend.evaluate(x_task))
        with self._lock:
            self._ids.append(next(self._counter))
            self._xs.append(x_task)
            self._fxs.append(fx)
            if self._detailed:
                self._extras.append(extras)
            full = len(self._ids) >= _FLUSH_EVERY
        if full:
            self.flush()
        return fx if fx == fx else float("inf")

    def evaluate_population(self, xs: Sequence[Sequence[float]]) -> list[float]:
        """Evaluate a population at once through the run's backend."""
        x_task = self._scaler.to_task(np.atleast_2d(np.asarray(xs, dtype=float)))
        outs = self._backend.evaluate_batch(x_task)
        if self._detailed:
            pairs = [self._split(o) for o in outs]
            fxs = [fx for fx, _ in pairs]
        else:
            fxs = [float(o) for o in outs]
        with self._lock:
            self._ids.extend(next(self._counter) for _ in fxs)
            self._xs.extend(x_task)
            self._fxs.extend(fxs)
            if self._detailed:
                self._extras.extend(extras for _, extras in pairs)
            full = len(self._ids) >= _FLUSH_EVERY
        if full:
            self.flush()
        return [fx if fx == fx else float("inf") for fx in fxs]

    def flush(self) -> None:
        """Hand the buffered evaluations to the manager as one batch."""
        with self._lock:
            if not self._ids:
                return
            ids = np.array(self._ids, dtype=np.int64)
            xs = np.array(self._xs, dtype=float)
            fxs = np.array(self._fxs, dtype=float)
            extras = None
            if self._detailed:
                extras = [list(col) for col in zip(*self._extras)] if self._extras else None
            self._ids, self._xs, self._fxs, self._extras = [], [], [], []
        self._manager._process_batch(self._opt_id, ids, xs, fxs, extras)


class _ResultsSink:
    """The ``_results_queue`` of an optimizer: messages are processed at once."""

    def __init__(self, manager: GloMPOManager, wrapper: _FunctionWrapper) -> None:
        self._manager = manager
        self._wrapper = wrapper

    def put(self, item: Any) -> None:
        if isinstance(item, ManagerMessage):
            self._wrapper.flush()
            self._manager._process_message(item)

    def flush_evaluations(self, opt_id: int) -> None:
        self._wrapper.flush()


class _View:
    """Read-only :class:`~glompo_core.protocols.ManagerView` of a manager."""

    __slots__ = ("_m",)

    def __init__(self, manager: GloMPOManager) -> None:
        self._m = manager

    f_counter = property(lambda self: self._m.f_counter)
    o_counter = property(lambda self: self._m.o_counter)
    n_parms = property(lambda self: self._m.n_parms)
    bounds = property(lambda self: self._m.bounds.copy())
    opt_log = property(lambda self: self._m.opt_log)
    result = property(lambda self: self._m.result)
    converged = property(lambda self: self._m.converged)
    opt_crashed = property(lambda self: self._m.opt_crashed)
    stopped_opts = property(lambda self: dict(self._m.stopped_opts))
    hunt_counter = property(lambda self: self._m.hunt_counter)
    t_start = property(lambda self: self._m.t_start)
    t_used = property(lambda self: self._m.t_used)
    max_jobs = property(lambda self: self._m.max_jobs)
    last_opt_spawn = property(lambda self: self._m.last_opt_spawn)
    task = property(lambda self: self._m.task)
    working_dir = property(lambda self: self._m.working_dir)
    is_log_detailed = property(lambda self: self._m.is_log_detailed)
    summary_files = property(lambda self: self._m.summary_files)
    checksum = property(lambda self: self._m.checksum)

    def __repr__(self) -> str:
        return f"ManagerView(f_counter={self._m.f_counter}, o_counter={self._m.o_counter})"


def _child_seed(seed: int | None, *key: int) -> int | None:
    if seed is None:
        return None
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


class GloMPOManager:
    """Provides the main interface to GloMPO: runs the optimization and produces the output.

    ``__init__`` takes no arguments: build a run with :meth:`setup` (or
    :meth:`new_manager`), then call :meth:`start_manager`.

    Examples
    --------
    >>> from glompo_core import GloMPOManager
    >>> from glompo_core.benchmarks import Rastrigin
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> from glompo_core.selectors import CycleSelector
    >>> manager = GloMPOManager.new_manager(
    ...     task=Rastrigin(dims=2), bounds=[(-5.12, 5.12)] * 2,
    ...     opt_selector=CycleSelector("RandomOptimizer"), working_dir="run_doctest",
    ...     max_jobs=2, backend="threads", exit_conditions=MaxFuncCalls(fmax=500),
    ...     seed=3)  # doctest: +SKIP
    >>> result = manager.start_manager()  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._is_initialised = False
        self.logger = logging.getLogger("glompo.manager")
        self.f_counter = 0
        self.o_counter = 0
        self.converged = 0
        self.hunt_counter = 0
        self.last_hunt = 0
        self.opt_crashed = False
        self.stopped_opts: dict[int, float] = {}
        self.cpu_history: list[float] = []
        self.mem_history: list[float] = []
        self.load_history: list[tuple[float, float, float]] = []
        self.t_start: float | None = None
        self.t_end: float | None = None
        self.t_used = 0.0
        self.opt_session_starts: list[float] = []
        self.opt_session_ends: list[float] = []
        self.last_opt_spawn: tuple[int, int] = (0, 0)
        self.last_status = 0.0
        self.last_checkpoint = 0.0
        self.last_chkpt_fcall = 0
        self.checkpoint_history: set[str] = set()
        self.result = Result()
        self.exit_reason: str | None = None
        self.spawning_opts = True
        self.checksum = ""
        self._opts: dict[int, _OptRecord] = {}

    # ------------------------------------------------------------------------------ setup
    @property
    def is_initialised(self) -> bool:
        """True if :meth:`setup` has run (a manager is initialised once only)."""
        return self._is_initialised

    @classmethod
    def new_manager(cls, *args: Any, **kwargs: Any) -> GloMPOManager:
        """Create a manager and call :meth:`setup` with the given arguments."""
        manager = cls()
        manager.setup(*args, **kwargs)
        return manager

    def setup(
        self,
        task: Callable[[Sequence[float]], float] | str,
        bounds: Sequence[tuple[float, float]] | None,
        opt_selector: Any,
        working_dir: str | os.PathLike[str] = ".",
        overwrite_existing: bool = False,
        max_jobs: int | None = None,
        backend: str | Any = "processes",
        exit_conditions: Any = None,
        x0_generator: Any = None,
        stoppers: Any = None,
        share_best_solutions: bool = False,
        stopcheck_interval: int = 100,
        apply_stoppers_to_best: bool = False,
        status_interval: float = 600,
        checkpoint_control: Any = None,
        summary_files: int = 0,
        is_log_detailed: bool = False,
        force_terminations_after: float = -1,
        aggressive_stop: bool = False,
        end_timeout: float | None = None,
        split_printstreams: bool = True,
        visualisation: bool = False,
        visualisation_args: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        backend_kwargs: dict[str, Any] | None = None,
        plugin_manager: PluginManager | None = None,
    ) -> None:
        """Build a new optimization run.

        Parameters
        ----------
        task
            Function to be minimized: accepts a 1-D sequence of parameter values and
            returns a float. A registered task name (e.g. ``'Schwefel'``) is built with
            its defaults.
        bounds
            ``(min, max)`` for each parameter. May be None when the task has ``bounds``.
        opt_selector
            A selector (e.g. ``CycleSelector(...)``): the kind of each new optimizer.
        working_dir
            Directory for every output file (created if needed).
        overwrite_existing
            If False, a working_dir holding results of an earlier run raises
            :class:`FileExistsError`; if True those files are deleted at the start.
        max_jobs
            Slots: the most evaluations running at once (sum of the optimizers'
            ``workers``). Defaults to the number of CPUs less one.
        backend
            Where evaluations run: ``'threads'`` (in each optimizer's thread),
            ``'processes'`` (a pool of ``max_jobs`` worker processes; the default, as in
            the reference), ``'processes_forced'`` (the same with non-daemon workers, so
            the task may start processes), or any registered backend (``'dask'`` from
            glompo-dask). Optimizers always run in threads of this process.
        exit_conditions
            When the run ends (combine with ``&`` and ``|``, or an expression string).
            Default: ``MaxSeconds(session_max=86400)``.
        x0_generator
            Starting points of new optimizers. Default: ``RandomGenerator()``.
        stoppers
            When to stop an optimizer early (combine with ``&`` and ``|``, or an
            expression string). Default: none, optimizers run until they converge.
        share_best_solutions
            Send the best point found so far to every optimizer (``inject``) whenever it
            improves.
        stopcheck_interval
            Evaluations between two evaluations of the stoppers.
        apply_stoppers_to_best
            Also apply the stoppers to the optimizer holding the best value.
        status_interval
            Seconds between status messages on the ``glompo.manager`` logger.
        checkpoint_control
            Checkpointing settings (:class:`~glompo_core.checkpointing.CheckpointingControl`).
        summary_files
            0: nothing; 1: the YAML summary ``glompo_manager_log.yml``; 2: also the
            trajectory plots (matplotlib); 3: also the HDF5 log ``glompo_log.h5``
            (glompo-hdf5).
        is_log_detailed
            Evaluate ``task.detailed_call`` and record its extra values in the log.
        force_terminations_after
            If > 0: an evaluation running longer than this many seconds is abandoned
            (with a process backend its worker is killed and replaced) and its optimizer
            ends as crashed; the run goes on.
        aggressive_stop
            Accepted for compatibility; optimizers are threads here, stopped by message.
        end_timeout
            Seconds to wait for each optimizer to finish at the end of the run; then it
            is abandoned. Default: 10 s with a process backend, unlimited with threads.
        split_printstreams
            Send what each optimizer prints to its own files in
            ``glompo_optimizer_printstreams/``.
        visualisation
            Draw the run live (and/or record a movie) with the glompo-scope plugin.
        visualisation_args
            Arguments of the visualisation (``GloMPOScope``: ``record_movie``,
            ``x_range``, ``log_scale``, ...).
        seed
            Seed of every random choice of the run: each optimizer, generator and
            selector gets a child seed. With the threads backend and ``max_jobs=1`` a
            seeded run is reproducible exactly.
        backend_kwargs
            Arguments for the backend's constructor (e.g. ``{'start_method': 'spawn'}``).
        plugin_manager
            Registry used to resolve names (default: the installed plugins).

        Raises
        ------
        ValueError, TypeError
            Bad bounds, bad settings, a component of the wrong kind.
        UnknownComponentError
            A component name nobody registered.
        FileExistsError
            ``working_dir`` holds results of an earlier run and not ``overwrite_existing``.
        """
        if self._is_initialised:
            raise GloMPOError("this manager is already initialised; create a new one")
        from glompo_core import _setup_checks as checks

        self._pm = plugin_manager or get_plugin_manager()
        self.task = checks.resolve_task(task, self._pm)
        self.bounds = checks.check_bounds(bounds, self.task)
        self.n_parms = len(self.bounds)
        self.opt_selector = checks.check_selector(opt_selector, self._pm)
        self.max_jobs = checks.check_max_jobs(max_jobs)
        self.backend = backend if isinstance(backend, str) else getattr(backend, "name", "custom")
        self._backend_obj = checks.resolve_backend(backend, backend_kwargs, self._pm)
        self.exit_conditions = checks.resolve_condition(
            exit_conditions, "exit_condition", self._pm, self.bounds,
            default="MaxSeconds(session_max=86400)")
        self.stoppers = checks.resolve_condition(stoppers, "stopper", self._pm, self.bounds)
        self.x0_generator = checks.resolve_generator(x0_generator, self._pm)
        self.share_best_solutions = bool(share_best_solutions)
        self.stopcheck_interval = checks.positive_int(stopcheck_interval, "stopcheck_interval")
        self.apply_stoppers_to_best = bool(apply_stoppers_to_best)
        self.status_interval = checks.positive_number(status_interval, "status_interval")
        self.checkpoint_control = checkpoint_control
        self.summary_files = checks.check_summary_files(summary_files, self._pm)
        self.is_log_detailed = bool(is_log_detailed)
        if self.is_log_detailed and not callable(getattr(self.task, "detailed_call", None)):
            raise TypeError("is_log_detailed=True needs a task with a detailed_call(x) method "
                            "returning (fx, extra1, ...)")
        self.force_terminations_after = float(force_terminations_after)
        self.allow_forced_terminations = self.force_terminations_after > 0
        self.aggressive_stop = bool(aggressive_stop)
        self.proc_backend = self.backend not in ("threads",)
        if end_timeout is None:
            end_timeout = 10.0 if self.proc_backend else float("inf")
        self.end_timeout = float(end_timeout)
        self.split_printstreams = bool(split_printstreams)
        self.seed = checks.check_seed(seed)
        self.visualisation = bool(visualisation)
        self.visualisation_args = dict(visualisation_args or {})
        if self.visualisation and not self._pm.has_visualisation():
            from glompo_core.errors import UnknownComponentError

            raise UnknownComponentError("visualisation=True needs the glompo-scope plugin, "
                                        "which is not installed: pip install glompo-scope")
        self.scope: Any = None
        self.overwrite_existing = bool(overwrite_existing)
        self.working_dir = Path(working_dir).resolve()
        checks.prepare_working_dir(self.working_dir, self.overwrite_existing, _OUTPUT_NAMES)
        self.checksum = checks.make_checksum()

        self._seed_components()
        window = checks.history_window(self.stoppers)
        self.opt_log = checks.make_logger(self.summary_files, self.n_parms, window, self._pm,
                                          self.exit_conditions)
        self._lock = threading.RLock()
        self._events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._call_counter = itertools.count(1)
        self._view = _View(self)
        self._is_initialised = True
        self.logger.info("manager set up: %d parameters, max_jobs=%d, backend=%s, seed=%s",
                         self.n_parms, self.max_jobs, self.backend, self.seed)

    def _seed_components(self) -> None:
        for i, comp in enumerate((self.x0_generator, self.opt_selector)):
            if callable(getattr(comp, "set_seed", None)):
                comp.set_seed(_child_seed(self.seed, 0, i))
        if self.stoppers is not None:
            for j, leaf in enumerate(self.stoppers.leaves()):
                set_seed = getattr(leaf, "set_seed", None)
                if callable(set_seed):
                    set_seed(_child_seed(self.seed, 2, j))

    @property
    def view(self) -> _View:
        """The read-only view of this manager given to components and hooks."""
        return self._view

    # ------------------------------------------------------------------- batch processing
    def _process_batch(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                       extras: list[list[Any]] | None) -> None:
        """Record a batch (called in the optimizer's thread) and take the decisions it triggers."""
        with self._lock:
            rec = self._opts[opt_id]
            rec.last_activity = time.time()
            log = self.opt_log
            if not log.has_iter_history(opt_id):
                headers = None
                if extras:
                    names = getattr(self.task, "detailed_call_headers", None)
                    headers = list(names) if names else [f"extra_{i + 1}"
                                                         for i in range(len(extras))]
                log.add_iter_history(opt_id, headers)
            prev_best = self.result.fx
            log.put_iteration(opt_id, call_ids, x, fx, extras)
            self.f_counter += len(fx)
            if self._listen_batch:
                self._events.put(("glompo_iteration_batch", {
                    "opt_id": opt_id, "call_ids": call_ids, "x": x, "fx": fx,
                    "extras": extras}))
            if log.best_fx < prev_best:
                self._new_best(log.get_best_iter())
            if self.stoppers is not None and \
                    self.f_counter - self.last_hunt >= self.stopcheck_interval:
                self._hunt()
            self._check_exit()

    def _new_best(self, best: dict[str, Any]) -> None:
        self.result = Result(x=np.array(best["x"]), fx=float(best["fx"]), stats={},
                             origin={"opt_id": best["opt_id"], "type": best["type"],
                                     "call_id": best["call_id"]})
        self._events.put(("glompo_best_improved", {
            "opt_id": best["opt_id"], "x": np.array(best["x"]), "fx": float(best["fx"]),
            "call_id": best["call_id"]}))
        if self.share_best_solutions:
            for rec in self._opts.values():
                if rec.alive and not rec.stop_requested and rec.opt_id != best["opt_id"]:
                    scaler = rec.wrapper._scaler
                    rec.pipe.send((Signal.INJECT, scaler.from_task(np.array(best["x"])),
                                   float(best["fx"])))

    def _hunt(self) -> None:
        assert self.stoppers is not None
        self.hunt_counter += 1
        self.last_hunt = self.f_counter
        best_id = int(self.opt_log.get_best_iter()["opt_id"])
        for rec in list(self._opts.values()):
            if not rec.alive or rec.stop_requested:
                continue
            if rec.opt_id == best_id and not self.apply_stoppers_to_best:
                continue
            self.stoppers.reset()
            try:
                stop = self.stoppers(self.opt_log, best_id, rec.opt_id)
            except Exception:
                self.logger.exception("the stoppers raised while testing optimizer %d; "
                                      "it is not stopped", rec.opt_id)
                continue
            if stop:
                reason = self.stoppers.str_with_result()
                self.logger.info("stopping optimizer %d: %s", rec.opt_id,
                                 reason.replace("\n", " "))
                self._stop_optimizer(rec, reason)

    def _check_exit(self) -> None:
        if self.exit_reason is not None or self.exit_conditions is None:
            return
        self.exit_conditions.reset()
        try:
            done = self.exit_conditions(self._view)
        except Exception as exc:
            self.logger.exception("the exit conditions raised; ending the run")
            self._request_exit(f"exit conditions raised {exc!r}")
            return
        if done:
            self._request_exit(self.exit_conditions.str_with_result())

    def _request_exit(self, reason: str) -> None:
        if self.exit_reason is None:
            self.exit_reason = reason
            self.logger.info("exit: %s", reason.replace("\n", " "))
            for rec in self._opts.values():
                if rec.alive and not rec.stop_requested:
                    self._stop_optimizer(rec, "the run is ending", record=False)

    def _stop_optimizer(self, rec: _OptRecord, reason: str, record: bool = True) -> None:
        rec.stop_requested = True
        rec.end_reason = reason
        rec.pipe.send((Signal.STOP, reason))
        rec.pause_flag.set()
        if record:
            self.stopped_opts[rec.opt_id] = time.time()
            self.opt_log.put_metadata(rec.opt_id, "end_cond", reason)
            self._events.put(("glompo_optimizer_stopped",
                              {"opt_id": rec.opt_id, "reason": reason}))

    def _process_message(self, msg: ManagerMessage) -> None:
        with self._lock:
            rec = self._opts.get(msg.opt_id)
            if msg.key == 0:
                if rec is not None and rec.converged_msg is None and not rec.stop_requested:
                    rec.converged_msg = str(msg.message or "converged")
                    self.converged += 1
                    self.opt_log.put_metadata(msg.opt_id, "end_cond",
                                              f"converged: {rec.converged_msg}")
                    self._events.put(("glompo_optimizer_converged",
                                      {"opt_id": msg.opt_id, "reason": rec.converged_msg}))
                    self._check_exit()
            elif msg.key == 1:
                self._events.put(("glompo_optimizer_paused", {"opt_id": msg.opt_id}))
            elif msg.key == 9:
                self.opt_log.put_message(msg.opt_id, str(msg.message))
            else:
                self.opt_log.put_message(msg.opt_id, f"[{msg.key}] {msg.message}")

    # ------------------------------------------------------------------------ optimizers
    def _slots_used(self) -> int:
        return sum(rec.workers for rec in self._opts.values() if rec.alive)

    def _spawn_as_needed(self) -> None:
        while self.spawning_opts and self.exit_reason is None:
            free = self.max_jobs - self._slots_used()
            if free <= 0:
                return
            with self._lock:
                choice = self.opt_selector.select_optimizer(self._view, self.opt_log, free)
            if choice is False:
                self.spawning_opts = False
                self.logger.info("the selector allows no new optimizers")
                return
            if choice is None:
                if not any(rec.alive for rec in self._opts.values()):
                    self._request_exit("the selector's optimizers need more workers than "
                                       f"max_jobs={self.max_jobs}; nothing can start")
                return
            cls, init, call = choice
            self._start_optimizer(cls, dict(init), dict(call))

    def _start_optimizer(self, cls: type, init: dict[str, Any], call: dict[str, Any]) -> None:
        with self._lock:
            self.o_counter += 1
            opt_id = self.o_counter
            x0 = np.asarray(self.x0_generator.generate(self._view), dtype=float).ravel()
            if x0.shape != (self.n_parms,) or np.any(x0 < self.bounds[:, 0]) or \
                    np.any(x0 > self.bounds[:, 1]):
                raise GloMPOError(f"the generator {self.x0_generator} returned {x0.tolist()}, "
                                  "which is not a point within the bounds")
            workers = int(init.pop("workers", init.pop("_workers", 1)))
            scaler = _Scaler(self.bounds, getattr(cls, "scaling", None))
            manager_end, opt_end = ThreadPipe.pair()
            pause = threading.Event()
            pause.set()
            wrapper = _FunctionWrapper(self, opt_id, scaler)
            kwargs = dict(init)
            if self.seed is not None and "seed" not in kwargs:
                kwargs["seed"] = _child_seed(self.seed, 1, opt_id)
            try:
                optimizer = cls(_opt_id=opt_id, _signal_pipe=opt_end,
                                _results_queue=_ResultsSink(self, wrapper), _pause_flag=pause,
                                _is_log_detailed=self.is_log_detailed, _workers=workers,
                                _backend=self.backend, **kwargs)
            except Exception as exc:
                raise GloMPOError(f"optimizer {cls.__name__} could not be created with "
                                  f"{init}: {exc}") from exc
            rec = _OptRecord(opt_id, optimizer, cls.__name__, workers, manager_end, pause,
                             wrapper, dict(init, workers=workers), call, x0, scaler.scaling)
            self._opts[opt_id] = rec
            self.opt_log.add_optimizer(opt_id, cls.__name__, rec.t_start)
            self.opt_log.put_metadata(opt_id, "init_kwargs", dict(init, workers=workers))
            self.opt_log.put_metadata(opt_id, "x0", x0.tolist())
            self.last_opt_spawn = (self.f_counter, self.o_counter)
        self.logger.info("starting optimizer %d: %s %s", opt_id, cls.__name__, init)
        self._fire("glompo_optimizer_started", opt_id=opt_id, optimizer_type=cls.__name__,
                   x0=x0.copy(), init_kwargs=dict(init, workers=workers))
        thread = threading.Thread(target=self._run_optimizer, args=(rec,),
                                  name=f"glompo-opt{opt_id}", daemon=True)
        rec.thread = thread
        thread.start()

    def _run_optimizer(self, rec: _OptRecord) -> None:
        status, message = "finished", ""
        streams = (route_thread_to(self.working_dir / "glompo_optimizer_printstreams",
                                   rec.opt_id) if self.split_printstreams else None)
        try:
            if streams is not None:
                streams.__enter__()
            x0 = rec.wrapper._scaler.from_task(rec.x0)
            bounds = [tuple(b) for b in rec.wrapper._scaler.bounds.tolist()]
            rec.optimizer.minimize(rec.wrapper, x0, bounds, **rec.call_kwargs)
            rec.wrapper.flush()
        except BaseException as exc:  # the optimizer's failure must never end the run
            try:
                rec.wrapper.flush()
            except Exception:
                self.logger.exception("could not record the last evaluations of optimizer %d",
                                      rec.opt_id)
            if rec.stop_requested:
                status = "stopped"
                message = f"ended by {type(exc).__name__} after the stop request: {exc}"
            else:
                status = "crashed"
                message = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        finally:
            if streams is not None:
                streams.__exit__(None, None, None)
        with self._lock:
            rec.t_end = time.time()
            if status == "crashed":
                self.opt_crashed = True
                rec.status = "crashed"
                rec.end_reason = message
                self.logger.error("optimizer %d crashed:\n%s", rec.opt_id, message)
                self.opt_log.put_message(rec.opt_id, f"crashed: {message}")
                self.opt_log.put_metadata(rec.opt_id, "end_cond", "crashed")
                self._events.put(("glompo_optimizer_crashed",
                                  {"opt_id": rec.opt_id, "error": message}))
            elif rec.stop_requested:
                rec.status = "stopped" if rec.opt_id in self.stopped_opts else "ended"
                if message:
                    self.opt_log.put_message(rec.opt_id, message)
            else:
                if rec.converged_msg is None:
                    rec.converged_msg = "minimize() returned"
                    self.converged += 1
                    self.opt_log.put_metadata(rec.opt_id, "end_cond", "converged")
                    self._events.put(("glompo_optimizer_converged",
                                      {"opt_id": rec.opt_id, "reason": rec.converged_msg}))
                rec.status = "converged"
            self.opt_log.put_metadata(rec.opt_id, "t_end", rec.t_end)
            if not self.opt_log.build_traj_plot:
                self.opt_log.clear_cache(rec.opt_id)
            self._check_exit()
        self._events.put(("_ended", {"opt_id": rec.opt_id}))

    # ----------------------------------------------------------------------- main thread
    def _fire(self, hook: str, **kwargs: Any) -> None:
        self._pm.call_lifecycle(hook, manager=self._view, **kwargs)

    def _drain_events(self, timeout: float) -> None:
        try:
            name, kwargs = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            if not name.startswith("_"):
                self._fire(name, **kwargs)
            try:
                name, kwargs = self._events.get_nowait()
            except queue.Empty:
                return

    def _check_interventions(self) -> None:
        for path in self.working_dir.glob("STOP_*"):
            try:
                opt_id = int(path.name[5:])
            except ValueError:
                continue
            with self._lock:
                rec = self._opts.get(opt_id)
                if rec is not None and rec.alive and not rec.stop_requested:
                    self.logger.info("STOP file found: stopping optimizer %d", opt_id)
                    self._stop_optimizer(rec, f"user request ({path.name} file)")
            path.unlink(missing_ok=True)

    def _check_timeouts(self) -> None:
        if not self.allow_forced_terminations or self.proc_backend:
            return  # process backends kill the hung evaluation themselves
        now = time.time()
        with self._lock:
            for rec in self._opts.values():
                if rec.alive and now - rec.last_activity > self.force_terminations_after:
                    rec.abandoned = True
                    rec.status = "crashed"
                    self.opt_crashed = True
                    msg = (f"no result for {self.force_terminations_after} s: abandoned (a "
                           "thread cannot be killed; it may still finish in the background)")
                    rec.end_reason = msg
                    self.logger.error("optimizer %d %s", rec.opt_id, msg)
                    self.opt_log.put_message(rec.opt_id, msg)
                    self.opt_log.put_metadata(rec.opt_id, "end_cond", "crashed")
                    rec.pipe.send((Signal.STOP, msg))
                    self._events.put(("glompo_optimizer_crashed",
                                      {"opt_id": rec.opt_id, "error": msg}))

    def _status_report(self) -> None:
        from glompo_core.status import record_usage, status_text

        record_usage(self)
        self.logger.info(status_text(self))

    def start_manager(self) -> Result:
        """Run the optimization until an exit condition is met, and return the result.

        Returns
        -------
        Result
            Best point, its value, where it came from, and run statistics.
        """
        if not self._is_initialised:
            raise GloMPOError("call setup() (or load_checkpoint()) before start_manager()")
        if self.t_start is not None and self.t_end is not None and self.exit_reason:
            raise GloMPOError("this manager has already run; set up a new one")
        self.exit_reason = None
        self._interrupt: str | None = None
        old_handlers = self._install_signal_handlers()
        router = PrintStreamRouter(self.working_dir) if self.split_printstreams else None
        self._pm.unmute_all()
        self._listen_batch = self._pm.has_listeners("glompo_iteration_batch")
        self.t_start = time.time()
        self.opt_session_starts.append(self.t_start)
        self.last_status = self.t_start
        last_file_check = 0.0
        error: BaseException | None = None
        try:
            if router is not None:
                router.__enter__()
            opener = getattr(self.opt_log, "open", None)
            if callable(opener):  # file loggers (glompo-hdf5) write glompo_log.h5
                opener(self.working_dir / "glompo_log.h5", "w", self.checksum)
                self._write_manager_metadata()
            self._backend_obj.start(self.task, self.max_jobs, detailed=self.is_log_detailed,
                                    timeout=self.force_terminations_after
                                    if self.allow_forced_terminations else None)
            if self.visualisation:
                self.scope = self._pm.create_visualisation(self._view, self.visualisation_args)
                if self.scope is not None:
                    self._pm.add_observer(self.scope, f"visualisation-{id(self)}")
                    self._listen_batch = self._pm.has_listeners("glompo_iteration_batch")
            self._fire("glompo_run_started")
            self.logger.info("run started")
            self._status_report()
            while True:
                if self._interrupt is not None:
                    self._request_exit(f"interrupted by {self._interrupt}")
                with self._lock:
                    self._check_exit()
                if self.exit_reason is not None:
                    break
                self._spawn_as_needed()
                if self.exit_reason is not None:
                    break
                if not self.spawning_opts and not any(r.alive for r in self._opts.values()):
                    self._request_exit("no optimizer is running and the selector starts no more")
                    break
                now = time.time()
                if now - last_file_check >= 1.0:
                    last_file_check = now
                    self._check_interventions()
                    self._check_timeouts()
                if now - self.last_status >= self.status_interval:
                    self.last_status = now
                    self._status_report()
                self.opt_log.flush()  # file loggers write their buffered rows here
                self._drain_events(_LOOP_WAIT)
        except KeyboardInterrupt:
            self._request_exit("interrupted by SIGINT (Ctrl-C)")
        except BaseException as exc:
            error = exc
            self._request_exit(f"error in the manager: {exc!r}")
        finally:
            self._shutdown()
            if router is not None:
                router.__exit__(None, None, None)
            self._restore_signal_handlers(old_handlers)
        if error is not None:
            raise error
        return self.result

    def _shutdown(self) -> None:
        with self._lock:
            for rec in self._opts.values():
                if rec.alive and not rec.stop_requested:
                    self._stop_optimizer(rec, "the run is ending", record=False)
        deadline = time.time() + self.end_timeout
        for rec in list(self._opts.values()):
            if rec.thread is None or rec.abandoned:
                continue
            while rec.thread.is_alive():
                remaining = deadline - time.time()
                if remaining <= 0:
                    break
                rec.thread.join(min(remaining, 1.0))
                self._drain_events(0)
            if rec.thread.is_alive():
                rec.abandoned = True
                self.logger.warning("optimizer %d did not stop within end_timeout=%s s; "
                                    "abandoned", rec.opt_id, self.end_timeout)
        try:
            self._backend_obj.shutdown()
        except Exception:
            self.logger.exception("backend shutdown failed")
        self.t_end = time.time()
        self.opt_session_ends.append(self.t_end)
        try:
            from glompo_core.status import record_usage

            record_usage(self)
        except Exception:
            self.logger.debug("resource usage could not be recorded", exc_info=True)
        with self._lock:
            for rec in self._opts.values():
                if rec.status == "running":
                    rec.status = "stopped" if rec.opt_id in self.stopped_opts else "ended"
            self._finalise_result()
        self._drain_events(0)
        self._fire("glompo_run_finished", result=self.result, reason=self.exit_reason or "")
        try:
            self._write_manager_metadata()
            self.opt_log.flush()
        except Exception:
            self.logger.exception("the log could not be flushed")
        if self.summary_files >= 1:
            try:
                self.write_summary_file()
            except Exception:
                self.logger.exception("the summary file could not be written")
        if self.summary_files >= 2:
            try:
                from glompo_core.plotting import plot_trajectories

                plot_trajectories(self.opt_log, self.working_dir, self._opts_end_status())
            except Exception:
                self.logger.exception("the trajectory plots could not be made")
        try:
            self.opt_log.close()
        except Exception:
            self.logger.exception("the log could not be closed")
        if self.scope is not None:
            self._pm.remove_observer(f"visualisation-{id(self)}")
        self.logger.info("run ended: %s; %d evaluations, best fx=%s",
                         (self.exit_reason or "").replace("\n", " "), self.f_counter,
                         self.result.fx)

    def _write_manager_metadata(self) -> None:
        """Give the log the run's settings and state (the summary's facts) as metadata."""
        from glompo_core.summary import summary_dict

        for section, content in summary_dict(self).items():
            self.opt_log.put_manager_metadata(section, content)
        self.opt_log.put_manager_metadata("checksum", self.checksum)

    def _opts_end_status(self) -> dict[int, str]:
        return {oid: rec.status for oid, rec in self._opts.items()}

    def _finalise_result(self) -> None:
        session = (self.t_end or time.time()) - (self.t_start or time.time())
        statuses = [rec.status for rec in self._opts.values()]
        self.result.stats = {
            "f_counter": self.f_counter,
            "o_counter": self.o_counter,
            "optimizers_stopped": len(self.stopped_opts),
            "optimizers_converged": self.converged,
            "optimizers_crashed": statuses.count("crashed"),
            "t_used": self.t_used + session,
            "t_session": session,
            "exit_reason": self.exit_reason,
        }

    # ------------------------------------------------------------------------- signals
    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        saved: dict[int, Any] = {}

        def handler(signum: int, frame: Any) -> None:
            self._interrupt = signal.Signals(signum).name

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                saved[sig] = signal.signal(sig, handler)
            except (ValueError, OSError):
                pass
        return saved

    @staticmethod
    def _restore_signal_handlers(saved: dict[int, Any]) -> None:
        for sig, old in saved.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError):
                pass

    # ------------------------------------------------------------------------- outputs
    def write_summary_file(self, dump_dir: str | os.PathLike[str] | None = None) -> Path:
        """Write ``glompo_manager_log.yml`` (the YAML summary of the run).

        Parameters
        ----------
        dump_dir
            Directory for the file instead of ``working_dir``.

        Returns
        -------
        Path
            The file written.
        """
        from glompo_core.summary import write_summary

        return write_summary(self, Path(dump_dir) if dump_dir else self.working_dir)

    # ---------------------------------------------------------------------- interaction
    def optimizer_status(self) -> dict[int, str]:
        """Status of every optimizer started.

        ``'running'``, ``'stopped'`` (by a stopper or a ``STOP_<id>`` file),
        ``'converged'`` (ended by its own criteria), ``'crashed'``, or ``'ended'`` (still
        running when the run ended).
        """
        return self._opts_end_status()

    def __repr__(self) -> str:
        state = "initialised" if self._is_initialised else "empty"
        return f"<GloMPOManager {state}, f_counter={self.f_counter}, o_counter={self.o_counter}>"


def _now_str(t: float | None) -> str:
    return "" if t is None else str(datetime.fromtimestamp(t))


def _user_host() -> tuple[str, str]:
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    return user, socket.gethostname()
