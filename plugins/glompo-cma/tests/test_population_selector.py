"""CMAPopulationSelector (glompo-cma): IPOP/BIPOP regimes across the optimizers a run starts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import glompo_cma.hooks
import numpy as np
import pytest
from glompo_cma import CMAOptimizer, CMAPopulationSelector
from glompo_cma.selector import DEFAULT_SIGMA_REL

from glompo_core import GloMPOManager
from glompo_core.benchmarks import Rastrigin
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.runfile import load_run_file
from glompo_core.stoppers import BestUnmoving
from glompo_core.testing import FakeManagerView

PM = PluginManager(load_entrypoints=False, plugins=[("cma", glompo_cma.hooks)])
QUIET = (CMAOptimizer, {"verbose": False})


def view10(**kwargs: Any) -> FakeManagerView:
    """A 10-D view (popsize0 = 4 + int(3 ln 10) = 10) with four slots."""
    return FakeManagerView(bounds=[(-5.0, 5.0)] * 10, max_jobs=kwargs.pop("max_jobs", 4),
                           **kwargs)


def start(selector: CMAPopulationSelector, view: FakeManagerView,
          slots: int = 4) -> dict[str, Any]:
    """Ask the selector for the next optimizer and 'start' it: return its init kwargs."""
    choice = selector.select_optimizer(view, view.opt_log, slots)
    assert isinstance(choice, tuple)
    cls, init, _call = choice
    assert cls is CMAOptimizer
    view.o_counter += 1
    view.opt_log.add_optimizer(view.o_counter, cls.__name__, 0.0)
    return init


def spend(view: FakeManagerView, opt_id: int, n: int, fx: float = 1.0) -> None:
    """Record ``n`` evaluations of optimizer ``opt_id`` in the view's log, all of value fx."""
    first = view.f_counter + 1
    view.opt_log.put_iteration(opt_id, np.arange(first, first + n), np.zeros((n, view.n_parms)),
                               np.full(n, fx))
    view.f_counter += n


def start_companion(selector: CMAPopulationSelector, view: FakeManagerView,
                    slots: int) -> dict[str, Any]:
    """Ask for the next optimizer, which must be the RandomOptimizer companion; start it."""
    choice = selector.select_optimizer(view, view.opt_log, slots)
    assert isinstance(choice, tuple) and choice[0] is RandomOptimizer
    view.o_counter += 1
    view.opt_log.add_optimizer(view.o_counter, "RandomOptimizer", 0.0)
    return choice[1]


def seeded(*opts: Any, seed: int = 1, **kwargs: Any) -> CMAPopulationSelector:
    selector = CMAPopulationSelector(*(opts or (QUIET,)), **kwargs)
    selector.set_seed(seed)
    return selector


# ---------------------------------------------------------------------------- registration


def test_registered_by_name_and_alias_and_built_from_a_run_file(tmp_path: Path) -> None:
    assert PM.get("selector", "CMAPopulationSelector") is CMAPopulationSelector
    assert PM.get("selector", "bipop") is CMAPopulationSelector
    run = tmp_path / "run.yml"
    run.write_text("task: Rastrigin\ntask_kwargs: {dims: 5}\nworking_dir: out\n"
                   "opt_selector:\n  CMAPopulationSelector:\n"
                   "    avail_opts: [{cma: {init: {sigma_rel: 0.3, verbose: false}}}]\n"
                   "    bipop: 2\n"
                   "exit_conditions: MaxFuncCalls(fmax=100)\n")
    selector = load_run_file(run, plugin_manager=PM)["opt_selector"]
    assert isinstance(selector, CMAPopulationSelector)
    assert selector.bipop == 2.0
    assert selector.avail_opts[0] == (CMAOptimizer, {"sigma_rel": 0.3, "verbose": False}, {})
    assert str(selector) == ("CMAPopulationSelector(CMAOptimizer(init={'sigma_rel': 0.3, "
                             "'verbose': False}), bipop=2, incpopsize=2)")


