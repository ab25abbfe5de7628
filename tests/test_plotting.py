"""The PNGs of ``summary_files: 2`` stay readable: y-range from the data, legend by type/status.

The figures are checked through matplotlib's objects (axes limits, lines, legends),
as :func:`glompo_core.plotting.trajectory_figure` returns them before saving.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.legend import Legend
from matplotlib.lines import Line2D

from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plotting import (
    linear_limits,
    plot_optimizer_trials,
    plot_trajectories,
    plot_trajectory,
    trajectory_figure,
)

TYPES = ("CMAOptimizer", "Nevergrad", "RandomOptimizer")
STATUSES = ("converged", "stopped", "crashed", "ended")


def make_log(fx_of: dict[int, np.ndarray], types: dict[int, str]) -> BaseLogger:
    """A log holding every evaluation, the optimizers' call ids interleaved in order."""
    log = BaseLogger(2, build_traj_plot=True)
    call = 0
    for opt_id, fx in fx_of.items():
        log.add_optimizer(opt_id, types[opt_id], 0.0)
        ids = np.arange(call + 1, call + len(fx) + 1)
        call += len(fx)
        log.put_iteration(opt_id, ids, np.zeros((len(fx), 2)), np.asarray(fx, dtype=float))
    return log


def legends(fig: object) -> list[Legend]:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return [c for c in ax.get_children() if isinstance(c, Legend)]


