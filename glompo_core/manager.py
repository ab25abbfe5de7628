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

Where the parts are: this module keeps the decisions (admit, record, stop, exit,
spawn, inject) and the run loop's steps (``start_manager``: ``_begin_session``,
``_loop_step``, ``_shutdown``); ``_slot.py`` is the per-optimizer slot (record,
scaler, function wrapper, results sink), which calls the manager through four
callbacks only; ``_resume.py`` writes checkpoints and rebuilds a manager from one;
``status.py`` holds the run's one clock (``run_time``) and the resource samples.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from glompo_core import _resume
from glompo_core._evaluation import EvaluationError, FailureTally
from glompo_core._portfolio import DefaultPortfolio
from glompo_core._slot import OptRecord, build_slot, run_minimize
from glompo_core._workdir import WorkingDirLock
from glompo_core.budget import fill_budget_argument, run_budget
from glompo_core.control import RunControl
from glompo_core.errors import EXIT_STATUS, EvaluationRefused, EvaluationTimeout, GloMPOError
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.printstreams import PrintStreamRouter
from glompo_core.result import Result
from glompo_core.settings import RunSettings, setting_infos
from glompo_core.status import run_time

if TYPE_CHECKING:
    from glompo_core._combinable import Combinable
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.protocols import Backend, ExitCondition, Generator, Selector, Stopper

__all__ = ["GloMPOManager"]

_LOOP_WAIT = 0.05  # seconds the manager's thread waits for events per loop
#: Assert that the methods documented as "needs the lock" hold the manager's lock (set by
#: the test suite; also on when the environment variable GLOMPO_CHECK_LOCKS is 1).
CHECK_LOCKS = os.environ.get("GLOMPO_CHECK_LOCKS", "") == "1"
_OUTPUT_NAMES = ("glompo_manager_log.yml", "glompo_log.h5", "trajectories.png",
                 "trajectories_best.png", "trajectories_log.png", "trajectories_log_best.png",
                 "glompo_optimizer_printstreams", "glompo_optimizer_scope.mp4",
                 "glompo_error.log")