def test_without_an_optimizer_it_starts_plain_cma_with_a_relative_step() -> None:
    selector = seeded(CMAOptimizer)
    init = start(selector, view10())
    assert init == {"popsize": 10, "sigma_rel": DEFAULT_SIGMA_REL}
    assert CMAPopulationSelector().avail_opts[0][0] is CMAOptimizer


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    ((QUIET, QUIET), {}, ValueError, "give at most one, got 2"),
    ((RandomOptimizer,), {}, TypeError, "CMA-ES only: give CMAOptimizer .* got RandomOptimizer"),
    ((), {"bipop": "yes"}, ValueError, "bipop must be True, False or a number >= 0"),
    ((), {"bipop": -1}, ValueError, "bipop must be"),
    ((), {"incpopsize": 1}, ValueError, r"incpopsize must be a number > 1"),
    ((), {"min_generations": 0}, ValueError, "min_generations must be a whole number >= 1"),
    ((), {"budget": 2.5}, ValueError, "budget must be a whole number >= 1"),
    ((), {"first_alone": "yes"}, ValueError, "first_alone must be true or false"),
    ((), {"large_alone": 1}, ValueError, "large_alone must be true or false"),
    ((), {"companion": RandomOptimizer, "companion_share": 1}, ValueError,
     "companion_share must be a number between 0 and 1"),
    ((), {"companion": "NoSuchOptimizer"}, Exception, "NoSuchOptimizer"),
])
def test_bad_arguments_name_the_problem(args: tuple[Any, ...], kwargs: dict[str, Any],
                                        error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        CMAPopulationSelector(*args, **kwargs)


# ------------------------------------------------------------------------------ the rule


def test_ipop_doubles_the_population_of_every_later_run() -> None:
    selector = seeded(bipop=False)
    view = view10()
    pops = [start(selector, view)["popsize"] for _ in range(5)]
    assert pops == [10, 20, 40, 80, 160]
    assert [s.regime for s in selector.starts] == ["first"] + ["large"] * 4
    assert [s.large_index for s in selector.starts] == [0, 1, 2, 3, 4]
    assert all(s.sigma_factor == 1.0 and s.maxfevals is None for s in selector.starts)


def test_incpopsize_and_a_given_popsize_set_the_sequence() -> None:
    selector = seeded((CMAOptimizer, {"popsize": 6, "verbose": False}), bipop=False,
                      incpopsize=3)
    view = view10()
    assert [start(selector, view)["popsize"] for _ in range(4)] == [6, 18, 54, 162]


def test_bipop_alternates_while_nothing_is_spent_then_balances_the_evaluations() -> None:
    selector = seeded()
    view = view10()
    for _ in range(4):  # the first round of four slots
        start(selector, view)
    assert [(s.regime, s.popsize) for s in selector.starts[:2]] == [("first", 10),
                                                                    ("large", 20)]
    assert [s.regime for s in selector.starts] == ["first", "large", "small", "large"]
    assert selector.starts[3].popsize == 40
    spend(view, 1, 3000)   # first run: small budget 3000
    spend(view, 2, 1000)   # large budget 1000 + 1000
    spend(view, 4, 1000)
    assert selector.spent(view.opt_log) == {"small": 3000, "large": 2000}
    start(selector, view)  # 3000 >= 2000: large, the third one
    assert (selector.starts[-1].regime, selector.starts[-1].popsize) == ("large", 80)
    spend(view, 5, 2000)   # large 4000 > small 3000: small
    init = start(selector, view)
    small = selector.starts[-1]
    assert small.regime == "small" and small.large_index == 3
    assert small.maxfevals == 2000 == init["maxfevals"]  # half the large budget
    assert 10 <= small.popsize <= 80 and init["popsize"] == small.popsize
    assert 0.01 < small.sigma_factor <= 1
    assert init["sigma_rel"] == pytest.approx(DEFAULT_SIGMA_REL * small.sigma_factor)


def test_small_runs_draw_their_population_and_step_as_bipop_does() -> None:
    selector = seeded(seed=7)
    view = view10()
    start(selector, view)
    for _ in range(3):   # three large runs: k = 3, populations up to 10 * 2**3
        spend(view, view.o_counter, 10_000 if view.o_counter == 1 else 1)
        start(selector, view)
    spend(view, view.o_counter, 100_000)
    smalls = []
    for _ in range(200):  # every later run is small: the large regime has spent more
        start(selector, view)
        smalls.append(selector.starts[-1])
    assert {s.regime for s in smalls} == {"small"}
    pops = np.array([s.popsize for s in smalls])
    factors = np.array([s.sigma_factor for s in smalls])
    assert pops.min() >= 10 and pops.max() <= 80
    assert np.median(pops) < 20  # int(10 * 8 ** (v * v)): mostly small
    assert factors.min() >= 0.01 and factors.max() <= 1
    # log10 of the factor is uniform in [-2, 0]: its mean is near -1
    assert np.mean(np.log10(factors)) == pytest.approx(-1, abs=0.15)


def test_the_step_factor_applies_to_the_step_the_optimizer_is_given() -> None:
    selector = seeded((CMAOptimizer, {"sigma0": 3.0, "maxfevals": 500, "verbose": False}))
    view = view10()
    start(selector, view)
    spend(view, 1, 100)
    start(selector, view)               # large
    spend(view, 2, 5000)
    init = start(selector, view)        # small: sigma0 scaled, the user's smaller maxfevals
    small = selector.starts[-1]
    assert small.regime == "small"
    assert init["sigma0"] == pytest.approx(3.0 * small.sigma_factor)
    assert "sigma_rel" not in init
    assert small.maxfevals == 2500 and init["maxfevals"] == 500


def test_large_populations_are_capped_by_the_budget_share() -> None:
    # budget 20000, four slots: a share of 5000 at the start allows popsize 50 for the
    # default 10 * d = 100 generations
    selector = seeded(bipop=False, budget=20_000)
    view = view10()
    assert [start(selector, view)["popsize"] for _ in range(4)] == [10, 20, 40, 50]
    view.f_counter = 16_000  # (20000 - 16000) // 4 = 1000: popsize 10, never below popsize0
    assert start(selector, view)["popsize"] == 10
    selector = seeded(bipop=False, budget=20_000, min_generations=25)
    assert [start(selector, view10())["popsize"] for _ in range(5)] == [10, 20, 40, 80, 160]


def test_the_budget_comes_from_the_views_exit_conditions() -> None:
    @dataclasses.dataclass
    class ViewWithExit(FakeManagerView):
        exit_conditions: Any = None

    view = ViewWithExit(bounds=[(-5.0, 5.0)] * 10, max_jobs=4,
                        exit_conditions=MaxFuncCalls(fmax=20_000))
    selector = seeded(bipop=False)
    assert [start(selector, view)["popsize"] for _ in range(4)] == [10, 20, 40, 50]


def test_the_budget_comes_from_the_views_run_budget() -> None:
    view = FakeManagerView(bounds=[(-5.0, 5.0)] * 10, max_jobs=4)
    view.run_budget = 20_000  # what the manager's view reports
    selector = seeded(bipop=False)
    assert selector.run_budget(view) == 20_000
    assert [start(selector, view)["popsize"] for _ in range(4)] == [10, 20, 40, 50]
    uncapped = seeded(bipop=False)
    view.run_budget = None
    assert uncapped.run_budget(view) is None
    assert [start(uncapped, view)["popsize"] for _ in range(4)] == [10, 20, 40, 80]


def test_first_alone_gives_the_first_run_every_worker_and_later_runs_their_own() -> None:
    selector = seeded(first_alone=True, budget=20_000)
    view = view10(max_jobs=4)
    # with fewer free slots than its workers the first run waits
    assert selector.select_optimizer(view, view.opt_log, 3) is None
    first = start(selector, view)
    assert (first["workers"], first["popsize"]) == (4, 10)  # popsize0 10 >= 4 workers
    spend(view, 1, 500)
    later = [start(selector, view, slots=1) for _ in range(3)]
    assert all("workers" not in init for init in later)
    assert [s.regime for s in selector.starts] == ["first", "large", "large", "large"]
    many = seeded(first_alone=True)
    assert start(many, view10(max_jobs=16), slots=16)["popsize"] == 16  # one per worker
    assert "first_alone=True" in str(many)


def test_first_workers_leaves_slots_for_large_runs_beside_the_first() -> None:
    selector = seeded(first_workers=-1, budget=20_000)
    view = view10(max_jobs=4)
    first = start(selector, view)
    assert (first["workers"], first["popsize"]) == (3, 10)  # all but one of the 4
    beside = start(selector, view, slots=1)  # nothing spent yet: the free slot goes large
    assert "workers" not in beside and beside["popsize"] == 20
    assert [s.regime for s in selector.starts] == ["first", "large"]
    assert "first_workers=-1" in str(selector)
    assert start(seeded(first_workers=2), view10(max_jobs=4))["workers"] == 2
    assert start(seeded(first_workers=9), view10(max_jobs=4))["workers"] == 4  # capped
    for bad in (1.5, True, "3"):
        with pytest.raises(ValueError, match="first_workers must be a whole number"):
            seeded(first_workers=bad)
    with pytest.raises(ValueError, match="not both"):
        seeded(first_alone=True, first_workers=-1)


def test_large_alone_gives_every_large_run_all_workers_and_the_whole_budget_left() -> None:
    # budget 20000, four slots: alone, a large run's share is all that is left (20000 -
    # 500 = 19500), so its population is not capped at 50 (5000 // 100) but doubles
    selector = seeded(bipop=False, first_alone=True, large_alone=True, budget=20_000)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 500)
    assert selector.select_optimizer(view, view.opt_log, 3) is None  # waits for all four
    inits = [start(selector, view, slots=4) for _ in range(4)]
    assert [init["workers"] for init in inits] == [4, 4, 4, 4]
    assert [init["popsize"] for init in inits] == [20, 40, 80, 160]
    view.f_counter = 19_000  # 1000 left: 1000 // 100 = 10, yet at least one per worker
    assert start(selector, view, slots=4)["popsize"] == 10
    plain = seeded(bipop=False, first_alone=True, budget=20_000)
    plain_view = view10(max_jobs=4)
    start(plain, plain_view)
    spend(plain_view, 1, 500)
    assert [start(plain, plain_view, slots=1)["popsize"] for _ in range(3)] == [20, 40, 48]
    assert "large_alone=True" in str(selector) and "large_alone" not in str(plain)
    # BIPOP's small runs keep the optimizer's own workers
    bipop = seeded(first_alone=True, large_alone=True, budget=20_000)
    view = view10(max_jobs=4)
    start(bipop, view)
    spend(view, 1, 500)
    large = start(bipop, view)
    spend(view, 2, 1000)  # small 500 < large 1000: a small run next
    small = start(bipop, view, slots=1)
    assert [s.regime for s in bipop.starts] == ["first", "large", "small"]
    assert large["workers"] == 4 and "workers" not in small


