"""Trajectory plots of a run (``summary_files >= 2``), drawn off-screen with matplotlib's Agg.

matplotlib is imported only when a plot is made, so ``import glompo_core`` stays light;
the figures are :class:`matplotlib.figure.Figure` objects of their own (pyplot's state
and backend are left alone).

How the plots stay readable
---------------------------
*Colours and legend.* The optimizers are grouped by type: each type has one colour
family (a hue of ``tab10``; the optimizers of a type are shades of it, darker to
lighter in the order they started), and the legend names the types, not the
optimizers. How each optimizer ended is a marker at its last point (and, in the plots
of best values, its line style): converged, stopped by the manager, crashed, or still
running when the run ended; a second legend lists these statuses with their counts.

*The y-axis of the linear plots* shows the bulk of the values and sets the few far-out
ones aside, so that one evaluation of ``1e12`` among values of about 10 does not make
every line flat. The rule (:func:`linear_limits`): the bulk is the range between the 5th
and the 95th percentile of the finite values plotted; a value more than
:data:`REACH` (3) times the bulk's width beyond it is far out. The axis spans the
values that are not, plus a margin; each far-out value is drawn as a triangle on the
edge of the axes (``^`` above, ``v`` below), in its optimizer's colour, and a third
legend gives their count and most extreme value. Data spread evenly over a wide range
(e.g. an optimizer's descent from 1e3 to 1e-2) keep their full range; when more than
about 5% of the values are far out they are the bulk's tail, nothing is set aside, and
``trajectories_log*.png`` (written when the values span two decades or more) is the
readable view. The log plots show every value.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["REACH", "linear_limits", "plot_optimizer_trials", "plot_trajectories",
           "plot_trajectory", "trajectory_figure"]

_MAX_POINTS = 20_000  # per optimizer and figure
#: The bulk of the values lies between these quantiles (see :func:`linear_limits`).
BULK = (0.05, 0.95)
#: A value further than ``REACH`` bulk widths beyond the bulk is set aside.
REACH = 3.0

#: status -> (legend text, end marker, marker style, line style in the plots of best values)
_STATUS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "converged": ("converged", "*", {"markersize": 11}, "-"),
    "stopped": ("stopped by the manager", "x", {"markersize": 8, "markeredgewidth": 1.5}, "--"),
    "crashed": ("crashed", "X", {"markersize": 9, "markerfacecolor": "red"}, ":"),
    "running": ("running when the run ended", ">", {"markersize": 7,
                                                    "markerfacecolor": "white"}, "-."),
}
#: Statuses of the manager's records that are shown as one of :data:`_STATUS`.
_STATUS_ALIASES = {"ended": "running"}


def _figure(size: tuple[float, float] = (10.0, 6.0)) -> Figure:
    """A figure drawn by Agg, independent of pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _spans_decades(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return False
    shifted = finite - finite.min() + 1.0
    return bool(np.log10(shifted.max()) >= 2)


def linear_limits(values: Any) -> tuple[float, float] | None:
    """The range of ``values`` that a linear y-axis shows: far-out values set aside.

    The bulk is the range ``[q05, q95]`` of the finite values (the quantiles
    :data:`BULK`); a value lower than ``q05 - REACH * w`` or higher than
    ``q95 + REACH * w``, where ``w = q95 - q05``, is far out. If ``w`` is 0 (most values
    are equal) nothing is set aside.

    Parameters
    ----------
    values
        The values plotted (any shape; NaN and infinities are ignored).

    Returns
    -------
    tuple[float, float] or None
        ``(min, max)`` of the values kept (no margin added), or None if no value is finite.

    Examples
    --------
    >>> linear_limits([9.0, 10.0, 11.0] * 10 + [1e12])
    (9.0, 11.0)
    >>> linear_limits([1e3, 1e2, 10.0, 1.0, 0.1, 0.01])
    (0.01, 1000.0)
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    q_lo, q_hi = np.quantile(v, BULK)
    width = float(q_hi - q_lo)
    if width > 0:
        v = v[(v >= q_lo - REACH * width) & (v <= q_hi + REACH * width)]
    return float(v.min()), float(v.max())


def _type_colours(types: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One base colour per type: ``tab10``'s hues, then evenly spaced ones."""
    import matplotlib

    tab10 = matplotlib.colormaps["tab10"].colors  # type: ignore[attr-defined]
    colours = {}
    for k, name in enumerate(types):
        if k < len(tab10):
            colours[name] = tuple(float(c) for c in tab10[k][:3])
        else:  # more types than tab10 has hues: spread the hues between them
            hue = ((k - len(tab10)) * 0.618034) % 1.0
            colours[name] = colorsys.hsv_to_rgb(hue, 0.75, 0.8)
    return colours  # type: ignore[return-value]


def _shade(rgb: tuple[float, float, float], i: int, n: int) -> tuple[float, float, float]:
    """The ``i``-th of ``n`` shades of ``rgb``: from darker (mixed with black) to lighter."""
    t = 0.0 if n <= 1 else -0.4 + 0.85 * i / (n - 1)
    if t < 0:
        return tuple(c * (1 + t) for c in rgb)  # type: ignore[return-value]
    return tuple(c + (1 - c) * t for c in rgb)  # type: ignore[return-value]


def _type_of(log: BaseLogger, opt_id: int) -> str:
    try:
        return str(log.get_metadata(opt_id, "type"))
    except KeyError:
        return "unknown type"


def _short(name: str, width: int = 28) -> str:
    """``name`` cut to ``width`` characters (with an ellipsis), to fit beside the axes."""
    return name if len(name) <= width else name[:width - 1] + "\u2026"


def _series(log: BaseLogger, opt_id: int, best_fx: bool) -> tuple[np.ndarray, np.ndarray]:
    """The call ids and (best) values of ``opt_id``, thinned to ``_MAX_POINTS``."""
    ids = np.asarray(log.full_history(opt_id, "call_id"))
    fx = np.array(log.full_history(opt_id, "fx"), dtype=float)
    fx[~np.isfinite(fx)] = np.nan
    if best_fx:
        fx = np.fmin.accumulate(fx)
    if len(ids) > _MAX_POINTS:  # thin long series: a picture, not a data dump
        keep = np.linspace(0, len(ids) - 1, _MAX_POINTS).astype(int)
        if np.isfinite(fx).any():
            keep = np.unique(np.r_[keep, np.nanargmin(fx)])
        ids, fx = ids[keep], fx[keep]
    return ids, fx


def trajectory_figure(log: BaseLogger, *, log_scale: bool = False, best_fx: bool = False,
                      end_status: Mapping[int, str] | None = None,
                      title: str | None = None) -> Figure:
    """The figure of :func:`plot_trajectory`, not saved (to look at or to change).

    Parameters are those of :func:`plot_trajectory`. The figure has one axes; its
    legends are, in order, the optimizer types, the end statuses and (if any value is
    set aside) the values off the axis.
    """
    from matplotlib.lines import Line2D

    fig = _figure()
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.08, right=0.69, top=0.93, bottom=0.09)
    end_status = end_status or {}
    series = {o: _series(log, o, best_fx) for o in log.opt_ids if log.has_iter_history(o)}
    series = {o: s for o, s in series.items() if s[0].size}
    if log_scale:
        floor = min((float(np.nanmin(fx)) for _, fx in series.values()
                     if np.isfinite(fx).any()), default=0.0)
        series = {o: (ids, np.log10(fx - floor + 1.0)) for o, (ids, fx) in series.items()}
    types: dict[str, list[int]] = {}
    for opt_id in series:
        types.setdefault(_type_of(log, opt_id), []).append(opt_id)
    bases = _type_colours(list(types))
    colour = {o: _shade(bases[t], i, len(ids)) for t, ids in types.items()
              for i, o in enumerate(ids)}
    statuses: dict[str, list[int]] = {}
    for opt_id in series:
        status = end_status.get(opt_id)
        status = _STATUS_ALIASES.get(status, status) if status is not None else None
        if status in _STATUS:
            statuses.setdefault(status, []).append(opt_id)
    status_of = {o: s for s, ids in statuses.items() for o in ids}

    for opt_id, (ids, fx) in series.items():
        if best_fx:
            line = _STATUS[status_of[opt_id]][3] if opt_id in status_of else "-"
            ax.plot(ids, fx, ls=line, color=colour[opt_id], linewidth=1.2)
        else:
            ax.plot(ids, fx, ls="", marker=".", color=colour[opt_id], markersize=2.5)

    limits = None if log_scale else linear_limits(
        np.concatenate([fx for _, fx in series.values()] or [np.empty(0)]))
    if limits is not None:
        lo, hi = limits
        pad = 0.05 * (hi - lo) if hi > lo else max(0.05 * abs(hi), 1.0)
        ax.set_ylim(lo - pad, hi + pad)
    y_lo, y_hi = ax.get_ylim()

    def on_axis(y: float) -> float:
        return min(max(y, y_lo), y_hi)

    for status, ids_of in statuses.items():
        _text, marker, style, _line = _STATUS[status]
        ends = []
        for opt_id in ids_of:
            ids, fx = series[opt_id]
            finite = np.flatnonzero(np.isfinite(fx))
            j = finite[-1] if finite.size else len(fx) - 1
            ends.append((ids[j], on_axis(float(fx[j])) if finite.size else math.nan))
        ax.plot([e[0] for e in ends], [e[1] for e in ends], ls="", marker=marker,
                color="black", zorder=4, clip_on=False, **style)

    off_axis = _mark_off_axis(ax, series, colour) if limits is not None else []

    type_handles = [Line2D([], [], color=bases[t], lw=3, label=f"{_short(t)} ({len(ids)})")
                    for t, ids in types.items()]
    legends = [ax.legend(handles=type_handles, title="optimizer type",
                         loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small",
                         title_fontsize="small", borderaxespad=0.0)]
    if statuses:
        handles = [Line2D([], [], ls=_STATUS[s][3] if best_fx else "", marker=_STATUS[s][1],
                          color="black", **_STATUS[s][2],
                          label=f"{_STATUS[s][0]} ({len(ids)})")
                   for s, ids in sorted(statuses.items(), key=lambda kv: list(_STATUS)
                                        .index(kv[0]))]
        legends.append(ax.legend(handles=handles, title="how each optimizer ended",
                                 loc="center left", bbox_to_anchor=(1.02, 0.45),
                                 fontsize="small", title_fontsize="small",
                                 borderaxespad=0.0))
    if off_axis:
        legends.append(ax.legend(handles=off_axis, title="values off the axis",
                                 loc="lower left", bbox_to_anchor=(1.02, 0.0),
                                 fontsize="small", title_fontsize="small",
                                 borderaxespad=0.0))
    for legend in legends[:-1]:
        ax.add_artist(legend)

    ax.set_xlabel("function evaluation")
    ylabel = "best f(x) of the optimizer" if best_fx else "f(x)"
    ax.set_ylabel(f"log10({ylabel} - min + 1)" if log_scale else ylabel)
    ax.set_title(title or ("Optimizer best values" if best_fx else "Optimizer trajectories"))
    ax.grid(alpha=0.3)
    return fig


