"""CompassSearch: GloMPO's conformance kit, then the algorithm's own behaviour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import glompo_compass.hooks
import numpy as np
import pytest
from glompo_compass import CompassSearch

from glompo_core import GloMPOManager
from glompo_core.benchmarks import Rosenbrock
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from glompo_core.testing import Inbox, RecordingTask, parametrize_with_checks, wired

#: A registry holding only the built-in components and this plugin, registered directly
#: from its hooks module: the unit tests do not depend on what else is installed.
PM = PluginManager(load_entrypoints=False, plugins=[("compass", glompo_compass.hooks)])


def sphere(x: Any) -> float:
    return float(np.sum(np.asarray(x, dtype=float) ** 2))


def wired_compass(**kwargs: Any) -> tuple[CompassSearch, ThreadPipe, Inbox]:
    """A CompassSearch wired as the manager wires it (glompo_core.testing.wired): the
    optimizer, the manager's end of its pipe, and the inbox of its messages."""
    w = wired(CompassSearch, kwargs)
    return w.opt, w.pipe, w.inbox


# -------------------------------------------------------------------- conformance kit


@parametrize_with_checks(
    [(CompassSearch, {"seed": 1}),
     (CompassSearch, {"seed": 2, "step0": 0.5, "tol": 1e-5, "rotate": True})],
    plugin_manager=PM)
def test_conformance(optimizer: type, check: Callable[[type], None]) -> None:
    check(optimizer)


# ---------------------------------------------------------------------- the algorithm


def test_polls_the_compass_points_then_halves_the_step() -> None:
    """At the minimum, every poll fails: the step halves until it is below tol."""
    task = RecordingTask(sphere)
    opt, _, inbox = wired_compass(step0=0.5, tol=0.01, shrink=0.5)
    res = opt.minimize(task, [0.0, 0.0], [(-1.0, 1.0), (-2.0, 2.0)])
    xs = np.array(task.xs)
    np.testing.assert_array_equal(xs[0], [0.0, 0.0])
    # step 0.5 of the ranges (2 and 4): +-1 along x1, +-2 along x2
    np.testing.assert_array_equal(xs[1:5], [[1, 0], [-1, 0], [0, 2], [0, -2]])
    np.testing.assert_array_equal(xs[5:9], [[0.5, 0], [-0.5, 0], [0, 1], [0, -1]])
    # steps 0.5, 0.25, ..., 0.015625 fail (6 polls of 4 points); 0.0078125 < tol ends it
    assert len(xs) == 1 + 6 * 4
    assert res.success and res.fx == 0.0 and res.stats is not None
    assert res.stats == {"iterations": 6, "evaluations": 25, "step": 0.0078125}
    assert inbox.items == [ManagerMessage(1, 0, "CompassSearch converged: step 0.00781 < tol "
                                                "0.01 after 6 iterations")]


def test_moves_to_the_best_polled_point() -> None:
    task = RecordingTask(lambda x: sphere(x - np.array([0.5, -0.5])))
    opt, _, _ = wired_compass(step0=0.25, tol=0.2)
    opt.minimize(task, [0.0, 0.0], [(-1.0, 1.0)] * 2)
    xs = np.array(task.xs)
    # from (0, 0) the poll points are (+-0.5, 0), (0, +-0.5); (0.5, 0) is best (ties: the
    # first polled), then from there (0.5, -0.5) is the minimum
    np.testing.assert_array_equal(xs[1:5], [[0.5, 0], [-0.5, 0], [0, 0.5], [0, -0.5]])
    np.testing.assert_array_equal(xs[5:9], [[1.0, 0], [0, 0], [0.5, 0.5], [0.5, -0.5]])
    assert opt.x is not None
    np.testing.assert_array_equal(opt.x, [0.5, -0.5])


