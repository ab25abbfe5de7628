"""The per-optimizer slot: what the manager keeps of one child optimizer, and how it runs.

A slot is an optimizer with its plumbing: the :class:`~glompo_core._evaluation.Scaler`
between its units and the task's, the
:class:`~glompo_core._evaluation.FunctionWrapper` it minimises, the
:class:`ResultsSink` that is its ``_results_queue``, its signal pipe and pause flag,
and the :class:`OptRecord` of its state. A slot talks to the manager through one
callback object, a :class:`SlotHost`; it never reaches into the manager otherwise.

Threads: every method of a :class:`SlotHost` is called in the optimizer's thread (or a
thread of its population pool) and takes the manager's lock itself; a slot holds the
wrapper's lock, never the manager's, when it calls one (the order of the locks is the
wrapper's first, then the manager's: see "Threads and locks" in
:mod:`glompo_core.manager`).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from glompo_core._evaluation import EvaluationError, FunctionWrapper, Scaler
from glompo_core.errors import EvaluationRefused, GloMPOError
from glompo_core.optimizers.baseoptimizer import ManagerMessage, ThreadPipe
from glompo_core.printstreams import route_thread_to

__all__ = ["OptRecord", "ResultsSink", "SlotHost", "build_slot", "run_minimize"]

_log = logging.getLogger("glompo.manager")


class SlotHost(Protocol):
    """What a slot needs of the manager: four callbacks, each taking the manager's lock."""

    def admit(self, opt_id: int) -> None:
        """Count one evaluation of ``opt_id`` before it starts, or raise ``EvaluationRefused``."""

    def process_batch(self, opt_id: int, x: np.ndarray, fx: np.ndarray,
                      extras: list[list[Any]] | None,
                      errors: Sequence[EvaluationError]) -> None:
        """Record a batch of evaluations of ``opt_id`` and take the decisions it triggers."""

    def process_message(self, msg: ManagerMessage) -> None:
        """Handle a message an optimizer sent (converged, paused, a log line)."""

    def note_iteration(self, opt_id: int) -> None:
        """``opt_id`` reached an iteration boundary having had an evaluation with a value."""


@dataclass
class OptRecord:
    """What the manager knows of one child optimizer."""

    opt_id: int
    optimizer: Any
    type: str
    workers: int
    pipe: ThreadPipe
    pause_flag: threading.Event
    wrapper: FunctionWrapper
    init_kwargs: dict[str, Any]
    call_kwargs: dict[str, Any]
    x0: np.ndarray
    scaling: str | None
    thread: threading.Thread | None = None
    t_start: float = field(default_factory=time.time)
    t_end: float | None = None
    status: str = "running"  # running, stopped, converged, crashed, ended (by the run's end)
    n_failed: int = 0  # failed evaluations
    stop_requested: bool = False
    converged_msg: str | None = None
    end_reason: str = ""
    abandoned: bool = False
    pause_ack: threading.Event = field(default_factory=threading.Event)
    pause_requested: bool = False
    iterated: bool = False  # reached an iteration boundary after an evaluation with a value
    cut: bool = False  # minimize() was cut by the run's end before a final checkpoint

    @property
    def alive(self) -> bool:
        """Running, and not abandoned."""
        return self.status == "running" and not self.abandoned

    @classmethod
    def ended(cls, info: dict[str, Any]) -> OptRecord:
        """The record of an optimizer that ended before a checkpoint (``info`` saved it)."""
        rec = cls(info["opt_id"], None, info["type"], info["workers"], ThreadPipe.pair()[0],
                  threading.Event(), None, info["init_kwargs"],  # type: ignore[arg-type]
                  info["call_kwargs"], info["x0"], None)
        rec.status, rec.t_start, rec.t_end = info["status"], info["t_start"], info["t_end"]
        rec.end_reason, rec.converged_msg = info["end_reason"], info["converged_msg"]
        return rec


class ResultsSink:
    """The ``_results_queue`` of an optimizer: messages are handled at once."""

    def __init__(self, host: SlotHost, opt_id: int, wrapper: FunctionWrapper) -> None:
        self._host = host
        self._opt_id = opt_id
        self._wrapper = wrapper

    def put(self, item: Any) -> None:
        """Hand a :class:`ManagerMessage` to the manager (after the buffered evaluations)."""
        if isinstance(item, ManagerMessage):
            self._wrapper.flush()
            self._host.process_message(item)

    def flush_evaluations(self, opt_id: int) -> None:
        """Called by ``check_messages`` at each iteration boundary."""
        self._wrapper.flush()
        if self._wrapper.n_values:
            self._host.note_iteration(self._opt_id)