def test_small_alone_runs_the_small_runs_one_at_a_time_with_every_free_worker() -> None:
    # BIPOP's budget split holds only if small runs do not start side by side, each
    # allowed half the large runs' evaluations: with small_alone they run one at a time
    selector = seeded(first_alone=True, large_alone=True, small_alone=True, budget=20_000,
                      companion=(RandomOptimizer, {"iters": 5}, {}), companion_share=0.1)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 500)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start_companion(selector, view, 4)  # 0 < 0.1 * 500
    large = start(selector, view, slots=3)  # beside the running companion
    spend(view, 3, 3000)
    view.opt_log.put_metadata(3, "t_end", 3.0)  # small 500 < large 3000: small runs next
    small = start(selector, view, slots=3)
    assert [s.regime for s in selector.starts] == ["first", "companion", "large", "small"]
    assert large["workers"] == small["workers"] == 3  # every worker the companion leaves
    assert small["popsize"] >= 3
    spend(view, 2, 400)  # the companion ends, over its share: 400 of 3900 >= 0.1
    view.opt_log.put_metadata(2, "t_end", 2.0)
    # its free slot does not start a second small run beside the first: the next small
    # run wants every worker, so it waits for the running one to end
    assert selector.select_optimizer(view, view.opt_log, 1) is None
    assert "small_alone=True" in str(selector)
    # without small_alone, small runs keep the optimizer's own workers, side by side
    plain = seeded(first_alone=True, large_alone=True, budget=20_000)
    view = view10(max_jobs=4)
    start(plain, view)
    spend(view, 1, 500)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start(plain, view)
    spend(view, 2, 3000)
    view.opt_log.put_metadata(2, "t_end", 2.0)
    smalls = [start(plain, view, slots=1) for _ in range(2)]
    assert all("workers" not in init for init in smalls)
    assert [s.regime for s in plain.starts][-2:] == ["small", "small"]
    with pytest.raises(ValueError, match="small_alone must be true or false"):
        seeded(small_alone=1)


