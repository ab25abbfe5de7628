"""Tests of the generators: start points of new optimizers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import pytest

from glompo_core.generators import (
    AnnealingGenerator,
    BaseGenerator,
    BasinHoppingGenerator,
    ExploitExploreGenerator,
    IncumbentGenerator,
    PerturbationGenerator,
    RandomGenerator,
    SinglePointGenerator,
)
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.protocols import ManagerView
from glompo_core.result import Result
from glompo_core.testing import FakeManagerView

BOUNDS: dict[str, list[tuple[float, float]]] = {
    "unit": [(-1.0, 1.0), (-1.0, 1.0)],
    # far from the origin, asymmetric, very different widths, one interval excluding 0
    "far": [(1e6, 1e6 + 3.0), (-250.0, -249.5), (-1.0, 1e4)],
    "tiny": [(5.0, 5.0 + 1e-9), (-3e-7, 2e-7)],
}


def view(**kwargs: Any) -> ManagerView:
    """A :class:`FakeManagerView`, typed as the protocol the components accept."""
    # cast: FakeManagerView.opt_log is typed ``BaseLogger | None`` (filled in __post_init__)
    return cast("ManagerView", FakeManagerView(**kwargs))


def sphere(x: Any) -> float:
    return float(np.sum(np.asarray(x, dtype=float) ** 2))


def make_log(n_parms: int, bests: Sequence[tuple[Any, float]]) -> BaseLogger:
    """A log where optimizer k+1 made one evaluation, ``bests[k] = (x, fx)``."""
    log = BaseLogger(n_parms)
    for opt_id, (x, fx) in enumerate(bests, start=1):
        log.add_optimizer(opt_id, "Dummy", 0.0)
        log.put_iteration(opt_id, np.array([opt_id]), np.array([x], dtype=float),
                          np.array([fx], dtype=float))
    return log


def corner_manager(bounds: Sequence[tuple[float, float]], f_counter: int = 0) -> ManagerView:
    """A manager whose incumbent lies on the lower corner, another optimizer on the upper one."""
    arr = np.array(bounds, dtype=float)
    low, high = arr[:, 0], arr[:, 1]
    log = make_log(len(arr), [(low, 1.0), (high, 2.0)])
    return view(bounds=bounds, f_counter=f_counter, o_counter=2, opt_log=log,
                           result=Result(x=low.copy(), fx=1.0), task=sphere)


def empty_manager(bounds: Sequence[tuple[float, float]]) -> ManagerView:
    return view(bounds=bounds, task=sphere)


def _center(bounds: Sequence[tuple[float, float]]) -> np.ndarray:
    return np.array(bounds, dtype=float).mean(axis=1)


def _width(bounds: Sequence[tuple[float, float]]) -> np.ndarray:
    arr = np.array(bounds, dtype=float)
    return arr[:, 1] - arr[:, 0]


FACTORIES: dict[str, Callable[[Sequence[tuple[float, float]]], BaseGenerator]] = {
    "random": lambda b: RandomGenerator(),
    "random-own-bounds": lambda b: RandomGenerator(bounds=b),
    "single-random": lambda b: SinglePointGenerator(),
    "single-given": lambda b: SinglePointGenerator(x=_center(b)),
    "incumbent": lambda b: IncumbentGenerator(),
    # x0 on the lower bound with a scale much larger than the interval: heavy truncation
    "perturbation-edge": lambda b: PerturbationGenerator(
        x0=np.array(b)[:, 0], scale=3 * _width(b)),
    "perturbation-centre": lambda b: PerturbationGenerator(x0=_center(b), scale=_width(b) / 10),
    "annealing": lambda b: AnnealingGenerator(),
    "exploit-explore": lambda b: ExploitExploreGenerator(max_func_calls=100),
    "basin-hopping": lambda b: BasinHoppingGenerator(max_step_size=float(_width(b).max())),
    "basin-hopping-small-step": lambda b: BasinHoppingGenerator(
        max_step_size=float(_width(b).min()) / 4),
}


def _assert_inside(points: np.ndarray, bounds: Sequence[tuple[float, float]]) -> None:
    arr = np.array(bounds, dtype=float)
    assert points.shape[1] == len(arr)
    assert np.all(np.isfinite(points))
    below = points < arr[:, 0]
    above = points > arr[:, 1]
    assert not below.any(), f"{below.sum()} coordinates below the lower bound"
    assert not above.any(), f"{above.sum()} coordinates above the upper bound"


@pytest.mark.parametrize("bounds_name", list(BOUNDS))
@pytest.mark.parametrize("with_incumbent", [False, True], ids=["no-incumbent", "incumbent"])
@pytest.mark.parametrize("factory", list(FACTORIES))
def test_thousand_points_within_bounds(factory: str, bounds_name: str,
                                       with_incumbent: bool) -> None:
    bounds = BOUNDS[bounds_name]
    gen = FACTORIES[factory](bounds)
    gen.set_seed(1234)
    manager = corner_manager(bounds, f_counter=50) if with_incumbent else empty_manager(bounds)
    points = np.array([gen.generate(manager) for _ in range(1000)])
    assert points.shape == (1000, len(bounds))
    _assert_inside(points, bounds)


@pytest.mark.parametrize("factory", list(FACTORIES))
def test_seeded_generators_repeat_exactly(factory: str) -> None:
    bounds = BOUNDS["far"]

    def run(seed: int) -> np.ndarray:
        gen = FACTORIES[factory](bounds)
        gen.set_seed(seed)
        managers = [empty_manager(bounds), corner_manager(bounds, f_counter=30)]
        return np.array([gen.generate(managers[i % 2]) for i in range(40)])

    first, again = run(7), run(7)
    np.testing.assert_array_equal(first, again)
    if factory != "single-given":  # the only generator without random choices
        assert not np.array_equal(first, run(8)), "a different seed should give other points"


def test_random_generator_is_uniform() -> None:
    bounds = BOUNDS["far"]
    gen = RandomGenerator()
    gen.set_seed(3)
    pts = np.array([gen.generate(empty_manager(bounds)) for _ in range(4000)])
    arr = np.array(bounds)
    frac = (pts - arr[:, 0]) / (arr[:, 1] - arr[:, 0])
    np.testing.assert_allclose(frac.mean(axis=0), 0.5, atol=0.03)
    np.testing.assert_allclose(frac.std(axis=0), 1 / np.sqrt(12), atol=0.02)


def test_single_point_generator() -> None:
    bounds = BOUNDS["far"]
    given = SinglePointGenerator(x=[1e6 + 1, -249.9, 3.0])
    out = given.generate(empty_manager(bounds))
    np.testing.assert_array_equal(out, [1e6 + 1, -249.9, 3.0])
    out[0] = 0.0  # the caller cannot change the stored point
    np.testing.assert_array_equal(given.generate(empty_manager(bounds)), [1e6 + 1, -249.9, 3.0])

    drawn = SinglePointGenerator()
    drawn.set_seed(5)
    first = drawn.generate(empty_manager(bounds))
    assert all(np.array_equal(first, drawn.generate(corner_manager(bounds))) for _ in range(5))

    outside = SinglePointGenerator(x=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="inside the bounds"):
        outside.generate(empty_manager(bounds))
    with pytest.raises(ValueError, match="inside the bounds"):
        SinglePointGenerator(bounds=bounds, x=[0.0, 0.0, 0.0])


def test_incumbent_generator_returns_incumbent_or_random() -> None:
    bounds = BOUNDS["far"]
    x = np.array([1e6 + 2.5, -249.75, 42.0])
    log = make_log(3, [(x, -3.0)])
    manager = view(bounds=bounds, opt_log=log, result=Result(x=x.copy(), fx=-3.0))
    gen = IncumbentGenerator()
    gen.set_seed(0)
    for _ in range(3):
        np.testing.assert_array_equal(gen.generate(manager), x)

    no_incumbent = empty_manager(bounds)
    pts = np.array([gen.generate(no_incumbent) for _ in range(50)])
    _assert_inside(pts, bounds)
    assert len(np.unique(pts[:, 2])) == 50, "without an incumbent the points are random"


def test_perturbation_spread_follows_scale() -> None:
    bounds = [(-1e4, 1e4)] * 3
    scale = np.array([0.5, 2.0, 10.0])
    x0 = np.array([1.0, -3.0, 7.0])
    gen = PerturbationGenerator(x0=x0, scale=scale)
    gen.set_seed(11)
    pts = np.array([gen.generate(empty_manager(bounds)) for _ in range(5000)])
    np.testing.assert_allclose(pts.std(axis=0), scale, rtol=0.05)
    np.testing.assert_allclose(pts.mean(axis=0), x0, atol=0.05 * scale.max())

    wider = PerturbationGenerator(x0=x0, scale=2 * scale)
    wider.set_seed(11)
    pts2 = np.array([wider.generate(empty_manager(bounds)) for _ in range(5000)])
    np.testing.assert_allclose(pts2.std(axis=0) / pts.std(axis=0), 2.0, rtol=0.08)


@pytest.mark.parametrize("scale", [1.0, 2.0], ids=["normal-proposal", "uniform-proposal"])
def test_perturbation_matches_truncated_normal(scale: float) -> None:
    # x0 = 0 in [-1, 3]: asymmetric truncation; both proposal schemes are exercised
    bounds = [(-1.0, 3.0)]
    gen = PerturbationGenerator(x0=[0.0], scale=scale)
    gen.set_seed(2)
    pts = np.array([gen.generate(empty_manager(bounds))[0] for _ in range(20000)])
    grid = np.linspace(-1.0, 3.0, 200001)
    dens = np.exp(-0.5 * (grid / scale) ** 2)
    dens /= dens.sum()
    mean = float((grid * dens).sum())
    std = float(np.sqrt(((grid - mean) ** 2 * dens).sum()))
    assert pts.mean() == pytest.approx(mean, abs=0.03)
    assert pts.std() == pytest.approx(std, rel=0.03)


def test_perturbation_x0_must_be_inside_bounds() -> None:
    with pytest.raises(ValueError, match="x0 must lie inside the bounds"):
        PerturbationGenerator(x0=[5.0], scale=1.0, bounds=[(0.0, 1.0)])
    gen = PerturbationGenerator(x0=[5.0], scale=1.0)
    with pytest.raises(ValueError, match="x0 must lie inside the bounds"):
        gen.generate(empty_manager([(0.0, 1.0)]))


def test_basin_hopping_from_a_bound_moves_inward() -> None:
    bounds = BOUNDS["far"]
    step = 0.1
    # a long interval keeps the step fixed (no optimizer ever improves here, so it would shrink)
    gen = BasinHoppingGenerator(max_step_size=step, temperature=0.0, interval=10_000)
    gen.set_seed(9)
    manager = corner_manager(bounds)  # incumbent on the lower corner, other on the upper one
    low = np.array(bounds)[:, 0]
    pts = np.array([gen.generate(manager) for _ in range(1000)])
    _assert_inside(pts, bounds)
    dist = pts - low
    assert np.all(dist <= gen.max_step_size + 1e-9)
    # resampling, not clipping: (almost) no point sits exactly on the bound
    assert np.mean(pts == low) < 0.01
    # coordinates spread over the whole window inside the bounds
    assert np.all(dist.mean(axis=0) == pytest.approx(np.minimum(step, _width(bounds)) / 2,
                                                     rel=0.1))


def test_basin_hopping_random_without_incumbent_and_metropolis() -> None:
    bounds = [(0.0, 10.0), (0.0, 10.0)]
    gen = BasinHoppingGenerator(max_step_size=0.01, temperature=1e9)
    gen.set_seed(4)
    pts = np.array([gen.generate(empty_manager(bounds)) for _ in range(200)])
    assert pts.std(axis=0).min() > 2.0  # random over the whole box

    # Metropolis: the other optimizer's best (5 worse) is used with probability exp(-5 / T)
    log = make_log(2, [([1.0, 1.0], 0.0), ([9.0, 9.0], 5.0)])
    manager = view(bounds=bounds, opt_log=log, o_counter=2,
                              result=Result(x=np.array([1.0, 1.0]), fx=0.0))

    def share_near_other(g: BasinHoppingGenerator) -> float:
        pts = np.array([g.generate(manager) for _ in range(1000)])
        return float(np.mean(np.all(np.abs(pts - 9.0) <= 0.01 + 1e-12, axis=1)))

    assert share_near_other(gen) > 0.99
    half = BasinHoppingGenerator(max_step_size=0.01, temperature=5 / np.log(2))
    half.set_seed(4)
    assert 0.45 < share_near_other(half) < 0.55

    cold = BasinHoppingGenerator(max_step_size=0.01, temperature=0.0)
    cold.set_seed(4)
    pts = np.array([cold.generate(manager) for _ in range(200)])
    assert np.all(np.abs(pts - 1.0) <= 0.01 + 1e-12)


def test_basin_hopping_step_adapts() -> None:
    bounds = [(0.0, 10.0)]
    gen = BasinHoppingGenerator(max_step_size=1.0, interval=2, factor=0.5)
    gen.set_seed(0)
    manager = view(bounds=bounds, opt_log=make_log(1, [([5.0], 1.0)]), o_counter=1,
                              result=Result(x=np.array([5.0]), fx=1.0))
    for _ in range(4):  # the best never changes hands: acceptance 0, so the step shrinks
        gen.generate(manager)
    assert gen.step_size == pytest.approx(0.25)


def test_exploit_explore_moves_from_exploring_to_exploiting() -> None:
    bounds = BOUNDS["far"]
    good = np.array([1e6 + 0.5, -249.6, 9000.0])
    bad = np.array([1e6 + 2.9, -249.9, 10.0])
    log = make_log(3, [(good, 1.0), (bad, 5.0)])
    max_calls = 1000
    gen = ExploitExploreGenerator(max_func_calls=max_calls)
    gen.set_seed(21)
    scale = _width(bounds)

    def mean_distance(f_counter: int) -> float:
        manager = view(bounds=bounds, opt_log=log, f_counter=f_counter,
                                  result=Result(x=good.copy(), fx=1.0))
        pts = np.array([gen.generate(manager) for _ in range(400)])
        _assert_inside(pts, bounds)
        return float(np.mean(np.linalg.norm((pts - good) / scale, axis=1)))

    distances = [mean_distance(int(f * max_calls)) for f in (0.0, 0.25, 0.5, 0.75, 1.0, 2.0)]
    assert all(a > b for a, b in itertools.pairwise(distances[:5])), distances
    assert distances[0] > 0.3
    assert distances[4] == 0.0 and distances[5] == 0.0  # fully exploiting the best optimizer

    early = ExploitExploreGenerator(max_func_calls=max_calls, focus=0.5)
    late = ExploitExploreGenerator(max_func_calls=max_calls, focus=2.0)
    half = view(bounds=bounds, f_counter=max_calls // 2)
    assert early.blend(half) == pytest.approx(0.5 ** 0.5)
    assert late.blend(half) == pytest.approx(0.25)


def test_exploit_explore_is_random_without_optimizers() -> None:
    bounds = BOUNDS["unit"]
    gen = ExploitExploreGenerator(max_func_calls=10)
    gen.set_seed(1)
    manager = view(bounds=bounds, f_counter=100)
    pts = np.array([gen.generate(manager) for _ in range(100)])
    assert pts.std(axis=0).min() > 0.3


def test_exploit_explore_single_optimizer_is_exploited() -> None:
    bounds = BOUNDS["unit"]
    log = make_log(2, [([0.25, -0.5], 3.0)])
    gen = ExploitExploreGenerator(max_func_calls=10)
    gen.set_seed(1)
    manager = view(bounds=bounds, opt_log=log, f_counter=10)
    np.testing.assert_array_equal(gen.generate(manager), [0.25, -0.5])


def test_annealing_evaluates_the_task_without_counting() -> None:
    bounds = BOUNDS["far"]
    calls: list[np.ndarray] = []

    def task(x: Sequence[float]) -> float:
        calls.append(np.array(x))
        return sphere(x)

    gen = AnnealingGenerator()
    gen.set_seed(0)
    manager = view(bounds=bounds, task=task)
    for _ in range(5):
        gen.generate(manager)
    assert gen.n_evals == len(calls) > 0
    assert manager.f_counter == 0 and len(manager.opt_log) == 0
    _assert_inside(np.array(calls), bounds)


def test_annealing_uses_given_task_and_needs_one() -> None:
    bounds = BOUNDS["unit"]
    seen: list[int] = []

    def own(x: Sequence[float]) -> float:
        seen.append(1)
        return sphere(x)

    gen = AnnealingGenerator(task=own)
    gen.set_seed(0)
    gen.generate(view(bounds=bounds, task=None))
    assert seen

    with pytest.raises(ValueError, match="needs a task"):
        AnnealingGenerator().generate(view(bounds=bounds, task=None))


def test_annealing_survives_non_finite_task() -> None:
    bounds = BOUNDS["unit"]
    gen = AnnealingGenerator(task=lambda x: float("nan"))
    gen.set_seed(0)
    pts = np.array([gen.generate(view(bounds=bounds)) for _ in range(3)])
    _assert_inside(pts, bounds)


def test_annealing_improves_on_a_sphere() -> None:
    bounds = [(-5.0, 5.0)] * 2
    gen = AnnealingGenerator(task=sphere)
    gen.set_seed(3)
    manager = view(bounds=bounds)
    values = [sphere(gen.generate(manager)) for _ in range(300)]
    assert min(values) < 0.5  # random points in the box would average 16.7


def test_generator_bounds_must_match_run() -> None:
    gen = RandomGenerator(bounds=[(0.0, 1.0)] * 2)
    with pytest.raises(ValueError, match="2 rows but the run has 3 parameters"):
        gen.generate(empty_manager(BOUNDS["far"]))


BAD_ARGS: list[tuple[Callable[[], Any], str]] = [
    (lambda: RandomGenerator(bounds=[(1.0, 0.0)]), "bounds"),
    (lambda: RandomGenerator(bounds=[(0.0, float("inf"))]), "bounds"),
    (lambda: RandomGenerator(bounds=[1.0, 2.0]), "bounds"),  # type: ignore[list-item]
    (lambda: IncumbentGenerator(bounds="abc"), "bounds"),  # type: ignore[arg-type]
    (lambda: SinglePointGenerator(x=[float("nan")]), "x must"),
    (lambda: SinglePointGenerator(bounds=[(0.0, 1.0)], x=[0.5, 0.5]), "x has 2 values"),
    (lambda: PerturbationGenerator(x0=[0.0, 0.0], scale=[1.0]), "scale must"),
    (lambda: PerturbationGenerator(x0=[0.0], scale=0.0), "scale must"),
    (lambda: PerturbationGenerator(x0=[0.0], scale=-1.0), "scale must"),
    (lambda: PerturbationGenerator(x0=[], scale=1.0), "x0 must"),
    (lambda: AnnealingGenerator(qa=1.0), "qa must"),
    (lambda: AnnealingGenerator(qv=3.0), "qv must"),
    (lambda: AnnealingGenerator(qv=1.0), "qv must"),
    (lambda: AnnealingGenerator(initial_temp=0.0), "initial_temp must"),
    (lambda: AnnealingGenerator(restart_temp_ratio=1.0), "restart_temp_ratio must"),
    (lambda: AnnealingGenerator(task=5), "task must"),  # type: ignore[arg-type]
    (lambda: ExploitExploreGenerator(max_func_calls=0), "max_func_calls must"),
    (lambda: ExploitExploreGenerator(max_func_calls=10.5), "max_func_calls must"),  # type: ignore[arg-type]
    (lambda: ExploitExploreGenerator(max_func_calls=10, focus=0), "focus must"),
    (lambda: BasinHoppingGenerator(temperature=-1.0), "temperature must"),
    (lambda: BasinHoppingGenerator(max_step_size=0.0), "max_step_size must"),
    (lambda: BasinHoppingGenerator(target_accept_rate=1.0), "target_accept_rate must"),
    (lambda: BasinHoppingGenerator(interval=0), "interval must"),
    (lambda: BasinHoppingGenerator(factor=1.5), "factor must"),
]


@pytest.mark.parametrize(("make", "match"), BAD_ARGS, ids=[m for _, m in BAD_ARGS])
def test_constructor_validation(make: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_str_names_class_and_settings() -> None:
    assert str(RandomGenerator()) == "RandomGenerator(bounds=None)"
    assert str(RandomGenerator(bounds=[(0, 1)])) == "RandomGenerator(bounds=[[0.0, 1.0]])"
    assert str(ExploitExploreGenerator(max_func_calls=10, focus=2)) == \
        "ExploitExploreGenerator(max_func_calls=10, focus=2.0, bounds=None)"
    text = str(PerturbationGenerator(x0=[1.0, 2.0], scale=0.5))
    assert text.startswith("PerturbationGenerator(") and "x0=[1.0, 2.0]" in text
    assert "scale=[0.5, 0.5]" in text
    assert "max_step_size=0.5" in str(BasinHoppingGenerator())
    assert "initial_temp=5230.0" in str(AnnealingGenerator())
    assert "x=[0.5]" in str(SinglePointGenerator(x=[0.5]))
    assert str(IncumbentGenerator()) == "IncumbentGenerator(bounds=None)"


def test_all_lists_base_then_generators() -> None:
    import glompo_core.generators as gens

    assert gens.__all__[0] == "BaseGenerator"
    for name in gens.__all__[1:]:
        cls = getattr(gens, name)
        assert issubclass(cls, BaseGenerator)
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        assert summary.endswith("."), name
