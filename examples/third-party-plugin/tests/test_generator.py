"""LatinHypercubeGenerator: GloMPO's conformance checks, then the design's own properties."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import glompo_compass.hooks
import numpy as np
import pytest
from glompo_compass import LatinHypercubeGenerator

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxOptsStarted
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from glompo_core.testing import FakeManagerView, parametrize_with_component_checks

PM = PluginManager(load_entrypoints=False, plugins=[("compass", glompo_compass.hooks)])
BOUNDS = [(-2.0, 3.0), (10.0, 12.0), (0.0, 1e-3)]


@parametrize_with_component_checks([LatinHypercubeGenerator(),
                                    LatinHypercubeGenerator(size=3)])
def test_conformance(component: Any, check: Callable[[Any], None]) -> None:
    check(component)


def test_registered_by_name() -> None:
    assert PM.get("generator", "LatinHypercubeGenerator") is LatinHypercubeGenerator


def _points(gen: LatinHypercubeGenerator, n: int) -> np.ndarray:
    view = FakeManagerView(bounds=BOUNDS)
    return np.array([gen.generate(view) for _ in range(n)])


@pytest.mark.parametrize("size", [1, 5, 16])
def test_each_design_puts_one_point_in_every_stratum_of_every_axis(size: int) -> None:
    gen = LatinHypercubeGenerator(size=size)
    gen.set_seed(3)
    points = _points(gen, 3 * size)
    lo, hi = np.array(BOUNDS).T
    for design in points.reshape(3, size, len(BOUNDS)):
        strata = np.floor((design - lo) / (hi - lo) * size).astype(int)
        for axis in range(len(BOUNDS)):
            assert sorted(strata[:, axis].tolist()) == list(range(size))


def test_a_resumed_generator_continues_its_design() -> None:
    gen = LatinHypercubeGenerator(size=6)
    gen.set_seed(4)
    first = _points(gen, 2)
    copy = pickle.loads(pickle.dumps(gen))
    np.testing.assert_array_equal(_points(copy, 4), _points(gen, 4))
    assert not np.any(np.all(np.isclose(first[:, None], _points(copy, 6)[None]), axis=-1))


@pytest.mark.parametrize("size", [0, -1, 2.5, True, "4"])
def test_bad_sizes_are_named(size: Any) -> None:
    with pytest.raises(ValueError, match=f"size must be an integer >= 1, got {size!r}"):
        LatinHypercubeGenerator(size=size)


class Recording(LatinHypercubeGenerator):
    """Keeps the points it gives the manager."""

    def __init__(self, size: int = 8) -> None:
        super().__init__(size)
        self.given: list[np.ndarray] = []

    def generate(self, manager: Any) -> np.ndarray:
        point = super().generate(manager)
        self.given.append(point)
        return point


def test_in_a_run_the_optimizers_start_spread_over_the_box(tmp_path: Path) -> None:
    evaluated: list[list[float]] = []

    def task(x: Any) -> float:
        evaluated.append(list(map(float, x)))
        return float(np.sum(np.asarray(x) ** 2))

    gen = Recording(size=4)
    manager = GloMPOManager.new_manager(
        task=task, bounds=[(-4.0, 4.0)] * 2,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 2, "iters": 1}, {}),
                                   plugin_manager=PM),
        x0_generator=gen, working_dir=tmp_path, max_jobs=1,
        backend="threads", exit_conditions=MaxOptsStarted(max_opts=4), summary_files=0,
        split_printstreams=False, seed=2, plugin_manager=PM)
    manager.start_manager()
    starts = np.array(gen.given)
    assert manager.o_counter == len(starts) == 4
    assert all(list(map(float, x)) in evaluated for x in starts)  # the optimizers began there
    strata = np.floor((starts + 4.0) / 2.0).astype(int)
    assert sorted(strata[:, 0].tolist()) == sorted(strata[:, 1].tolist()) == [0, 1, 2, 3]
