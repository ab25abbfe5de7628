"""Status reports of a running manager: resource usage snapshots and the status message.

Threads and locks
-----------------
:func:`snapshot` copies the figures of a status message out of the manager under its
lock, into a frozen :class:`StatusSnapshot`; :func:`status_dict` and :func:`status_text`
read only the snapshot, so the CLI's live display (its own thread) and the manager's
status messages (the manager's thread) never read a manager half-way through a batch.
:func:`add_usage_sample` samples outside the lock (it reads ``/proc``) and appends under
it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["StatusSnapshot", "UsageSample", "add_usage_sample", "record_usage", "report",
           "run_time", "snapshot", "status_dict", "status_text"]

_process: psutil.Process | None = None


def run_time(t_used: float, t_start: float | None, t_end: float | None,
             now: float | None = None) -> tuple[float, float]:
    """The run's clock: ``(elapsed, session)`` seconds.

    ``session`` is this session's time, from ``t_start`` to ``t_end`` (to ``now`` while
    the session runs); ``elapsed`` adds ``t_used``, the time of the sessions before a
    checkpoint. The result's statistics, the status messages, the CLI's live table, the
    summary file and checkpoints all read this one figure.

    Parameters
    ----------
    t_used
        Seconds used by the sessions before this one (0 unless resumed).
    t_start, t_end
        Timestamps of this session's start and end (None: not started / not ended).
    now
        The time to measure a running session to (default: ``time.time()``).

    Examples
    --------
    >>> run_time(40.0, t_start=100.0, t_end=102.5)
    (42.5, 2.5)
    """
    if t_start is None:
        return t_used, 0.0
    end = t_end if t_end is not None else (time.time() if now is None else now)
    session = max(end - t_start, 0.0)
    return t_used + session, session


@dataclass(frozen=True)
class UsageSample:
    """One snapshot of resource usage (taken every ``status_interval`` seconds)."""

    cpu: float  #: CPU percentage of this process since the previous sample
    memory: float  #: bytes resident in this process and its children
    load: tuple[float, float, float]  #: the system's 1, 5 and 15 minute load averages


def record_usage() -> UsageSample | None:
    """Sample the CPU and memory of this process (and its children) and the system load.

    Returns None when the process cannot be read.
    """
    global _process
    if _process is None or _process.pid != os.getpid():
        _process = psutil.Process()
        _process.cpu_percent()  # the first reading is meaningless: prime it
    try:
        procs = [_process, *_process.children(recursive=True)]
        cpu = 0.0
        mem = 0.0
        for proc in procs:
            try:
                cpu += proc.cpu_percent() if proc is _process else 0.0
                mem += proc.memory_info().rss
            except psutil.Error:
                continue
    except psutil.Error:
        return None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return UsageSample(round(cpu, 2), mem, (load[0], load[1], load[2]))


def add_usage_sample(manager: GloMPOManager) -> None:
    """Append a resource usage sample to the manager's histories (manager's thread)."""
    sample = record_usage()
    if sample is None:
        return
    with _lock_of(manager):
        manager.cpu_history.append(sample.cpu)
        manager.mem_history.append(sample.memory)
        manager.load_history.append(sample.load)


@dataclass(frozen=True)
class StatusSnapshot:
    """The figures of a status message, copied out of the manager at one moment."""

    evaluations: int  #: evaluations admitted (``f_counter``)
    best_fx: float  #: the best value so far
    best_opt: int | None  #: the optimizer that found it
    alive: int  #: optimizers running
    started: int  #: optimizers started (``o_counter``)
    stopped: int  #: optimizers stopped by the manager
    converged: int  #: optimizers ended by their own criteria
    crashed: int  #: optimizers crashed
    failed: int  #: failed evaluations
    elapsed: float  #: the run's clock (:func:`run_time`)


def _lock_of(manager: GloMPOManager) -> contextlib.AbstractContextManager[Any]:
    lock = getattr(manager, "_lock", None)  # none before setup() / load_checkpoint()
    return lock if lock is not None else contextlib.nullcontext()


def snapshot(manager: GloMPOManager) -> StatusSnapshot:
    """Take the status figures of ``manager``, under its lock."""
    with _lock_of(manager):
        statuses = [rec.status for rec in manager._opts.values()]
        origin = manager.result.origin
        return StatusSnapshot(
            evaluations=manager.f_counter, best_fx=manager.result.fx,
            best_opt=origin.get("opt_id") if origin else None,
            alive=statuses.count("running"), started=manager.o_counter,
            stopped=len(manager.stopped_opts), converged=manager.converged,
            crashed=statuses.count("crashed"), failed=manager.failures.total,
            elapsed=run_time(manager.t_used, manager.t_start, manager.t_end)[0])


def status_dict(source: GloMPOManager | StatusSnapshot) -> dict[str, Any]:
    """The figures of a status message (also shown by the CLI's live display).

    Parameters
    ----------
    source
        A snapshot, or a manager (a snapshot of it is taken).
    """
    snap = source if isinstance(source, StatusSnapshot) else snapshot(source)
    return dataclasses.asdict(snap)


def status_text(source: GloMPOManager | StatusSnapshot) -> str:
    """One status message for the ``glompo.manager`` logger."""
    s = status_dict(source)
    return (f"status: {s['evaluations']} evaluations, best fx={s['best_fx']:.6g} "
            f"(optimizer {s['best_opt']}), optimizers alive/started/stopped/converged/"
            f"crashed = {s['alive']}/{s['started']}/{s['stopped']}/{s['converged']}/"
            f"{s['crashed']}, failed evaluations {s['failed']}, elapsed {s['elapsed']:.1f} s")


def report(manager: GloMPOManager) -> None:
    """Sample the resource usage and log a status message (manager's thread)."""
    add_usage_sample(manager)
    logging.getLogger("glompo.manager").info(status_text(snapshot(manager)))
