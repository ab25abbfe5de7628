"""Run files: YAML to setup() arguments, with errors naming the file, the line and the key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from glompo_core import GloMPOManager
from glompo_core.errors import RunFileError, UnknownComponentError
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds, TargetCost
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.runfile import RunFile, build_manager, load_run_file
from glompo_core.selectors import CycleSelector, IterSpawnStop, NOptimizersSpawnStop
from glompo_core.stoppers import BestUnmoving, ParameterDistance
from tests._plugin_fixtures import LOCAL_PLUGIN_SOURCE, TASK_MODULE_SOURCE, write_run_file

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.yml"

MINIMAL = textwrap.dedent("""
    task: Rastrigin
    task_kwargs: {dims: 3}
    opt_selector:
      CycleSelector:
        avail_opts: [RandomOptimizer]
    """).lstrip("\n")


def snippet(text: str) -> str:
    """An indented block of YAML lines to append to MINIMAL (from line 6 on)."""
    return textwrap.dedent(text).lstrip("\n")


@pytest.fixture
def pm() -> PluginManager:
    return PluginManager(load_entrypoints=False)


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run files put their directory on sys.path and import modules: undo both."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("rf_"):
            del sys.modules[name]


def load(path: Path, pm: PluginManager, *overrides: str) -> dict[str, Any]:
    return load_run_file(path, list(overrides), plugin_manager=pm)


def where(path: Path, line: int, key: str) -> str:
    """The regex of an error's prefix: ``file:line: key 'key':``."""
    return re.escape(f"{path}:{line}: key '{key}': ")


def unique(prefix: str) -> str:
    return f"rf_{prefix}_{uuid.uuid4().hex[:8]}"


# ============================================================================ quickstart


@pytest.fixture
def installed() -> PluginManager:
    """The installed plugins, which give the quickstart's default portfolio."""
    from glompo_core._portfolio import ask_default_portfolio

    registry = PluginManager()
    if ask_default_portfolio(registry, 5, None) is None:
        pytest.skip("no installed plugin gives a default portfolio (the quickstart's needs "
                    "pip install ./plugins/glompo-cma ./plugins/glompo-scipy)")
    return registry


def test_quickstart_loads_into_setup_arguments(tmp_path: Path, installed: PluginManager) -> None:
    """The quickstart has no opt_selector: the default portfolio gives it and the stoppers."""
    pm = installed
    run = RunFile(QUICKSTART, [f"working_dir={tmp_path / 'qs'}"])
    kwargs = load_run_file(run, plugin_manager=pm)
    assert "opt_selector" not in yaml.safe_load(QUICKSTART.read_text())
    assert run.default_portfolio is not None
    sections = run.default_portfolio.sections
    assert run.default_portfolio.used == tuple(key for key in ("opt_selector", "stoppers")
                                               if key in sections)
    assert (run.default_portfolio.n_parms, run.default_portfolio.budget) == (5, 20000)
    assert kwargs["working_dir"] == str(tmp_path / "qs")
    assert kwargs["overwrite_existing"] is True
    assert (kwargs["max_jobs"], kwargs["seed"], kwargs["summary_files"]) == (4, 1, 1)
    assert kwargs["backend"] == "threads"
    assert type(kwargs["task"]).__name__ == "Rastrigin" and kwargs["task"].dims == 5
    assert kwargs["bounds"] is None
    assert kwargs["plugin_manager"] is pm
    selector = kwargs["opt_selector"]
    assert type(selector).__name__ == next(iter(sections["opt_selector"]))
    assert (kwargs.get("stoppers") is not None) == ("stoppers" in sections)
    assert str(kwargs["exit_conditions"]) == ("MaxFuncCalls(fmax=20000) | "
                                              "TargetCost(target=0.0, atol=0.001)")
    assert set(kwargs) <= set(GloMPOManager.setup.__code__.co_varnames)


def test_manager_is_built_and_runs_from_the_quickstart(tmp_path: Path,
                                                       installed: PluginManager) -> None:
    kwargs = load(QUICKSTART, installed, f"working_dir={tmp_path / 'qs'}", "max_jobs=1",
                  "exit_conditions=MaxFuncCalls(fmax=200)", "summary_files=0")
    manager = GloMPOManager.new_manager(**kwargs)
    assert manager.max_jobs == 1
    assert manager.backend == "threads"
    assert manager.seed == 1
    assert manager.n_parms == 5
    np.testing.assert_allclose(manager.bounds, [[-5.12, 5.12]] * 5)
    assert manager.working_dir == (tmp_path / "qs").resolve()
    result = manager.start_manager()
    assert manager.f_counter >= 200
    assert result.fx is not None and np.isfinite(result.fx)


