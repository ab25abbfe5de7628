"""Every built-in stopper, exit condition, generator, selector, backend and logger passes
the conformance kit (glompo_core.testing.parametrize_with_component_checks)."""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Callable
from typing import Any

import pytest

from glompo_core import exit_conditions as ec
from glompo_core import generators as gen
from glompo_core import selectors as sel
from glompo_core import stoppers as st
from glompo_core.backends import ProcessesBackend, ProcessesForcedBackend, ThreadsBackend
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.testing import (
    GENERATOR_BOUNDS,
    SCENARIO_BOUNDS,
    parametrize_with_component_checks,
)

B = SCENARIO_BOUNDS.tolist()
G = GENERATOR_BOUNDS.tolist()
R: tuple[type, dict[str, Any], dict[str, Any]] = (RandomOptimizer, {"popsize": 4}, {})
R2: tuple[type, dict[str, Any], dict[str, Any]] = (RandomOptimizer, {"popsize": 8, "workers": 2},
                                                  {})

#: One or more configurations of each built-in, by registered name (built lazily, so a
#: name is used only when it is registered).
BUILTINS: dict[str, Callable[[], list[Any]]] = {
    # stoppers
    "BestUnmoving": lambda: [st.BestUnmoving(calls=20, tol=0.01)],
    "EvaluationsUnmoving": lambda: [st.EvaluationsUnmoving(calls=15, tol=0.05)],
    "LastPointsInvalid": lambda: [st.LastPointsInvalid(n_iters=2)],
    "MinFuncCalls": lambda: [st.MinFuncCalls(min_pts=50)],
    "ParameterDistance": lambda: [st.ParameterDistance(B, relative_distance=0.2),
                                  st.ParameterDistance(B, relative_distance=0.5,
                                                       test_all=True)],
    "StepSize": lambda: [st.StepSize(B, calls=10, relative_tol=0.2)],
    "TimeAnnealing": lambda: [st.TimeAnnealing(crit_ratio=0.5)],
    "TypeStopper": lambda: [st.TypeStopper("StepOptimizer")],
    "ValueAnnealing": lambda: [st.ValueAnnealing(crit_stop_chance=0.5)],
    # exit conditions
    "KillsAfterConvergence": lambda: [ec.KillsAfterConvergence(n_killed=2, n_converged=1)],
    "MaxFuncCalls": lambda: [ec.MaxFuncCalls(fmax=60)],
    "MaxKills": lambda: [ec.MaxKills(kills_max=2)],
    "MaxOptsStarted": lambda: [ec.MaxOptsStarted(max_opts=3)],
    "MaxSeconds": lambda: [ec.MaxSeconds(overall_max=10.0),
                           ec.MaxSeconds(session_max=5.0, overall_max=None)],
    "NOptConverged": lambda: [ec.NOptConverged(nconv=2)],
    "TargetCost": lambda: [ec.TargetCost(target=0.2, atol=0.01)],
    # generators
    "RandomGenerator": lambda: [gen.RandomGenerator(), gen.RandomGenerator(G)],
    "SinglePointGenerator": lambda: [gen.SinglePointGenerator(G),
                                     gen.SinglePointGenerator(x=[0.0, 11.0])],
    "IncumbentGenerator": lambda: [gen.IncumbentGenerator()],
    "PerturbationGenerator": lambda: [gen.PerturbationGenerator([0.0, 11.0], [0.5, 2.0])],
    "AnnealingGenerator": lambda: [gen.AnnealingGenerator()],
    "ExploitExploreGenerator": lambda: [gen.ExploitExploreGenerator(max_func_calls=80)],
    "BasinHoppingGenerator": lambda: [gen.BasinHoppingGenerator(interval=2)],
    # selectors
    "CycleSelector": lambda: [sel.CycleSelector(R, R2),
                              sel.CycleSelector(R, allow_spawn=sel.NOptimizersSpawnStop(3))],
    "RandomSelector": lambda: [sel.RandomSelector(R, R2)],
    "ChainSelector": lambda: [sel.ChainSelector(R, R2, fcall_thresholds=[30])],
    "IterSpawnStop": lambda: [sel.CycleSelector(R, allow_spawn=sel.IterSpawnStop(40))],
    "NOptimizersSpawnStop": lambda: [sel.CycleSelector(R, allow_spawn=[
        sel.IterSpawnStop(100), sel.NOptimizersSpawnStop(2)])],
    "AdaptiveSelector": lambda: [sel.AdaptiveSelector(R, R2)],
    # backends and loggers: classes
    "threads": lambda: [ThreadsBackend],
    "processes": lambda: [ProcessesBackend],
    "processes_forced": lambda: [ProcessesForcedBackend],
    "BaseLogger": lambda: [BaseLogger, (BaseLogger, {"window": 4})],
}

KINDS = ("stopper", "exit_condition", "generator", "selector", "backend", "logger")
PM = PluginManager(load_entrypoints=False)


def _registered_builtins() -> dict[str, str]:
    """{name: kind} of every built-in component a third party could also publish."""
    return {name: kind for kind in KINDS for name in PM.names(kind)}


def _entries() -> list[Any]:
    names = _registered_builtins()
    return [c for name in names if name in BUILTINS for c in BUILTINS[name]()]


def test_every_builtin_component_is_checked() -> None:
    missing = sorted(set(_registered_builtins()) - set(BUILTINS))
    assert not missing, f"add conformance entries for the built-ins {missing} to BUILTINS"


@parametrize_with_component_checks(_entries(), plugin_manager=PM)
def test_builtin_components_conform(component: Any, check: Callable[[Any], None]) -> None:
    check(component)


@pytest.mark.parametrize("module", ["_harness", "_components"])
def test_the_kits_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(f"glompo_core.testing.{module}")
    failures, tried = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
