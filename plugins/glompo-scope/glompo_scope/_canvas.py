"""The scope's figure: its axes, one line per optimizer, the markers and the legend.

:class:`Canvas` shows what a :class:`~glompo_scope._trajectories.Trajectories` holds;
it is drawn off-screen (Agg) unless the scope is shown in a pyplot window.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from glompo_scope._trajectories import INSTANT, TERMINAL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from glompo_scope._trajectories import Stream, Trajectories

__all__ = ["MARKER_STYLE", "Canvas", "glompo_colors", "window_problem"]

FIGSIZE = (10.0, 6.0)
LEGEND_OPTIMIZERS = 15  # optimizers named in the legend (the most recent ones)

#: The event markers: kind -> Line2D style (and legend label).
MARKER_STYLE: dict[str, dict[str, Any]] = {
    "stopped": {"marker": "x", "color": "black", "markersize": 9,
                "label": "Stopped by the manager"},
    "converged": {"marker": "*", "color": "black", "markersize": 12, "label": "Converged"},
    "crashed": {"marker": "X", "color": "red", "markeredgecolor": "black", "markersize": 9,
                "label": "Crashed"},
    "paused": {"marker": "|", "color": "dimgrey", "markersize": 14, "label": "Paused"},
    "checkpoint": {"marker": "D", "color": "black", "markerfacecolor": "none",
                   "markersize": 7, "label": "Checkpoint"},
}


def glompo_colors() -> ListedColormap:
    """The GloMPO colour sequence: the 20 colours of ``tab20``, strong shades first."""
    base = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]
    return ListedColormap([*base[0::2], *base[1::2]], name="glompo")


def _non_interactive_backends() -> set[str]:
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        names = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        from matplotlib import rcsetup

        names = rcsetup.non_interactive_bk  # type: ignore[attr-defined]
    return {str(n).lower() for n in names}


def window_problem() -> str | None:
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


class Canvas:
    """The figure of a scope and its artists.

    Parameters
    ----------
    pyplot
        Make the figure with pyplot (to show it in a window) rather than off-screen.

    Attributes
    ----------
    fig, ax, color_map, gen_streams, opt_streams, leg_elements
        As the attributes of the same names of :class:`~glompo_scope.GloMPOScope`,
        which shares these objects.
    """

    def __init__(self, *, pyplot: bool) -> None:
        self.pyplot = pyplot
        if pyplot:
            import matplotlib.pyplot as plt

            self.fig: Figure = plt.figure(figsize=FIGSIZE)
        else:
            self.fig = Figure(figsize=FIGSIZE)
            FigureCanvasAgg(self.fig)
        self.color_map = glompo_colors()
        self.ax: Axes = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.08, right=0.74, top=0.93, bottom=0.09)
        self.opt_streams: dict[int, Line2D] = {}
        self.gen_streams: dict[str, Line2D] = {}
        self.leg_elements: list[Line2D] = []
        self.legend_dirty = True

    def add_markers(self) -> None:
        """One (empty) artist and one legend entry per marker kind."""
        for kind, style in MARKER_STYLE.items():
            self.gen_streams[kind] = self.ax.plot([], [], ls="", zorder=4, **style)[0]
            self.leg_elements.append(Line2D([], [], ls="", **style))

    def style(self, *, truncated: int | None, elitism: bool, log_scale: bool,
              x_range: tuple[float, float] | int | None,
              y_range: tuple[float, float] | None) -> None:
        """Title, labels, grid and the initial limits."""
        ax = self.ax
        ax.set_title("GloMPO scope" + (f" (last {truncated} evaluations)" if truncated
                                       else ""))
        ax.set_xlabel("Function evaluations (call id)")
        label = "Best function value so far" if elitism else "Function value"
        ax.set_ylabel(f"{label}: sign(f) log10(1 + |f|)" if log_scale else label)
        ax.grid(True, alpha=0.3)
        if isinstance(x_range, tuple):
            ax.set_xlim(*x_range)
        else:
            ax.set_xlim(0, truncated or 10)
        if y_range is not None:
            ax.set_ylim(*y_range)

    def add_line(self, stream: Stream) -> None:
        """The (empty) line of a new optimizer, and its legend entry."""
        color = self.color_map(stream.color)
        line = self.ax.plot([], [], ls="-", lw=1.2, marker=".", ms=3, zorder=2,
                            color=color)[0]
        self.opt_streams[stream.opt_id] = line
        label = f"{stream.opt_id}: {stream.opt_type}" if stream.opt_type else f"{stream.opt_id}"
        self.leg_elements.append(Line2D([], [], ls="-", color=color, label=label))
        self.legend_dirty = True

    def sync(self, data: Trajectories, *, x_range: tuple[float, float] | int | None,
             truncated: int | None, y_range: tuple[float, float] | None) -> None:
        """Give the artists the current data, limits and legend."""
        for stream in data:
            if stream.dirty:
                self.opt_streams[stream.opt_id].set_data(stream.data.x, stream.data.y)
                stream.dirty = False
        for kind in TERMINAL:
            pts = data.terminal_points(kind, truncated)
            self.gen_streams[kind].set_data([p[0] for p in pts], [p[1] for p in pts])
        for kind in INSTANT:
            series = data.instant[kind]
            self.gen_streams[kind].set_data(series.x, series.y)
        self._rescale(data, x_range=x_range, truncated=truncated, y_range=y_range)
        if self.legend_dirty:
            self.update_legend()

    def _rescale(self, data: Trajectories, *, x_range: tuple[float, float] | int | None,
                 truncated: int | None, y_range: tuple[float, float] | None) -> None:
        x_max = data.x_max
        if x_range is None:
            self.ax.set_xlim(0, max(10.0, x_max + max(1.0, 0.02 * x_max)))
        elif truncated is not None:  # a little room right of the newest point
            self.ax.set_xlim(max(0, x_max - truncated),
                             max(x_max, truncated) + max(1.0, 0.01 * truncated))
        if y_range is not None:
            return
        lo, hi = data.y_bounds()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return
        span = hi - lo
        pad = 0.05 * span if span > 0 else max(0.05 * abs(hi), 1e-12)
        self.ax.set_ylim(lo - pad, hi + pad)

    def update_legend(self) -> None:
        """The marker kinds, then the most recent :data:`LEGEND_OPTIMIZERS` optimizers."""
        n_marks = len(MARKER_STYLE)
        opts = self.leg_elements[n_marks:]
        shown = self.leg_elements[:n_marks] + opts[-LEGEND_OPTIMIZERS:]
        title = None
        if len(opts) > LEGEND_OPTIMIZERS:
            title = f"last {LEGEND_OPTIMIZERS} of {len(opts)} optimizers"
        self.ax.legend(handles=shown, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize="small", title=title, title_fontsize="small",
                       borderaxespad=0.0)
        self.legend_dirty = False

    def refresh(self) -> None:
        """Redraw a shown window and let its toolkit process events."""
        self.fig.canvas.draw_idle()
        self.fig.canvas.flush_events()

    def close(self) -> None:
        """Close a pyplot figure (pyplot would keep it alive); an off-screen one is left."""
        if self.pyplot:
            import matplotlib.pyplot as plt

            plt.close(self.fig)