def build_slot(host: SlotHost, opt_id: int, cls: type, init: dict[str, Any],
               call: dict[str, Any], x0: np.ndarray, *, bounds: np.ndarray, backend: Any,
               backend_name: str, workers: int, detailed: bool, retries: int, crash: bool,
               n_extras: int | None, seed: int | None = None,
               restart: Path | None = None) -> OptRecord:
    """Build optimizer ``opt_id`` (or reload it from ``restart``) with its plumbing.

    Parameters
    ----------
    host
        The manager's callbacks.
    opt_id, cls, init, call, x0
        The optimizer's number, class, constructor and ``minimize`` arguments (``init``
        without ``workers``) and starting point (task units).
    bounds, backend, backend_name, workers, detailed, retries, crash, n_extras
        The run's bounds, backend object and name, the optimizer's slots, and the
        settings of its :class:`~glompo_core._evaluation.FunctionWrapper`.
    seed
        The optimizer's seed, given to its constructor unless ``init`` has one.
    restart
        A file written by the optimizer's ``checkpoint_save``, to reload it from.

    Raises
    ------
    GloMPOError
        The optimizer cannot be built (or reloaded) with these arguments.
    """
    scaler = Scaler(bounds, getattr(cls, "scaling", None))
    manager_end, opt_end = ThreadPipe.pair()
    pause = threading.Event()
    pause.set()
    wrapper = FunctionWrapper(host, opt_id, scaler, backend, workers=workers,
                              detailed=detailed, retries=retries, crash=crash,
                              n_extras=n_extras)
    runtime = dict(_opt_id=opt_id, _signal_pipe=opt_end,
                   _results_queue=ResultsSink(host, opt_id, wrapper), _pause_flag=pause,
                   _is_log_detailed=detailed, _workers=workers, _backend=backend_name)
    kwargs = dict(init)
    if seed is not None and "seed" not in kwargs:
        kwargs["seed"] = seed
    try:
        if restart is not None:
            optimizer = cls.checkpoint_load(restart, **runtime)  # type: ignore[attr-defined]
        else:
            optimizer = cls(**runtime, **kwargs)
    except Exception as exc:
        raise GloMPOError(f"optimizer {cls.__name__} could not be "
                          f"{'reloaded' if restart else 'created'} with {init}: "
                          f"{exc}") from exc
    return OptRecord(opt_id, optimizer, cls.__name__, workers, manager_end, pause, wrapper,
                     dict(init, workers=workers), call, x0, scaler.scaling)


def run_minimize(rec: OptRecord, printstreams: Path | None) -> tuple[str, str]:
    """Run ``rec``'s ``minimize`` to its end in this thread; ``(status, message)``.

    ``status`` is ``'finished'`` (``minimize`` returned), ``'refused'`` (cut between
    two evaluations: the run or the optimizer ended), ``'stopped'`` (it raised after a
    stop request) or ``'crashed'`` (``message`` is the traceback). The buffered
    evaluations are handed over and the wrapper closed whatever happens. What the
    optimizer prints goes to its files in ``printstreams`` if given.
    """
    status, message = "finished", ""
    streams = route_thread_to(printstreams, rec.opt_id) if printstreams is not None else None
    try:
        if streams is not None:
            streams.__enter__()
        x0 = rec.wrapper.scaler.from_task(rec.x0)
        bounds = [tuple(b) for b in rec.wrapper.scaler.bounds.tolist()]
        rec.optimizer.minimize(rec.wrapper, x0, bounds, **rec.call_kwargs)
    except EvaluationRefused:  # cut between evaluations: the run or the optimizer ended
        status = "refused"
    except BaseException as exc:  # the optimizer's failure must never end the run
        if rec.stop_requested:
            status = "stopped"
            message = f"ended by {type(exc).__name__} after the stop request: {exc}"
        else:
            status = "crashed"
            message = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    finally:
        try:
            rec.wrapper.flush()
        except Exception:
            _log.exception("could not record the last evaluations of optimizer %d",
                           rec.opt_id)
        rec.wrapper.close()
        if streams is not None:
            streams.__exit__(None, None, None)
    return status, message
