"""Trajectory plots of a run (``summary_files >= 2``), drawn with matplotlib's Agg backend.

matplotlib is imported only when a plot is made, so ``import glompo_core`` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["plot_optimizer_trials", "plot_trajectories", "plot_trajectory"]

_MAX_POINTS = 20_000  # per optimizer and figure
_MARKERS = {"stopped": ("x", "stopped by the manager"),
            "converged": ("*", "converged"),
            "crashed": ("X", "crashed")}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _spans_decades(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return False
    shifted = finite - finite.min() + 1.0
    return bool(np.log10(shifted.max()) >= 2)


def plot_trajectory(log: BaseLogger, path: str | Path, *, log_scale: bool = False,
                    best_fx: bool = False, end_status: dict[int, str] | None = None,
                    title: str | None = None) -> Path:
    """Plot function values against the universal evaluation number, one colour per optimizer.

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
        ``opt_id -> 'stopped' | 'converged' | 'crashed'``: marks where each ended.
    title
        Title of the figure.

    Returns
    -------
    Path
        The file written.
    """
    plt = _pyplot()
    path = Path(path)
    fig, ax = plt.subplots(figsize=(10, 6), dpi=100)
    cmap = plt.get_cmap("tab20")
    all_fx = [log.full_history(o, "fx") for o in log.opt_ids if log.has_iter_history(o)]
    floor = min((float(np.nanmin(f[np.isfinite(f)])) for f in all_fx
                 if np.isfinite(f).any()), default=0.0)
    labelled: set[str] = set()
    for i, opt_id in enumerate(log.opt_ids):
        if not log.has_iter_history(opt_id):
            continue
        ids = log.full_history(opt_id, "call_id")
        fx = np.array(log.full_history(opt_id, "fx"), dtype=float)
        if best_fx:
            fx = np.fmin.accumulate(np.where(np.isfinite(fx), fx, np.nan))
        if ids.size == 0:
            continue
        if len(ids) > _MAX_POINTS:  # thin long series: a picture, not a data dump
            keep = np.unique(np.r_[np.linspace(0, len(ids) - 1, _MAX_POINTS).astype(int),
                                   np.nanargmin(np.where(np.isfinite(fx), fx, np.nan))
                                   if np.isfinite(fx).any() else 0])
            ids, fx = ids[keep], fx[keep]
        if log_scale:
            fx = np.log10(np.where(np.isfinite(fx), fx - floor + 1.0, np.nan))
        colour = cmap(i % 20)
        style = "-" if best_fx else "."
        ax.plot(ids, fx, style, color=colour, markersize=2, linewidth=1,
                label=f"{opt_id}: {log.get_metadata(opt_id, 'type')}" if i < 20 else None)
        status = (end_status or {}).get(opt_id)
        if status in _MARKERS:
            marker, text = _MARKERS[status]
            finite = np.nonzero(np.isfinite(fx))[0]
            j = finite[-1] if finite.size else len(fx) - 1
            ax.plot(ids[j], fx[j], marker, color="black", markersize=9,
                    label=text if text not in labelled else None)
            labelled.add(text)
    ax.set_xlabel("function evaluation")
    ylabel = "best f(x) of the optimizer" if best_fx else "f(x)"
    ax.set_ylabel(f"log10({ylabel} - min + 1)" if log_scale else ylabel)
    ax.set_title(title or ("Optimizer best values" if best_fx else "Optimizer trajectories"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
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
    plt = _pyplot()
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for oid in [opt_id] if opt_id is not None else log.opt_ids:
        x = np.asarray(log.full_history(oid, "x"))
        if x.size == 0:
            continue
        fig, ax = plt.subplots(figsize=(10, 6), dpi=100)
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
        plt.close(fig)
        written.append(out)
    return written