def _mark_off_axis(ax: Axes, series: Mapping[int, tuple[np.ndarray, np.ndarray]],
                   colour: Mapping[int, tuple[float, float, float]]) -> list[Any]:
    """Triangles on the edges for the values outside the y-limits; their legend entries."""
    from matplotlib.lines import Line2D

    y_lo, y_hi = ax.get_ylim()
    handles: list[Any] = []
    for side, edge, marker in (("above", y_hi, "^"), ("below", y_lo, "v")):
        xs: list[np.ndarray] = []
        cs: list[tuple[float, float, float]] = []
        extreme = -math.inf if side == "above" else math.inf
        for opt_id, (ids, fx) in series.items():
            out = fx > y_hi if side == "above" else fx < y_lo
            if out.any():
                xs.append(ids[out])
                cs += [colour[opt_id]] * int(out.sum())
                values = fx[out]
                extreme = (max(extreme, float(values.max())) if side == "above"
                           else min(extreme, float(values.min())))
        if not xs:
            continue
        x = np.concatenate(xs)
        ax.scatter(x, np.full(x.size, edge), marker=marker, c=cs, s=28, edgecolors="black",
                   linewidths=0.5, zorder=5, clip_on=False)
        word = "value" if x.size == 1 else "values"
        bound = "up to" if side == "above" else "down to"
        handles.append(Line2D([], [], ls="", marker=marker, color="grey",
                              markeredgecolor="black",
                              label=f"{x.size} {word} {side} ({bound} {extreme:.3g})"))
    return handles


