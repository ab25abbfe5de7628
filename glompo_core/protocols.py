"""Structural types (``typing.Protocol``) of everything a plugin can provide.

Third parties need not subclass GloMPO's base classes: any object with these
methods works. The base classes (:class:`~glompo_core.optimizers.BaseOptimizer`,
:class:`~glompo_core.stoppers.BaseStopper`, ...) add the reference behaviour
(combination with ``&``/``|``, messaging, checkpointing) and are the easy way in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.result import Result

__all__ = [
    "Backend",
    "DetailedTask",
    "ExitCondition",
    "Generator",
    "Logger",
    "ManagerView",
    "Optimizer",
    "Selector",
    "Stopper",
    "Task",
]

Bounds = Sequence[tuple[float, float]]


class Task(Protocol):
    """The function being minimised: ``fx = task(x)`` for a 1-D sequence ``x``."""

    def __call__(self, x: Sequence[float], /) -> float: ...


class DetailedTask(Task, Protocol):
    """A task that can also return extra values for the log (``is_log_detailed=True``).

    ``detailed_call(x)`` returns a sequence whose first element is ``fx`` and whose
    other elements are recorded as extra columns of the evaluation history.
    """

    def detailed_call(self, x: Sequence[float], /) -> Sequence[Any]: ...


class ManagerView(Protocol):
    """Read-only view of a running manager, given to generators, selectors and exit conditions.

    The manager's own view (``manager.view``) and
    :class:`glompo_core.testing.FakeManagerView` both provide exactly these properties
    (checked by the test suite). The view cannot steer the run: plugins that must (a
    dashboard) receive a :class:`~glompo_core.control.RunControl` through the
    ``glompo_run_control`` hook.
    """

    @property
    def f_counter(self) -> int: ...
    @property
    def o_counter(self) -> int: ...
    @property
    def n_parms(self) -> int: ...
    @property
    def bounds(self) -> np.ndarray: ...
    @property
    def opt_log(self) -> BaseLogger: ...
    @property
    def result(self) -> Result: ...
    @property
    def converged(self) -> int: ...
    @property
    def opt_crashed(self) -> bool: ...
    @property
    def stopped_opts(self) -> dict[int, float]: ...
    @property
    def hunt_counter(self) -> int: ...
    @property
    def t_start(self) -> float | None: ...
    @property
    def t_used(self) -> float: ...
    @property
    def max_jobs(self) -> int: ...
    @property
    def last_opt_spawn(self) -> tuple[int, int]: ...
    @property
    def task(self) -> Any: ...
    @property
    def run_budget(self) -> int | None:
        """The run's evaluation budget (:func:`glompo_core.budget.run_budget` of its exit
        conditions): None if no number of evaluations ends the run."""
        ...
    @property
    def exit_conditions(self) -> ExitCondition | None:
        """The run's exit condition (possibly combined with ``&``/``|``; its ``leaves()``
        are the elementary ones), e.g. to show each one's ``progress(manager)``. Read it,
        never call it: calling it is the manager's decision. None: a view without one."""
        ...
    @property
    def failed_evaluations(self) -> int:
        """Evaluations of the run so far that failed (the task raised or timed out,
        recorded with ``fx = NaN``); the ``failed_evaluations`` of the result's stats."""
        ...
    @property
    def workers_busy(self) -> int:
        """Evaluations under way now: started by an optimizer and not yet recorded (at
        most ``max_jobs`` in a run whose optimizers keep to their slots)."""
        ...
    @property
    def working_dir(self) -> Path | None:
        """The run's working directory (None for a stand-in view without one)."""
        ...
    @property
    def is_log_detailed(self) -> bool: ...
    @property
    def summary_files(self) -> int: ...
    @property
    def checksum(self) -> str: ...


class Stopper(Protocol):
    """Decides whether optimizer ``tested_opt_id`` should be stopped.

    Called every ``stopcheck_interval`` evaluations for every live optimizer (but the
    best one, unless ``apply_stoppers_to_best``).
    """

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool: ...


class ExitCondition(Protocol):
    """Decides whether the whole run should end.

    ``progress`` is optional in practice: the base class every exit condition
    subclasses, :class:`~glompo_core.exit_conditions.BaseExitCondition`, answers None
    ("cannot tell") unless it is overridden.
    """

    def __call__(self, manager: ManagerView) -> bool: ...

    def progress(self, manager: ManagerView) -> float | None:
        """The fraction (0 to 1) of the way to the condition being met; None: cannot tell."""
        ...


