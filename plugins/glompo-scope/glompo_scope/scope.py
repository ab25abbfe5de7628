"""GloMPOScope: the live plot of a GloMPO run, and its movie.

The scope draws every child optimizer's function values against the universal
evaluation number (the call id) and marks where optimizers were stopped by the
manager, converged, crashed, paused and checkpointed. The manager builds it through
the ``glompo_create_visualisation`` hook (``setup(visualisation=True,
visualisation_args={...})``) and registers it as a run-scoped plugin: its ``@hookimpl``
methods receive the run's lifecycle hooks, all from the manager's thread.

Movies
------
Frames are piped to ffmpeg (:class:`matplotlib.animation.FFMpegWriter`) as the run goes,
so a long run never holds its frames in memory. An mp4 cannot be appended to once
closed, so the movie is recorded in *segments*: a checkpoint closes the current segment
and stores every segment so far in the checkpoint (with the streams' data); a run
resumed from that checkpoint continues with new segments, and the final movie is the
concatenation of all of them (``ffmpeg -f concat -c copy``, no re-encoding). The movie
of a resumed run therefore shows the whole run, from its first evaluation.

The ffmpeg binary is the system's (``shutil.which('ffmpeg')``) if there is one, else
the one shipped by imageio-ffmpeg; ``rcParams['animation.ffmpeg_path']`` set by the
user to an existing program takes precedence over both.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import numbers
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from glompo_core import hookimpl

if TYPE_CHECKING:
    from matplotlib.animation import FFMpegWriter
    from matplotlib.axes import Axes

    from glompo_core.protocols import ManagerView

__all__ = ["MOVIE_NAME", "GloMPOScope", "ScopeError"]

#: File name of the movie in the run's working directory.
MOVIE_NAME = "glompo_optimizer_scope.mp4"

_STATE_FILE = "scope.json"
_ARRAYS_FILE = "streams.npz"
_MOVIE_DIR = "movie"
_STATE_VERSION = 1
_FIGSIZE = (10.0, 6.0)
_LEGEND_OPTIMIZERS = 15  # optimizers named in the legend (the most recent ones)
_MOVIE_ARGS = ("outfile", "dpi")

#: The event markers: kind -> Line2D style (and legend label).
_MARKER_STYLE: dict[str, dict[str, Any]] = {
    "stopped": {"marker": "x", "color": "black", "markersize": 9,
                "label": "Stopped by the manager"},
    "converged": {"marker": "*", "color": "black", "markersize": 12, "label": "Converged"},
    "crashed": {"marker": "X", "color": "red", "markeredgecolor": "black", "markersize": 9,
                "label": "Crashed"},
    "paused": {"marker": "|", "color": "dimgrey", "markersize": 14, "label": "Paused"},
    "checkpoint": {"marker": "D", "color": "black", "markerfacecolor": "none",
                   "markersize": 7, "label": "Checkpoint"},
}
#: Markers at an optimizer's final point (they follow it if points arrive later).
_TERMINAL = ("stopped", "converged", "crashed")
#: Markers at the point an optimizer had reached when the event happened.
_INSTANT = ("paused", "checkpoint")

_log = logging.getLogger("glompo.scope")


class ScopeError(RuntimeError):
    """The scope cannot do what it was asked (no ffmpeg, a failed movie, a bad state)."""


# ------------------------------------------------------------------------------- helpers
class _Series:
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


class _Stream:
    """Everything the scope knows about one optimizer."""

    __slots__ = ("best", "color", "data", "dirty", "end_kind", "last", "line", "opt_id",
                 "opt_type")

    def __init__(self, opt_id: int, opt_type: str | None, color: int, line: Line2D) -> None:
        self.opt_id = opt_id
        self.opt_type = opt_type
        self.color = color
        self.line = line
        self.data = _Series()
        self.best = math.inf  # best raw function value so far (for elitism)
        self.last: tuple[int, float] | None = None  # farthest point, even if trimmed
        self.end_kind: str | None = None  # 'stopped', 'converged' or 'crashed'
        self.dirty = False


def _glompo_colors() -> ListedColormap:
    """The GloMPO colour sequence: the 20 colours of ``tab20``, strong shades first."""
    base = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
    return ListedColormap([*base[0::2], *base[1::2]], name="glompo")


def _writer_arguments() -> list[str]:
    from matplotlib.animation import FFMpegWriter

    return [p for p in inspect.signature(FFMpegWriter.__init__).parameters if p != "self"]


def _find_ffmpeg() -> str | None:
    """The ffmpeg program to use: the user's rcParams, the system's, imageio-ffmpeg's."""
    configured = str(matplotlib.rcParams["animation.ffmpeg_path"])
    if configured != "ffmpeg" and shutil.which(configured):
        return configured
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # not installed, or no binary for this platform
        _log.debug("imageio-ffmpeg provides no ffmpeg: %s", exc)
        return None


def _free_name(path: Path) -> Path:
    """``path`` if it does not exist, else the first free ``<stem>_<i><suffix>``."""
    if not path.exists():
        return path
    i = 1
    while True:
        candidate = path.with_name(f"{path.stem}_{i}{path.suffix}")
        if not candidate.exists():
            return candidate
        i += 1