def plot_trajectory(log: BaseLogger, path: str | Path, *, log_scale: bool = False,
                    best_fx: bool = False, end_status: dict[int, str] | None = None,
                    title: str | None = None) -> Path:
    """Plot function values against the universal evaluation number.

    The optimizers are coloured by type and their ends marked by status; the linear
    y-axis shows the bulk of the values and marks the far-out ones on its edges (see
    the module's notes for both rules).

    Parameters
    ----------
    log
        The run's log (it must hold every evaluation: ``build_traj_plot=True``).
    path
        The PNG file to write.
    log_scale
        Plot ``log10(fx - min + 1)`` so that values spanning decades stay readable.
    best_fx
        Plot each optimizer's best value so far instead of every evaluation.
    end_status
        ``opt_id -> status`` (``'converged'``, ``'stopped'``, ``'crashed'``, and
        ``'running'`` or ``'ended'`` for those still running when the run ended):
        marks where and how each ended.
    title
        Title of the figure.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    fig = trajectory_figure(log, log_scale=log_scale, best_fx=best_fx,
                            end_status=end_status, title=title)
    fig.savefig(path)
    return path


def plot_trajectories(log: BaseLogger, directory: str | Path,
                      end_status: dict[int, str] | None = None) -> list[Path]:
    """Write ``trajectories.png`` and ``trajectories_best.png`` (plus ``trajectories_log*.png``
    when the values span two decades or more) into ``directory``."""
    directory = Path(directory)
    written = [plot_trajectory(log, directory / "trajectories.png", end_status=end_status),
               plot_trajectory(log, directory / "trajectories_best.png", best_fx=True,
                               end_status=end_status)]
    values = np.concatenate([log.full_history(o, "fx") for o in log.opt_ids
                             if log.has_iter_history(o)] or [np.empty(0)])
    if _spans_decades(values):
        written.append(plot_trajectory(log, directory / "trajectories_log.png", log_scale=True,
                                       end_status=end_status))
        written.append(plot_trajectory(log, directory / "trajectories_log_best.png",
                                       log_scale=True, best_fx=True, end_status=end_status))
    return written


def plot_optimizer_trials(log: BaseLogger, path: str | Path, opt_id: int | None = None
                          ) -> list[Path]:
    """Plot each parameter against the optimizer's evaluation number, one figure per optimizer.

    Parameters
    ----------
    log
        The run's log (holding every evaluation).
    path
        Directory for the files ``opt<id>_parms.png``.
    opt_id
        One optimizer, or every optimizer when None.
    """
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for oid in [opt_id] if opt_id is not None else log.opt_ids:
        x = np.asarray(log.full_history(oid, "x"))
        if x.size == 0:
            continue
        fig = _figure()
        ax = fig.add_subplot()
        for j in range(x.shape[1]):
            ax.plot(np.arange(1, len(x) + 1), x[:, j], linewidth=1, label=f"x[{j}]")
        ax.set_xlabel(f"evaluation of optimizer {oid}")
        ax.set_ylabel("parameter value")
        ax.set_title(f"Optimizer {oid} ({log.get_metadata(oid, 'type')}): parameters")
        if x.shape[1] <= 20:
            ax.legend(fontsize="small", ncol=2)
        fig.tight_layout()
        out = directory / f"opt{oid}_parms.png"
        fig.savefig(out)
        written.append(out)
    return written
