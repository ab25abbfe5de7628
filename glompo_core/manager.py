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

Where the parts are: this module keeps the settings (``setup``, from
``settings.RunSettings``), the public methods and the run loop (``start_manager``:
``_session.begin``, ``_loop_step`` until the run ends, ``_finish.shutdown``);
``_decisions.py`` the decisions (admit, record, stop, exit, spawn, launch);
``_events.py`` the queue of lifecycle hooks and wake-ups; ``control.py`` the requests
(stop an optimizer, checkpoint, end the run) from files, signals and plugins;
``_view.py`` the read-only view; ``_slot.py`` the per-optimizer slot (record, scaler,
function wrapper, results sink), which calls the manager through four callbacks only;
``_resume.py`` writes checkpoints and rebuilds a manager from one; ``status.py`` holds
the run's one clock (``run_time``) and the resource samples.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core import _decisions, _finish, _resume, _session, status
from glompo_core._evaluation import FailureTally
from glompo_core._events import EventQueue, HookEvent
from glompo_core._portfolio import DefaultPortfolio
from glompo_core._slot import OptRecord
from glompo_core._view import SlotCallbacks, View
from glompo_core._workdir import WorkingDirLock
from glompo_core.control import RunControl
from glompo_core.errors import GloMPOError
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.printstreams import PrintStreamRouter
from glompo_core.result import Result
from glompo_core.settings import RunSettings, setting_infos

if TYPE_CHECKING:
    from glompo_core._combinable import Combinable
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.protocols import Backend, ExitCondition, Generator, Selector, Stopper

__all__ = ["GloMPOManager"]

_LOOP_WAIT = 0.05  # seconds the manager's thread waits for events per loop
#: What a run writes in its working directory, refused (or deleted, with
#: overwrite_existing) when a fresh run finds them: the core's outputs, the log's file
#: (its ``filename``), and by convention every entry named ``glompo_*`` (the outputs of
#: plugins, e.g. a visualisation's movie).
_OUTPUT_NAMES = ("glompo_manager_log.yml", "trajectories.png", "trajectories_best.png",
                 "trajectories_log.png", "trajectories_log_best.png",
                 "glompo_optimizer_printstreams", "glompo_error.log")
