"""Status reports of a running manager: resource usage snapshots and the status message."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["record_usage", "status_dict", "status_text"]

_process: psutil.Process | None = None


def record_usage(manager: GloMPOManager) -> None:
    """Append a CPU, memory and system-load snapshot to the manager's histories."""
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
        manager.cpu_history.append(round(cpu, 2))
        manager.mem_history.append(mem)
        load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
        manager.load_history.append((load[0], load[1], load[2]))
    except psutil.Error:
        pass


def status_dict(manager: GloMPOManager) -> dict[str, Any]:
    """The figures of a status message (also shown by the CLI's live display)."""
    statuses = list(manager.optimizer_status().values())
    session = time.time() - manager.t_start if manager.t_start else 0.0
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
        "elapsed": manager.t_used + session,
    }


def status_text(manager: GloMPOManager) -> str:
    """One status message for the ``glompo.manager`` logger."""
    s = status_dict(manager)
    return (f"status: {s['evaluations']} evaluations, best fx={s['best_fx']:.6g} "
            f"(optimizer {s['best_opt']}), optimizers alive/started/stopped/converged/"
            f"crashed = {s['alive']}/{s['started']}/{s['stopped']}/{s['converged']}/"
            f"{s['crashed']}, failed evaluations {s['failed']}, elapsed {s['elapsed']:.1f} s")