class _SlotCallbacks:
    """The manager as its optimizers' slots see it (a :class:`~glompo_core._slot.SlotHost`).

    The attributes are the manager's bound methods, so a callback costs no extra call.
    """

    __slots__ = ("admit", "note_iteration", "process_batch", "process_message")

    def __init__(self, manager: GloMPOManager) -> None:
        self.admit: Callable[[int], None] = manager._admit
        self.process_batch: Callable[..., None] = manager._process_batch
        self.process_message: Callable[[ManagerMessage], None] = manager._process_message
        self.note_iteration: Callable[[int], None] = manager._note_iteration


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
    run_budget = property(lambda self: run_budget(self._m.exit_conditions))

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

    # The run's settings, checked (set by setup() or load_checkpoint() from the one table
    # of settings, glompo_core.settings.RunSettings, where each is documented).
    task: Any
    bounds: np.ndarray
    opt_selector: Selector
    working_dir: Path
    overwrite_existing: bool
    max_jobs: int
    backend: str
    exit_conditions: Combinable | None
    x0_generator: Generator
    stoppers: Combinable | None
    share_best_solutions: bool
    stopcheck_interval: int
    apply_stoppers_to_best: bool
    status_interval: float
    checkpoint_control: CheckpointingControl | None
    summary_files: int
    is_log_detailed: bool
    force_terminations_after: float
    aggressive_stop: bool
    end_timeout: float
    split_printstreams: bool
    visualisation: bool
    visualisation_args: dict[str, Any]
    seed: int | None
    _backend_kwargs: dict[str, Any]
    task_errors: str
    task_retries: int
    max_failures_in_a_row: int
    max_crashes_in_a_row: int
    # ... and what follows from them (_derive_settings)
    n_parms: int
    allow_forced_terminations: bool
    proc_backend: bool
    _backend_obj: Backend

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
        self.checkpoint_control = None
        self._opts: dict[int, OptRecord] = {}
        self._restore: list[dict[str, Any]] = []  # optimizers to resume (load_checkpoint)
        self._checkpoint_dir: Any = None  # the unpacked checkpoint (a TemporaryDirectory)
        self._scope_state: Path | None = None  # the visualisation's saved state
        #: Requests to this run (stop an optimizer, checkpoint, end the run) from any
        #: thread: a web dashboard, the STOP_<id>/CHKPT files, the signal handlers.
        self.control = RunControl(self)
        self._listen_batch = False  # a plugin listens to glompo_iteration_batch
        self._last_file_check = 0.0
        self._resumed = False
        self._checkpoint_pending = False
        self._final_checkpoint = False
        self._gate: threading.Event | None = None
        self._chkpt_count = 0
        self._written_checkpoints: list[str] = []
        self._done = 0
        self._warned_unsaveable: set[int] = set()
        #: Directory of the run file this run came from (set by ``glompo run``; recorded in
        #: checkpoints so that ``glompo resume`` finds a task module kept beside it).
        self.run_file_dir: str | None = None
        #: The default portfolio a run file without ``opt_selector`` took (set by
        #: :func:`~glompo_core.runfile.build_manager`; recorded in the summary).
        self.default_portfolio: DefaultPortfolio | None = None
        self.failures = FailureTally()
        self.end_state = "normal"  # how the run ended: a key of errors.EXIT_STATUS
        self._crashes_in_a_row = 0
        self._first_crash_in_row = ""
        self.task_errors = "record"
        self.task_retries = 0
        self.max_failures_in_a_row = 100
        self.max_crashes_in_a_row = 5

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
        opt_selector: Selector,
        working_dir: str | os.PathLike[str] = ".",
        overwrite_existing: bool = False,
        max_jobs: int | None = None,
        backend: str | Backend = "processes",
        exit_conditions: ExitCondition | str | None = None,
        x0_generator: Generator | str | None = None,
        stoppers: Stopper | str | None = None,
        share_best_solutions: bool = False,
        stopcheck_interval: int = 100,
        apply_stoppers_to_best: bool = False,
        status_interval: float = 600,
        checkpoint_control: CheckpointingControl | Mapping[str, Any] | None = None,
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
        task_errors: str = "record",
        task_retries: int = 0,
        max_failures_in_a_row: int = 100,
        max_crashes_in_a_row: int = 5,
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
            If > 0: an evaluation running longer than this many seconds is a failed
            evaluation (an ``EvaluationTimeout``). With a process backend (and dask) its
            worker is killed and replaced and the optimizer goes on; with ``'threads'``
            the evaluation cannot be killed, so its optimizer is abandoned as crashed.
            The run goes on.
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
        task_errors
            What an exception raised by the task (or a timed-out evaluation) does.
            ``'record'`` (default): it is a *failed evaluation*, a row of the log with
            ``fx = NaN`` and the error in the optimizer's messages (``evaluation <call_id>
            failed: <Type> at <file:line>: <message>``); the optimizer gets +inf and goes
            on. ``'crash'``: the failed evaluation is recorded, then the exception ends
            its optimizer as crashed (GloMPO 3's behaviour).
        task_retries
            Evaluate a point that raised up to this many more times before it counts as
            failed (for transient failures: a busy licence server, a full scratch disk).
            The point is one evaluation, whatever the number of attempts.
        max_failures_in_a_row
            End the run (exit status 4, reason quoting the first error) when this many
            evaluations in a row failed with no evaluation giving a value in between: a
            task that fails on every call. 0 disables the check.
        max_crashes_in_a_row
            End the run (exit status 3, reason quoting the first crash) when this many
            optimizers in a row crashed before finishing an iteration with a value: a
            crash loop. 0 disables the check.

        Raises
        ------
        ValueError, TypeError
            Bad bounds, bad settings, a component of the wrong kind.
        UnknownComponentError
            A component name nobody registered.
        FileExistsError
            ``working_dir`` holds results of an earlier run and not ``overwrite_existing``.
        """
        arguments = dict(locals())  # first: the arguments only
        if self._is_initialised:
            raise GloMPOError("this manager is already initialised; create a new one")
        from glompo_core import _setup_checks as checks

        self._pm = plugin_manager or get_plugin_manager()
        # every setting is checked by its rule in glompo_core.settings (one table)
        values, self._backend_obj = RunSettings.checked(
            {info.name: arguments[info.name] for info in setting_infos()}, self._pm)
        for info in setting_infos():
            setattr(self, info.attr, values[info.name])
        self._derive_settings()
        self.scope: Any = None
        self.checksum = checks.make_checksum()

        self._seed_components()
        window = checks.history_window(self.stoppers)
        self.opt_log = checks.make_logger(self.summary_files, self.n_parms, window, self._pm,
                                          self.exit_conditions)
        self._wire(done=0)
        # last: nothing that can fail follows the lock (a directory another run holds is
        # refused before anything in it is deleted); released by the run's end or close()
        self._workdir_lock = checks.prepare_working_dir(self.working_dir,
                                                        self.overwrite_existing, _OUTPUT_NAMES)
        self._is_initialised = True
        self.logger.info("manager set up: %d parameters, max_jobs=%d, backend=%s, seed=%s",
                         self.n_parms, self.max_jobs, self.backend, self.seed)

    def _derive_settings(self) -> None:
        """The attributes that follow from the settings (after setup() or a resume's overrides)."""
        self.n_parms = len(self.bounds)
        self.allow_forced_terminations = self.force_terminations_after > 0
        self.proc_backend = self.backend not in ("threads",)

    def _wire(self, done: int) -> None:
        """Make the lock, the event queue, the view and the slots' callbacks."""
        self._lock = threading.RLock()
        self._events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._done = done  # evaluations recorded in the log (f_counter counts those admitted)
        self._view = _View(self)
        self._callbacks = _SlotCallbacks(self)

    def _seed_components(self) -> None:
        components: tuple[Any, ...] = (self.x0_generator, self.opt_selector)
        for i, comp in enumerate(components):
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
    # Threads and locks
    # -----------------
    # ``self._lock`` (re-entrant) guards the manager's state: counters, ``exit_reason``,
    # the optimizer records, the in-memory log and the components' state. Every method
    # that reads or changes them from an optimizer thread takes it (``_admit``,
    # ``_process_batch``, ``_process_message``, the end of ``_run_optimizer``) and the
    # manager's thread takes it around its decisions. Methods marked "needs the lock"
    # assert it (:func:`_assert_locked`) when ``CHECK_LOCKS`` is true (the test suite).
    # A wrapper's own lock is taken before the manager's, never the other way: never call
    # a ``FunctionWrapper`` method while holding ``self._lock``.
    def _assert_locked(self) -> None:
        if CHECK_LOCKS and not self._lock._is_owned():  # type: ignore[attr-defined]
            raise AssertionError(f"{traceback.extract_stack(limit=2)[0].name} needs the "
                                 "manager's lock")

    def _admit(self, opt_id: int) -> None:
        """Admit one evaluation of optimizer ``opt_id``, or refuse it (optimizer thread).

        The budget is counted here, before the evaluation starts: once the run's exit
        is decided or the optimizer was told to stop, nothing more is started.
        """
        with self._lock:
            rec = self._opts[opt_id]
            if self.exit_reason is not None or rec.stop_requested or rec.abandoned:
                raise EvaluationRefused(self.exit_reason or rec.end_reason or "stopped")
            self.f_counter += 1
            self._check_exit()

    def _note_iteration(self, opt_id: int) -> None:
        """Optimizer ``opt_id`` reached an iteration boundary having had a value."""
        rec = self._opts.get(opt_id)
        if rec is not None and not rec.iterated:
            with self._lock:
                rec.iterated = True
                self._crashes_in_a_row = 0

    def _process_batch(self, opt_id: int, x: np.ndarray, fx: np.ndarray,
                       extras: list[list[Any]] | None,
                       errors: Sequence[EvaluationError] = ()) -> None:
        """Record a batch (called in the optimizer's thread) and take the decisions it triggers.

        The evaluations are numbered here (``call_id``), so the log's rows are always
        the call_ids 1 to ``n`` without a gap, in the order they reached the manager.
        """
        with self._lock:
            call_ids = np.arange(self._done + 1, self._done + len(fx) + 1, dtype=np.int64)
            for err in errors:
                err.call_id = int(call_ids[err.row])
            rec = self._opts[opt_id]
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
            self._done += len(fx)
            if errors:
                self._record_failures(rec, errors)
            self.failures.success(len(fx) - len(errors))
            if self._listen_batch:
                self._events.put(("glompo_iteration_batch", {
                    "opt_id": opt_id, "call_ids": call_ids, "x": x, "fx": fx,
                    "extras": extras}))
            if log.best_fx < prev_best:
                self._new_best(log.get_best_iter())
            if self.stoppers is not None and \
                    self.f_counter - self.last_hunt >= self.stopcheck_interval:
                self._hunt()
            control = self.checkpoint_control
            if control is not None and not self._checkpoint_pending and \
                    self.f_counter - self.last_chkpt_fcall >= control.checkpoint_iter_frequency:
                # pause everyone at their next iteration boundary now, so the checkpoint is
                # taken close to the requested evaluation count however fast the task is
                self._checkpoint_pending = True
                for other in self._opts.values():
                    self._ask_pause(other)
                self._events.put(("_checkpoint_due", {}))  # wakes the manager's thread
            self._check_exit()

    def _record_failures(self, rec: OptRecord, errors: Sequence[EvaluationError]) -> None:
        """Count failed evaluations, tell the user once per kind (needs the lock)."""
        self._assert_locked()
        for err in errors:
            rec.n_failed += 1
            self.opt_log.put_message(rec.opt_id, f"evaluation {err.call_id} failed: "
                                                 f"{err.line()}")
            if self.failures.add(rec.opt_id, err):
                self.logger.warning(
                    "evaluation %d (optimizer %d) failed: %s; recorded as a failed evaluation "
                    "(fx=NaN); further failures of this kind are counted, not shown",
                    err.call_id, rec.opt_id, err.line())
                self.logger.info("traceback of the first %s at %s:\n%s", err.type, err.site,
                                 err.traceback)
                self.opt_log.put_message(rec.opt_id, f"traceback of evaluation {err.call_id}:"
                                                     f"\n{err.traceback}")
        limit = self.max_failures_in_a_row
        if limit and self.failures.in_a_row >= limit and self.exit_reason is None:
            first = self.failures.first()
            what = "every evaluation so far" if not self.failures.successes else \
                f"the last {self.failures.in_a_row} evaluations"
            self._request_exit(f"the task failed on {what} ({self.failures.in_a_row} in a "
                               f"row, max_failures_in_a_row={limit}); first error: "
                               f"{first.line() if first else '?'}", state="task_failing")

    def _new_best(self, best: dict[str, Any]) -> None:
        """Record a new best point, share it if asked (needs the lock)."""
        self._assert_locked()
        self.result = Result(x=np.array(best["x"]), fx=float(best["fx"]), stats={},
                             origin={"opt_id": best["opt_id"], "type": best["type"],
                                     "call_id": best["call_id"]})
        self._events.put(("glompo_best_improved", {
            "opt_id": best["opt_id"], "x": np.array(best["x"]), "fx": float(best["fx"]),
            "call_id": best["call_id"]}))
        if self.share_best_solutions:
            for rec in self._opts.values():
                if rec.alive and not rec.stop_requested and rec.opt_id != best["opt_id"]:
                    scaler = rec.wrapper.scaler
                    rec.pipe.send((Signal.INJECT, scaler.from_task(np.array(best["x"])),
                                   float(best["fx"])))

    def _hunt(self) -> None:
        """Apply the stoppers to every live optimizer (needs the lock)."""
        self._assert_locked()
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
        """Evaluate the exit conditions; decide the run's end if they hold (needs the lock)."""
        self._assert_locked()
        if self.exit_reason is not None or self.exit_conditions is None:
            return
        self.exit_conditions.reset()
        try:
            done = self.exit_conditions(self._view)
        except Exception as exc:
            self.logger.exception("the exit conditions raised; ending the run")
            self._request_exit(f"exit conditions raised {exc!r}", state="error")
            return
        if done:
            self._request_exit(self.exit_conditions.str_with_result(), converged=True)

    def _request_exit(self, reason: str, *, converged: bool = False,
                      state: str = "normal", checkpoint: bool = False) -> None:
        """Decide the run's end (once: the first reason wins) and stop the optimizers.

        Takes the lock itself, so the check and the decision are one step whatever the
        calling thread. ``state`` is the key of :data:`~glompo_core.errors.EXIT_STATUS`.
        With ``checkpoint`` (an interrupt), or ``converged`` and ``checkpoint_at_conv``,
        the optimizers are kept for a final checkpoint (if the run has checkpointing).
        """
        with self._lock:
            if self.exit_reason is not None:
                return
            self.exit_reason = reason
            self.end_state = state
            self.logger.info("exit: %s", reason.replace("\n", " "))
            control = self.checkpoint_control
            keep = checkpoint or (converged and control is not None
                                  and control.checkpoint_at_conv)
            if control is not None and keep:
                # keep the optimizers (paused) for a final checkpoint, so the finished run
                # can be resumed later with a larger budget; they are stopped after it
                self._final_checkpoint = True
                for rec in self._opts.values():
                    self._ask_pause(rec)
                self._events.put(("_final_checkpoint", {}))
                return
            for rec in self._opts.values():
                if rec.alive and not rec.stop_requested:
                    self._stop_optimizer(rec, "the run is ending", record=False)

    def _stop_optimizer(self, rec: OptRecord, reason: str, record: bool = True) -> None:
        """Tell an optimizer to stop; it starts no evaluation after this (needs the lock)."""
        self._assert_locked()
        rec.stop_requested = True
        rec.end_reason = reason
        rec.pipe.send((Signal.STOP, reason))
        rec.pause_flag.set()
        if not record:
            self.opt_log.put_metadata(rec.opt_id, "end_cond", reason)
        else:
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
                if rec is not None:
                    rec.pause_ack.set()
                self._events.put(("glompo_optimizer_paused", {"opt_id": msg.opt_id}))
            elif msg.key == 9:
                self.opt_log.put_message(msg.opt_id, str(msg.message))
            else:
                self.opt_log.put_message(msg.opt_id, f"[{msg.key}] {msg.message}")

    # ------------------------------------------------------------------------ optimizers
    def _slots_used(self) -> int:
        return sum(rec.workers for rec in self._opts.values() if rec.alive)

    def _spawn_as_needed(self) -> None:
        # the optimizers of one round start together (a gate), so the first one cannot
        # run ahead while the others are still being built
        gate = threading.Event()
        self._gate = gate
        try:
            while self.spawning_opts and self.exit_reason is None \
                    and not self._checkpoint_pending:
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
                cls, init, call = cast("tuple[type, dict[str, Any], dict[str, Any]]", choice)
                self._start_optimizer(cls, dict(init), dict(call))
        finally:
            self._gate = None
            gate.set()

    def _start_optimizer(self, cls: type, init: dict[str, Any], call: dict[str, Any]) -> None:
        with self._lock:
            self.o_counter += 1
            opt_id = self.o_counter
            x0 = np.asarray(self.x0_generator.generate(self._view), dtype=float).ravel()
            if x0.shape != (self.n_parms,) or np.any(x0 < self.bounds[:, 0]) or \
                    np.any(x0 > self.bounds[:, 1]):
                raise GloMPOError(f"the generator {self.x0_generator} returned {x0.tolist()}, "
                                  "which is not a point within the bounds")
            self.last_opt_spawn = (self.f_counter, self.o_counter)
        self._launch(opt_id, cls, init, call, x0)

    def _launch(self, opt_id: int, cls: type, init: dict[str, Any], call: dict[str, Any],
                x0: np.ndarray, restart: Path | None = None,
                t_start: float | None = None) -> None:
        """Build (or reload from ``restart``) optimizer ``opt_id`` and start its thread."""
        init = dict(init)
        with self._lock:
            workers = int(init.pop("workers", init.pop("_workers", 1)))
            share = None if restart is not None else fill_budget_argument(
                cls, init, self.exit_conditions, self.f_counter, self.max_jobs, workers)
            if share is not None:  # the rule of glompo_core.budget
                self.logger.info("optimizer %d: %s", opt_id, share.describe())
            headers = getattr(self.task, "detailed_call_headers", None)
            rec = build_slot(
                self._callbacks, opt_id, cls, init, call, x0, bounds=self.bounds,
                backend=self._backend_obj, backend_name=self.backend, workers=workers,
                detailed=self.is_log_detailed, retries=self.task_retries,
                crash=self.task_errors == "crash", n_extras=len(headers) if headers else None,
                seed=_child_seed(self.seed, 1, opt_id), restart=restart)
            if t_start is not None:
                rec.t_start = t_start
            self._opts[opt_id] = rec
            if self._checkpoint_pending:  # asked while it was being built: pause it too
                self._ask_pause(rec)
            if opt_id not in self.opt_log.opt_ids:
                self.opt_log.add_optimizer(opt_id, cls.__name__, rec.t_start)
                self.opt_log.put_metadata(opt_id, "init_kwargs", dict(init, workers=workers))
                self.opt_log.put_metadata(opt_id, "x0", x0.tolist())
        if restart is None:
            self.logger.info("starting optimizer %d: %s %s", opt_id, cls.__name__, init)
            self._fire("glompo_optimizer_started", opt_id=opt_id, optimizer_type=cls.__name__,
                       x0=x0.copy(), init_kwargs=dict(init, workers=workers))
        else:
            self.logger.info("resuming optimizer %d (%s) from its checkpoint", opt_id,
                             cls.__name__)
        thread = threading.Thread(target=self._run_optimizer, args=(rec, self._gate),
                                  name=f"glompo-opt{opt_id}", daemon=True)
        rec.thread = thread
        thread.start()

    def _run_optimizer(self, rec: OptRecord, gate: threading.Event | None = None) -> None:
        if gate is not None:
            gate.wait()
        printstreams = self.working_dir / "glompo_optimizer_printstreams"
        status, message = run_minimize(rec, printstreams if self.split_printstreams else None)
        with self._lock:
            if rec.abandoned:  # recorded as crashed when it was abandoned
                return
            rec.t_end = time.time()
            if status == "crashed":
                self._record_crash(rec, message)
            elif status == "refused" and not rec.stop_requested and self._final_checkpoint:
                rec.cut = True  # saved as it stands by the final checkpoint, then ended
            elif rec.stop_requested or status == "refused":
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
            if status != "crashed" and rec.iterated:
                self._crashes_in_a_row = 0
            self.opt_log.put_metadata(rec.opt_id, "t_end", rec.t_end)
            self.opt_log.put_metadata(rec.opt_id, "n_failed", rec.n_failed)
            if not self.opt_log.build_traj_plot:
                self.opt_log.clear_cache(rec.opt_id)
            self._check_exit()
        self._events.put(("_ended", {"opt_id": rec.opt_id}))

    def _record_crash(self, rec: OptRecord, message: str) -> None:
        """An optimizer crashed: record it, end a crash loop (needs the lock)."""
        self._assert_locked()
        self.opt_crashed = True
        rec.status = "crashed"
        rec.end_reason = message
        last = message.strip().splitlines()[-1] if message.strip() else "?"
        self.logger.error("optimizer %d (%s) crashed: %s (its traceback is in its messages)",
                          rec.opt_id, rec.type, last)
        self.logger.info("traceback of optimizer %d:\n%s", rec.opt_id, message)
        self.opt_log.put_message(rec.opt_id, f"crashed: {message}")
        self.opt_log.put_metadata(rec.opt_id, "end_cond", "crashed")
        self._events.put(("glompo_optimizer_crashed", {"opt_id": rec.opt_id, "error": message}))
        if rec.iterated:
            self._crashes_in_a_row = 0
            return
        if self._crashes_in_a_row == 0:
            self._first_crash_in_row = f"optimizer {rec.opt_id} ({rec.type}): {last}"
        self._crashes_in_a_row += 1
        limit = self.max_crashes_in_a_row
        if limit and self._crashes_in_a_row >= limit:
            self._request_exit(f"{self._crashes_in_a_row} optimizers in a row crashed before "
                               f"finishing an iteration (max_crashes_in_a_row={limit}); the "
                               f"first: {self._first_crash_in_row}", state="crash_loop")

    # ----------------------------------------------------------------------- main thread
    def _fire(self, hook: str, **kwargs: Any) -> None:
        self._pm.call_lifecycle(hook, manager=self._view, **kwargs)

    def _drain_events(self, timeout: float, budget: float | None = 0.1) -> None:
        """Fire queued lifecycle events; stop after ``budget`` seconds so that slow
        observers never starve the manager's other duties (spawning, files, checkpoints)."""
        try:
            name, kwargs = self._events.get(timeout=timeout)
        except queue.Empty:
            return
        deadline = None if budget is None else time.monotonic() + budget
        while True:
            if not name.startswith("_"):
                self._fire(name, **kwargs)
            if deadline is not None and time.monotonic() > deadline:
                return
            try:
                name, kwargs = self._events.get_nowait()
            except queue.Empty:
                return

    def _check_interventions(self) -> None:
        """``STOP_<id>`` files: requests to :attr:`control` (carried out by the loop)."""
        for path in self.working_dir.glob("STOP_*"):
            try:
                opt_id = int(path.name[5:])
            except ValueError:
                continue
            if self.control.stop_optimizer(opt_id, f"user request ({path.name} file)"):
                self.logger.info("STOP file found: stopping optimizer %d", opt_id)
            path.unlink(missing_ok=True)

    def _check_timeouts(self) -> None:
        """Abandon optimizers whose evaluation ran past force_terminations_after (threads).

        A thread cannot be killed: the evaluation under way is recorded as failed (an
        :class:`~glompo_core.errors.EvaluationTimeout`) and its optimizer is abandoned
        as crashed. Process backends kill the hung evaluation themselves, and the
        optimizer goes on.
        """
        if not self.allow_forced_terminations or self.proc_backend:
            return
        now = time.monotonic()
        hung = []
        for rec in list(self._opts.values()):  # not under the lock: the wrapper's comes first
            started = rec.wrapper.oldest_inflight() if rec.alive else None
            if started is not None and now - started > self.force_terminations_after:
                with self._lock:
                    if rec.alive:
                        rec.abandoned = True
                        hung.append(rec)
        for rec in hung:
            msg = (f"an evaluation ran past force_terminations_after="
                   f"{self.force_terminations_after} s: abandoned (a thread cannot be killed; "
                   "it may still finish in the background)")
            rec.wrapper.abandon(EvaluationTimeout(msg))
            with self._lock:
                rec.end_reason = msg
                rec.pipe.send((Signal.STOP, msg))
                self._record_crash(rec, msg)

    def _status_report(self) -> None:
        from glompo_core.status import status_text

        self._record_usage()
        self.logger.info(status_text(self))

    def _record_usage(self) -> None:
        """Append a resource usage sample to the histories."""
        from glompo_core.status import record_usage

        sample = record_usage()
        if sample is not None:
            self.cpu_history.append(sample.cpu)
            self.mem_history.append(sample.memory)
            self.load_history.append(sample.load)

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
        self._hold_working_dir()  # taken by setup()/load_checkpoint(); again after close()
        self.exit_reason = None
        error: BaseException | None = None
        with contextlib.ExitStack() as stack:
            # unwound in reverse: shut down, stop routing print streams, restore handlers
            stack.callback(self.control.restore_signal_handlers,
                           self.control.install_signal_handlers())
            if self.split_printstreams:
                stack.enter_context(PrintStreamRouter(self.working_dir))
            stack.callback(self._shutdown)
            try:
                self._begin_session()
                while self._loop_step():
                    pass
            except KeyboardInterrupt:
                self._request_exit("interrupted by SIGINT (Ctrl-C)", state="SIGINT")
            except BaseException as exc:
                error = exc
                self._request_exit(f"error in the manager: {exc!r}", state="error")
        if error is not None:
            raise error
        return self.result

    def _begin_session(self) -> None:
        """Open the log, start the backend and the visualisation, resume or start."""
        self._pm.unmute_all()
        self._listen_batch = self._pm.has_listeners("glompo_iteration_batch")
        self.t_start = time.time()
        self.opt_session_starts.append(self.t_start)
        self.last_status = self.t_start
        self._last_file_check = 0.0
        self._open_log_file()
        self._backend_obj.start(self.task, self.max_jobs, detailed=self.is_log_detailed,
                                timeout=self.force_terminations_after
                                if self.allow_forced_terminations else None)
        if self.visualisation:
            self._start_visualisation()
        self._fire("glompo_run_control", control=self.control)
        self._fire("glompo_run_started")
        self.logger.info("run %s", "resumed" if self._resumed else "started")
        self._status_report()
        self.last_checkpoint = self.t_start
        self.last_chkpt_fcall = self.f_counter
        if self._restore:
            _resume.resume_optimizers(self)
        elif self.checkpoint_control is not None and \
                self.checkpoint_control.checkpoint_at_init and not self._resumed:
            self.checkpoint()

    def _open_log_file(self) -> None:
        """Open the file of a file logger (glompo-hdf5): appended to when resuming."""
        opener = getattr(self.opt_log, "open", None)
        if not callable(opener):
            return
        log_path = self.working_dir / "glompo_log.h5"
        if self._resumed and log_path.exists():
            opener(log_path, "a", self.checksum)
            truncate = getattr(self.opt_log, "truncate_after", None)
            if callable(truncate):  # drop rows written after the checkpoint
                truncate(self.f_counter)
        else:
            if self._resumed:
                self.logger.warning("no glompo_log.h5 in %s to append to: a new log "
                                    "file starts at evaluation %d", self.working_dir,
                                    self.f_counter + 1)
            opener(log_path, "w", self.checksum)
        self._write_manager_metadata()

    def _start_visualisation(self) -> None:
        """Create the visualisation (glompo-scope), restored from a checkpoint if saved."""
        self.scope = self._pm.create_visualisation(self._view, self.visualisation_args)
        if self.scope is None:
            return
        state = self._scope_state
        if state is not None and callable(getattr(self.scope, "checkpoint_load", None)):
            self.scope.checkpoint_load(state)
        self._pm.add_observer(self.scope, self._scope_name())
        self._listen_batch = self._pm.has_listeners("glompo_iteration_batch")

    def _loop_step(self) -> bool:
        """One turn of the manager's thread; False when the run is over."""
        # requests (a signal, a dashboard, ...): an end of the run keeps the optimizers
        # (paused, or cut between two evaluations) for a last checkpoint, then stops them
        self.control.carry_out()
        with self._lock:
            self._check_exit()
        if self._exiting():
            if self._final_checkpoint:
                self.logger.info("the run is ending: writing a final checkpoint")
                self.checkpoint()
            return False
        self._spawn_as_needed()
        if self._exiting():
            return False
        if not self.spawning_opts and not any(r.alive for r in self._opts.values()):
            self._request_exit("no optimizer is running and the selector starts no more")
            return False
        now = time.time()
        if now - self._last_file_check >= 1.0:
            self._last_file_check = now
            self._check_files()
            self.control.carry_out()
        why = _resume.checkpoint_due(self)
        if why is not None:
            if not self._exiting():
                self.logger.info("checkpoint due (%s)", why)
                self.checkpoint()
            else:
                self._resume_all([])
        if now - self.last_status >= self.status_interval:
            self.last_status = now
            self._status_report()
        self.opt_log.flush()  # file loggers write their buffered rows here
        self._drain_events(_LOOP_WAIT)
        return True

    def _check_files(self) -> None:
        """``STOP_<id>`` and ``CHKPT`` files, and evaluations past their timeout."""
        self._check_interventions()
        self._check_timeouts()
        if (self.working_dir / "CHKPT").exists():
            self.logger.info("CHKPT file found: writing a checkpoint")
            (self.working_dir / "CHKPT").unlink(missing_ok=True)
            self.control.checkpoint()

    def _exiting(self) -> bool:
        """True once the run is ending (set from any thread: not narrowed by mypy)."""
        return self.exit_reason is not None

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
                with self._lock:
                    rec.abandoned = True
                lost = rec.wrapper.abandon(GloMPOError(
                    f"the run ended before this evaluation finished (end_timeout="
                    f"{self.end_timeout} s)"))
                self.logger.warning("optimizer %d did not stop within end_timeout=%s s; "
                                    "abandoned with %d evaluation(s) under way (recorded as "
                                    "failed)", rec.opt_id, self.end_timeout, lost)
        try:
            self._backend_obj.shutdown()
        except Exception:
            self.logger.exception("backend shutdown failed")
        self.t_end = time.time()
        self.opt_session_ends.append(self.t_end)
        try:
            self._record_usage()
        except Exception:
            self.logger.debug("resource usage could not be recorded", exc_info=True)
        with self._lock:
            for rec in self._opts.values():
                if rec.status == "running":
                    rec.status = "stopped" if rec.opt_id in self.stopped_opts else "ended"
            self._finalise_result()
        self._drain_events(0, budget=None)
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
            self._pm.remove_observer(self._scope_name())
        if self.failures.total:
            self.logger.warning("%d failed evaluation(s) of %d:\n%s", self.failures.total,
                                self.f_counter, "\n".join(self.failures.lines()))
        self.logger.info("run ended: %s; %d evaluations, best fx=%s",
                         (self.exit_reason or "").replace("\n", " "), self.f_counter,
                         self.result.fx)
        self.close()  # last: the working directory is free for another run

    def _write_manager_metadata(self) -> None:
        """Give the log the run's settings and state (the summary's facts) as metadata."""
        from glompo_core.summary import summary_dict

        for section, content in summary_dict(self).items():
            self.opt_log.put_manager_metadata(section, content)
        self.opt_log.put_manager_metadata("checksum", self.checksum)

    def _scope_name(self) -> str:
        return f"visualisation:{type(self.scope).__qualname__}:{id(self)}"

    def _opts_end_status(self) -> dict[int, str]:
        return {oid: rec.status for oid, rec in self._opts.items()}

    def _finalise_result(self) -> None:
        elapsed, session = run_time(self.t_used, self.t_start, self.t_end)
        statuses = [rec.status for rec in self._opts.values()]
        self.result.stats = {
            "f_counter": self.f_counter,
            "o_counter": self.o_counter,
            "optimizers_stopped": len(self.stopped_opts),
            "optimizers_converged": self.converged,
            "optimizers_crashed": statuses.count("crashed"),
            "failed_evaluations": self.failures.total,
            "end_state": self.end_state,
            "exit_status": EXIT_STATUS.get(self.end_state, 1),
            "t_used": elapsed,
            "t_session": session,
            "exit_reason": self.exit_reason,
        }

    # --------------------------------------------------------------------- checkpoints
    #: What a checkpoint saves: the run's state (counters, histories, the result) and
    #: every setting but the task (saved apart), by its attribute (glompo_core.settings).
    _STATE_ATTRS = (
        "f_counter", "o_counter", "converged", "hunt_counter", "last_hunt", "opt_crashed",
        "stopped_opts", "cpu_history", "mem_history", "load_history", "opt_session_starts",
        "opt_session_ends", "last_opt_spawn", "checkpoint_history", "result", "spawning_opts",
        "checksum", "n_parms", "allow_forced_terminations", "proc_backend", "_chkpt_count",
        "_written_checkpoints", "failures", "_crashes_in_a_row", "_first_crash_in_row",
        "default_portfolio",
        *(info.attr for info in setting_infos() if info.name != "task"),
    )
    #: Seconds a checkpoint waits for every optimizer to reach an iteration boundary.
    pause_timeout = 60.0

    def _ask_pause(self, rec: OptRecord) -> None:
        if rec.alive and not rec.stop_requested and not rec.pause_requested:
            rec.pause_requested = True
            rec.pause_ack.clear()
            rec.pipe.send((Signal.PAUSE,))  # the optimizer clears its flag, acks and waits

    def _pause_all(self) -> list[OptRecord]:
        """Pause every live optimizer at its next iteration boundary; return those paused."""
        with self._lock:
            for rec in self._opts.values():
                self._ask_pause(rec)
            asked = [rec for rec in self._opts.values() if rec.pause_requested]
        deadline = time.time() + self.pause_timeout
        for rec in asked:
            while not rec.pause_ack.is_set() and rec.thread is not None \
                    and rec.thread.is_alive() and time.time() < deadline:
                rec.pause_ack.wait(0.05)
        return [rec for rec in asked if rec.pause_ack.is_set()]

    def _resume_all(self, paused: list[OptRecord]) -> None:
        with self._lock:
            self._checkpoint_pending = False
            if self._exiting():  # the run ends: stop them before they may go on
                for rec in self._opts.values():
                    if rec.alive and not rec.stop_requested:
                        self._stop_optimizer(rec, "the run is ending", record=False)
            for rec in self._opts.values():
                if rec.pause_requested:
                    rec.pause_requested = False
                    rec.pause_flag.set()
        for rec in paused:
            self._fire("glompo_optimizer_resumed", opt_id=rec.opt_id)

    def checkpoint(self) -> Path | None:
        """Save the state of the manager and its optimizers into a checkpoint tarball.

        Every live optimizer is paused at an iteration boundary while the checkpoint is
        taken, then resumed. The file goes to ``checkpoint_control.checkpointing_dir``
        (relative to ``working_dir``), named by ``checkpoint_control.naming_format``.

        Returns
        -------
        Path or None
            The checkpoint written, or None if it failed (and ``raise_checkpoint_fail``
            is False).

        Notes
        -----
        The task is saved with dill; if it does not pickle (or ``force_task_save``),
        ``task.checkpoint_save(directory)`` is called; else the checkpoint has no task
        and :meth:`load_checkpoint` needs ``task=``. An optimizer that cannot be saved
        mid-run (``can_checkpoint = False``, or not paused in time) is restarted from its
        best point on resume.
        """
        return _resume.write(self)

    def load_checkpoint(self, path: str | os.PathLike[str],
                        task_loader: Callable[[Path], Any] | None = None,
                        task: Any = None, *, plugin_manager: PluginManager | None = None,
                        **glompo_kwargs: Any) -> None:
        """Initialise this manager from a checkpoint, to resume the run it saved.

        .. warning::
           A checkpoint is a dill pickle: loading one runs code. Load only checkpoints
           you made or trust.

        Parameters
        ----------
        path
            The checkpoint tarball.
        task_loader
            Rebuilds the task from the files ``task.checkpoint_save`` wrote: called with
            the directory holding them.
        task
            The task itself; takes precedence over ``task_loader`` and over the pickled
            task.
        plugin_manager
            Registry used to resolve names (default: the installed plugins).
        **glompo_kwargs
            :meth:`setup` arguments overriding the saved ones (e.g. ``working_dir``,
            ``max_jobs``, ``exit_conditions``, ``backend``). ``bounds`` and ``task`` cannot
            be changed this way.

        Raises
        ------
        CheckpointingError
            The file is missing, damaged or foreign, a plugin it needs is not installed,
            or the task cannot be rebuilt.
        """
        if self._is_initialised:
            raise GloMPOError("this manager is already initialised; create a new one")
        _resume.load(self, path, task_loader, task, plugin_manager, glompo_kwargs)

    @classmethod
    def load_manager(cls, *args: Any, **kwargs: Any) -> GloMPOManager:
        """Create a manager and call :meth:`load_checkpoint` with the given arguments."""
        manager = cls()
        manager.load_checkpoint(*args, **kwargs)
        return manager

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

    # ------------------------------------------------------------------ working directory
    _workdir_lock: WorkingDirLock | None = None

    def close(self) -> None:
        """Release the working directory, so another run may use it.

        A manager holds a lock on its ``working_dir`` from :meth:`setup` (or
        :meth:`load_checkpoint`) until its run ends: a second run there (of any process,
        even with ``overwrite_existing=True``) is refused with
        :class:`~glompo_core.errors.WorkingDirLockedError`. A manager that is set up but
        not run keeps the lock until ``close()``, until it is garbage-collected, or until
        its process ends (however it ends: the operating system drops the lock). The run's
        end calls ``close()`` itself; :meth:`start_manager` takes the lock again if it
        was released. Safe to call more than once. A manager is also a context manager::

            with GloMPOManager.new_manager(...) as manager:
                ...  # inspect it, maybe start_manager()
        """
        lock, self._workdir_lock = self._workdir_lock, None
        if lock is not None:
            lock.release()

    def _hold_working_dir(self) -> None:
        """Take the working directory's lock unless this manager holds it."""
        from glompo_core._workdir import lock_working_dir

        if self._workdir_lock is None or not self._workdir_lock.held:
            self._workdir_lock = lock_working_dir(self.working_dir)

    def __enter__(self) -> GloMPOManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