# ================================================================================ errors


def test_unknown_top_level_key_with_did_you_mean(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "stopers: 'BestUnmoving(calls=10)'\n")
    with pytest.raises(RunFileError,
                       match=where(path, 6, "stopers") + "unknown key; did you mean 'stoppers'"):
        load(path, pm)


@pytest.mark.parametrize(("line", "expected"), [
    ("max_jobs: two", "expected int or null, got 'two' (str)"),
    ("seed: 1.5", "expected int or null, got 1.5 (float)"),
    ("max_jobs: true", "expected int or null, got True (bool)"),
    ("summary_files: '1'", "expected int, got '1' (str)"),
    ("overwrite_existing: 1", "expected bool, got 1 (int)"),
    ("working_dir: [a]", "expected str, got ['a'] (list)"),
    ("status_interval: fast", "expected int or float, got 'fast' (str)"),
])
def test_wrong_types_name_file_line_and_key(tmp_path: Path, pm: PluginManager, line: str,
                                            expected: str) -> None:
    path = write_run_file(tmp_path, MINIMAL + f"{line}\n")
    key = line.split(":")[0]
    with pytest.raises(RunFileError, match=where(path, 6, key) + re.escape(expected)):
        load(path, pm)


def test_bad_yaml_names_file_and_line(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector: {CycleSelector: {avail_opts: [RandomOptimizer}
        seed: 1
        """)
    with pytest.raises(RunFileError, match=re.escape(f"{path}:2: not valid YAML: ")):
        load(path, pm)


def test_tab_indentation_is_bad_yaml(tmp_path: Path, pm: PluginManager) -> None:
    path = tmp_path / "tabs.yml"
    path.write_text("task: Rastrigin\nopt_selector:\n\tCycleSelector: {}\n")
    with pytest.raises(RunFileError, match=re.escape(f"{path}:3: not valid YAML")):
        load(path, pm)


def test_duplicate_key_is_an_error(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "seed: 1\nmax_jobs: 2\nseed: 2\n")
    with pytest.raises(RunFileError,
                       match=where(path, 8, "seed") + r"given twice \(first on line 6\)"):
        load(path, pm)


def test_run_file_must_be_a_mapping(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, "- task: Rastrigin\n")
    with pytest.raises(RunFileError, match=re.escape(f"{path}:1: a run file is a mapping")):
        load(path, pm)


def test_missing_file(tmp_path: Path, pm: PluginManager) -> None:
    with pytest.raises(RunFileError, match=r"cannot read run file .*nope\.yml"):
        load(tmp_path / "nope.yml", pm)


def test_unknown_optimizer_in_avail_opts(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer
              - CMAOptimizer: {init: {sigma0: 1}}
        """)
    with pytest.raises(UnknownComponentError) as err:
        load(path, pm)
    message = str(err.value)
    assert message.startswith(f"unknown optimizer 'CMAOptimizer' (from {path}:6, key "
                              "'opt_selector.CycleSelector.avail_opts[1]').")
    assert "pip install glompo-cma" in message


def test_typo_of_a_selector(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector: {CycleSelectr: {avail_opts: [RandomOptimizer]}}
        """)
    with pytest.raises(UnknownComponentError,
                       match=re.escape(f"(from {path}:2, key 'opt_selector').") +
                       " Did you mean 'CycleSelector'"):
        load(path, pm)


def test_bad_component_argument(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    stoppers:
      BestUnmoving: {calls: 0}
    """))
    with pytest.raises(RunFileError, match=where(path, 7, "stoppers.BestUnmoving")
                       + "BestUnmoving: calls must be"):
        load(path, pm)


def test_unknown_component_argument(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    exit_conditions:
      - MaxFuncCalls: {fmax: 10}
      - MaxSeconds: {session: 10}
    """))
    with pytest.raises(RunFileError, match=where(path, 8, "exit_conditions[1].MaxSeconds")
                       + "MaxSeconds: .*unexpected keyword argument 'session'"):
        load(path, pm)


def test_bad_expression_names_file_line_and_key(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    stoppers: "BestUnmoving(calls=10) | MaxFuncCalls(fmax=3)"
    """))
    with pytest.raises(RunFileError, match=where(path, 6, "stoppers")
                       + "'MaxFuncCalls' is an exit condition, not a stopper"):
        load(path, pm)
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    exit_conditions: "MaxFuncCalls(fmax=len([1]))"
    """), name="call.yml")
    with pytest.raises(RunFileError, match=where(path, 6, "exit_conditions")
                       + "only literal arguments"):
        load(path, pm)


def test_unknown_name_in_expression_names_file_line_and_key(tmp_path: Path,
                                                            pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    exit_conditions: "MaxFuncCals(fmax=10)"
    """))
    with pytest.raises(UnknownComponentError,
                       match=re.escape(f"(from {path}:6, key 'exit_conditions', expression")
                       + ".*Did you mean 'MaxFuncCalls'"):
        load(path, pm)


