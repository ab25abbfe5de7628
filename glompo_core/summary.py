"""The YAML summary of a run: ``glompo_manager_log.yml`` (``summary_files >= 1``).

Sections as in the reference: Assignment, Settings, Counters, Run Information and
Solution. The file loads with ``yaml.safe_load``.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
import yaml

from glompo_core._version import __version__
from glompo_core.settings import setting_infos, summary_entries
from glompo_core.status import run_time

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["summary_dict", "write_summary"]


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


def _failures(manager: GloMPOManager) -> dict[str, Any] | int:
    """Failed evaluations: their number, and per kind (type and site) a count and example."""
    tally = manager.failures
    if not tally.total:
        return 0
    return {"Total": tally.total,
            "Kinds": [{"Error": k["error"], "Count": k["count"],
                       "First": f"evaluation {k['first_call_id']} (optimizer "
                                f"{k['first_opt_id']})",
                       "Traceback": _Literal(k["traceback"].rstrip())}
                      for k in tally.as_dict()["kinds"]]}


def _settings(manager: GloMPOManager) -> dict[str, Any]:
    """The Settings section: the plain settings from their table (glompo_core.settings),
    the components and bounds described, in the section's order (each entry's rank)."""
    selector = manager.opt_selector
    avail: dict[int, Any] = {}
    for i, (cls, init, call) in enumerate(getattr(selector, "avail_opts", [])):
        avail[i] = {"type": cls.__name__, "init_kwargs": _plain(init),
                    "call_kwargs": _plain(call)}
    spawn = {type(c).__name__: _plain({k: v for k, v in vars(c).items()
                                       if not k.startswith("_")})
             for c in getattr(selector, "allow_spawn", [])}
    entries: list[tuple[int, str, Any]] = [
        (0, "x0 Generator", {**_component(manager.x0_generator, "Generator"),
                             "n_params": manager.n_parms}),
        (1, "Exit Conditions", _Literal(str(manager.exit_conditions))),
        (2, "Stoppers", _Literal(str(manager.stoppers)) if manager.stoppers else None),
        (3, "Optimizer Selector", {"Selector": type(selector).__name__,
                                   "Allow Spawn": spawn or None,
                                   "Available Optimizers": avail}),
        (4, "Default Portfolio", manager.default_portfolio.as_summary()
         if manager.default_portfolio is not None else None),
        (16, "Bounds", _bounds_groups(manager.bounds)),
        (17, "Checksum", manager.checksum),
        (18, "GloMPO Version", __version__),
    ]
    entries += summary_entries({info.name: getattr(manager, info.attr)
                                for info in setting_infos() if info.summary is not None})
    return {label: value for _, label, value in sorted(entries, key=lambda e: e[0])}


def summary_dict(manager: GloMPOManager) -> dict[str, Any]:
    """The content of the summary file, as plain data."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    periods = [{"Start": str(datetime.fromtimestamp(s)),
                "End": str(datetime.fromtimestamp(e)) if e else None}
               for s, e in zip(manager.opt_session_starts,
                               [*manager.opt_session_ends,
                                *[None] * (len(manager.opt_session_starts)
                                           - len(manager.opt_session_ends))])]
    elapsed, session = run_time(manager.t_used, manager.t_start, manager.t_end)
    statuses = list(manager.optimizer_status().values())
    mem = [m / 1024**3 for m in manager.mem_history]
    cpu_mean, cpu_std = _stats(manager.cpu_history)
    loads = np.asarray(manager.load_history, dtype=float) if manager.load_history else None
    best = manager.result
    exit_text = manager.exit_conditions.str_with_result() if manager.exit_conditions else None
    return {
        "Assignment": {
            "Task": getattr(manager.task, "__name__", type(manager.task).__name__),
            "Working Dir": str(manager.working_dir),
            "Username": user,
            "Hostname": socket.gethostname(),
            "Time": {
                "Optimization Periods": periods,
                "Total": _duration(elapsed),
                "Session": _duration(session),
            },
        },
        "Settings": _settings(manager),
        "Counters": {
            "Function Evaluations": manager.f_counter,
            "Times Stoppers Evaluated": manager.hunt_counter,
            "Optimizers": {
                "Started": manager.o_counter,
                "Stopped": len(manager.stopped_opts),
                "Converged": manager.converged,
                "Crashed": statuses.count("crashed"),
            },
            "Failed Evaluations": _failures(manager),
            "Checkpoints": sorted(manager.checkpoint_history) or None,
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
            "fx": None if best.x is None else float(best.fx),
            "origin": _plain(best.origin) if best.origin else None,
            "exit cond.": _Literal(exit_text) if exit_text else None,
            "exit reason": _Literal(manager.exit_reason) if manager.exit_reason else None,
            "end state": manager.end_state,
            "x": None if best.x is None else [float(v) for v in best.x],
        },
    }


def write_summary(manager: GloMPOManager, directory: Path) -> Path:
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