def _kill(proc: Any) -> str:
    """Stop an ffmpeg process left running (the scope was dropped or failed).

    Returns what ffmpeg wrote on stderr, if it can still be read.
    """
    try:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=5)
        return (err or b"").decode(errors="replace").strip()
    except Exception:
        return ""


def _non_interactive_backends() -> set[str]:
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        names = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        from matplotlib import rcsetup

        names = rcsetup.non_interactive_bk  # type: ignore[attr-defined]
    return {str(n).lower() for n in names}


def _window_problem() -> str | None:
    """Why no live window can be shown here (None if one can)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "there is no display (DISPLAY is not set)"
    if threading.current_thread() is not threading.main_thread():
        return "the run is not in the main thread, which GUI toolkits need"
    try:
        import matplotlib.pyplot as plt

        backend = str(plt.get_backend())
    except Exception as exc:
        return f"matplotlib has no usable GUI backend ({type(exc).__name__}: {exc})"
    if backend.lower() in _non_interactive_backends():
        return f"matplotlib's backend {backend!r} cannot show windows"
    return None


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_range(value: Any, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be None or a (min, max) pair of numbers, "
                         f"got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be a finite (min, max) pair with min < max, got {value!r}")
    return lo, hi


# ---------------------------------------------------------------------------------- scope
class GloMPOScope:
    """Constructs and records the dynamic plot of the optimizers of a run.

    One line per optimizer: its function values (or, with ``elitism``, its best value
    so far) against the universal evaluation number. Markers show where the manager
    stopped an optimizer, where one converged or crashed, and the pauses and checkpoints.
    The manager creates the scope (``setup(visualisation=True, visualisation_args=...)``)
    and feeds it through lifecycle hooks; users need not call its methods.

    Parameters
    ----------
    x_range
        None: the x-axis grows from zero with the number of evaluations. ``(min, max)``:
        the x-axis is fixed to this range. An integer ``n``: only the last ``n``
        evaluations of the run are shown *and kept*: older points are discarded, so the
        scope holds at most ``n`` points at any time, whatever the length of the run.
    y_range
        Fixed ``(min, max)`` of the y-axis; by default it follows the data. With
        ``log_scale`` it is given in the plotted (logarithmic) units.
    log_scale
        Plot ``sign(f) * log10(1 + |f|)`` instead of ``f``: logarithmic for large
        values, defined for zero and negative ones.
    record_movie
        Record the plot into an MPEG-4 movie, written to the run's working directory
        as ``glompo_optimizer_scope.mp4`` when the run ends (never over an existing
        file: ``..._1.mp4`` and so on, logged).
    interactive_mode
        Show the plot in a window during the run, where a display exists. Without one
        (headless, ``DISPLAY`` unset) this is logged once and the scope draws off-screen
        (still recording the movie if asked).
    events_per_flush
        Number of events (iteration batches, optimizer starts and ends, pauses,
        checkpoints) between redraws; each redraw is one movie frame. Without a window
        or a movie nothing is drawn during the run: the figure is brought up to date
        at its end.
    elitism
        Plot each optimizer's best value so far instead of every value.
    writer_kwargs
        Arguments of :class:`matplotlib.animation.FFMpegWriter` (``fps``, ``codec``,
        ``bitrate``, ``extra_args``, ``metadata``).
    movie_kwargs
        Arguments of ``FFMpegWriter.setup``: ``outfile`` (a relative path is relative to
        the run's working directory) and ``dpi``.

    Raises
    ------
    ValueError
        An argument has a wrong value.
    TypeError
        ``writer_kwargs`` or ``movie_kwargs`` hold an unknown argument.
    ScopeError
        ``record_movie`` is True and no ffmpeg program can be found.

    Attributes
    ----------
    ax : matplotlib.axes.Axes
        Axes onto which the data are plotted.
    fig : matplotlib.figure.Figure
        Figure holding ``ax``.
    color_map : matplotlib.colors.ListedColormap
        The GloMPO colour sequence (optimizer ``i`` has colour ``i mod 20``).
    elitism, events_per_flush, log_scale, record_movie
        As the parameters.
    interactive_mode : bool
        True if the plot is really shown in a window (False headless, even if asked).
    gen_streams : dict[str, matplotlib.lines.Line2D]
        The marker plots: ``'stopped'``, ``'converged'``, ``'crashed'``, ``'paused'``,
        ``'checkpoint'``.
    opt_streams : dict[int, matplotlib.lines.Line2D]
        The trajectory of each optimizer, by optimizer id.
    leg_elements : list[matplotlib.lines.Line2D]
        The legend's entries: the marker kinds, then one per optimizer.
    logger : logging.Logger
        ``glompo.scope``.
    n_streams : int
        Number of optimizers in the plot.
    truncated : int or None
        ``x_range`` if it is an integer: the number of evaluations kept.
    x_max : int
        The farthest call id ever plotted.
    is_setup : bool
        True once :meth:`setup_moviemaker` has run: frames are being recorded.
    n_frames : int
        Movie frames recorded so far (including those of earlier sessions of the run).
    movie_path : pathlib.Path or None
        The movie written by :meth:`generate_movie`.

    Notes
    -----
    The plot is updated by the lifecycle hooks, from the manager's thread. If one of
    them raises, the error is logged by GloMPO with the plugin's name and the scope
    receives no further events (``glompo_run_finished`` included): before re-raising,
    the scope therefore closes its ffmpeg writer, writes the movie recorded so far and
    closes its figure itself.

    Examples
    --------
    >>> from glompo_scope import GloMPOScope
    >>> scope = GloMPOScope(x_range=100, events_per_flush=1)
    >>> scope.add_stream(1, "RandomOptimizer")
    >>> scope.update_optimizer(1, ([1, 2, 3], [5.0, 3.0, 4.0]))
    >>> scope.get_farthest_pt(1)
    (3, 4.0)
    >>> scope.close_fig()
    """

    def __init__(self, x_range: tuple[float, float] | int | None = 300,
                 y_range: tuple[float, float] | None = None, log_scale: bool = False,
                 record_movie: bool = False, interactive_mode: bool = False,
                 events_per_flush: int = 10, elitism: bool = False,
                 writer_kwargs: dict[str, Any] | None = None,
                 movie_kwargs: dict[str, Any] | None = None) -> None:
        self.logger = _log
        self._configure(x_range=x_range, y_range=y_range, log_scale=log_scale,
                        elitism=elitism, writer_kwargs=writer_kwargs,
                        movie_kwargs=movie_kwargs)
        self.events_per_flush = _positive_int(events_per_flush, "events_per_flush")
        self.record_movie = bool(record_movie)
        self._ffmpeg: str | None = None
        if self.record_movie:
            self._ffmpeg = self._require_ffmpeg()
        self.x_max = 0
        self.n_streams = 0
        self.n_frames = 0
        self.is_setup = False
        self.movie_path: Path | None = None
        self.opt_streams: dict[int, Line2D] = {}
        self._streams: dict[int, _Stream] = {}
        self._holding: set[int] = set()  # streams holding points (the ones to trim)
        self._instant = {kind: _Series() for kind in _INSTANT}
        self._pending = 0  # events since the last redraw
        self._stale = False  # the artists lag behind the data (nobody was looking)
        self._legend_dirty = True
        self._closed = False
        self._failed = False
        self._working_dir: Path | None = None
        self._movie_target: Path | None = None
        self._segment_dir: tempfile.TemporaryDirectory[str] | None = None
        self._segments: list[Path] = []
        self._writer: FFMpegWriter | None = None
        self._writer_guard: weakref.finalize[Any, Any] | None = None
        self.color_map = _glompo_colors()

        self.interactive_mode = False
        problem = _window_problem() if interactive_mode else None
        if interactive_mode and problem is not None:
            self.logger.warning("interactive_mode: the scope cannot show a window because %s; "
                                "it draws off-screen%s", problem,
                                " and keeps recording the movie" if self.record_movie else "")
        self._pyplot = bool(interactive_mode) and problem is None
        if self._pyplot:
            import matplotlib.pyplot as plt

            self.fig = plt.figure(figsize=_FIGSIZE)
            self.interactive_mode = True
        else:
            self.fig = Figure(figsize=_FIGSIZE)
            FigureCanvasAgg(self.fig)
        self.ax: Axes = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.08, right=0.74, top=0.93, bottom=0.09)
        self._style_axes()
        self.gen_streams: dict[str, Line2D] = {}
        self.leg_elements: list[Line2D] = []
        for kind, style in _MARKER_STYLE.items():
            self.gen_streams[kind] = self.ax.plot([], [], ls="", zorder=4, **style)[0]
            self.leg_elements.append(Line2D([], [], ls="", **style))
        self._update_legend()
        if self._pyplot:
            self.fig.show()

    # ------------------------------------------------------------------------ settings
    def _configure(self, *, x_range: Any, y_range: Any, log_scale: bool, elitism: bool,
                   writer_kwargs: dict[str, Any] | None,
                   movie_kwargs: dict[str, Any] | None) -> None:
        """Validate and set the settings that define the picture and the movie's format."""
        self.truncated: int | None = None
        if x_range is None:
            self.x_range: tuple[float, float] | int | None = None
        elif not isinstance(x_range, bool) and isinstance(x_range, numbers.Integral):
            if x_range < 1:
                raise ValueError(f"x_range as an integer is the number of evaluations shown "
                                 f"and must be positive, got {x_range!r}")
            self.x_range = self.truncated = int(x_range)
        else:
            self.x_range = _check_range(x_range, "x_range")
        self.y_range = None if y_range is None else _check_range(y_range, "y_range")
        self.log_scale = bool(log_scale)
        self.elitism = bool(elitism)
        writer_kwargs = dict(writer_kwargs or {})
        known = _writer_arguments()
        unknown = sorted(set(writer_kwargs) - set(known))
        if unknown:
            raise TypeError(f"writer_kwargs: FFMpegWriter takes no argument {unknown[0]!r}; "
                            f"it takes {', '.join(known)}")
        movie_kwargs = dict(movie_kwargs or {})
        unknown = sorted(set(movie_kwargs) - set(_MOVIE_ARGS))
        if unknown:
            raise TypeError(f"movie_kwargs: FFMpegWriter.setup takes no argument "
                            f"{unknown[0]!r}; it takes {', '.join(_MOVIE_ARGS)}")
        self.writer_kwargs = writer_kwargs
        self.movie_kwargs = movie_kwargs

    def _settings(self) -> dict[str, Any]:
        x_range = list(self.x_range) if isinstance(self.x_range, tuple) else self.x_range
        return {"x_range": x_range, "y_range": None if self.y_range is None
                else list(self.y_range), "log_scale": self.log_scale,
                "elitism": self.elitism, "writer_kwargs": self.writer_kwargs,
                "movie_kwargs": self.movie_kwargs}

    def _style_axes(self) -> None:
        ax = self.ax
        ax.set_title("GloMPO scope" + (f" (last {self.truncated} evaluations)"
                                       if self.truncated else ""))
        ax.set_xlabel("Function evaluations (call id)")
        label = "Best function value so far" if self.elitism else "Function value"
        ax.set_ylabel(f"{label}: sign(f) log10(1 + |f|)" if self.log_scale else label)
        ax.grid(True, alpha=0.3)
        if isinstance(self.x_range, tuple):
            ax.set_xlim(*self.x_range)
        else:
            ax.set_xlim(0, self.truncated or 10)
        if self.y_range is not None:
            ax.set_ylim(*self.y_range)

    # ------------------------------------------------------------------------ streams
    @property
    def points_in_memory(self) -> int:
        """Number of evaluations the scope holds (at most ``truncated`` if set)."""
        return sum(len(s.data) for s in self._streams.values())

    def add_stream(self, opt_id: int, opt_type: str | None = None) -> None:
        """Register and set up a new optimizer in the scope.

        Parameters
        ----------
        opt_id
            Unique, GloMPO assigned, optimizer identification key.
        opt_type
            Name of the optimizer type or configuration; used in the legend only.
        """
        if opt_id in self._streams:
            self.logger.debug("optimizer %d is already in the scope", opt_id)
            return
        self._new_stream(int(opt_id), opt_type, self.n_streams % self.color_map.N)
        self.n_streams += 1
        self._event()

    def _new_stream(self, opt_id: int, opt_type: str | None, color: int) -> _Stream:
        line = self.ax.plot([], [], ls="-", lw=1.2, marker=".", ms=3, zorder=2,
                            color=self.color_map(color))[0]
        stream = _Stream(opt_id, opt_type, color, line)
        self._streams[opt_id] = stream
        self.opt_streams[opt_id] = line
        label = f"{opt_id}: {opt_type}" if opt_type else f"{opt_id}"
        self.leg_elements.append(Line2D([], [], ls="-", color=self.color_map(color),
                                        label=label))
        self._legend_dirty = True
        return stream

    def update_optimizer(self, opt_id: int, pt: tuple[Any, Any]) -> None:
        """Add evaluations to the ``opt_id`` optimizer's plot.

        Parameters
        ----------
        opt_id
            The optimizer (added with :meth:`add_stream` if it is new).
        pt
            ``(call_ids, fx)``: one evaluation (two numbers) or arrays of equal length.

        Raises
        ------
        ValueError
            ``call_ids`` and ``fx`` do not have the same length.
        """
        x = np.atleast_1d(np.asarray(pt[0])).astype(np.int64, copy=False).ravel()
        fx = np.atleast_1d(np.asarray(pt[1], dtype=float)).ravel()
        if len(x) != len(fx):
            raise ValueError(f"update_optimizer: {len(x)} call ids but {len(fx)} function "
                             "values")
        if len(x) == 0:
            return
        stream = self._streams.get(opt_id)
        if stream is None:
            self.add_stream(opt_id)
            stream = self._streams[opt_id]
        if self.elitism:
            y = np.fmin.accumulate(np.concatenate(([stream.best], fx)))[1:]
            stream.best = float(y[-1])
        else:
            y = fx.copy()
            stream.best = float(np.fmin(stream.best, np.fmin.reduce(fx)))
        if self.log_scale:
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
        if self.truncated is not None:
            self._trim()
        stream.dirty = True
        self._event()

    def _trim(self) -> None:
        """Drop every point older than the window (``truncated`` call ids)."""
        assert self.truncated is not None
        cutoff = self.x_max - self.truncated
        for opt_id in list(self._holding):
            stream = self._streams[opt_id]
            if stream.data.trim(cutoff):
                stream.dirty = True
                if not len(stream.data):
                    self._holding.discard(opt_id)
        for series in self._instant.values():
            series.trim(cutoff)

    def _end(self, opt_id: int, kind: str) -> None:
        stream = self._streams.get(opt_id)
        if stream is None:
            self.logger.debug("%s: optimizer %d is not in the scope", kind, opt_id)
        elif stream.end_kind is None:
            stream.end_kind = kind
        self._event()

    def _mark(self, opt_id: int, kind: str) -> None:
        pt = self.get_farthest_pt(opt_id)
        if pt is not None:
            self._instant[kind].append(np.array([pt[0]]), np.array([pt[1]]))
        self._event()

    def update_kill(self, opt_id: int) -> None:
        """Show that the manager stopped the ``opt_id`` optimizer, at its final point."""
        self._end(opt_id, "stopped")

    def update_norm_terminate(self, opt_id: int) -> None:
        """Show that the ``opt_id`` optimizer converged, at its final point."""
        self._end(opt_id, "converged")

    def update_crash_terminate(self, opt_id: int) -> None:
        """Show that the ``opt_id`` optimizer crashed, at its final point."""
        self._end(opt_id, "crashed")

    def update_pause(self, opt_id: int) -> None:
        """Show a pause of the ``opt_id`` optimizer at the point it has reached."""
        self._mark(opt_id, "paused")

    def update_checkpoint(self, opt_id: int) -> None:
        """Show a checkpoint at the point the ``opt_id`` optimizer has reached."""
        self._mark(opt_id, "checkpoint")

    def get_farthest_pt(self, opt_id: int) -> tuple[int, float] | None:
        """Return the farthest evaluated point ``(call_id, plotted value)`` of ``opt_id``.

        Returns
        -------
        tuple or None
            None if the optimizer is unknown or has no evaluation yet. The point is
            remembered even once the window (``truncated``) has discarded it.
        """
        stream = self._streams.get(opt_id)
        return None if stream is None else stream.last

    # ------------------------------------------------------------------------ drawing
    def _event(self) -> None:
        self._pending += 1
        if self._pending >= self.events_per_flush:
            self._flush()

    def _flush(self, *, force: bool = False) -> None:
        """Redraw: update the artists, refresh a shown window, record a movie frame.

        Without a window or a movie nobody sees the figure during the run: the artists
        are then only marked out of date (and updated at the end of the run, or when
        ``force``), which makes such a scope nearly free.
        """
        self._pending = 0
        if self._closed:
            return
        if not (force or self.interactive_mode or self.is_setup):
            self._stale = True
            return
        self._sync_artists()
        if self.interactive_mode:
            self.fig.canvas.draw_idle()
            self.fig.canvas.flush_events()
        if self.is_setup:
            self._grab()

    def _sync_artists(self) -> None:
        """Give the artists the current data, limits and legend."""
        self._stale = False
        for stream in self._streams.values():
            if stream.dirty:
                stream.line.set_data(stream.data.x, stream.data.y)
                stream.dirty = False
        cutoff = None if self.truncated is None else self.x_max - self.truncated
        for kind in _TERMINAL:
            pts = [s.last for s in self._streams.values() if s.end_kind == kind and
                   s.last is not None and (cutoff is None or s.last[0] > cutoff)]
            self.gen_streams[kind].set_data([p[0] for p in pts], [p[1] for p in pts])
        for kind, series in self._instant.items():
            self.gen_streams[kind].set_data(series.x, series.y)
        self._rescale()
        if self._legend_dirty:
            self._update_legend()

    def _rescale(self) -> None:
        if self.x_range is None:
            self.ax.set_xlim(0, max(10.0, self.x_max + max(1.0, 0.02 * self.x_max)))
        elif self.truncated is not None:  # a little room right of the newest point
            self.ax.set_xlim(max(0, self.x_max - self.truncated),
                             max(self.x_max, self.truncated) + max(1.0, 0.01 * self.truncated))
        if self.y_range is not None:
            return
        lo = hi = math.nan
        for stream in self._streams.values():
            if len(stream.data):
                a, b = stream.data.bounds()
                lo, hi = float(np.fmin(lo, a)), float(np.fmax(hi, b))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return
        span = hi - lo
        pad = 0.05 * span if span > 0 else max(0.05 * abs(hi), 1e-12)
        self.ax.set_ylim(lo - pad, hi + pad)

    def _update_legend(self) -> None:
        n_marks = len(_MARKER_STYLE)
        opts = self.leg_elements[n_marks:]
        shown = self.leg_elements[:n_marks] + opts[-_LEGEND_OPTIMIZERS:]
        title = None
        if len(opts) > _LEGEND_OPTIMIZERS:
            title = f"last {_LEGEND_OPTIMIZERS} of {len(opts)} optimizers"
        self.ax.legend(handles=shown, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize="small", title=title, title_fontsize="small",
                       borderaxespad=0.0)
        self._legend_dirty = False

    def close_fig(self) -> None:
        """Close the figure at the end of the run.

        pyplot keeps the figures it shows alive as long as the process lives; a loop of
        runs would accumulate them. The scope's figure is off-screen (not pyplot's)
        unless it is shown, and is then closed here. Closing is final: later updates
        change the data only.
        """
        if self._closed:
            return
        if self._stale:
            self._sync_artists()
        self._closed = True
        if self._pyplot:
            import matplotlib.pyplot as plt

            plt.close(self.fig)

    # -------------------------------------------------------------------------- movie
    def _require_ffmpeg(self) -> str:
        exe = _find_ffmpeg()
        if exe is None:
            raise ScopeError("record_movie=True needs ffmpeg: install imageio-ffmpeg "
                             "(pip install imageio-ffmpeg) or put an ffmpeg program on PATH")
        return exe

    def setup_moviemaker(self, path: Path | str | None = None) -> None:
        """Prepare the recording; frames are recorded from the next redraw on.

        Parameters
        ----------
        path
            Directory of the movie. The file name is that of ``movie_kwargs['outfile']``
            if given, else ``glompo_optimizer_scope.mp4``. Without ``path``,
            ``movie_kwargs['outfile']`` is used (relative to the run's working
            directory), else the working directory (or the current directory outside a
            run).

        Raises
        ------
        ScopeError
            No ffmpeg program can be found.
        """
        if self._ffmpeg is None:
            self._ffmpeg = self._require_ffmpeg()
        outfile = self.movie_kwargs.get("outfile")
        base = self._working_dir or Path.cwd()
        if path is not None:
            target = Path(path) / (Path(outfile).name if outfile else MOVIE_NAME)
        elif outfile:
            target = Path(outfile)
        else:
            target = base / MOVIE_NAME
        self._movie_target = target if target.is_absolute() else base / target
        self._segments_dir()
        self.is_setup = True
        self.logger.info("recording the scope's movie (ffmpeg: %s) for %s", self._ffmpeg,
                         self._movie_target)

    def _segments_dir(self) -> Path:
        """The temporary directory of the movie's segments (created on first use)."""
        if self._segment_dir is None:
            self._segment_dir = tempfile.TemporaryDirectory(prefix="glompo-scope-")
        return Path(self._segment_dir.name)

    def _segment_path(self) -> Path:
        """A fresh file name for the next segment (in the movie's format)."""
        directory = self._segments_dir()
        suffix = self._movie_target.suffix if self._movie_target is not None else ".mp4"
        i = len(self._segments)
        while (directory / f"segment_{i:04d}{suffix}").exists():
            i += 1
        return directory / f"segment_{i:04d}{suffix}"

    def _grab(self) -> None:
        from matplotlib.animation import FFMpegWriter

        if self._writer is None:
            segment = self._segment_path()
            writer = FFMpegWriter(**self.writer_kwargs)
            dpi = self.movie_kwargs.get("dpi", self.fig.dpi)
            try:
                with matplotlib.rc_context({"animation.ffmpeg_path": self._ffmpeg}):
                    writer.setup(self.fig, str(segment), dpi=dpi)
            except OSError as exc:
                raise ScopeError(f"ffmpeg ({self._ffmpeg}) could not be started: "
                                 f"{exc}") from None
            self._writer = writer
            self._segments.append(segment)
            self._writer_guard = weakref.finalize(self, _kill, getattr(writer, "_proc", None))
        try:
            self._writer.grab_frame()
        except OSError as exc:  # ffmpeg died: BrokenPipeError and friends
            detail = self._abandon_writer()
            raise ScopeError(f"ffmpeg ({self._ffmpeg}) stopped taking frames "
                             f"({type(exc).__name__}){detail}") from None
        self.n_frames += 1

    def _abandon_writer(self) -> str:
        """Kill the current ffmpeg process, drop its segment; return ffmpeg's last words."""
        writer, self._writer = self._writer, None
        if self._writer_guard is not None:
            self._writer_guard.detach()
            self._writer_guard = None
        if writer is None:
            return ""
        proc = getattr(writer, "_proc", None)
        err = _kill(proc) if proc is not None else ""
        if self._segments:
            self._segments.pop().unlink(missing_ok=True)
        return f": {err[-500:]}" if err else ""

    def _finish_segment(self) -> None:
        """Close the current ffmpeg process, completing its segment file."""
        writer = self._writer
        if writer is None:
            return
        try:
            writer.finish()
        except Exception as exc:
            self._writer = writer
            detail = self._abandon_writer()
            stderr = getattr(exc, "stderr", None)
            if isinstance(stderr, str) and stderr.strip():
                detail = f": {stderr.strip()[-500:]}"
            raise ScopeError(f"ffmpeg ({self._ffmpeg}) failed to complete the movie"
                             f"{detail or f': {exc}'}") from None
        self._writer = None
        if self._writer_guard is not None:
            self._writer_guard.detach()
            self._writer_guard = None

    def generate_movie(self) -> Path | None:
        """Write the frames recorded so far into a single movie.

        The segments of every session of the run (see the module's notes) are joined
        without re-encoding. An existing file is never overwritten: the movie then goes
        to ``<name>_1.mp4`` (or ``_2``, ...) and this is logged.

        Returns
        -------
        pathlib.Path or None
            The movie, or None if no frame was recorded.

        Raises
        ------
        ScopeError
            :meth:`setup_moviemaker` was not called, or ffmpeg failed.
        """
        if self._movie_target is None:
            raise ScopeError("generate_movie: call setup_moviemaker() first (or create the "
                             "scope with record_movie=True)")
        self._finish_segment()
        segments = [s for s in self._segments if s.exists() and s.stat().st_size > 0]
        if not segments:
            self.logger.warning("no frame of the scope was recorded: no movie is written")
            return None
        wanted = self._movie_target
        target = _free_name(wanted)
        if target != wanted:
            self.logger.warning("%s already exists (the movie of another run?): this run's "
                                "movie is written to %s instead", wanted, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(segments) == 1:
            shutil.copyfile(segments[0], target)
        else:
            self._concatenate(segments, target)
        self.movie_path = target
        self.logger.info("movie of the scope written: %s (%d frames)", target, self.n_frames)
        return target

    def _concatenate(self, segments: Sequence[Path], target: Path) -> None:
        assert self._ffmpeg is not None and self._segment_dir is not None
        listing = Path(self._segment_dir.name) / "segments.txt"
        listing.write_text("".join("file '{}'\n".format(str(s).replace("'", r"'\''"))
                                   for s in segments))
        command = [self._ffmpeg, "-hide_banner", "-loglevel", "error", "-n", "-f", "concat",
                   "-safe", "0", "-i", str(listing), "-c", "copy", str(target)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            target.unlink(missing_ok=True)
            raise ScopeError(f"ffmpeg could not join the {len(segments)} movie segments into "
                             f"{target}: {proc.stderr.strip()[-500:]}")

    def _discard_segments(self) -> None:
        self._abandon_writer()
        self._segments = []
        if self._segment_dir is not None:
            with contextlib.suppress(Exception):
                self._segment_dir.cleanup()
            self._segment_dir = None

    # --------------------------------------------------------------------- checkpoints
    def checkpoint_save(self, path: Path | str = "") -> None:
        """Save the scope's state into the directory ``path``, to resume the run later.

        The state holds the settings, every stream's data and markers, and the movie
        segments recorded so far (the current one is completed first, so the checkpoint
        holds every frame up to now). A run resumed from the checkpoint continues the
        same picture and, at its end, writes a movie of the whole run.

        Parameters
        ----------
        path
            Directory into which the files are written (created if needed).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.is_setup and not self._failed:
            try:
                if self._pending:
                    self._flush()
                self._finish_segment()
            except Exception as exc:  # the data state is saved regardless
                self.logger.warning("the movie segment could not be completed for the "
                                    "checkpoint (%s); the checkpoint holds the frames before "
                                    "it", exc)
        arrays: dict[str, np.ndarray] = {}
        streams = []
        for stream in self._streams.values():
            arrays[f"x{stream.opt_id}"] = stream.data.x.copy()
            arrays[f"y{stream.opt_id}"] = stream.data.y.copy()
            streams.append({"opt_id": stream.opt_id, "opt_type": stream.opt_type,
                            "color": stream.color, "best": stream.best,
                            "last": None if stream.last is None else list(stream.last),
                            "end_kind": stream.end_kind})
        for kind, series in self._instant.items():
            x, y = series.x.copy(), series.y.copy()
            if kind == "checkpoint":  # this checkpoint's own markers
                live = [s.last for s in self._streams.values()
                        if s.end_kind is None and s.last is not None]
                x = np.concatenate([x, np.array([p[0] for p in live], dtype=np.int64)])
                y = np.concatenate([y, np.array([p[1] for p in live], dtype=float)])
            arrays[f"{kind}_x"], arrays[f"{kind}_y"] = x, y
        np.savez(path / _ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
        segments = [s for s in self._segments if s.exists()]
        if segments:
            (path / _MOVIE_DIR).mkdir(exist_ok=True)
            for segment in segments:
                shutil.copyfile(segment, path / _MOVIE_DIR / segment.name)
        state = {"version": _STATE_VERSION, "settings": self._settings(),
                 "x_max": self.x_max, "n_streams": self.n_streams, "n_frames": self.n_frames,
                 "streams": streams, "segments": [s.name for s in segments]}
        (path / _STATE_FILE).write_text(json.dumps(state, indent=1))

    def checkpoint_load(self, path: Path | str) -> None:
        """Load a state saved by :meth:`checkpoint_save` into this (fresh) scope.

        The streams, the markers, the recorded movie segments and the settings that
        define the picture (``x_range``, ``y_range``, ``log_scale``, ``elitism``,
        ``writer_kwargs``, ``movie_kwargs``) are those of the saved scope;
        ``record_movie``, ``interactive_mode`` and ``events_per_flush`` are this
        scope's.

        Parameters
        ----------
        path
            Directory holding the files :meth:`checkpoint_save` wrote.

        Raises
        ------
        ScopeError
            No saved scope in ``path``, a state of another format, or this scope has
            already been used.
        """
        path = Path(path)
        try:
            state = json.loads((path / _STATE_FILE).read_text())
        except FileNotFoundError:
            raise ScopeError(f"{path} holds no saved scope ({_STATE_FILE} is missing)") from None
        except (OSError, ValueError) as exc:
            raise ScopeError(f"the saved scope in {path} cannot be read: {exc}") from None
        if state.get("version") != _STATE_VERSION:
            raise ScopeError(f"the saved scope in {path} has format {state.get('version')!r}; "
                             f"this glompo-scope reads format {_STATE_VERSION}")
        if self._streams or self.n_frames:
            raise ScopeError("checkpoint_load needs a fresh scope: this one already has data")
        saved = state["settings"]
        mine = self._settings()
        changed = sorted(k for k in saved if saved[k] != mine.get(k))
        if changed:
            self.logger.info("resuming the scope with the checkpoint's %s: %s",
                             ", ".join(changed), {k: saved[k] for k in changed})
        x_range = saved["x_range"]
        self._configure(x_range=tuple(x_range) if isinstance(x_range, list) else x_range,
                        y_range=saved["y_range"], log_scale=saved["log_scale"],
                        elitism=saved["elitism"], writer_kwargs=saved["writer_kwargs"],
                        movie_kwargs=saved["movie_kwargs"])
        self._style_axes()
        with np.load(path / _ARRAYS_FILE) as arrays:
            for info in state["streams"]:
                opt_id = int(info["opt_id"])
                stream = self._new_stream(opt_id, info["opt_type"], int(info["color"]))
                stream.data.append(arrays[f"x{opt_id}"], arrays[f"y{opt_id}"])
                if len(stream.data):
                    self._holding.add(opt_id)
                stream.best = float(info["best"])
                stream.last = None if info["last"] is None else (int(info["last"][0]),
                                                                 float(info["last"][1]))
                stream.end_kind = info["end_kind"]
                stream.dirty = True
            for kind, series in self._instant.items():
                series.append(arrays[f"{kind}_x"], arrays[f"{kind}_y"])
        self.n_streams = int(state["n_streams"])
        self.x_max = int(state["x_max"])
        self.n_frames = int(state["n_frames"])
        for name in state["segments"]:
            source = path / _MOVIE_DIR / name
            if not source.exists():
                self.logger.warning("movie segment %s is missing from the checkpoint: the "
                                    "movie will lack its frames", name)
                continue
            segment = self._segments_dir() / name
            shutil.copyfile(source, segment)
            self._segments.append(segment)
        self._sync_artists()

    def load_state(self, path: Path | str) -> None:
        """Load a saved scope state (the reference's name of :meth:`checkpoint_load`)."""
        self.checkpoint_load(path)

    # -------------------------------------------------------------------------- hooks
    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Run a hook; if it fails, clean up before GloMPO logs the error and mutes us."""
        try:
            yield
        except Exception:
            self._fail()
            raise

    def _fail(self) -> None:
        """Last acts of a failed scope: GloMPO will not call it again, not even at the end."""
        if self._failed:
            return
        self._failed = True
        movie = None
        try:
            if self._movie_target is not None and (self.n_frames or self._writer is not None):
                movie = self.generate_movie()
        except Exception as exc:
            self.logger.debug("no movie could be made after the failure: %s", exc)
        finally:
            self._discard_segments()
            self.close_fig()
        if movie is not None:
            self.logger.warning("the scope stops here; the movie of the run up to this point "
                                "is %s", movie)

    @hookimpl
    def glompo_run_started(self, manager: ManagerView) -> None:
        """Learn the working directory; start recording if ``record_movie``."""
        with self._guard():
            working_dir = getattr(manager, "working_dir", None)
            self._working_dir = None if working_dir is None else Path(working_dir)
            if self.record_movie and not self.is_setup:
                outfile = self.movie_kwargs.get("outfile")
                self.setup_moviemaker(None if outfile else self._working_dir)

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int, optimizer_type: str) -> None:
        """A new line for the new optimizer."""
        with self._guard():
            self.add_stream(opt_id, optimizer_type)

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: np.ndarray,
                               fx: np.ndarray) -> None:
        """Plot the batch's function values (or running best) at their call ids."""
        with self._guard():
            self.update_optimizer(opt_id, (call_ids, fx))

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int) -> None:
        """Mark the optimizer stopped by the manager."""
        with self._guard():
            self.update_kill(opt_id)

    @hookimpl
    def glompo_optimizer_converged(self, opt_id: int) -> None:
        """Mark the optimizer that converged."""
        with self._guard():
            self.update_norm_terminate(opt_id)

    @hookimpl
    def glompo_optimizer_crashed(self, opt_id: int) -> None:
        """Mark the optimizer that crashed."""
        with self._guard():
            self.update_crash_terminate(opt_id)

    @hookimpl
    def glompo_optimizer_paused(self, opt_id: int) -> None:
        """Mark the pause."""
        with self._guard():
            self.update_pause(opt_id)

    @hookimpl
    def glompo_checkpoint_written(self) -> None:
        """Mark the checkpoint on every optimizer still running."""
        with self._guard():
            for stream in list(self._streams.values()):
                if stream.end_kind is None and stream.last is not None:
                    self.update_checkpoint(stream.opt_id)

    @hookimpl
    def glompo_run_finished(self) -> None:
        """Final redraw; write the movie if recording; close the figure."""
        with self._guard():  # on failure, _fail() retries the movie and cleans up
            if self._pending or (self.is_setup and self.n_frames == 0):
                self._flush(force=True)  # the last events, and the final frame
            elif self._stale:
                self._sync_artists()
            if self.is_setup:
                self.generate_movie()
            self.close_fig()
            self._discard_segments()