def test_missing_task(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        seed: 1
        opt_selector: {CycleSelector: {avail_opts: [RandomOptimizer]}}
        """)
    with pytest.raises(RunFileError,
                       match=re.escape(f"{path}:1: the run file needs a 'task'")):
        load(path, pm)


def test_missing_opt_selector(tmp_path: Path, pm: PluginManager) -> None:
    """No opt_selector and no plugin giving a default portfolio (tests/test_default_portfolio.py
    has the portfolio a plugin gives)."""
    path = write_run_file(tmp_path, "task: Rastrigin\n")
    with pytest.raises(RunFileError,
                       match=re.escape(f"{path}:1: the run file has no 'opt_selector' and no "
                                       "installed plugin gives a default portfolio: give an "
                                       "opt_selector")):
        load(path, pm)


def test_selector_without_avail_opts(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector: {allow_spawn: {IterSpawnStop: {max_calls: 10}}}
        """)
    with pytest.raises(RunFileError, match=where(path, 3, "opt_selector.CycleSelector")
                       + "a selector needs 'avail_opts'"):
        load(path, pm)


def test_bad_task_arguments_point_at_task_kwargs(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL.replace("{dims: 3}", "{dimz: 3}"))
    with pytest.raises(RunFileError, match=where(path, 2, "task_kwargs")
                       + "building the task 'Rastrigin' failed: .*'dimz'"):
        load(path, pm)


def test_unknown_task(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL.replace("Rastrigin", "Rastrigen"))
    with pytest.raises(UnknownComponentError, match=r"unknown task 'Rastrigen' .*"
                       r"Did you mean 'Rastrigin'"):
        load(path, pm)


def test_visualisation_needs_the_scope_plugin(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "visualisation: true\n")
    with pytest.raises(RunFileError, match=where(path, 6, "visualisation") + ".*glompo-scope"):
        load(path, pm)


# ============================================================================= overrides


def test_overrides_are_yaml_and_reach_into_mappings(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "seed: 1\n")
    kwargs = load(path, pm, "seed=7", "task_kwargs.dims=4", "max_jobs=null",
                  "share_best_solutions=yes")
    assert kwargs["seed"] == 7
    assert kwargs["task"].dims == 4
    assert kwargs["max_jobs"] is None
    assert kwargs["share_best_solutions"] is True


def test_bad_override_is_reported_as_such(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "seed: 1\n")
    with pytest.raises(RunFileError, match=re.escape(f"{path} (--set seed=one): key 'seed'")):
        load(path, pm, "seed=one")
    with pytest.raises(RunFileError, match="write key=value"):
        load(path, pm, "seed")
    with pytest.raises(RunFileError, match="did you mean 'stoppers'"):
        load(path, pm, "stopers=x")


# ============================================================================== the task


