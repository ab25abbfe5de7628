"""Status reports of a running manager: resource usage snapshots and the status message."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["UsageSample", "record_usage", "run_time", "status_dict", "status_text"]

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


def status_dict(manager: GloMPOManager) -> dict[str, Any]:
    """The figures of a status message (also shown by the CLI's live display)."""
    statuses = list(manager.optimizer_status().values())
    return {
        "evaluations": manager.f_counter,
        "best_fx": manager.result.fx,
        "best_opt": manager.result.origin.get("opt_id") if manager.result.origin else None,
        "alive": statuses.count("running"),
        "started": manager.o_counter,
        "stopped": len(manager.stopped_opts),
        "converged": manager.converged,
        "crashed": statuses.count("crashed"),
        "failed": manager.failures.total,
        "elapsed": run_time(manager.t_used, manager.t_start, manager.t_end)[0],
    }


def status_text(manager: GloMPOManager) -> str:
    """One status message for the ``glompo.manager`` logger."""
    s = status_dict(manager)
    return (f"status: {s['evaluations']} evaluations, best fx={s['best_fx']:.6g} "
            f"(optimizer {s['best_opt']}), optimizers alive/started/stopped/converged/"
            f"crashed = {s['alive']}/{s['started']}/{s['stopped']}/{s['converged']}/"
            f"{s['crashed']}, failed evaluations {s['failed']}, elapsed {s['elapsed']:.1f} s")
