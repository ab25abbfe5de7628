"""A finished run's page: a :class:`~glompo_dashboard.state.RunState` built from its files.

The HDF5 log (``glompo_log.h5``, read with glompo-hdf5 if it is installed) gives every
optimizer's row and trajectory; the YAML summary (``glompo_manager_log.yml``) gives the
run's facts. Without a log the page is made from the summary alone and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from glompo_core.errors import GloMPOError
from glompo_dashboard.state import RunState

__all__ = ["LOG_FILE", "SUMMARY_FILE", "load_run_dir"]

LOG_FILE = "glompo_log.h5"
SUMMARY_FILE = "glompo_manager_log.yml"


def _status(end_cond: str | None) -> str:
    text = (end_cond or "").lower()
    if not text:
        return "ended"
    for word in ("crashed", "converged", "stopped"):
        if word in text:
            return word
    return "stopped" if "stop" in text else "ended"


def _summary(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GloMPOError(f"{path} cannot be read as a GloMPO summary: {exc}") from None
    if not isinstance(data, dict):
        raise GloMPOError(f"{path} is not a GloMPO summary (not a mapping)")
    return data


def _from_summary(state: RunState, summary: dict[str, Any]) -> None:
    counters = summary.get("Counters") or {}
    solution = summary.get("Solution") or {}
    opts = counters.get("Optimizers") or {}
    failed = counters.get("Failed Evaluations")
    state.f_counter = int(counters.get("Function Evaluations") or 0)
    if isinstance(failed, int):
        state.failed = failed
    elif isinstance(failed, dict):
        state.failed = int(failed.get("Total", failed.get("total", 0)) or 0)
    if solution.get("fx") is not None:
        origin = solution.get("origin") or {}
        state.set_best(int(origin.get("opt_id", 0)) if isinstance(origin, dict) else 0,
                       solution.get("x") or [], solution["fx"],
                       int(origin.get("call_id", 0)) if isinstance(origin, dict) else 0)
    timing = ((summary.get("Assignment") or {}).get("Time") or {})
    settings = summary.get("Settings") or {}
    state.update_run(status="finished", reason=str(solution.get("exit reason") or ""),
                     elapsed_text=timing.get("Total"), max_jobs=settings.get("Max Jobs"),
                     exit_conditions=[{"name": str(settings.get("Exit Conditions") or ""),
                                       "progress": None}],
                     optimizers_started=opts.get("Started"),
                     optimizers_stopped=opts.get("Stopped"),
                     optimizers_converged=opts.get("Converged"),
                     optimizers_crashed=opts.get("Crashed"),
                     checkpoints=counters.get("Checkpoints"))


def _from_log(state: RunState, log_path: Path) -> dict[str, Any]:
    from glompo_hdf5 import LogLockedError, read_log, summarize_log
    from glompo_hdf5._locks import holders

    held = holders(log_path)
    if held:
        who = ", ".join(f"PID {pid} ({name if len(name) <= 80 else name[:77] + '...'})"
                        for pid, name in held)
        raise GloMPOError(f"{log_path} is still open in a running process ({who}): the run is "
                          "not over; open its live dashboard (the URL in "
                          "dashboard_url.txt of the run directory) or wait for it to end")
    try:
        summary = summarize_log(log_path)
        log = read_log(log_path)
    except LogLockedError:
        raise
    except Exception as exc:
        raise GloMPOError(f"{log_path} cannot be read as a GloMPO log: {exc}") from None
    ends = {row["opt_id"]: row for row in summary["optimizers"]}
    for oid in sorted(log.optimizers):
        hist = log.optimizers[oid]
        meta = hist.metadata
        init = meta.get("init_kwargs")
        state.optimizer_started(oid, hist.type or "?", init if isinstance(init, dict) else {})
        order = np.argsort(hist.call_id)
        call_ids, fx = hist.call_id[order], hist.fx[order]
        x = hist.x[order] if len(hist.x) else np.empty((0, 0))
        # one point per evaluation, fed in slices so the series is down-sampled as live
        step = max(1, len(call_ids) // state.max_points)
        for i in range(0, len(call_ids), step):
            state.batch(oid, call_ids[i:i + step], x[i:i + step], fx[i:i + step])
        end = ends.get(oid, {})
        opt = state.optimizers[oid]
        opt.evaluations = int(end.get("evaluations", len(call_ids)))
        if hist.end_cond:
            state.optimizer_ended(oid, _status(hist.end_cond), hist.end_cond)
    state.f_counter = int(summary["evaluations"])
    state.failed = int(summary.get("failed", 0))
    best = log.best()
    if best is not None:
        state.set_best(best["opt_id"], [float(v) for v in best["x"]], best["fx"],
                       best["call_id"])
    return summary


def load_run_dir(run_dir: str | Path) -> RunState:
    """The read-only state of a finished run's directory.

    Parameters
    ----------
    run_dir
        A run's working directory (with ``glompo_log.h5`` and/or
        ``glompo_manager_log.yml``), or the log file itself.

    Raises
    ------
    GloMPOError
        No such directory, no GloMPO file in it, a log still open in a running process,
        or an unreadable file: one line saying which and what to do.
    """
    path = Path(run_dir)
    if path.is_file() and path.suffix == ".h5":
        path = path.parent
    if not path.is_dir():
        raise GloMPOError(f"no run directory {run_dir}: give the working directory of a run "
                          f"(the one holding {SUMMARY_FILE} or {LOG_FILE})")
    log_path, summary_path = path / LOG_FILE, path / SUMMARY_FILE
    if not log_path.exists() and not summary_path.exists():
        raise GloMPOError(f"{run_dir} holds no {LOG_FILE} nor {SUMMARY_FILE}: is it a run's "
                          "working directory (summary_files >= 1)?")
    state = RunState()
    state.mode = "read-only"
    summary = _summary(summary_path) if summary_path.exists() else None
    notes = []
    if log_path.exists():
        try:
            import glompo_hdf5  # noqa: F401
        except ImportError:
            log_path = path / "-"  # read as if absent
            notes.append(f"{LOG_FILE} is there but glompo-hdf5 is not installed: showing the "
                         "summary only (pip install glompo-hdf5 for the optimizers)")
    if summary is not None:
        _from_summary(state, summary)
    if log_path.exists():
        _from_log(state, log_path)
        notes.insert(0, f"read-only view of {path} (from {LOG_FILE}"
                        f"{' and ' + SUMMARY_FILE if summary is not None else ''})")
    else:
        if not notes:
            notes.append(f"no {LOG_FILE} (the run had summary_files < 3): the run's figures "
                         f"come from {SUMMARY_FILE} alone, without optimizers or trajectories")
        notes.insert(0, f"read-only view of {path}")
    state.note = "; ".join(notes)
    state.update_run(status="finished")
    return state