def test_task_from_module_callable_with_kwargs(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("tasks")
    (tmp_path / f"{module}.py").write_text(TASK_MODULE_SOURCE)
    path = write_run_file(tmp_path, f"""
        task: "{module}:Shifted"
        task_kwargs: {{dims: 3, shift: 1.5}}
        working_dir: {tmp_path / 'out'}
        backend: threads
        max_jobs: 1
        seed: 3
        opt_selector:
          CycleSelector:
            avail_opts: [RandomOptimizer]
        exit_conditions: "MaxFuncCalls(fmax=100)"
        """)
    kwargs = load(path, pm)
    task = kwargs["task"]
    assert type(task).__module__ == module
    assert (task.dims, task.shift) == (3, 1.5)
    assert task([1.5, 1.5, 1.5]) == 0.0
    assert str(tmp_path) in sys.path  # the run file's own directory
    manager = GloMPOManager.new_manager(**kwargs)
    np.testing.assert_allclose(manager.bounds, [[-5.0, 5.0]] * 3)
    manager.start_manager()
    assert manager.f_counter >= 100


def test_task_module_that_does_not_exist(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL.replace("Rastrigin", "rf_nowhere_xyz:Task"))
    with pytest.raises(RunFileError, match=where(path, 1, "task")
                       + "cannot import module 'rf_nowhere_xyz'"):
        load(path, pm)


def test_task_module_with_a_syntax_error(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("broken")
    (tmp_path / f"{module}.py").write_text("def f(x):\nreturn x\n")
    path = write_run_file(tmp_path, MINIMAL.replace("Rastrigin", f"{module}:f"))
    with pytest.raises(RunFileError, match=where(path, 1, "task") + f"cannot import module "
                       f"'{module}': IndentationError: "):
        load(path, pm)


def test_task_attribute_that_does_not_exist(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("tasks")
    (tmp_path / f"{module}.py").write_text(TASK_MODULE_SOURCE)
    path = write_run_file(tmp_path, MINIMAL.replace("Rastrigin", f"{module}:Shiftd"))
    with pytest.raises(RunFileError, match=where(path, 1, "task") + f"module '{module}' has no "
                       "'Shiftd'"):
        load(path, pm)


# ================================================================================ bounds


def test_one_bounds_pair_is_repeated_for_the_task_dims(tmp_path: Path,
                                                       pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "bounds: [-2, 3]\n")
    kwargs = load(path, pm)
    assert kwargs["bounds"] == [[-2, 3]] * 3
    kwargs["working_dir"] = str(tmp_path / "w")
    manager = GloMPOManager.new_manager(**kwargs)
    np.testing.assert_allclose(manager.bounds, [[-2, 3]] * 3)


def test_bounds_pairs_are_kept(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "bounds: [[-1, 1], [-2, 2], [-3, 3]]\n")
    assert load(path, pm)["bounds"] == [[-1, 1], [-2, 2], [-3, 3]]


def test_one_bounds_pair_without_task_dims(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("plain")
    (tmp_path / f"{module}.py").write_text("def f(x):\n    return sum(x)\n")
    path = write_run_file(tmp_path, f"""
        task: "{module}:f"
        bounds: [-1, 1]
        opt_selector: {{CycleSelector: {{avail_opts: [RandomOptimizer]}}}}
        """)
    with pytest.raises(RunFileError, match=where(path, 2, "bounds") + "a single .* needs a task "
                       "with 'dims'"):
        load(path, pm)


def test_bounds_not_a_list(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "bounds: 3\n")
    with pytest.raises(RunFileError, match=where(path, 6, "bounds") + re.escape(
            "expected a list of [min, max] pairs")):
        load(path, pm)


# ================================================================================ plugins


def test_local_plugin_module_beside_the_run_file(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("localplug")
    (tmp_path / f"{module}.py").write_text(LOCAL_PLUGIN_SOURCE)
    path = write_run_file(tmp_path, f"""
        plugins: [{module}]
        task: Rastrigin
        task_kwargs: {{dims: 2}}
        opt_selector:
          CycleSelector:
            avail_opts:
              - LocalOptimizer: {{init: {{popsize: 4}}}}
              - RandomOptimizer
        """)
    kwargs = load(path, pm)
    assert {p.name: p.status for p in pm.plugins()}[module] == "active"
    cls = pm.get("optimizer", "LocalOptimizer")
    assert cls.__module__ == module
    assert kwargs["opt_selector"].avail_opts[0] == (cls, {"popsize": 4}, {})
    assert load(path, pm)["opt_selector"].avail_opts[0][0] is cls  # loading twice is fine


def test_local_plugin_that_cannot_be_imported(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, "plugins: [ok_not, rf_missing_plugin_q]\n" + MINIMAL,
                          name="p.yml")
    with pytest.raises(RunFileError, match=where(path, 1, "plugins[0]")
                       + "cannot import plugin module 'ok_not'"):
        load(path, pm)


def test_local_plugin_that_fails(tmp_path: Path, pm: PluginManager) -> None:
    module = unique("badplug")
    (tmp_path / f"{module}.py").write_text(
        "from glompo_core import hookimpl\n\n@hookimpl\n"
        "def glompo_register_optimizer(register):\n    pass\n")
    path = write_run_file(tmp_path, f"plugins:\n  - {module}\n" + MINIMAL)
    with pytest.warns(RuntimeWarning), pytest.raises(
            RunFileError, match=where(path, 2, "plugins[0]") + f"plugin '{module}' failed: "
            ".*did you mean 'glompo_register_optimizers'"):
        load(path, pm)


def test_plugins_must_be_a_list_of_names(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, "plugins: mymod\n" + MINIMAL)
    with pytest.raises(RunFileError, match=where(path, 1, "plugins") + "expected a list"):
        load(path, pm)


# ============================================================================ components


def test_list_of_exit_conditions_is_combined_with_or(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    exit_conditions:
      - MaxFuncCalls: {fmax: 1000}
      - "MaxSeconds(session_max=60)"
      - TargetCost: {target: 0.5}
    """))
    cond = load(path, pm)["exit_conditions"]
    assert str(cond) == ("MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60, overall_max=None)"
                         " | TargetCost(target=0.5, atol=1e-06)")
    assert [type(leaf) for leaf in cond.leaves()] == [MaxFuncCalls, MaxSeconds, TargetCost]


def test_stopper_mapping_with_bounds(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    bounds: [-1, 1]
    stoppers:
      - ParameterDistance: {bounds: bounds, relative_distance: 0.1}
      - "BestUnmoving(calls=10) & ParameterDistance(bounds, relative_distance=0.2)"
    """))
    cond = load(path, pm)["stoppers"]
    leaves = cond.leaves()
    assert [type(leaf) for leaf in leaves] == [ParameterDistance, BestUnmoving, ParameterDistance]
    for leaf in (leaves[0], leaves[2]):
        np.testing.assert_array_equal(np.asarray(leaf.bounds), [[-1, 1]] * 3)
    assert str(cond) == ("ParameterDistance(bounds, relative_distance=0.1, test_all=False) | "
                         "[BestUnmoving(calls=10, tol=0) & ParameterDistance(bounds, "
                         "relative_distance=0.2, test_all=False)]")


def test_optimizer_init_call_form(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer: {init: {popsize: 6, iters: 5}, call: {}}
              - random: {init: {popsize: 3}}
              - RandomOptimizer:
              - RandomOptimizer
            allow_spawn:
              - IterSpawnStop: {max_calls: 500}
              - NOptimizersSpawnStop: {max_opts: 4}
        """)
    selector = load(path, pm)["opt_selector"]
    assert selector.avail_opts == [(RandomOptimizer, {"popsize": 6, "iters": 5}, {}),
                                   (RandomOptimizer, {"popsize": 3}, {}),
                                   (RandomOptimizer, {}, {}), (RandomOptimizer, {}, {})]
    assert [type(c) for c in selector.allow_spawn] == [IterSpawnStop, NOptimizersSpawnStop]
    assert selector.allow_spawn[0].max_calls == 500


def test_optimizer_form_with_an_unknown_section(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer: {init: {popsize: 6}, cal: {}}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 5, "opt_selector.CycleSelector.avail_opts[0].RandomOptimizer")
            + re.escape("unknown key(s) ['cal'] for optimizer 'RandomOptimizer'")):
        load(path, pm)


def test_bad_spawn_control_argument(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts: [RandomOptimizer]
            allow_spawn:
              - IterSpawnStop: {max_calls: 500}
              - NOptimizersSpawnStop: {max_opts: -1}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 7, "opt_selector.CycleSelector.allow_spawn[1].NOptimizersSpawnStop")
            + "NOptimizersSpawnStop: "):
        load(path, pm)


def test_component_written_wrongly(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    x0_generator: {RandomGenerator: {}, IncumbentGenerator: {}}
    """))
    with pytest.raises(RunFileError, match=where(path, 6, "x0_generator")
                       + re.escape("a generator is written as Name or {Name: {argument: value}}")):
        load(path, pm)


def test_generator_backend_and_settings(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + snippet("""
    x0_generator: IncumbentGenerator
    backend: {processes: {start_method: spawn}}
    stopcheck_interval: 5
    end_timeout: null
    """))
    kwargs = load(path, pm)
    assert type(kwargs["x0_generator"]).__name__ == "IncumbentGenerator"
    assert kwargs["backend"] == "processes"
    assert kwargs["backend_kwargs"] == {"start_method": "spawn"}
    assert kwargs["stopcheck_interval"] == 5
    assert kwargs["end_timeout"] is None


def test_unknown_backend(tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL + "backend: dask\n")
    with pytest.raises(UnknownComponentError,
                       match=re.escape(f"(from {path}:6, key 'backend')") + ".*glompo-dask"):
        load(path, pm)


# ======================================== optimizer arguments, checked when the file loads

def test_misspelt_optimizer_argument_names_file_line_key_and_did_you_mean(
        tmp_path: Path, pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer: {init: {popsize: 6}}
              - RandomOptimizer:
                  init:
                    iters: 5
                    popsiz: 8
        """)
    with pytest.raises(RunFileError, match="^" + where(
            path, 9, "opt_selector.CycleSelector.avail_opts[1].RandomOptimizer.init.popsiz")
            + re.escape("not an argument of RandomOptimizer; did you mean 'popsize'?") + "$"):
        load(path, pm)


def test_unknown_optimizer_argument_lists_the_accepted_ones(tmp_path: Path,
                                                            pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          RandomSelector:
            avail_opts:
              - RandomOptimizer: {init: {sigma0: 0.5}}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 5, "opt_selector.RandomSelector.avail_opts[0].RandomOptimizer.init.sigma0")
            + re.escape("not an argument of RandomOptimizer, which accepts: iters, popsize, "
                        "seed, workers")):
        load(path, pm)


def test_call_arguments_are_checked_against_minimize(tmp_path: Path,
                                                     pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          ChainSelector:
            fcall_thresholds: [100]
            avail_opts:
              - RandomOptimizer
              - RandomOptimizer:
                  call: {maxiter: 10}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 8, "opt_selector.ChainSelector.avail_opts[1].RandomOptimizer.call.maxiter")
            + re.escape("not an argument of RandomOptimizer.minimize(), which takes only "
                        "function, x0, bounds (given by the manager); remove it")):
        load(path, pm)


def test_arguments_the_manager_sets_are_refused_in_run_files(tmp_path: Path,
                                                             pm: PluginManager) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer: {init: {_opt_id: 3}}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 5, "opt_selector.CycleSelector.avail_opts[0].RandomOptimizer.init._opt_id")
            + re.escape("set by the manager for every optimizer; remove it")):
        load(path, pm)


def test_optimizer_argument_given_by_set_names_the_override(tmp_path: Path,
                                                            pm: PluginManager) -> None:
    path = write_run_file(tmp_path, MINIMAL)
    item = "opt_selector.CycleSelector.avail_opts=[{RandomOptimizer: {init: {iter: 3}}}]"
    with pytest.raises(RunFileError, match=re.escape(
            f"{path} (--set {item}): key 'opt_selector.CycleSelector.avail_opts[0]."
            "RandomOptimizer.init.iter': not an argument of RandomOptimizer; did you mean "
            "'iters'?")):
        load(path, pm, item)


def test_arguments_of_a_local_plugin_optimizer_are_checked(tmp_path: Path,
                                                           pm: PluginManager) -> None:
    module = unique("plugin")
    (tmp_path / f"{module}.py").write_text(LOCAL_PLUGIN_SOURCE)
    path = write_run_file(tmp_path, f"""
        task: Rastrigin
        plugins: [{module}]
        opt_selector:
          CycleSelector:
            avail_opts:
              - LocalOptimizer: {{init: {{popsize: 4, seed: 3, workers: 2}}}}
              - LocalOptimizer: {{init: {{popsise: 4}}}}
        """)
    with pytest.raises(RunFileError, match=where(
            path, 7, "opt_selector.CycleSelector.avail_opts[1].LocalOptimizer.init.popsise")
            + re.escape("not an argument of LocalOptimizer; did you mean 'popsize'?")):
        load(path, pm)


# ======================================== setup() errors carry the run file's line

def build(path: Path, pm: PluginManager, *overrides: str) -> GloMPOManager:
    return build_manager(path, list(overrides), plugin_manager=pm)


def with_dir(tmp_path: Path, text: str) -> Path:
    """A run file of MINIMAL, ``working_dir`` (line 6) in ``tmp_path``, then ``text``."""
    return write_run_file(tmp_path, MINIMAL + f"working_dir: {tmp_path / 'out'}\n"
                          + snippet(text))


def test_a_good_run_file_builds_a_manager(tmp_path: Path, pm: PluginManager) -> None:
    manager = build(with_dir(tmp_path, "max_jobs: 2\nbackend: threads\n"), pm)
    assert (manager.max_jobs, manager.backend, manager.n_parms) == (2, "threads", 3)
    assert manager.working_dir == (tmp_path / "out").resolve()
    manager.close()


def test_bad_bounds_pair_names_its_line(tmp_path: Path, pm: PluginManager) -> None:
    path = with_dir(tmp_path, """
    bounds:
      - [0, 1]
      - [0, 1]
      - [3, 1]
    """)
    with pytest.raises(RunFileError, match="^" + where(path, 10, "bounds[2]") + re.escape(
            "bounds of parameter(s) [2] have min > max (e.g. parameter 2: (3.0, 1.0)); write "
            "each pair as (min, max)") + "$"):
        build(path, pm)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_bounds_errors_without_a_pair_of_their_own_name_the_bounds_key(
        tmp_path: Path, pm: PluginManager) -> None:
    path = with_dir(tmp_path, "bounds: [2, 2]\n")  # one pair, repeated for the 3 dims
    with pytest.raises(RunFileError, match=where(path, 7, "bounds")
                       + re.escape("bounds of parameter(s) [0, 1, 2] have min == max")):
        build(path, pm)
    path = with_dir(tmp_path, "bounds: [[0, 1], [0, 1]]\n")
    with pytest.raises(RunFileError, match=where(path, 7, "bounds")
                       + re.escape("the task has 3 parameters but 2 bounds were given")):
        build(path, pm)


def test_bounds_taken_from_the_task_are_named_as_such(tmp_path: Path,
                                                      pm: PluginManager) -> None:
    module = unique("task")
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        class Upside:
            dims = 2
            bounds = [(0.0, 1.0), (1.0, -1.0)]

            def __call__(self, x):
                return float(sum(x))
        """))
    path = write_run_file(tmp_path, f"""
        task: "{module}:Upside"
        working_dir: {tmp_path / 'out'}
        opt_selector:
          CycleSelector:
            avail_opts: [RandomOptimizer]
        """)
    with pytest.raises(RunFileError, match="^" + re.escape(
            f"{path}: setting 'bounds' (not in the file, the task's bounds): bounds of "
            "parameter(s) [1] have min > max")):
        build(path, pm)


@pytest.mark.parametrize(("text", "line", "key", "message"), [
    ("max_jobs: 0\n", 7, "max_jobs", "max_jobs must be a whole number >= 1, got 0"),
    ("stopcheck_interval: 0\n", 7, "stopcheck_interval",
     "stopcheck_interval must be a whole number >= 1, got 0"),
    ("summary_files: 5\n", 7, "summary_files", "summary_files must be 0 (nothing), 1"),
    ("seed: -2\n", 7, "seed", "seed must be a whole number >= 0 or None, got -2"),
    ("status_interval: 0\n", 7, "status_interval", "status_interval must be a number > 0"),
    ("backend: {threads: {nope: 1}}\n", 7, "backend",
     "ThreadsBackend.__init__() got an unexpected keyword argument 'nope'"),
    ("x0_generator: 3\n", 7, "x0_generator", "a generator is written as Name"),
    ("checkpoint_control: {nope: 1}\n", 7, "checkpoint_control", "checkpoint_control: "),
])
def test_setup_errors_name_the_line_of_their_setting(tmp_path: Path, pm: PluginManager,
                                                     text: str, line: int, key: str,
                                                     message: str) -> None:
    path = with_dir(tmp_path, text)
    with pytest.raises(RunFileError, match="^" + where(path, line, key) + re.escape(message)):
        build(path, pm)


def test_setup_error_of_an_override_names_the_override(tmp_path: Path,
                                                       pm: PluginManager) -> None:
    path = with_dir(tmp_path, "max_jobs: 2\n")
    with pytest.raises(RunFileError, match=re.escape(
            f"{path} (--set max_jobs=0): key 'max_jobs': max_jobs must be a whole number >= 1")):
        build(path, pm, "max_jobs=0")


def test_unknown_backend_name_names_the_line(tmp_path: Path, pm: PluginManager) -> None:
    path = with_dir(tmp_path, "backend: thread\n")
    with pytest.raises(UnknownComponentError, match=re.escape(
            f"unknown backend 'thread' (from {path}:7, key 'backend'). Did you mean "
            "'threads'?")):
        build(path, pm)


def test_working_dir_under_a_regular_file_names_the_line(tmp_path: Path,
                                                         pm: PluginManager) -> None:
    (tmp_path / "afile").write_text("not a directory")
    path = write_run_file(tmp_path, MINIMAL + f"working_dir: {tmp_path / 'afile' / 'run'}\n")
    with pytest.raises(RunFileError, match="^" + where(path, 6, "working_dir") + re.escape(
            f"working_dir {tmp_path / 'afile' / 'run'} cannot be created: "
            f"{tmp_path / 'afile'} is a file, not a directory; choose another working_dir")):
        build(path, pm)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes in read-only directories")
def test_read_only_working_dir_names_the_line(tmp_path: Path, pm: PluginManager) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        path = write_run_file(tmp_path, MINIMAL + f"working_dir: {locked}\n")
        with pytest.raises(RunFileError, match=where(path, 6, "working_dir") + re.escape(
                f"working_dir {locked} is not writable: Permission denied")):
            build(path, pm)
    finally:
        locked.chmod(0o755)


def test_python_api_refuses_a_misspelt_optimizer_argument_before_anything_runs(
        tmp_path: Path, pm: PluginManager) -> None:
    calls = []

    def task(x: Any) -> float:
        calls.append(x)
        return float(sum(x))

    selector = CycleSelector(("RandomOptimizer", {"popsize": 8}),
                             ("RandomOptimizer", {"popsiz": 8}), plugin_manager=pm)
    with pytest.raises(TypeError, match="^" + re.escape(
            "CycleSelector optimizer #2: init argument 'popsiz': not an argument of "
            "RandomOptimizer; did you mean 'popsize'?") + "$"):
        GloMPOManager.new_manager(task=task, bounds=[(0, 1)] * 2, opt_selector=selector,
                                  working_dir=tmp_path / "out", backend="threads",
                                  plugin_manager=pm)
    assert calls == []
    assert not (tmp_path / "out").exists()


# ======================================== through the command line

@pytest.fixture
def cli_pm(monkeypatch: pytest.MonkeyPatch, pm: PluginManager) -> PluginManager:
    """``glompo run`` in-process with the test's registry, never the machine's plugins."""
    import glompo_core.plugins
    import glompo_core.runfile

    monkeypatch.setattr(glompo_core.runfile, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: pm)
    return pm


@pytest.mark.parametrize(("text", "expected"), [
    ("bounds: [[0, 1], [5, 1], [0, 1]]\n", "{path}:7: key 'bounds[1]': bounds of parameter(s) "
                                           "[1] have min > max"),
    ("max_jobs: 0\n", "{path}:7: key 'max_jobs': max_jobs must be a whole number >= 1, got 0"),
    ("backend: proceses\n", "unknown backend 'proceses' (from {path}:7, key 'backend'). Did "
                            "you mean 'processes'"),
])
def test_glompo_run_prints_the_line_and_exits_2(tmp_path: Path, cli_pm: PluginManager,
                                                capsys: pytest.CaptureFixture[str], text: str,
                                                expected: str) -> None:
    from glompo_core.cli import main

    path = with_dir(tmp_path, text)
    assert main(["run", str(path), "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert expected.format(path=path) in " ".join(err.split())
    assert "Traceback" not in err
    assert out == ""
    assert not (tmp_path / "out").exists()


def test_glompo_run_process_refuses_a_misspelt_optimizer_argument(tmp_path: Path) -> None:
    path = write_run_file(tmp_path, f"""
        task: Rastrigin
        working_dir: {tmp_path / 'out'}
        opt_selector:
          CycleSelector:
            avail_opts:
              - RandomOptimizer: {{init: {{popsize: 8}}}}
              - RandomOptimizer: {{init: {{popsiz: 8}}}}
        """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent),
                                         env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "glompo_core.cli", "run", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert (f"{path}:7: key 'opt_selector.CycleSelector.avail_opts[1].RandomOptimizer.init."
            "popsiz': not an argument of RandomOptimizer; did you mean 'popsize'?") \
        in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_task_error_settings_are_run_file_keys(tmp_path: Path, pm: PluginManager) -> None:
    path = with_dir(tmp_path, """
    task_errors: crash
    task_retries: 2
    max_failures_in_a_row: 7
    max_crashes_in_a_row: 3
    """)
    manager = build(path, pm)
    assert (manager.task_errors, manager.task_retries, manager.max_failures_in_a_row,
            manager.max_crashes_in_a_row) == ("crash", 2, 7, 3)
    manager.close()
    path = with_dir(tmp_path, "task_errors: crsh\n")
    with pytest.raises(RunFileError, match=where(path, 7, "task_errors")
                       + r"task_errors must be one of .*got 'crsh'; did you mean 'crash'\?"):
        build(path, pm)
    path = with_dir(tmp_path, "max_crashes_in_a_row: -1\n")
    with pytest.raises(RunFileError, match=where(path, 7, "max_crashes_in_a_row")
                       + re.escape("max_crashes_in_a_row must be a whole number >= 0")):
        build(path, pm)
