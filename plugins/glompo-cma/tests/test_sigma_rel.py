"""CMAOptimizer's step size relative to the box (``sigma_rel``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import glompo_cma.hooks
import numpy as np
import pytest
from glompo_cma import CMAOptimizer, relative_step

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector

PM = PluginManager(load_entrypoints=False, plugins=[("cma", glompo_cma.hooks)])


def initial_stds(opt: CMAOptimizer, bounds: list[tuple[float, float]]) -> np.ndarray:
    """Per-coordinate initial step of the optimizer's pycma strategy, in its units."""
    x0 = [(lo + hi) / 2 for lo, hi in bounds]
    opt._start(x0, bounds)
    es = opt.es
    assert es is not None
    return np.asarray(es.sigma * es.sigma_vec.scaling * np.ones(len(bounds)))


@pytest.mark.parametrize("width", [0.01, 10.24, 1000.0])
def test_the_step_is_sigma_rel_times_the_box_width(width: float) -> None:
    bounds = [(-width / 2 + 3, width / 2 + 3)] * 4
    opt = CMAOptimizer(sigma_rel=0.2, verbose=False, seed=1)
    np.testing.assert_allclose(initial_stds(opt, bounds), 0.2 * width, rtol=1e-12)
    assert opt.es is not None and opt.es.sigma0 == pytest.approx(0.2 * width)
    assert opt.sigma_rel == 0.2 and opt.sigma0 == 0.05  # the spec's sigma0 is untouched


def test_each_parameter_gets_its_own_width() -> None:
    bounds = [(0.0, 4.0), (10.0, 12.0), (-1e3, 1e3)]
    opt = CMAOptimizer(sigma_rel=0.25, verbose=False, seed=1)
    np.testing.assert_allclose(initial_stds(opt, bounds), [1.0, 0.5, 500.0], rtol=1e-12)
    sigma0, stds = relative_step(0.25, bounds)
    assert sigma0 == 500.0 and stds is not None
    np.testing.assert_allclose(stds, [0.002, 0.001, 1.0])


def test_the_same_run_in_other_units_is_the_same_run() -> None:
    """A task in units 1000 times larger, with sigma_rel, gives the same points scaled."""
    def run(scale: float) -> list[np.ndarray]:
        seen: list[np.ndarray] = []

        def f(x: Any) -> float:
            y = np.asarray(x, dtype=float) / scale
            seen.append(y)
            return float(np.sum((y - 0.3) ** 2))

        opt = CMAOptimizer(sigma_rel=0.2, verbose=False, seed=3, maxiter=15)
        opt.minimize(f, [-0.5 * scale] * 3, [(-scale, scale)] * 3)
        return seen

    a, b = run(1.0), run(1000.0)
    assert len(a) == len(b) > 100
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-9, atol=1e-12)


def test_a_scaled_subclass_takes_the_fraction_of_its_unit_box() -> None:
    class ScaledCMA(CMAOptimizer):
        scaling = "std"  # the manager gives it bounds [-1, 1]: width 2

    opt = ScaledCMA(sigma_rel=0.2, verbose=False, seed=1)
    # 0.4 in [-1, 1] is 0.2 of any task box once the manager maps it back
    np.testing.assert_allclose(initial_stds(opt, [(-1.0, 1.0)] * 3), 0.4)


def test_a_manager_run_with_sigma_rel_converges_in_any_units(tmp_path: Path) -> None:
    bounds = [(-5000.0, 5000.0)] * 3

    def shifted(x: Any) -> float:
        return float(np.sum(((np.asarray(x) - 1200.0) / 1000.0) ** 2))

    manager = GloMPOManager.new_manager(
        task=shifted, bounds=bounds,
        opt_selector=CycleSelector((CMAOptimizer, {"sigma_rel": 0.2, "verbose": False})),
        working_dir=tmp_path / "run", max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=1500), summary_files=0, seed=2, plugin_manager=PM)
    result = manager.start_manager()
    assert result.fx < 1e-10
    assert manager.opt_log.get_metadata(1, "init_kwargs")["sigma_rel"] == 0.2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sigma_rel": 0}, r"sigma_rel must be a finite number > 0 .*got sigma_rel=0"),
    ({"sigma_rel": float("nan")}, "sigma_rel must be a finite number > 0"),
    ({"sigma_rel": True}, "sigma_rel must be a finite number > 0"),
    ({"sigma_rel": "0.2"}, "sigma_rel must be a finite number > 0"),
    ({"sigma_rel": 0.2, "sigma0": 3.0}, r"give sigma0 \(task units\) or sigma_rel .*not both"),
    ({"sigma_rel": 0.2, "CMA_stds": [1, 2]}, "give sigma_rel or CMA_stds, not both"),
])
def test_bad_sigma_rel_names_the_problem(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CMAOptimizer(verbose=False, **kwargs)