def test_a_companion_runs_one_at_a_time_up_to_its_share() -> None:
    companion: tuple[type, dict[str, Any], dict[str, Any]] = (RandomOptimizer, {"iters": 5}, {})
    selector = seeded(first_alone=True, budget=20_000, companion=companion,
                      companion_share=0.25)
    view = view10(max_jobs=4)

    def next_start() -> tuple[type, dict[str, Any]]:
        choice = selector.select_optimizer(view, view.opt_log, 1)
        assert isinstance(choice, tuple)
        view.o_counter += 1
        view.opt_log.add_optimizer(view.o_counter, choice[0].__name__, 0.0)
        return choice[0], choice[1]

    assert start(selector, view)["workers"] == 4  # the first run is CMA-ES, alone
    spend(view, 1, 1000)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    assert next_start() == (RandomOptimizer, {"iters": 5})  # 0 < 0.25 * 1000
    assert [next_start()[0] for _ in range(3)] == [CMAOptimizer] * 3  # one at a time
    assert [s.regime for s in selector.starts] == ["first", "companion", "large", "large",
                                                   "large"]
    spend(view, 2, 600)  # the companion ended with 600 of 1600: 0.375 >= 0.25
    view.opt_log.put_metadata(2, "t_end", 2.0)
    assert next_start()[0] is CMAOptimizer
    spend(view, 3, 1200)  # a large run: 600 of 2800 < 0.25, the companion is due again
    assert next_start()[0] is RandomOptimizer
    assert selector.spent(view.opt_log) == {"small": 1000, "large": 1200, "companion": 600}
    assert "companion=RandomOptimizer, companion_share=0.25" in str(selector)
    # no companion in the first round, while nothing is spent
    first_round = seeded(budget=20_000, companion=companion)
    view = view10(max_jobs=4)
    assert [start(first_round, view, slots=1) is not None for _ in range(4)] == [True] * 4
    assert all(s.regime != "companion" for s in first_round.starts)