class Generator(Protocol):
    """Produces the starting point of each new optimizer."""

    def generate(self, manager: ManagerView) -> np.ndarray: ...


class Selector(Protocol):
    """Chooses the class and configuration of each new optimizer.

    Returns ``(cls, init_kwargs, call_kwargs)``, ``None`` when nothing fits in
    ``slots_available`` right now, or ``False`` when no optimizer may be started
    any more (spawning is over).
    """

    def select_optimizer(
        self, manager: ManagerView, log: BaseLogger, slots_available: int
    ) -> tuple[type, dict[str, Any], dict[str, Any]] | None | bool: ...


class Optimizer(Protocol):
    """A child optimizer (see :class:`~glompo_core.optimizers.BaseOptimizer` for the contract)."""

    workers: int

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Bounds) -> Any: ...

    def callstop(self, reason: str = "") -> None: ...

    def inject(self, x: Sequence[float], fx: float) -> None: ...


class Logger(Protocol):
    """Holds the evaluation history: everything the manager calls on its log.

    :class:`~glompo_core.optimizerlogger.BaseLogger` (in memory) implements all of it;
    a logger that writes a file names it (``filename``) and the manager opens it in the
    run's working directory (``open``), truncates it on resume (``truncate_after``),
    flushes it from its own thread and closes it at the end: the manager knows no file
    name of its own.
    """

    #: The file written in the working directory, or None (in memory only).
    filename: ClassVar[str | None]
    #: Keep every row in memory for the trajectory plots.
    build_traj_plot: bool

    # -- a file, if the logger writes one
    def open(self, path: str | Path, mode: str, checksum: str) -> None: ...
    def truncate_after(self, call_id: int) -> int: ...
    def flush(self, opt_id: int | None = None) -> None: ...
    def close(self) -> None: ...
    # -- what the manager records
    def add_optimizer(self, opt_id: int, opt_type: str, t_start: float) -> None: ...
    def add_iter_history(self, opt_id: int,
                         extra_headers: Sequence[str] | None = None) -> None: ...
    def has_iter_history(self, opt_id: int) -> bool: ...
    def put_iteration(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                      extras: Sequence[Sequence[Any]] | None = None) -> None: ...
    def put_message(self, opt_id: int, message: str) -> None: ...
    def put_metadata(self, opt_id: int, key: str, value: Any) -> None: ...
    def put_manager_metadata(self, key: str, value: Any) -> None: ...
    def clear_cache(self, opt_id: int | None = None) -> None: ...
    # -- what the manager, stoppers and plots read
    @property
    def best_fx(self) -> float: ...
    @property
    def opt_ids(self) -> list[int]: ...
    def get_best_iter(self, opt_id: int | None = None) -> dict[str, Any]: ...
    def get_history(self, opt_id: int, track: str) -> np.ndarray: ...
    def full_history(self, opt_id: int, track: str) -> np.ndarray: ...
    def get_metadata(self, opt_id: int, key: str) -> Any: ...
    # -- checkpoints
    def checkpoint_save(self, path: str | Path = "",
                        block: Sequence[str] | None = None) -> None: ...


class Backend(Protocol):
    """Evaluates the task: where function evaluations run (threads, processes, a cluster).

    Optimizers' control loops always stay in threads of the manager's process; a
    backend only runs ``task(x)`` (or ``task.detailed_call(x)`` when ``detailed``).
    Both evaluation methods block the calling (optimizer) thread until the results
    are in, and re-raise an exception raised by the task.
    """

    name: str
    #: The backend abandons an evaluation past its ``timeout`` itself (a process backend
    #: kills and replaces the worker) and the optimizer goes on; False (threads): the
    #: manager abandons the optimizer as crashed. Undeclared: taken as True.
    kills_hung_evaluations: bool

    def start(self, task: Task, max_workers: int, *, detailed: bool,
              timeout: float | None = None) -> None:
        """Prepare to evaluate ``task``, at most ``max_workers`` evaluations at once.

        ``timeout`` (seconds, or None) bounds one evaluation: past it, the backend
        abandons it (a process backend kills and replaces the worker) and raises
        :class:`~glompo_core.errors.EvaluationTimeout`.
        """

    def evaluate(self, x: np.ndarray) -> Any:
        """Evaluate one point: fx, or the detailed tuple when ``detailed``."""

    def evaluate_batch(self, xs: np.ndarray) -> list[Any]:
        """Evaluate the rows of ``xs`` concurrently; results in order."""

    def shutdown(self) -> None:
        """Release every resource; called once at the end of the run."""