def test_points_are_clipped_to_the_bounds() -> None:
    task = RecordingTask(lambda x: float(x[0] + x[1]))
    opt, _, _ = wired_compass(step0=1.0, tol=0.3)
    opt.minimize(task, [5.0, 5.0], [(-1.0, 1.0), (0.0, 3.0)])  # x0 outside: clipped
    xs = np.array(task.xs)
    np.testing.assert_array_equal(xs[0], [1.0, 3.0])
    assert np.all(xs >= [-1.0, 0.0]) and np.all(xs <= [1.0, 3.0])
    # from the corner (1, 3) the points beyond the box clip back onto the centre: only
    # the two towards the box are evaluated; then (1, 0) and from there (-1, 0)
    np.testing.assert_array_equal(xs[1:4], [[-1.0, 3.0], [1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(opt.incumbent["x"], [-1.0, 0.0])


@pytest.mark.parametrize("rotate", [False, True])
def test_finds_the_minimum_of_a_tilted_valley(rotate: bool) -> None:
    """A quadratic whose narrow valley is not aligned with the axes, minimum off-centre."""
    hessian = 50.0 * np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.3], [0.0, 0.3, 1.0]])
    centre = np.array([0.3, -0.7, 1.9])

    def valley(x: Sequence[float]) -> float:
        d = np.asarray(x, dtype=float) - centre
        return float(d @ hessian @ d)

    res = CompassSearch(step0=0.25, tol=1e-9, rotate=rotate, seed=3).minimize(
        valley, [-0.9, 0.9, 0.0], [(-1.0, 1.0), (-1.0, 1.0), (0.0, 2.0)])
    assert res.success and res.fx < 1e-12
    assert res.x is not None
    np.testing.assert_allclose(res.x, centre, atol=1e-6)


def test_finds_the_minimum_of_rosenbrock() -> None:
    task = Rosenbrock(dims=2)
    res = CompassSearch(step0=0.1, tol=1e-7, rotate=True, seed=3).minimize(
        task, [-1.2, 1.0], task.bounds)
    assert res.success and res.fx < 1e-6
    assert res.x is not None
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=2e-3)


def test_rotation_is_reproducible_per_seed() -> None:
    def run(seed: int | None, rotate: bool = True) -> np.ndarray:
        task = RecordingTask(lambda x: sphere(x - 0.3))
        CompassSearch(step0=0.25, tol=1e-3, rotate=rotate, seed=seed).minimize(
            task, [0.1, -0.2, 0.3], [(-1.0, 1.0)] * 3)
        return np.array(task.xs)

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    # the first poll's directions (unclipped: all steps stay in the box) are
    # orthonormal, and not the axes
    first = a[1:7] - a[0]
    directions = first[0::2] / np.linalg.norm(first[0::2], axis=1)[:, None]
    np.testing.assert_allclose(directions @ directions.T, np.eye(3), atol=1e-12)
    assert not np.allclose(np.abs(directions), np.eye(3))
    # the classic compass search draws nothing: the seed does not matter
    np.testing.assert_array_equal(run(3, rotate=False), run(None, rotate=False))


def test_every_minimize_call_is_a_fresh_search() -> None:
    opt = CompassSearch(step0=0.5, tol=1e-3, rotate=True, seed=5)
    first, second = RecordingTask(sphere), RecordingTask(sphere)
    opt.minimize(first, [0.5, 0.5], [(-1.0, 1.0)] * 2)
    opt.minimize(second, [0.5, 0.5], [(-1.0, 1.0)] * 2)
    np.testing.assert_array_equal(np.array(first.xs), np.array(second.xs))


def test_nan_counts_as_infinity() -> None:
    def half_nan(x: Sequence[float]) -> float:
        return float("nan") if x[0] < 0 else sphere(np.asarray(x) - 0.5)

    res = CompassSearch(step0=0.5, tol=1e-8).minimize(half_nan, [0.9, 0.9], [(-1.0, 1.0)] * 2)
    assert res.success and res.fx < 1e-12


def test_a_stop_ends_the_search_unconverged() -> None:
    opt, pipe, inbox = wired_compass(step0=0.5, tol=1e-12)

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 20:
            pipe.send((Signal.STOP, "enough"))
        return sphere(x - 0.1)

    task = RecordingTask(f)
    res = opt.minimize(task, [0.9, 0.9], [(-1.0, 1.0)] * 2)
    assert not res.success and inbox.items == []
    assert len(task.xs) <= 20 + 4  # the iteration under way is finished, no more
    assert res.fx == min(sphere(x - 0.1) for x in task.xs)


