"""What the page shows, kept in memory: optimizers, down-sampled trajectories, markers.

:class:`RunState` is fed by the lifecycle hooks (from the manager's thread) or built from a
finished run's files, and read by the web server (from its own thread) as JSON: a full
:meth:`RunState.snapshot`, or a :meth:`RunState.delta` of what changed since a version the
page already has. Every change gets the next version number; one lock guards it all.

Memory is bounded: each optimizer keeps at most ``max_points`` points of its trajectory
(one per ``stride`` iteration batches: the batch's lowest value and the best so far, and
always the latest batch). When full, every other point is dropped and the stride doubles,
so the series stays evenly spread over the whole run.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OptimizerState", "RunState"]

#: How many of the best points the parallel-coordinates view shows.
TOP_N = 30


def _num(value: Any) -> float | None:
    """A JSON-safe float: None for NaN and infinities."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


@dataclass
class OptimizerState:
    """One optimizer as the page shows it."""

    opt_id: int
    type: str
    settings: dict[str, Any]
    status: str = "running"
    evaluations: int = 0
    best_f: float | None = None
    reason: str = ""
    version: int = 0
    # the trajectory: (version, call_id, batch min, best so far)
    points: list[tuple[int, int, float | None, float | None]] = field(default_factory=list)
    batches: int = 0  # batches seen
    stride: int = 1  # a point is kept for one batch in ``stride``
    provisional: bool = False  # the last point is the latest batch, not a kept one

    def row(self) -> dict[str, Any]:
        """The optimizer's row of the table."""
        return {"id": self.opt_id, "type": self.type, "settings": self.settings,
                "status": self.status, "evaluations": self.evaluations,
                "best_f": self.best_f, "reason": self.reason}


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Settings as JSON: plain values kept, arrays and objects shortened to text."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict) and depth < 3:
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:30]}
    if isinstance(value, (list, tuple)) and depth < 3 and len(value) <= 10:
        return [_jsonable(v, depth + 1) for v in value]
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _workers(opt: OptimizerState) -> int:
    """The workers an optimizer holds (its ``workers`` setting, 1 by default)."""
    value = opt.settings.get("workers", 1) if isinstance(opt.settings, dict) else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 1


def _first_after(points: list[tuple[int, int, float | None, float | None]],
                 since: int) -> int:
    """Index of the first point of version > ``since`` (points are in version order)."""
    i = len(points)
    while i > 0 and points[i - 1][0] > since:
        i -= 1
    return i