_OUTPUT_PREFIX = "glompo_"


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
    #: The run's log: the in-memory BaseLogger, or a file logger (summary_files=3); the
    #: manager calls only what the Logger protocol lists (checked by the test suite)
    opt_log: BaseLogger
    # ... and what follows from them (_derive_settings)
    n_parms: int
    allow_forced_terminations: bool
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
        self._run_observers: list[str] = []  # add_observer's names: removed at the run's end
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

        _decisions.seed_components(self)
        window = checks.history_window(self.stoppers)
        self.opt_log = checks.make_logger(self.summary_files, self.n_parms, window, self._pm,
                                          self.exit_conditions)
        self._wire(done=0)
        # last: nothing that can fail follows the lock (a directory another run holds is
        # refused before anything in it is deleted); released by the run's end or close()
        self._workdir_lock = checks.prepare_working_dir(self.working_dir,
                                                        self.overwrite_existing,
                                                        self._output_names())
        self._is_initialised = True
        self.logger.info("manager set up: %d parameters, max_jobs=%d, backend=%s, seed=%s",
                         self.n_parms, self.max_jobs, self.backend, self.seed)

    def _output_names(self) -> list[str]:
        """The run's outputs present or to come in ``working_dir`` (see _OUTPUT_NAMES)."""
        names = list(_OUTPUT_NAMES)
        if self.opt_log.filename is not None:
            names.append(self.opt_log.filename)
        if self.working_dir.is_dir():
            names += sorted(p.name for p in self.working_dir.glob(_OUTPUT_PREFIX + "*"))
        return list(dict.fromkeys(names))

    def _derive_settings(self) -> None:
        """The attributes that follow from the settings (after setup() or a resume's overrides)."""
        self.n_parms = len(self.bounds)
        self.allow_forced_terminations = self.force_terminations_after > 0

    def _wire(self, done: int) -> None:
        """Make the lock, the event queue, the view and the slots' callbacks."""
        self._lock = threading.RLock()
        self._events = EventQueue()
        self._done = done  # evaluations recorded in the log (f_counter counts those admitted)
        self._view = View(self)
        self._callbacks = SlotCallbacks(self)

    @property
    def view(self) -> View:
        """The read-only view of this manager given to components and hooks."""
        return self._view

    # ----------------------------------------------------------------------- main thread
    def _fire(self, hook: str, **kwargs: Any) -> None:
        self._pm.call_lifecycle(hook, manager=self._view, **kwargs)

    def _fire_event(self, event: HookEvent) -> None:
        self._fire(event.hook, **event.kwargs)

    def _drain_events(self, timeout: float, budget: float | None = 0.1) -> None:
        """Fire queued lifecycle events (:meth:`glompo_core._events.EventQueue.drain`)."""
        self._events.drain(self._fire_event, timeout, budget)

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
            # last of all, after glompo_run_finished (even if the end failed half-way)
            stack.callback(self._remove_run_observers)
            stack.callback(self.control.restore_signal_handlers,
                           self.control.install_signal_handlers())
            if self.split_printstreams:
                stack.enter_context(PrintStreamRouter(self.working_dir))
            stack.callback(_finish.shutdown, self)
            try:
                _session.begin(self)
                while self._loop_step():
                    pass
            except KeyboardInterrupt:
                _decisions.request_exit(self, "interrupted by SIGINT (Ctrl-C)", state="SIGINT")
            except BaseException as exc:
                error = exc
                _decisions.request_exit(self, f"error in the manager: {exc!r}", state="error")
        if error is not None:
            raise error
        return self.result

    def _loop_step(self) -> bool:
        """One turn of the manager's thread; False when the run is over."""
        # requests (a signal, a dashboard, ...): an end of the run keeps the optimizers
        # (paused, or cut between two evaluations) for a last checkpoint, then stops them
        self.control.carry_out()
        with self._lock:
            _decisions.check_exit(self)
        if self._exiting():
            if self._final_checkpoint:
                self.logger.info("the run is ending: writing a final checkpoint")
                self.checkpoint()
            return False
        _decisions.spawn_as_needed(self)
        # an exit decided since the check above (by an optimizer's thread, or just now) is
        # carried out by the next turn, which writes the final checkpoint if one is due
        if self._exiting():
            return True
        if not self.spawning_opts and not any(r.alive for r in self._opts.values()):
            _decisions.request_exit(self, "no optimizer is running and the selector starts "
                                    "no more")
            return True
        now = time.time()
        if now - self._last_file_check >= 1.0:
            self._last_file_check = now
            self.control.check_files()  # STOP_<id> and CHKPT: requests, carried out now
            _decisions.check_timeouts(self)
            self.control.carry_out()
        why = _resume.checkpoint_due(self)
        if why is not None:
            if not self._exiting():
                self.logger.info("checkpoint due (%s)", why)
                self.checkpoint()
            else:
                _resume.resume_all(self, [])
        if now - self.last_status >= self.status_interval:
            self.last_status = now
            status.report(self)
        self.opt_log.flush()  # file loggers write their buffered rows here
        self._drain_events(_LOOP_WAIT)
        return True

    def _exiting(self) -> bool:
        """True once the run is ending (set from any thread: not narrowed by mypy)."""
        return self.exit_reason is not None

    def _scope_name(self) -> str:
        return f"visualisation:{type(self.scope).__qualname__}:{id(self)}"

    def _opts_end_status(self) -> dict[int, str]:
        return {oid: rec.status for oid, rec in self._opts.items()}

    # --------------------------------------------------------------------- checkpoints
    #: What a checkpoint saves: the run's state (counters, histories, the result) and
    #: every setting but the task (saved apart), by its attribute (glompo_core.settings).
    _STATE_ATTRS = (
        "f_counter", "o_counter", "converged", "hunt_counter", "last_hunt", "opt_crashed",
        "stopped_opts", "cpu_history", "mem_history", "load_history", "opt_session_starts",
        "opt_session_ends", "last_opt_spawn", "checkpoint_history", "result", "spawning_opts",
        "checksum", "n_parms", "allow_forced_terminations", "_chkpt_count",
        "_written_checkpoints", "failures", "_crashes_in_a_row", "_first_crash_in_row",
        "default_portfolio",
        *(info.attr for info in setting_infos() if info.name != "task"),
    )
    #: Seconds a checkpoint waits for every optimizer to reach an iteration boundary.
    pause_timeout = 60.0

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
    def add_observer(self, observer: Any, name: str | None = None) -> None:
        """Register a run-scoped observer of this run's lifecycle hooks (e.g. a dashboard).

        ``observer`` is registered with the manager's plugin manager at once (so the run
        sees its hooks from the start, ``glompo_run_control`` and ``glompo_run_started``
        included) and unregistered when the run ends: after ``glompo_run_finished`` was
        fired, also when the run ended by an error or an interrupt.

        Parameters
        ----------
        observer
            An object implementing lifecycle hooks (``glompo_run_started``,
            ``glompo_iteration_batch``, ... marked with ``@hookimpl``).
        name
            Its name in the plugin manager (messages about a failing hook name it).
            Default: ``observer:<class>:<id>``.

        Raises
        ------
        GloMPOError
            The manager is not set up, or its run is under way or over.
        ValueError
            The name (or the observer) is already registered.
        PluginError
            It implements an unknown hook or a hook wrapper (nothing is registered).

        Examples
        --------
        >>> from glompo_core import hookimpl
        >>> class Ending:
        ...     @hookimpl
        ...     def glompo_run_finished(self, manager, result, reason):
        ...         print("the run ended:", reason)
        >>> manager.add_observer(Ending(), "ending")  # doctest: +SKIP
        >>> result = manager.start_manager()  # doctest: +SKIP
        """
        if not self._is_initialised:
            raise GloMPOError("call setup() (or load_checkpoint()) before add_observer()")
        if self.t_start is not None:
            raise GloMPOError("this manager's run has started: add observers before "
                              "start_manager()")
        name = name or f"observer:{type(observer).__qualname__}:{id(observer)}"
        try:
            self._pm.add_observer(observer, name)
        except ValueError as exc:  # pluggy: name or object already registered
            raise ValueError(f"observer {name!r} (or this object) is already registered with "
                             "the run's plugin manager: give another name or add it once"
                             ) from exc
        self._run_observers.append(name)

    def _remove_run_observers(self) -> None:
        """Unregister the observers of :meth:`add_observer` (the run has ended)."""
        names, self._run_observers = self._run_observers, []
        for name in names:
            self._pm.remove_observer(name)

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