@pytest.mark.parametrize(("companion_fx", "earns", "next_regime"), [
    (5.0, True, "small"),      # worse than the CMA-ES runs: no second companion run
    (0.5, True, "companion"),  # it holds the best value: it has earned its next run
    (5.0, False, "companion"),  # without companion_earns, only the share counts
])
def test_with_companion_earns_a_companion_runs_again_only_while_it_holds_the_best(
        companion_fx: float, earns: bool, next_regime: str) -> None:
    selector = seeded(first_alone=True, large_alone=True, budget=20_000,
                      companion=(RandomOptimizer, {"iters": 5}, {}), companion_earns=earns)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 1000, fx=1.0)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start_companion(selector, view, 1)  # the first is free
    spend(view, 2, 400, fx=companion_fx)  # 400 of 1400: over its share for now
    view.opt_log.put_metadata(2, "t_end", 2.0)
    start(selector, view)  # a large run, every worker
    spend(view, 3, 1500, fx=0.9)
    view.opt_log.put_metadata(3, "t_end", 3.0)  # companion 400 of 2900: under its share
    assert selector.select_optimizer(view, view.opt_log, 4) is not None
    assert selector.starts[-1].regime == next_regime
    assert ("companion_earns=True" in str(selector)) is earns


@pytest.mark.parametrize(("in_small", "next_regime"), [
    (False, "small"),  # counted apart: small 1000 < large 1200
    (True, "large"),   # the companion's 800 counts as small: 1800 >= 1200
])
def test_with_companion_in_small_the_companion_is_paid_by_the_small_regime(
        in_small: bool, next_regime: str) -> None:
    selector = seeded(first_alone=True, large_alone=True, budget=20_000,
                      companion=(RandomOptimizer, {"iters": 5}, {}),
                      companion_in_small=in_small)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 1000)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start_companion(selector, view, 1)
    spend(view, 2, 800)
    view.opt_log.put_metadata(2, "t_end", 2.0)
    start(selector, view)  # small 1000 (1800) against large 0: a large run either way
    spend(view, 3, 1200)
    view.opt_log.put_metadata(3, "t_end", 3.0)  # companion 800 of 3000: over its share
    assert selector.select_optimizer(view, view.opt_log, 4) is not None
    assert [s.regime for s in selector.starts] == ["first", "companion", "large", next_regime]
    assert selector.spent(view.opt_log) == {"small": 1000, "large": 1200, "companion": 800}
    assert ("companion_in_small=True" in str(selector)) is in_small
    with pytest.raises(ValueError, match="companion_in_small must be true or false"):
        seeded(companion=(RandomOptimizer, {}, {}), companion_in_small=1)


