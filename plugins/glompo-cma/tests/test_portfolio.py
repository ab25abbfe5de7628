"""glompo-cma's default portfolio (hook ``glompo_default_portfolio``): its content is
examples/recommended.yml's, DualAnnealing only when a plugin registers it, and another
plugin's portfolio takes precedence."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import glompo_cma.hooks
import numpy as np
import pytest
import yaml
from glompo_cma.portfolio import PORTFOLIO, default_portfolio

from glompo_core import hookimpl
from glompo_core._portfolio import ask_default_portfolio
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.runfile import RunFile, build_manager
from glompo_core.runfile import default_portfolio as core_default_portfolio

RECOMMENDED = Path(__file__).resolve().parents[3] / "examples" / "recommended.yml"


class DualAnnealingStandIn(RandomOptimizer):
    """Registered as 'DualAnnealing', so the portfolio is tested without glompo-scipy."""


class StandInScipy:
    @hookimpl
    def glompo_register_optimizers(self, register: Any) -> None:
        register("DualAnnealing", DualAnnealingStandIn)


def registry(*plugins: tuple[str, Any]) -> PluginManager:
    return PluginManager(load_entrypoints=False, plugins=plugins)


def has(*names: str) -> Any:
    return lambda kind, name: kind == "optimizer" and name in names


def test_recommended_yml_is_the_default_written_out() -> None:
    """The file's opt_selector and stoppers are what the hook gives when the plugins of the
    default are installed: change both or neither."""
    written = yaml.safe_load(RECOMMENDED.read_text())
    given = default_portfolio(None, None, has("CMAOptimizer", "DualAnnealing"))
    assert set(given) <= {"opt_selector", "stoppers"}
    assert {key: written.get(key) for key in given} == given
    # through the hook, as glompo run asks it
    found = ask_default_portfolio(registry(("cma", glompo_cma.hooks), ("scipy", StandInScipy())),
                                  n_parms=5, budget=20_000)
    assert found is not None and found.plugin == "cma"
    assert {key: written.get(key) for key in found.sections} == found.sections


def names(value: Any) -> list[str]:
    """Every component named in list entries of run-file sections, in order."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in names(item)]
    if isinstance(value, list):
        return [n for item in value for n in (
            [item] if isinstance(item, str) else
            [next(iter(item)), *names(next(iter(item.values())))]
            if isinstance(item, dict) and len(item) == 1 else names(item))]
    return []


def test_dual_annealing_only_when_a_plugin_registers_it() -> None:
    # the default names no optimizer of another plugin today: content that does
    content = {"opt_selector": {"CycleSelector": {"avail_opts": [
        {"CMAOptimizer": {"init": {"sigma_rel": 0.2}}}, "DualAnnealing"]}},
        "stoppers": "BestUnmoving(calls=100)"}
    with_da = default_portfolio(5, None, has("CMAOptimizer", "DualAnnealing"), content)
    without = default_portfolio(5, None, has("CMAOptimizer"), content)
    assert "DualAnnealing" in names(with_da)
    assert "DualAnnealing" not in names(without)
    assert names(without) == [n for n in names(with_da) if n != "DualAnnealing"]
    assert without.get("stoppers") == with_da.get("stoppers")
    # the shipped content: DualAnnealing is the selector's companion, left out without it
    plain = ask_default_portfolio(registry(("cma", glompo_cma.hooks)), 5, None)
    both = ask_default_portfolio(registry(("cma", glompo_cma.hooks),
                                          ("scipy", StandInScipy())), 5, None)
    assert plain is not None and both is not None
    assert both.sections == PORTFOLIO
    selector = PORTFOLIO["opt_selector"]["CMAPopulationSelector"]
    assert selector["companion"] == "DualAnnealing"
    alone = {key: val for key, val in selector.items() if key != "companion"}
    assert plain.sections == {"opt_selector": {"CMAPopulationSelector": alone}}
    # the selector is built with its companion, and without it when it is not installed
    for pm, companion in ((registry(("cma", glompo_cma.hooks)), None),
                          (registry(("cma", glompo_cma.hooks), ("scipy", StandInScipy())),
                           DualAnnealingStandIn)):
        built = core_default_portfolio([(-1.0, 1.0)] * 3, plugin_manager=pm)["opt_selector"]
        assert (built.companion and built.companion[0]) == companion