def test_an_injected_better_point_becomes_the_centre() -> None:
    opt, pipe, _ = wired_compass(step0=0.25, tol=0.01)
    target = np.array([-0.5, 0.5])

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 3:
            pipe.send((Signal.INJECT, target, -1.0))
        return sphere(x - target) + 1.0  # >= 1 everywhere: the injected -1 stays the best

    task = RecordingTask(f)
    res = opt.minimize(task, [0.9, 0.9], [(-1.0, 1.0)] * 2)
    assert res.fx == -1.0
    np.testing.assert_array_equal(res.x, target)
    # the iteration after the injection polls around the injected point
    np.testing.assert_array_equal(task.xs[5], target + np.array([0.5, 0.0]))


def test_a_checkpoint_resumes_the_same_search(tmp_path: Path) -> None:
    path = tmp_path / "compass.pkl"
    opt, pipe, inbox = wired_compass(step0=0.5, tol=1e-4, rotate=True, seed=7)

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 30:
            pipe.send((Signal.CHECKPOINT, path))
        return sphere(x - 0.2)

    task = RecordingTask(f)
    bounds = [(-1.0, 1.0)] * 3
    uninterrupted = opt.minimize(task, [0.9, -0.9, 0.5], bounds)
    assert ManagerMessage(1, 2, str(path)) in inbox.items
    done = opt.n_evals
    loaded = CompassSearch.checkpoint_load(path, _opt_id=4)
    assert isinstance(loaded, CompassSearch) and loaded.is_restart and loaded.opt_id == 4
    saved = loaded.n_evals
    resumed = RecordingTask(lambda x: sphere(x - 0.2))
    res = loaded.minimize(resumed, [0.0] * 3, [(-9.0, 9.0)] * 3)  # x0 and bounds: ignored
    np.testing.assert_array_equal(np.array(resumed.xs), np.array(task.xs[saved:]))
    assert (res.fx, res.success, loaded.n_evals) == (uninterrupted.fx, True, done)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"step0": 0}, r"step0 must be a number in \(0, 1\]"),
    ({"step0": 1.5}, "step0 must be a number in"),
    ({"step0": float("nan")}, "step0 must be a number in"),
    ({"step0": True}, "step0 must be a number in"),
    ({"tol": 0.3}, r"tol must be a number in \(0, step0=0.25\), got 0.3"),
    ({"tol": -1e-3}, "tol must be a number in"),
    ({"shrink": 1.0}, r"shrink must be a number in \(0, 1\), got 1.0"),
    ({"rotate": "yes"}, "rotate must be true or false"),
    ({"seed": -1}, "seed must be None or an integer >= 0, got -1"),
    ({"seed": 1.5}, "seed must be None or an integer >= 0"),
    ({"workers": 0}, "workers must be a whole number >= 1"),
])
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CompassSearch(**kwargs)


def test_unknown_arguments_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="step_0"):
        CompassSearch(step_0=0.1)  # type: ignore[call-arg]


@pytest.mark.parametrize("bounds", [[(-1.0, 1.0)], [(1.0, -1.0), (0.0, 1.0)],
                                    [(-np.inf, 1.0), (0.0, 1.0)]])
def test_bad_bounds_are_refused(bounds: list[tuple[float, float]]) -> None:
    with pytest.raises(ValueError, match="bounds must be"):
        CompassSearch().minimize(sphere, [0.5, 0.5], bounds)


# ------------------------------------------------------------------ in a GloMPO run


def run(tmp_path: Path, name: str, seed: int, **kwargs: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=lambda x: sphere(np.asarray(x) - [3.0, -1.0, 2.0]), bounds=[(-5.0, 5.0)] * 3,
        opt_selector=CycleSelector(("compass", {"tol": 1e-8, "rotate": True, "workers": 2}),
                                   plugin_manager=PM),
        working_dir=tmp_path / name, max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=1500), split_printstreams=False, summary_files=0,
        seed=seed, plugin_manager=PM)
    settings.update(kwargs)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


def test_a_seeded_run_repeats_and_finds_the_minimum(tmp_path: Path) -> None:
    a, b, c = run(tmp_path, "a", 1), run(tmp_path, "b", 1), run(tmp_path, "c", 2)
    assert a.result.fx < 1e-10 and a.converged >= 1
    assert a.result.x is not None
    np.testing.assert_allclose(a.result.x, [3.0, -1.0, 2.0], atol=1e-4)
    assert (a.result.fx, a.f_counter, a.o_counter) == (b.result.fx, b.f_counter, b.o_counter)
    assert a.result.fx != c.result.fx
