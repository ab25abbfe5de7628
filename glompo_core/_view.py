"""How the manager is seen: the read-only view of components and hooks, the slots' callbacks.

Threads and locks
-----------------
:class:`View`'s properties read the manager without its lock: each is one attribute
read (atomic), and mutable ones are copied (``bounds``, ``stopped_opts``);
``workers_busy`` copies the list of optimizers and sums their wrappers' counts of
evaluations under way (each a ``len``, atomic), so it may be one evaluation off while
they start and end. ``exit_conditions`` is the run's own object: a reader calls only
its ``progress``, never the condition itself. A component
called by the manager (exit conditions, selectors, generators) is called under the
lock, so what it reads is consistent; a hook reading the view from the manager's
thread may see counters a batch ahead of the event it handles. :class:`SlotCallbacks`
are called from the optimizers' threads and take the lock themselves
(:mod:`glompo_core._decisions`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from glompo_core import _decisions
from glompo_core.budget import run_budget

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager
    from glompo_core.optimizers.baseoptimizer import ManagerMessage


class SlotCallbacks:
    """The manager as its optimizers' slots see it (a :class:`~glompo_core._slot.SlotHost`).

    Each attribute is a decision of :mod:`glompo_core._decisions` bound to the manager.
    """

    __slots__ = ("admit", "note_iteration", "process_batch", "process_message")

    def __init__(self, manager: GloMPOManager) -> None:
        self.admit: Callable[[int], None] = functools.partial(_decisions.admit, manager)
        self.process_batch: Callable[..., None] = functools.partial(
            _decisions.process_batch, manager)
        self.process_message: Callable[[ManagerMessage], None] = functools.partial(
            _decisions.process_message, manager)
        self.note_iteration: Callable[[int], None] = functools.partial(
            _decisions.note_iteration, manager)


class View:
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
    exit_conditions = property(lambda self: self._m.exit_conditions)
    failed_evaluations = property(lambda self: self._m.failures.total)

    @property
    def workers_busy(self) -> int:
        """Evaluations under way now, over every optimizer (a stopped one may still be
        finishing one); an optimizer resumed as ended has no function wrapper."""
        records = list(self._m._opts.values())  # one copy under the GIL: no lock
        return sum(rec.wrapper.n_inflight for rec in records if rec.wrapper is not None)

    def __repr__(self) -> str:
        return f"ManagerView(f_counter={self._m.f_counter}, o_counter={self._m.o_counter})"


