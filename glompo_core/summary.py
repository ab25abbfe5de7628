"""The YAML summary of a run: ``glompo_manager_log.yml`` (``summary_files >= 1``).

Sections as in the reference: Assignment, Settings, Counters, Run Information and
Solution. The file loads with ``yaml.safe_load``.

Threads and locks
-----------------
:func:`snapshot` copies what the summary says out of the manager under its lock into a
frozen :class:`SummarySnapshot` (components are described as plain data then);
:func:`summary_dict` and :func:`write_summary` read only the snapshot, so they may run
in any thread, while the run goes on or after it.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
import yaml

from glompo_core._version import __version__
from glompo_core.settings import setting_infos, summary_entries
from glompo_core.status import _lock_of, run_time

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["SummarySnapshot", "snapshot", "summary_dict", "write_summary"]


class _Literal(str):
    """A string dumped in YAML's literal block style (``|-``)."""


class _Dumper(yaml.SafeDumper):
    pass


def _literal_representer(dumper: yaml.SafeDumper, data: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="|")


_Dumper.add_representer(_Literal, _literal_representer)


def _plain(value: Any) -> Any:
    """Convert numpy and other objects into YAML-safe plain types."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, (int, float)) else k: _plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type):
        return value.__name__
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _component(obj: Any, label: str) -> dict[str, Any]:
    out: dict[str, Any] = {label: type(obj).__name__}
    for key, value in vars(obj).items():
        if key.startswith("_") or key in ("logger", "avail_opts", "allow_spawn"):
            continue
        out[key] = _plain(value)
    return out


def _bounds_groups(bounds: np.ndarray) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (lo, hi) in enumerate(bounds.tolist()):
        groups[f"({lo:g}, {hi:g})"].append(i)
    return dict(groups)


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=max(seconds, 0.0)))


def _stats(values: list[float]) -> tuple[Any, Any]:
    if not values:
        return "--", "--"
    arr = np.asarray(values, dtype=float)
    return float(np.round(arr.mean(), 3)), float(np.round(arr.std(), 3))


def _failures(tally: Any) -> dict[str, Any] | int:
    """Failed evaluations: their number, and per kind (type and site) a count and example."""
    if not tally.total:
        return 0
    return {"Total": tally.total,
            "Kinds": [{"Error": k["error"], "Count": k["count"],
                       "First": f"evaluation {k['first_call_id']} (optimizer "
                                f"{k['first_opt_id']})",
                       "Traceback": _Literal(k["traceback"].rstrip())}
                      for k in tally.as_dict()["kinds"]]}


def _selector(selector: Any) -> dict[str, Any]:
    avail: dict[int, Any] = {}
    for i, (cls, init, call) in enumerate(getattr(selector, "avail_opts", [])):
        avail[i] = {"type": cls.__name__, "init_kwargs": _plain(init),
                    "call_kwargs": _plain(call)}
    spawn = {type(c).__name__: _plain({k: v for k, v in vars(c).items()
                                       if not k.startswith("_")})
             for c in getattr(selector, "allow_spawn", [])}
    return {"Selector": type(selector).__name__, "Allow Spawn": spawn or None,
            "Available Optimizers": avail}


@dataclass(frozen=True)
class SummarySnapshot:
    """What the summary says about a run, copied out of the manager at one moment.

    Built by :func:`snapshot` under the manager's lock; the components are described
    (plain data) when it is taken, so the summary never reads a live component.
    """

    settings: dict[str, Any]  #: values of the settings with a summary entry, by name
    described: tuple[tuple[int, str, Any], ...]  #: the other Settings entries
    task_name: str
    working_dir: str
    sessions: tuple[tuple[float, float | None], ...]  #: (start, end) of every session
    elapsed: float  #: the run's clock (status.run_time)
    session: float
    f_counter: int
    hunt_counter: int
    o_counter: int
    stopped: int
    converged: int
    statuses: tuple[str, ...]
    failures: dict[str, Any] | int
    checkpoints: tuple[str, ...]
    mem_history: tuple[float, ...]
    cpu_history: tuple[float, ...]
    load_history: tuple[tuple[float, float, float], ...]
    best_x: tuple[float, ...] | None
    best_fx: float
    origin: dict[str, Any]
    exit_text: str | None
    exit_reason: str | None
    end_state: str


def snapshot(manager: GloMPOManager) -> SummarySnapshot:
    """Take what the summary of ``manager`` needs, under its lock."""
    with _lock_of(manager):
        starts, ends = list(manager.opt_session_starts), list(manager.opt_session_ends)
        sessions = tuple(zip(starts, [*ends, *[None] * (len(starts) - len(ends))]))
        elapsed, session = run_time(manager.t_used, manager.t_start, manager.t_end)
        best = manager.result
        conditions = manager.exit_conditions
        portfolio = manager.default_portfolio
        described = (
            (0, "x0 Generator", {**_component(manager.x0_generator, "Generator"),
                                 "n_params": manager.n_parms}),
            (1, "Exit Conditions", _Literal(str(conditions))),
            (2, "Stoppers", _Literal(str(manager.stoppers)) if manager.stoppers else None),
            (3, "Optimizer Selector", _selector(manager.opt_selector)),
            (4, "Default Portfolio", portfolio.as_summary() if portfolio is not None else None),
            (16, "Bounds", _bounds_groups(manager.bounds)),
            (17, "Checksum", manager.checksum),
            (18, "GloMPO Version", __version__),
        )
        return SummarySnapshot(
            settings={info.name: getattr(manager, info.attr) for info in setting_infos()
                      if info.summary is not None},
            described=described,
            task_name=getattr(manager.task, "__name__", type(manager.task).__name__),
            working_dir=str(manager.working_dir), sessions=sessions, elapsed=elapsed,
            session=session, f_counter=manager.f_counter, hunt_counter=manager.hunt_counter,
            o_counter=manager.o_counter, stopped=len(manager.stopped_opts),
            converged=manager.converged,
            statuses=tuple(rec.status for rec in manager._opts.values()),
            failures=_failures(manager.failures),
            checkpoints=tuple(sorted(manager.checkpoint_history)),
            mem_history=tuple(manager.mem_history), cpu_history=tuple(manager.cpu_history),
            load_history=tuple(manager.load_history),
            best_x=None if best.x is None else tuple(float(v) for v in best.x),
            best_fx=best.fx, origin=dict(best.origin or {}),
            exit_text=conditions.str_with_result() if conditions else None,
            exit_reason=manager.exit_reason, end_state=manager.end_state)


def summary_dict(source: GloMPOManager | SummarySnapshot) -> dict[str, Any]:
    """The content of the summary file, as plain data.

    Parameters
    ----------
    source
        A snapshot, or a manager (a snapshot of it is taken).
    """
    snap = source if isinstance(source, SummarySnapshot) else snapshot(source)
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    periods = [{"Start": str(datetime.fromtimestamp(s)),
                "End": str(datetime.fromtimestamp(e)) if e else None}
               for s, e in snap.sessions]
    mem = [m / 1024**3 for m in snap.mem_history]
    cpu_mean, cpu_std = _stats(list(snap.cpu_history))
    loads = np.asarray(snap.load_history, dtype=float) if snap.load_history else None
    entries = [*snap.described, *summary_entries(snap.settings)]
    return {
        "Assignment": {
            "Task": snap.task_name,
            "Working Dir": snap.working_dir,
            "Username": user,
            "Hostname": socket.gethostname(),
            "Time": {
                "Optimization Periods": periods,
                "Total": _duration(snap.elapsed),
                "Session": _duration(snap.session),
            },
        },
        "Settings": {label: value for _, label, value in sorted(entries, key=lambda e: e[0])},
        "Counters": {
            "Function Evaluations": snap.f_counter,
            "Times Stoppers Evaluated": snap.hunt_counter,
            "Optimizers": {
                "Started": snap.o_counter,
                "Stopped": snap.stopped,
                "Converged": snap.converged,
                "Crashed": snap.statuses.count("crashed"),
            },
            "Failed Evaluations": snap.failures,
            "Checkpoints": list(snap.checkpoints) or None,
        },
        "Run Information": {
            "Memory": {
                "Used (GB)": {"Max": float(np.round(max(mem), 3)) if mem else "--",
                              "Ave": float(np.round(np.mean(mem), 3)) if mem else "--"},
                "Available": f"{psutil.virtual_memory().total / 1024**3:.2f}GB",
            },
            "CPU": {
                "Cores": {"Total": os.cpu_count(),
                          "IDs": sorted(os.sched_getaffinity(0))
                          if hasattr(os, "sched_getaffinity") else None},
                "Load": {
                    "Average": np.round(loads.mean(axis=0), 3).tolist()
                    if loads is not None else "--",
                    "Std. Dev.": np.round(loads.std(axis=0), 3).tolist()
                    if loads is not None else "--",
                },
                "CPU Usage(%)": {"Average": cpu_mean, "Std. Dev.": cpu_std},
            },
        },
        "Solution": {
            "fx": None if snap.best_x is None else float(snap.best_fx),
            "origin": _plain(snap.origin) if snap.origin else None,
            "exit cond.": _Literal(snap.exit_text) if snap.exit_text else None,
            "exit reason": _Literal(snap.exit_reason) if snap.exit_reason else None,
            "end state": snap.end_state,
            "x": None if snap.best_x is None else list(snap.best_x),
        },
    }


def write_summary(manager: GloMPOManager | SummarySnapshot, directory: Path) -> Path:
    """Write ``glompo_manager_log.yml`` into ``directory`` and return its path.

    The file is written to a temporary name and renamed, so an interrupted write never
    leaves a truncated summary.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "glompo_manager_log.yml"
    tmp = directory / ".glompo_manager_log.yml.tmp"
    with open(tmp, "w", encoding="utf-8") as file:
        yaml.dump(summary_dict(manager), file, Dumper=_Dumper, sort_keys=False,
                  default_flow_style=None, width=100, allow_unicode=True)
    os.replace(tmp, path)
    return path