def test_the_content_is_free_of_units_and_budgets() -> None:
    text = yaml.safe_dump(PORTFOLIO)
    assert "sigma0" not in text  # CMA-ES's step is relative to the box (sigma_rel)
    for budget_argument in ("maxfun", "budget", "maxfevals"):
        assert budget_argument not in text


def test_the_content_is_not_changed_by_a_run() -> None:
    before = yaml.safe_dump(PORTFOLIO)
    answer = default_portfolio(5, 100, has("CMAOptimizer"))
    answer["opt_selector"].clear()
    assert yaml.safe_dump(PORTFOLIO) == before


def test_dual_annealing_declares_its_budget_argument() -> None:
    scipy_hooks = pytest.importorskip("glompo_scipy.hooks")
    pm = registry(("scipy", scipy_hooks))
    assert pm.get("optimizer", "DualAnnealing").budget_argument == "maxfun"


class Mine:
    @hookimpl
    def glompo_default_portfolio(self, n_parms: int | None) -> dict[str, Any]:
        return {"opt_selector": {"CycleSelector": {"avail_opts": [
            {"RandomOptimizer": {"init": {"popsize": n_parms}}}]}}}


@pytest.mark.parametrize("mine_first", [True, False])
def test_another_plugins_portfolio_takes_precedence(mine_first: bool) -> None:
    plugins = [("mine", Mine()), ("cma", glompo_cma.hooks)]
    pm = registry(*(plugins if mine_first else plugins[::-1]))
    found = ask_default_portfolio(pm, 4, None)
    assert found is not None and found.plugin == "mine"
    out = core_default_portfolio([(-1, 1)] * 4, plugin_manager=pm)
    assert out["opt_selector"].avail_opts == [(RandomOptimizer, {"popsize": 4}, {})]


def test_the_default_builds_and_runs(tmp_path: Path) -> None:
    """A run file with no opt_selector runs the portfolio glompo-cma gives."""
    path = tmp_path / "run.yml"
    path.write_text(textwrap.dedent(f"""
        task: Rastrigin
        task_kwargs: {{dims: 3}}
        working_dir: {tmp_path / 'out'}
        backend: threads
        max_jobs: 3
        seed: 2
        exit_conditions: "MaxFuncCalls(fmax=3000)"
        summary_files: 0
        """))
    pm = registry(("cma", glompo_cma.hooks), ("scipy", StandInScipy()))
    run = RunFile(path)
    manager = build_manager(path, plugin_manager=pm)
    assert manager.default_portfolio is not None
    assert manager.default_portfolio.plugin == "cma"
    assert manager.default_portfolio.used == tuple(
        key for key in ("opt_selector", "stoppers") if key in PORTFOLIO)
    assert "default portfolio from cma" in manager.default_portfolio.describe()
    sections = manager.default_portfolio.sections
    assert type(manager.opt_selector).__name__ == next(iter(sections["opt_selector"]))
    assert (manager.stoppers is not None) == ("stoppers" in sections)
    assert RunFile(path).data == run.data  # the file itself is not changed
    result = manager.start_manager()
    assert manager.f_counter >= 3000
    assert result.fx is not None and np.isfinite(result.fx)
    assert result.origin["type"] in {"CMAOptimizer", "DualAnnealingStandIn"}


def test_from_python_with_the_run_budget() -> None:
    pm = registry(("cma", glompo_cma.hooks))
    out = core_default_portfolio([(-2.0, 2.0)] * 3, MaxFuncCalls(fmax=1000), plugin_manager=pm)
    sections = default_portfolio(3, 1000, pm.has)
    assert type(out["opt_selector"]).__name__ == next(iter(sections["opt_selector"]))
    assert set(out) == {"opt_selector", *({"stoppers"} & set(sections))}
    assert {"CMAOptimizer", "cma"} & set(names(sections))  # CMA-ES is in it, by either name
