"""The data model of the scope: every optimizer's trajectory and the event markers.

Nothing here draws: :class:`Trajectories` holds the points (in plotted units) and the
markers, trims them to the window, and saves and restores them for a checkpoint; the
figure (:mod:`glompo_scope._canvas`) shows what it holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["INSTANT", "TERMINAL", "Series", "Stream", "Trajectories"]

#: Markers at an optimizer's final point (they follow it if points arrive later).
TERMINAL = ("stopped", "converged", "crashed")
#: Markers at the point an optimizer had reached when the event happened.
INSTANT = ("paused", "checkpoint")


class Series:
    """Growable ``(x, y)`` columns from which the oldest points can be dropped.

    ``x`` are call ids (int64), ``y`` the plotted values (float64, NaN where not finite).
    The min and max of ``y`` are kept up to date on append and recomputed after a trim.
    """

    __slots__ = ("_bounds", "_hi", "_lo", "_sorted", "_x", "_y")

    def __init__(self) -> None:
        self._x = np.empty(16, dtype=np.int64)
        self._y = np.empty(16, dtype=float)
        self._lo = 0
        self._hi = 0
        self._sorted = True
        self._bounds: tuple[float, float] | None = (math.nan, math.nan)

    def __len__(self) -> int:
        return self._hi - self._lo

    @property
    def x(self) -> np.ndarray:
        """The call ids held (a view)."""
        return self._x[self._lo:self._hi]

    @property
    def y(self) -> np.ndarray:
        """The plotted values held (a view)."""
        return self._y[self._lo:self._hi]

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        """Add the points ``(x[i], y[i])`` (in any order)."""
        k = len(x)
        if k == 0:
            return
        n = len(self)
        if self._hi + k > len(self._x):
            if n + k <= len(self._x) // 2:  # room enough: move the live points to the front
                self._x[:n] = self._x[self._lo:self._hi].copy()
                self._y[:n] = self._y[self._lo:self._hi].copy()
            else:
                cap = max(16, 2 * (n + k))
                new_x = np.empty(cap, dtype=np.int64)
                new_y = np.empty(cap, dtype=float)
                new_x[:n] = self.x
                new_y[:n] = self.y
                self._x, self._y = new_x, new_y
            self._lo, self._hi = 0, n
        if self._sorted and ((k > 1 and bool(np.any(np.diff(x) < 0)))
                             or (n > 0 and x[0] < self._x[self._hi - 1])):
            self._sorted = False
        self._x[self._hi:self._hi + k] = x
        self._y[self._hi:self._hi + k] = y
        self._hi += k
        if self._bounds is not None:
            lo, hi = self._bounds
            self._bounds = (float(np.fmin(lo, np.fmin.reduce(y))),
                            float(np.fmax(hi, np.fmax.reduce(y))))

    def trim(self, cutoff: int) -> int:
        """Drop the points with ``x <= cutoff``; return how many were dropped."""
        n = len(self)
        if n == 0:
            return 0
        if self._sorted:
            if self._x[self._lo] > cutoff:
                return 0
            drop = int(np.searchsorted(self.x, cutoff, side="right"))
            self._lo += drop
        else:
            keep = self.x > cutoff
            drop = n - int(keep.sum())
            if drop == 0:
                return 0
            kept_x, kept_y = self.x[keep], self.y[keep]
            self._lo, self._hi = 0, len(kept_x)
            self._x[:self._hi] = kept_x
            self._y[:self._hi] = kept_y
            self._sorted = bool(np.all(np.diff(kept_x) >= 0))
        if drop:
            self._bounds = None
        return drop

    def bounds(self) -> tuple[float, float]:
        """``(min, max)`` of the finite values held (NaN if there are none)."""
        if self._bounds is None:
            y = self.y
            self._bounds = ((float(np.fmin.reduce(y)), float(np.fmax.reduce(y))) if len(y)
                            else (math.nan, math.nan))
        return self._bounds


class Stream:
    """Everything the scope knows about one optimizer."""

    __slots__ = ("best", "color", "data", "dirty", "end_kind", "last", "opt_id", "opt_type")

    def __init__(self, opt_id: int, opt_type: str | None, color: int) -> None:
        self.opt_id = opt_id
        self.opt_type = opt_type
        self.color = color  # index into the scope's colour map
        self.data = Series()
        self.best = math.inf  # best raw function value so far (for elitism)
        self.last: tuple[int, float] | None = None  # farthest point, even if trimmed
        self.end_kind: str | None = None  # 'stopped', 'converged' or 'crashed'
        self.dirty = False  # the figure's line lags behind ``data``


class Trajectories:
    """The optimizers' streams and the instant markers of one scope.

    The settings (``elitism``, ``log_scale``, ``truncated``) are passed to the methods
    that use them, so that the scope's attributes stay the one place they are held.

    Attributes
    ----------
    streams : dict[int, Stream]
        By optimizer id, in order of arrival.
    instant : dict[str, Series]
        The pause and checkpoint markers (:data:`INSTANT`).
    x_max : int
        The farthest call id ever added.
    n_streams : int
        Number of optimizers added (the next one's colour index).
    """

    def __init__(self) -> None:
        self.streams: dict[int, Stream] = {}
        self.instant = {kind: Series() for kind in INSTANT}
        self.x_max = 0
        self.n_streams = 0
        self._holding: set[int] = set()  # streams holding points (the ones to trim)

    def __contains__(self, opt_id: object) -> bool:
        return opt_id in self.streams

    def __iter__(self) -> Iterator[Stream]:
        return iter(self.streams.values())

    @property
    def points_in_memory(self) -> int:
        """Number of evaluations held."""
        return sum(len(s.data) for s in self.streams.values())

    def add(self, opt_id: int, opt_type: str | None, n_colors: int) -> Stream:
        """A new stream, with the next colour of a map of ``n_colors``."""
        stream = self.insert(opt_id, opt_type, self.n_streams % n_colors)
        self.n_streams += 1
        return stream

    def insert(self, opt_id: int, opt_type: str | None, color: int) -> Stream:
        """A new stream of the given colour (``n_streams`` is left as it is)."""
        stream = Stream(opt_id, opt_type, color)
        self.streams[opt_id] = stream
        return stream

    def extend(self, opt_id: int, x: np.ndarray, fx: np.ndarray, *, elitism: bool,
               log_scale: bool, truncated: int | None) -> None:
        """Add the evaluations ``fx`` at call ids ``x`` to the (existing) ``opt_id`` stream.

        With ``elitism`` the running best is stored; with ``log_scale``
        ``sign(y) log10(1 + |y|)``; values that are not finite are stored as NaN (gaps).
        """
        stream = self.streams[opt_id]
        if elitism:
            y = np.fmin.accumulate(np.concatenate(([stream.best], fx)))[1:]
            stream.best = float(y[-1])
        else:
            y = fx.copy()
            stream.best = float(np.fmin(stream.best, np.fmin.reduce(fx)))
        if log_scale:
            y = np.sign(y) * np.log10(1.0 + np.abs(y))
        y[~np.isfinite(y)] = np.nan
        stream.data.append(x, y)
        self._holding.add(stream.opt_id)
        shown = np.flatnonzero(np.isfinite(y))  # failed evaluations (NaN) are gaps
        if shown.size:  # markers go on the farthest point that has a value
            far = int(shown[np.argmax(x[shown])])
            if stream.last is None or x[far] >= stream.last[0]:
                stream.last = (int(x[far]), float(y[far]))
        self.x_max = max(self.x_max, int(np.max(x)))
        if truncated is not None:
            self.trim(truncated)
        stream.dirty = True

    def trim(self, truncated: int) -> None:
        """Drop every point older than the window (the last ``truncated`` call ids)."""
        cutoff = self.x_max - truncated
        for opt_id in list(self._holding):
            stream = self.streams[opt_id]
            if stream.data.trim(cutoff):
                stream.dirty = True
                if not len(stream.data):
                    self._holding.discard(opt_id)
        for series in self.instant.values():
            series.trim(cutoff)

    def end(self, opt_id: int, kind: str) -> bool:
        """Record the first end (a :data:`TERMINAL` kind) of ``opt_id``; False if unknown."""
        stream = self.streams.get(opt_id)
        if stream is None:
            return False
        if stream.end_kind is None:
            stream.end_kind = kind
        return True

    def mark(self, opt_id: int, kind: str) -> None:
        """Put an :data:`INSTANT` marker at the farthest point of ``opt_id`` (if any)."""
        pt = self.farthest(opt_id)
        if pt is not None:
            self.instant[kind].append(np.array([pt[0]]), np.array([pt[1]]))

    def farthest(self, opt_id: int) -> tuple[int, float] | None:
        """The farthest point ``(call id, plotted value)`` of ``opt_id``, kept when trimmed."""
        stream = self.streams.get(opt_id)
        return None if stream is None else stream.last

    def terminal_points(self, kind: str, truncated: int | None) -> list[tuple[int, float]]:
        """The final points of the streams that ended as ``kind``, inside the window."""
        cutoff = None if truncated is None else self.x_max - truncated
        return [s.last for s in self.streams.values() if s.end_kind == kind and
                s.last is not None and (cutoff is None or s.last[0] > cutoff)]

    def running_points(self) -> list[tuple[int, float]]:
        """The farthest points of the streams that have not ended."""
        return [s.last for s in self.streams.values()
                if s.end_kind is None and s.last is not None]

    def y_bounds(self) -> tuple[float, float]:
        """``(min, max)`` of every value held (NaN if there is none)."""
        lo = hi = math.nan
        for stream in self.streams.values():
            if len(stream.data):
                a, b = stream.data.bounds()
                lo, hi = float(np.fmin(lo, a)), float(np.fmax(hi, b))
        return lo, hi

    # ------------------------------------------------------------------ saving, loading
    def snapshot(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        """The streams' descriptions (JSON-able) and arrays, for a checkpoint.

        The ``checkpoint`` markers include one at the point every running stream has
        reached (the checkpoint being written).
        """
        arrays: dict[str, np.ndarray] = {}
        infos = []
        for stream in self.streams.values():
            arrays[f"x{stream.opt_id}"] = stream.data.x.copy()
            arrays[f"y{stream.opt_id}"] = stream.data.y.copy()
            infos.append({"opt_id": stream.opt_id, "opt_type": stream.opt_type,
                          "color": stream.color, "best": stream.best,
                          "last": None if stream.last is None else list(stream.last),
                          "end_kind": stream.end_kind})
        for kind, series in self.instant.items():
            x, y = series.x.copy(), series.y.copy()
            if kind == "checkpoint":  # this checkpoint's own markers
                live = self.running_points()
                x = np.concatenate([x, np.array([p[0] for p in live], dtype=np.int64)])
                y = np.concatenate([y, np.array([p[1] for p in live], dtype=float)])
            arrays[f"{kind}_x"], arrays[f"{kind}_y"] = x, y
        return infos, arrays

    def restore(self, infos: list[dict[str, Any]], arrays: Any) -> list[Stream]:
        """Add the streams and markers of a :meth:`snapshot`; return the new streams."""
        restored = []
        for info in infos:
            opt_id = int(info["opt_id"])
            stream = self.insert(opt_id, info["opt_type"], int(info["color"]))
            stream.data.append(arrays[f"x{opt_id}"], arrays[f"y{opt_id}"])
            if len(stream.data):
                self._holding.add(opt_id)
            stream.best = float(info["best"])
            stream.last = None if info["last"] is None else (int(info["last"][0]),
                                                             float(info["last"][1]))
            stream.end_kind = info["end_kind"]
            stream.dirty = True
            restored.append(stream)
        for kind, series in self.instant.items():
            series.append(arrays[f"{kind}_x"], arrays[f"{kind}_y"])
        return restored