@pytest.mark.parametrize(("credit", "first_fx", "large_fx", "large_spent", "next_regime"), [
    (False, 1.0, 0.5, 1200, "small"),  # plain BIPOP: small 1000 < large 1200
    (True, 1.0, 0.5, 1200, "large"),   # the large run holds the best: 1000 >= 0.5 * 1200
    (True, 1.0, 1.0, 1200, "small"),   # a tie: the plain ratio
    (False, 0.5, 1.0, 600, "large"),   # plain BIPOP: small 1000 >= large 600
    (True, 0.5, 1.0, 600, "small"),    # the first (small) run holds the best: 1000 < 2 * 600
])
def test_with_regime_credit_the_regime_holding_the_best_gets_more(
        credit: bool, first_fx: float, large_fx: float, large_spent: int,
        next_regime: str) -> None:
    selector = seeded(first_alone=True, large_alone=True, budget=20_000,
                      regime_credit=credit)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 1000, fx=first_fx)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start(selector, view)  # nothing spent by large runs yet: a large run either way
    spend(view, 2, large_spent, fx=large_fx)
    view.opt_log.put_metadata(2, "t_end", 2.0)
    start(selector, view)
    assert [s.regime for s in selector.starts] == ["first", "large", next_regime]
    assert ("regime_credit=True" in str(selector)) is credit
    with pytest.raises(ValueError, match="regime_credit must be true or false"):
        seeded(regime_credit="yes")


@pytest.mark.parametrize(("between", "regimes"), [
    (False, ["first", "large", "large", "large"]),  # the small regime is over its ratio
    (True, ["first", "large", "small", "large"]),   # but a local search between the two
])
def test_small_between_large_starts_a_small_run_after_every_large_one(
        between: bool, regimes: list[str]) -> None:
    selector = seeded(first_alone=True, large_alone=True, budget=100_000,
                      small_between_large=between)
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 5000)  # the first run (small regime): 5000
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start(selector, view)
    spend(view, 2, 1000)  # large 1000 < small 5000: large again by the ratio
    view.opt_log.put_metadata(2, "t_end", 2.0)
    start(selector, view)
    spend(view, 3, 1000)
    view.opt_log.put_metadata(3, "t_end", 3.0)
    start(selector, view)  # after a small run the ratio decides again: large
    assert [s.regime for s in selector.starts] == regimes
    if between:
        assert selector.starts[2].maxfevals == 500  # half of what the large runs spent
    assert ("small_between_large=True" in str(selector)) is between
    with pytest.raises(ValueError, match="small_between_large must be true or false"):
        seeded(small_between_large=1)


class BudgetedRandom(RandomOptimizer):
    """A companion with a budget argument, as DualAnnealing's ``maxfun``."""

    budget_argument = "iters"


@pytest.mark.parametrize(("max_jobs", "share", "given", "expected"), [
    (4, 0.25, None, 2250),  # (10000 - 1000) // 4: the manager's share, as without a cap
    (4, 0.1, None, 900),    # its own share of what is left is the smaller
    (2, 0.25, None, 2250),  # two slots: the manager's share (4500) is capped at 0.25
    (4, 0.1, 77, 77),       # the user's value stands
])
def test_a_companion_run_gets_at_most_its_share_of_the_budget_left(
        max_jobs: int, share: float, given: int | None, expected: int) -> None:
    init = {} if given is None else {"iters": given}
    selector = seeded(first_alone=True, budget=10_000, companion_share=share,
                      companion=(BudgetedRandom, init, {}))
    view = view10(max_jobs=max_jobs)
    start(selector, view, slots=max_jobs)
    spend(view, 1, 1000)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    choice = selector.select_optimizer(view, view.opt_log, max_jobs)
    assert isinstance(choice, tuple) and choice[0] is BudgetedRandom
    assert choice[1]["iters"] == expected