class RunState:
    """The run as the dashboard sees it; thread-safe.

    Parameters
    ----------
    max_points
        Points kept per optimizer's trajectory (at least 16).
    clock
        Time source (``time.time``), replaceable in tests.
    """

    def __init__(self, max_points: int = 2000, clock: Callable[[], float] = time.time) -> None:
        if max_points < 16:
            raise ValueError(f"max_points={max_points}: keep at least 16 points per optimizer")
        self.max_points = int(max_points)
        self._clock = clock
        self._lock = threading.Lock()
        self._version = 0
        self.optimizers: dict[int, OptimizerState] = {}
        self.markers: list[dict[str, Any]] = []
        self._top: list[tuple[float, int, int, list[float]]] = []  # max-heap by -fx
        self.best: dict[str, Any] | None = None
        self.f_counter = 0
        self.failed = 0
        self.run: dict[str, Any] = {"status": "starting", "reason": ""}
        self.mode = "live"
        self.note = ""
        self._run_version = 0

    # -- writing (the manager's thread) --------------------------------------------------
    def _bump(self) -> int:
        self._version += 1
        return self._version

    def optimizer_started(self, opt_id: int, optimizer_type: str,
                          settings: dict[str, Any]) -> None:
        """A new optimizer row."""
        with self._lock:
            self.optimizers[opt_id] = OptimizerState(opt_id, optimizer_type,
                                                     _jsonable(settings), version=self._bump())

    def _get(self, opt_id: int) -> OptimizerState:
        opt = self.optimizers.get(opt_id)
        if opt is None:  # a batch of an optimizer started before the dashboard was
            opt = self.optimizers[opt_id] = OptimizerState(opt_id, "?", {})
        return opt

    def batch(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray) -> None:
        """An iteration batch: one trajectory point, the best points, the counters.

        Called by the manager's thread once per batch: plain Python on the batch's values
        (a batch is typically a handful of evaluations), numpy only for a new best point.
        """
        values = np.asarray(fx, dtype=float).ravel().tolist()
        if not values:
            return
        finite = [v for v in values if math.isfinite(v)]
        low = min(finite) if finite else None
        last_call = int(max(np.asarray(call_ids).ravel().tolist()))
        with self._lock:
            opt = self._get(opt_id)
            opt.evaluations += len(values)
            self.failed += len(values) - len(finite)
            if last_call > self.f_counter:
                self.f_counter = last_call
            if low is not None and (opt.best_f is None or low < opt.best_f):
                opt.best_f = low
            version = self._bump()
            opt.version = version
            if opt.provisional:
                opt.points.pop()
            opt.provisional = opt.batches % opt.stride != 0
            opt.batches += 1
            opt.points.append((version, last_call, low, opt.best_f))
            if len(opt.points) > self.max_points:
                kept = opt.points[:-1] if opt.provisional else opt.points
                opt.points = kept[::2] + (opt.points[-1:] if opt.provisional else [])
                opt.stride *= 2
            if low is not None and (len(self._top) < TOP_N or low < -self._top[0][0]):
                fx_arr = np.asarray(fx, dtype=float).ravel()
                self._push_top(opt_id, np.asarray(call_ids).ravel(), x, fx_arr,
                               np.isfinite(fx_arr))

    def _push_top(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                  finite: np.ndarray) -> None:
        worst = -self._top[0][0] if len(self._top) >= TOP_N else math.inf
        idx = np.flatnonzero(finite & (fx < worst))
        if idx.size > TOP_N:
            idx = idx[np.argsort(fx[idx])[:TOP_N]]
        points = np.asarray(x, dtype=float).reshape(len(fx), -1)
        for i in idx:
            item = (-float(fx[i]), int(call_ids[i]), opt_id, [float(v) for v in points[i]])
            if len(self._top) < TOP_N:
                heapq.heappush(self._top, item)
            elif item[0] > self._top[0][0]:
                heapq.heapreplace(self._top, item)

    def optimizer_ended(self, opt_id: int, status: str, reason: str) -> None:
        """An optimizer stopped, converged or crashed: its status and a marker."""
        with self._lock:
            opt = self._get(opt_id)
            opt.status, opt.reason = status, reason.strip().splitlines()[-1][:300] \
                if reason.strip() else ""
            opt.version = self._bump()
            last = opt.points[-1] if opt.points else None
            self.markers.append({"version": opt.version, "kind": status, "opt_id": opt_id,
                                 "call_id": last[1] if last else 0,
                                 "f": last[3] if last else None, "text": opt.reason})

    def set_best(self, opt_id: int, x: Sequence[float], fx: float, call_id: int) -> None:
        """The run's best point."""
        with self._lock:
            self.best = {"opt_id": opt_id, "x": [_num(v) for v in x], "fx": _num(fx),
                         "call_id": int(call_id)}
            self._run_version = self._bump()

    def checkpoint(self, path: str) -> None:
        """A checkpoint was written: a marker at the current evaluation."""
        with self._lock:
            self.markers.append({"version": self._bump(), "kind": "checkpoint", "opt_id": None,
                                 "call_id": self.f_counter, "f": None, "text": path})

    def update_run(self, **facts: Any) -> None:
        """Facts of the run panel (status, reason, evaluations/s, exit conditions, ...)."""
        with self._lock:
            self.run.update(facts)
            self._run_version = self._bump()

    # -- reading (the server's thread) ---------------------------------------------------
    @property
    def version(self) -> int:
        """The number of the latest change."""
        return self._version

    def snapshot(self) -> dict[str, Any]:
        """Everything: what a page loading now needs."""
        return self.delta(0)

    def delta(self, since: int) -> dict[str, Any]:
        """What changed after version ``since``: rows, new points, markers, the run panel."""
        with self._lock:
            rows = [o.row() for o in self.optimizers.values() if o.version > since]
            points = {}
            for o in self.optimizers.values():
                if o.version <= since:
                    continue
                new = o.points[_first_after(o.points, since):] if since else o.points
                if new:
                    points[str(o.opt_id)] = {"n": [p[1] for p in new],
                                             "f": [p[2] for p in new],
                                             "best": [p[3] for p in new]}
            top = sorted(self._top, reverse=True)
            return {
                "version": self._version, "full": since == 0, "mode": self.mode,
                "note": self.note, "optimizers": rows, "points": points,
                "markers": [m for m in self.markers if m["version"] > since],
                "run": {**self.run, "f_counter": self.f_counter, "failed": self.failed,
                        "best": self.best,
                        "optimizers": len(self.optimizers),
                        "running": sum(o.status == "running"
                                       for o in self.optimizers.values()),
                        "workers_held": sum(_workers(o) for o in self.optimizers.values()
                                            if o.status == "running")},
                "top": [{"fx": _num(-t[0]), "call_id": t[1], "opt_id": t[2],
                         "x": [_num(v) for v in t[3]]} for t in top],
            }