def texts(legend: Legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def by_title(fig: object, title: str) -> Legend:
    found = [leg for leg in legends(fig) if leg.get_title().get_text() == title]
    assert len(found) == 1, [leg.get_title().get_text() for leg in legends(fig)]
    return found[0]


def data_lines(fig: object) -> list[Line2D]:
    """The optimizers' lines (the end markers are the lines with no data line and few points)."""
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return [ln for ln in ax.get_lines() if ln.get_marker() in (".", "None", "")
            and len(ln.get_xdata()) > 1]


def with_outlier(seed: int = 3) -> tuple[BaseLogger, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    fx_of = {o: 10.0 + rng.normal(0.0, 1.0, 80) for o in (1, 2, 3)}
    fx_of[2][40] = 1e12
    log = make_log(fx_of, {1: "A", 2: "A", 3: "B"})
    normal = np.concatenate([np.delete(fx_of[2], 40), fx_of[1], fx_of[3]])
    return log, normal, 80 + 41  # the call id of the outlier


# ----------------------------------------------------------------------------- y range
def test_one_huge_value_does_not_flatten_the_linear_plot() -> None:
    log, normal, outlier_call = with_outlier()
    fig = trajectory_figure(log)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert hi < 100.0  # the 1e12 is outside the axis
    assert lo <= normal.min() and normal.max() <= hi  # every other value is inside
    # the lines are not flat: the normal values fill most of the axis' height
    assert (normal.max() - normal.min()) / (hi - lo) > 0.8
    # the outlier is marked on the top edge at its call id, and counted in a legend
    marks = [c for c in ax.collections if isinstance(c, PathCollection)]
    offsets = np.concatenate([m.get_offsets() for m in marks])
    assert offsets.tolist() == [[outlier_call, hi]]
    assert texts(by_title(fig, "values off the axis")) == ["1 value above (up to 1e+12)"]


def test_the_best_values_plot_sets_the_outlier_aside_too() -> None:
    rng = np.random.default_rng(5)
    fx_of = {o: 20.0 - np.sort(rng.uniform(0, 10, 60)) for o in (1, 2)}
    fx_of[1][0] = 1e12  # the first evaluation: the best so far starts there
    log = make_log(fx_of, {1: "A", 2: "A"})
    fig = trajectory_figure(log, best_fx=True)
    lo, hi = fig.axes[0].get_ylim()
    assert hi < 100.0 and lo < 11.0
    best = [np.fmin.accumulate(fx) for fx in fx_of.values()]
    kept = np.concatenate(best)[np.concatenate(best) < 1e6]
    assert (kept.max() - kept.min()) / (hi - lo) > 0.8


def test_a_wide_spread_of_values_is_shown_whole() -> None:
    """A descent over decades is not an outlier: the linear axis shows all of it."""
    rng = np.random.default_rng(7)
    descent = 1e3 * np.exp(-np.linspace(0.0, 11.0, 200)) + rng.uniform(0, 0.01, 200)
    uniform = rng.uniform(0.0, 800.0, 200)
    log = make_log({1: descent, 2: uniform}, {1: "A", 2: "B"})
    for best in (False, True):
        fig = trajectory_figure(log, best_fx=best)
        lo, hi = fig.axes[0].get_ylim()
        everything = np.concatenate([descent, uniform])
        assert lo <= everything.min() and everything.max() <= hi
        assert not [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
        assert "values off the axis" not in [leg.get_title().get_text()
                                             for leg in legends(fig)]


def test_the_log_plots_keep_every_value() -> None:
    log, _, _ = with_outlier()
    fig = trajectory_figure(log, log_scale=True)
    _, hi = fig.axes[0].get_ylim()
    assert hi >= np.log10(1e12 - 7.0)  # log10(fx - min + 1) of the outlier is inside


@pytest.mark.parametrize(("values", "expected"), [
    ([9.0, 10.0, 11.0] * 10 + [1e12], (9.0, 11.0)),
    ([9.0, 10.0, 11.0] * 10 + [-1e12], (9.0, 11.0)),
    ([5.0] * 50 + [1e12], (5.0, 1e12)),  # no bulk width: nothing is set aside
    ([np.nan, np.inf, 1.0, 2.0], (1.0, 2.0)),
])
def test_linear_limits_rule(values: Sequence[float], expected: tuple[float, float]) -> None:
    assert linear_limits(values) == expected


def test_linear_limits_of_no_finite_value_is_none() -> None:
    assert linear_limits([np.nan, np.inf]) is None
    assert linear_limits([]) is None


# ------------------------------------------------------------------------------ legend
def sixty_one() -> tuple[BaseLogger, dict[int, str], dict[int, str]]:
    rng = np.random.default_rng(11)
    types = {o: TYPES[o % 3] for o in range(1, 62)}
    status = {o: STATUSES[o % 4] for o in range(1, 62)}
    fx_of = {o: 10.0 + (o % 7) + 5.0 * rng.random(30) for o in range(1, 62)}
    return make_log(fx_of, types), types, status


@pytest.mark.parametrize("best", [False, True])
def test_61_optimizers_have_one_legend_entry_per_type_and_per_status(best: bool) -> None:
    log, _, status = sixty_one()
    fig = trajectory_figure(log, best_fx=best, end_status=status)
    kinds = by_title(fig, "optimizer type")
    assert texts(kinds) == ["Nevergrad (21)", "RandomOptimizer (20)", "CMAOptimizer (20)"]
    ends = by_title(fig, "how each optimizer ended")
    assert texts(ends) == ["converged (15)", "stopped by the manager (16)", "crashed (15)",
                           "running when the run ended (15)"]
    assert len(legends(fig)) == 2  # no legend entry names an optimizer
    assert len(data_lines(fig)) == 61


def test_types_have_colour_families_that_differ() -> None:
    log, types, status = sixty_one()
    fig = trajectory_figure(log, end_status=status)
    kinds = by_title(fig, "optimizer type")
    handles = [h for h in kinds.legend_handles if isinstance(h, Line2D)]
    assert len(handles) == 3
    base = {t.get_text().split(" ")[0]: to_rgb(h.get_color())
            for t, h in zip(kinds.get_texts(), handles)}
    assert len(set(base.values())) == 3
    hue = {name: colorsys.rgb_to_hsv(*rgb)[0] for name, rgb in base.items()}
    lines = data_lines(fig)
    colours: dict[str, set[tuple[float, ...]]] = {name: set() for name in TYPES}
    for opt_id, line in zip(sorted(types), lines):
        rgb = to_rgb(line.get_color())
        colours[types[opt_id]].add(rgb)
        # each line is a shade of its type's colour: same hue, nearer than the others'
        h = colorsys.rgb_to_hsv(*rgb)[0]
        distance = {n: min(abs(h - v), 1 - abs(h - v)) for n, v in hue.items()}
        assert min(distance, key=distance.__getitem__) == types[opt_id]
    assert all(not (colours[a] & colours[b]) for a in TYPES for b in TYPES if a != b)
    assert all(len(c) > 1 for c in colours.values())  # shades tell the optimizers apart


def test_end_markers_stay_at_each_optimizers_last_point() -> None:
    log, _, status = sixty_one()
    fig = trajectory_figure(log, end_status=status)
    ax = fig.axes[0]
    for name, marker in (("stopped", "x"), ("converged", "*"), ("crashed", "X"),
                         ("ended", ">")):
        ids = [o for o, s in status.items() if s == name]
        expected = {(int(log.full_history(o, "call_id")[-1]), float(log.full_history(o, "fx")[-1]))
                    for o in ids}
        found = [ln for ln in ax.get_lines() if ln.get_marker() == marker]
        assert len(found) == 1
        got = set(zip(np.asarray(found[0].get_xdata()).astype(int).tolist(),
                      np.asarray(found[0].get_ydata(), dtype=float).tolist()))
        assert got == expected


def test_best_values_show_the_status_as_line_style() -> None:
    log, _, status = sixty_one()
    fig = trajectory_figure(log, best_fx=True, end_status=status)
    styles = {o: ln.get_linestyle() for o, ln in zip(sorted(status), data_lines(fig))}
    expected = {"converged": "-", "stopped": "--", "crashed": ":", "ended": "-."}
    assert all(styles[o] == expected[s] for o, s in status.items())


# ------------------------------------------------------------------------------- files
def test_the_summary_files_are_written_with_the_old_call(tmp_path: Path) -> None:
    log, _, _ = with_outlier()
    written = plot_trajectories(log, tmp_path, {1: "converged", 2: "stopped", 3: "running"})
    assert [p.name for p in written] == ["trajectories.png", "trajectories_best.png",
                                         "trajectories_log.png", "trajectories_log_best.png"]
    from PIL import Image

    for path in written:
        with Image.open(path) as image:
            assert image.size == (1000, 600)
            assert np.asarray(image.convert("L")).std() > 10  # not blank
    single = plot_trajectory(log, tmp_path / "one.png", best_fx=True, title="t")
    assert single.exists()
    trials = plot_optimizer_trials(log, tmp_path / "trials", opt_id=1)
    assert [p.name for p in trials] == ["opt1_parms.png"] and trials[0].exists()


def test_no_end_status_means_no_status_legend() -> None:
    log, _, _ = sixty_one()
    fig = trajectory_figure(log)
    assert [leg.get_title().get_text() for leg in legends(fig)] == ["optimizer type"]


def test_a_long_type_name_is_shortened_to_fit_beside_the_axes() -> None:
    long_name = "ScipyOptimizer(method='Nelder-Mead', adaptive=True)"
    log = make_log({1: np.arange(5.0), 2: np.arange(5.0)}, {1: long_name, 2: "B"})
    labels = texts(by_title(trajectory_figure(log), "optimizer type"))
    assert labels == ["ScipyOptimizer(method='Neld\u2026 (1)", "B (1)"]


def test_a_run_of_failed_evaluations_still_gets_its_plots(tmp_path: Path) -> None:
    log = make_log({1: np.array([np.nan, np.inf, np.nan])}, {1: "A"})
    written = plot_trajectories(log, tmp_path, {1: "crashed"})
    assert [p.name for p in written] == ["trajectories.png", "trajectories_best.png"]
    assert all(p.stat().st_size > 0 for p in written)
    fig = trajectory_figure(log, end_status={1: "crashed"})
    assert texts(by_title(fig, "how each optimizer ended")) == ["crashed (1)"]