def test_companion_earns_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="companion_earns must be true or false"):
        seeded(companion=(RandomOptimizer, {}, {}), companion_earns="yes")


def test_a_large_run_with_large_alone_starts_beside_a_running_companion() -> None:
    selector = seeded(first_alone=True, large_alone=True, budget=20_000,
                      companion=(RandomOptimizer, {"iters": 5}, {}))
    view = view10(max_jobs=4)
    start(selector, view)
    spend(view, 1, 1000)
    view.opt_log.put_metadata(1, "t_end", 1.0)
    start_companion(selector, view, 4)  # the companion first
    # the large run takes the three workers the running companion leaves, without waiting
    assert selector.select_optimizer(view, view.opt_log, 2) is None
    large = start(selector, view, slots=3)
    assert large["workers"] == 3 and selector.starts[-1].regime == "large"
    spend(view, 2, 1000)
    view.opt_log.put_metadata(2, "t_end", 2.0)  # the companion ended: 1000 of 2000
    spend(view, 3, 3000)  # the large run: small 1000 < large 3000, the companion at 0.2
    view.opt_log.put_metadata(3, "t_end", 3.0)
    start_companion(selector, view, 1)  # the companion again
    assert selector.starts[-1].regime == "companion"
    nxt = start(selector, view, slots=1)  # small, beside it, with its own worker
    assert selector.starts[-1].regime == "small" and "workers" not in nxt


def test_hold_generations_waits_while_the_best_run_still_improves() -> None:
    selector = seeded(budget=20_000, hold_generations=10)
    view = view10(max_jobs=4)
    for _ in range(2):
        start(selector, view, slots=1)  # runs 1 and 2 (popsize 10 and 20)

    def improve(opt_id: int, n: int, fx: float) -> None:
        first = view.f_counter + 1
        view.opt_log.put_iteration(opt_id, np.arange(first, first + n),
                                   np.zeros((n, view.n_parms)), fx + 1e-3 * np.arange(n)[::-1])
        view.f_counter += n

    improve(1, 50, 5.0)
    improve(2, 150, 1.0)  # run 2 (popsize 20) holds the best, found at its last evaluation
    assert selector.holding(view, view.opt_log)
    assert selector.select_optimizer(view, view.opt_log, 2) is None  # the slots wait
    improve(1, 199, 9.0)  # 199 < 10 x 20: still waiting
    assert selector.select_optimizer(view, view.opt_log, 2) is None
    improve(1, 1, 9.0)  # 200 evaluations since run 2's best: 10 generations, no longer
    assert not selector.holding(view, view.opt_log)
    start(selector, view, slots=2)
    improve(3, 10, 0.5)  # the new run improves: wait again, until it ends
    assert selector.select_optimizer(view, view.opt_log, 1) is None
    view.opt_log.put_metadata(3, "t_end", 1.0)
    assert start(selector, view, slots=1) is not None
    assert "hold_generations=10" in str(selector)
    assert not seeded(budget=20_000).holding(view, view.opt_log)  # off by default
    with pytest.raises(ValueError, match="hold_generations must be a whole number >= 1"):
        CMAPopulationSelector(hold_generations=0)


def test_the_proposal_stays_the_same_until_it_is_started() -> None:
    selector = seeded((CMAOptimizer, {"workers": 2, "verbose": False}))
    view = view10()
    start(selector, view)
    spend(view, 1, 50)
    start(selector, view)
    spend(view, 2, 10)
    assert selector.select_optimizer(view, view.opt_log, 1) is None  # needs two slots
    first = selector._pending
    assert first is not None
    assert selector.select_optimizer(view, view.opt_log, 1) is None
    assert selector._pending is first
    init = start(selector, view, slots=2)
    assert selector.starts[-1] == first[0]
    assert init["popsize"] == first[0].popsize and init["workers"] == 2


def test_a_seeded_selector_repeats_its_choices() -> None:
    def choices(seed: int) -> list[Any]:
        selector = seeded(seed=seed)
        view = view10()
        for i in range(12):
            start(selector, view)
            spend(view, view.o_counter, 100 * (i + 1))
        return selector.starts

    assert choices(3) == choices(3)
    assert choices(3) != choices(4)


# ------------------------------------------------------------------------- a real run


