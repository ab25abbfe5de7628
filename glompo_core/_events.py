"""The manager's events: lifecycle hooks to fire, and wake-ups of the manager's thread.

Optimizer threads (through :mod:`glompo_core._decisions`) put events on the manager's
:class:`EventQueue`; only the manager's thread takes them off, in :meth:`EventQueue.drain`,
and fires the hooks there, so a plugin's hook never runs in an optimizer's thread and
never while the manager's lock is held.

Two kinds of event, told apart by type:

- :class:`HookEvent`: a lifecycle hook (``glompo_iteration_batch``,
  ``glompo_optimizer_stopped``, ...) and its keyword arguments, fired in the order put;
- :class:`Wake`: nothing to fire, a decision of the manager's thread is due now (an
  optimizer ended: a slot is free; a checkpoint is due).

A busy run puts one ``glompo_iteration_batch`` per batch of evaluations, up to thousands
per second; :meth:`EventQueue.drain` fires every hook queued when it is called (within
its time budget), so the manager's loop turns once per group of events, not per event.
(Waiting a few milliseconds more to gather hooks was measured with
``benchmarks/dashboard_overhead.py`` and changed nothing beyond the noise: it is not done.)

Threads: :meth:`EventQueue.hook` and :meth:`EventQueue.wake` are safe from any thread
(a :class:`queue.SimpleQueue`, also safe from a signal handler); :meth:`EventQueue.drain`
is called by one thread only.
"""

from __future__ import annotations

import enum
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HookEvent:
    """A lifecycle hook to fire: its name (a ``glompo_*`` hookspec) and keyword arguments
    (the manager's view is added when it is fired)."""

    hook: str
    kwargs: dict[str, Any]


class Wake(enum.Enum):
    """Why the manager's thread is woken up (nothing is fired)."""

    #: an optimizer ended: its slot is free, the exit conditions may be met
    OPTIMIZER_ENDED = "an optimizer ended"
    #: the evaluation count of the next checkpoint is reached (optimizers are pausing)
    CHECKPOINT_DUE = "a checkpoint is due"
    #: the run is ending and its optimizers are kept for a final checkpoint
    FINAL_CHECKPOINT = "a final checkpoint is due"


Event = HookEvent | Wake


class EventQueue:
    """The queue of the manager's events (see the module's docstring)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def hook(self, hook: str, **kwargs: Any) -> None:
        """Queue the lifecycle hook ``hook`` with these arguments (any thread)."""
        self._queue.put(HookEvent(hook, kwargs))

    def wake(self, why: Wake) -> None:
        """Wake the manager's thread for a decision (any thread)."""
        self._queue.put(why)

    def empty(self) -> bool:
        """True when no event waits (a snapshot: other threads may put one at once)."""
        return self._queue.empty()

    def drain(self, fire: Callable[[HookEvent], None], timeout: float,
              budget: float | None = 0.1) -> int:
        """Fire the queued hooks (the manager's thread only).

        Parameters
        ----------
        fire
            Called with each :class:`HookEvent`, in the order they were put.
        timeout
            Seconds to wait for the first event (0: take only what is queued).
        budget
            Return after this many seconds of firing, even if events remain, so that slow
            observers never starve the manager's other duties; None: until the queue is
            empty.

        Returns
        -------
        int
            The number of events taken off the queue.
        """
        try:
            event = self._queue.get(timeout=timeout) if timeout > 0 else \
                self._queue.get_nowait()
        except queue.Empty:
            return 0
        deadline = None if budget is None else time.monotonic() + budget
        taken = 0
        while True:
            taken += 1
            if isinstance(event, HookEvent):
                fire(event)  # a Wake fires nothing: taking it off woke the caller
            if deadline is not None and time.monotonic() > deadline:
                return taken
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return taken