def test_a_rastrigin_run_grows_its_populations_and_spends_the_exact_budget(
        tmp_path: Path) -> None:
    # min_generations=1: a large run's cap is its whole budget share (>= 32 until the
    # last few hundred evaluations), so the second large run doubles
    selector = CMAPopulationSelector(QUIET, min_generations=1)
    manager = GloMPOManager.new_manager(
        task=Rastrigin(dims=5), bounds=None, opt_selector=selector,
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        stoppers=BestUnmoving(calls=800, tol=0.01),
        exit_conditions=MaxFuncCalls(fmax=8000), summary_files=0, seed=5, plugin_manager=PM)
    result = manager.start_manager()
    assert manager.f_counter == 8000
    starts = selector.starts
    assert [s.opt_id for s in starts] == list(range(1, manager.o_counter + 1))
    for s in starts:  # what the selector planned is what the manager started
        init = manager.opt_log.get_metadata(s.opt_id, "init_kwargs")
        assert init["popsize"] == s.popsize
    assert starts[0].popsize == 8  # 4 + int(3 ln 5)
    large = [s.popsize for s in starts if s.regime == "large"]
    assert large[:2] == [16, 32]  # each large run doubles
    assert any(s.regime == "small" for s in starts)
    spent = selector.spent(manager.opt_log)
    assert spent["small"] + spent["large"] == 8000
    assert result.fx < 10


def test_a_run_with_large_alone_and_a_companion_starts_what_the_selector_planned(
        tmp_path: Path) -> None:
    selector = CMAPopulationSelector(QUIET, first_alone=True, large_alone=True,
                                     companion=(RandomOptimizer, {"iters": 10}, {}))
    manager = GloMPOManager.new_manager(
        task=Rastrigin(dims=5), bounds=None, opt_selector=selector,
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        stoppers=BestUnmoving(calls=800, tol=0.01),
        exit_conditions=MaxFuncCalls(fmax=6000), summary_files=0, seed=3, plugin_manager=PM)
    manager.start_manager()
    assert manager.f_counter == 6000
    regimes = [s.regime for s in selector.starts]
    assert "companion" in regimes and "large" in regimes
    for s in selector.starts:
        init = manager.opt_log.get_metadata(s.opt_id, "init_kwargs")
        assert manager.opt_log.get_metadata(s.opt_id, "type") == (
            "RandomOptimizer" if s.regime == "companion" else "CMAOptimizer")
        if s.regime == "large":  # every worker but a running companion's
            assert init["workers"] in (1, 2) and init["popsize"] == s.popsize
    assert sum(selector.spent(manager.opt_log).values()) == 6000


def test_a_checkpointed_run_resumes_to_the_same_starts_and_result(tmp_path: Path) -> None:
    from glompo_core.checkpointing import CheckpointingControl

    def run(name: str) -> tuple[GloMPOManager, CMAPopulationSelector]:
        selector = CMAPopulationSelector(QUIET, budget=6000)
        manager = GloMPOManager.new_manager(
            task=Rastrigin(dims=5), bounds=None, opt_selector=selector,
            working_dir=tmp_path / name, max_jobs=1, backend="threads",
            stoppers=BestUnmoving(calls=600, tol=0.01), exit_conditions=MaxFuncCalls(fmax=6000),
            summary_files=0, seed=5, plugin_manager=PM,
            checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=2500,
                                                    naming_format="chk_%(count)"))
        manager.start_manager()
        return manager, selector

    plain, selector = run("plain")
    assert [(s.regime, s.popsize) for s in selector.starts] == [
        ("first", 8), ("large", 16), ("small", 8), ("large", 12)]  # 12: the budget's cap
    checkpoint = sorted((tmp_path / "plain" / "checkpoints").glob("*.tar.gz"))[0]
    resumed = GloMPOManager.load_manager(checkpoint, plugin_manager=PM,
                                         working_dir=tmp_path / "resumed")
    assert resumed.f_counter < 3000
    resumed.start_manager()
    assert isinstance(resumed.opt_selector, CMAPopulationSelector)
    assert resumed.opt_selector.starts == selector.starts
    assert (resumed.f_counter, resumed.o_counter) == (plain.f_counter, plain.o_counter)
    assert resumed.result.fx == plain.result.fx
