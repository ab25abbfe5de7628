"""glompo-nevergrad: registration, the GloMPO contract, manager runs, injections, checkpoints."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import glompo_nevergrad
import glompo_nevergrad.hooks
import numpy as np
import pytest
from glompo_nevergrad import NevergradOptimizer, available_optimizers

from glompo_core import GloMPOManager, __version__
from glompo_core import hookimpl as glompo_core_hookimpl
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
from glompo_core.testing import (
    BatchRecordingTask,
    Inbox,
    RecordingTask,
    parametrize_with_checks,
    wired,
)

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PM = PluginManager(load_entrypoints=False, plugins=[("nevergrad", glompo_nevergrad.hooks)])
CENTRE = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
BOUNDS5 = [(-2.0, 2.0)] * 5

# nevergrad and pycma warn a lot (e.g. NGOpt's metamodel: a numpy DeprecationWarning per
# prediction, the one that is an error on numpy 2.4); the tests assert what matters
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning",
                                        "ignore::DeprecationWarning")


def shifted_sphere(x: Any) -> float:
    """5-D sphere with its minimum 0 at CENTRE (not at the centre of the bounds)."""
    return float(np.sum((np.asarray(x, dtype=float) - CENTRE) ** 2))


def wired_ng(**kwargs: Any) -> tuple[NevergradOptimizer, ThreadPipe, Inbox]:
    """A NevergradOptimizer wired as the manager wires it (glompo_core.testing.wired): the
    optimizer, the manager's end of its pipe, and the inbox of its messages."""
    w = wired(NevergradOptimizer, kwargs)
    return w.opt, w.pipe, w.inbox


# ------------------------------------------------------------------------ registration


@pytest.mark.parametrize("name", ["NevergradOptimizer", "nevergrad", "NGOpt", "ngopt"])
def test_registered_by_name_and_aliases(name: str) -> None:
    assert PM.get("optimizer", name) is NevergradOptimizer


def test_the_ngopt_alias_builds_ngopt_and_the_algorithm_is_an_argument() -> None:
    cls, init, _ = CycleSelector({"NGOpt": {"init": {"budget": 50}}}, plugin_manager=PM
                                 ).avail_opts[0]
    assert cls(**init).optimizer == "NGOpt"
    cls, init, _ = CycleSelector({"nevergrad": {"init": {"optimizer": "PSO"}}},
                                 plugin_manager=PM).avail_opts[0]
    assert cls(**init).optimizer == "PSO"


def test_registered_through_the_installed_entry_point() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="glompo")}
    if eps.get("nevergrad") != "glompo_nevergrad.hooks":
        pytest.skip("glompo-nevergrad is not installed: pip install -e plugins/glompo-nevergrad")
    pm = PluginManager()
    assert pm.get("optimizer", "NGOpt") is NevergradOptimizer
    info = next(p for p in pm.plugins() if p.name == "nevergrad")
    assert (info.status, info.distribution, info.version) == ("active", "glompo-nevergrad",
                                                              __version__)
    assert info.components == {"optimizer": ["NevergradOptimizer"]}


def test_one_version_the_core_dependency_and_the_numpy_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == glompo_nevergrad.__version__ == __version__
    assert "glompo-core>=0.1,<0.2" in project["dependencies"]
    assert "numpy>=1.24,<2.4" in project["dependencies"]
    assert project["entry-points"]["glompo"] == {"nevergrad": "glompo_nevergrad.hooks"}
    assert (ROOT / "glompo_nevergrad" / "py.typed").exists()
    major, minor = (int(v) for v in np.__version__.split(".")[:2])
    assert (major, minor) < (2, 4), "pip installed a numpy this plugin does not support"


@pytest.mark.parametrize("code", [
    "import glompo_nevergrad.hooks", "import glompo_nevergrad",
    "from glompo_core.plugins import PluginManager; import glompo_nevergrad.hooks as h; "
    "PluginManager(load_entrypoints=False, plugins=[('n', h)])"])
def test_registration_imports_no_nevergrad(code: str) -> None:
    probe = f"{code}; import sys; print('nevergrad' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False"]


def test_plugins_json_lists_both_plugins_with_their_names() -> None:
    import json

    eps = {ep.name for ep in importlib.metadata.entry_points(group="glompo")}
    if not {"scipy", "nevergrad"} <= eps:
        pytest.skip("glompo-scipy and glompo-nevergrad must both be installed")
    proc = subprocess.run([sys.executable, "-m", "glompo_core.cli", "plugins", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    assert plugins["nevergrad"]["status"] == "active"
    assert plugins["nevergrad"]["components"] == {"optimizer": ["NevergradOptimizer"]}
    assert plugins["scipy"]["status"] == "active"
    assert {"ScipyOptimizer", "NelderMead", "LBFGSB", "TrustConstr", "DifferentialEvolution",
            "DualAnnealing"} <= set(plugins["scipy"]["components"]["optimizer"])


# ------------------------------------------------------------------- conformance kit


@parametrize_with_checks(
    [(NevergradOptimizer, {"optimizer": "NGOpt", "budget": 150, "seed": 1}),
     (NevergradOptimizer, {"optimizer": "CMA", "seed": 1}, {"budget": 300}),
     (NevergradOptimizer, {"optimizer": "TwoPointsDE", "seed": 1}, {"budget": 300}),
     (NevergradOptimizer, {"optimizer": "PSO", "seed": 1}, {"budget": 300}),
     (NevergradOptimizer, {"optimizer": "OnePlusOne", "seed": 1}, {"budget": 300})],
    plugin_manager=PM)
def test_conformance(optimizer: type, check: Callable[[type], None]) -> None:
    check(optimizer)


@parametrize_with_checks(  # nevergrad's sequential, scipy-based NelderMead: workers=1 only
    [(NevergradOptimizer, {"optimizer": "NelderMead", "seed": 1}, {"budget": 300})],
    plugin_manager=PM, skip={"check_workers_population"})
def test_conformance_of_a_sequential_recast_algorithm(optimizer: type,
                                                      check: Callable[[type], None]) -> None:
    check(optimizer)


# --------------------------------------------------------------------- manager runs


def one_optimizer_run(tmp_path: Path, init: dict[str, Any], *, max_jobs: int = 1,
                      task: Callable[[Any], float] = shifted_sphere,
                      **kwargs: Any) -> GloMPOManager:
    """A manager run of exactly one NevergradOptimizer, ending when that optimizer ends."""
    settings: dict[str, Any] = dict(
        task=task, bounds=BOUNDS5,
        opt_selector=CycleSelector(("NevergradOptimizer", init), plugin_manager=PM,
                                   allow_spawn=NOptimizersSpawnStop(max_opts=1)),
        working_dir=tmp_path / "run", max_jobs=max_jobs, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=100_000), split_printstreams=False, seed=2,
        plugin_manager=PM)
    settings.update(kwargs)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


@pytest.mark.parametrize("init", [
    {"optimizer": "NGOpt", "budget": 400},
    {"optimizer": "CMA", "budget": 1200},
    {"optimizer": "DE", "budget": 12000, "workers": 4},
    {"optimizer": "TwoPointsDE", "budget": 12000, "workers": 4},
    {"optimizer": "PSO", "budget": 5000, "bounds_method": "clipping"},
], ids=lambda init: init["optimizer"])
def test_five_algorithms_find_the_5d_sphere_minimum_through_the_manager(
        tmp_path: Path, init: dict[str, Any]) -> None:
    manager = one_optimizer_run(tmp_path, init, max_jobs=int(init.get("workers", 1)))
    assert manager.optimizer_status() == {1: "converged"}
    assert manager.f_counter == init["budget"]
    assert manager.result.fx < 1e-4 and manager.result.x is not None
    np.testing.assert_allclose(manager.result.x, CENTRE, atol=1e-2)
    assert manager.opt_log.get_metadata(1, "end_cond") == (
        f"converged: nevergrad {init['optimizer']}: budget of {init['budget']} evaluations "
        "used")


def test_ngopt_without_a_budget_gets_its_share_of_the_runs_budget(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No budget given: the manager gives each NGOpt (MaxFuncCalls - spent) // (max_jobs //
    workers), by the rule of glompo_core.budget, logs it and records it in init_kwargs."""
    assert NevergradOptimizer.budget_argument == "budget"
    with caplog.at_level("INFO", logger="glompo"):
        manager = one_optimizer_run(
            tmp_path, {"optimizer": "NGOpt"}, max_jobs=2,
            opt_selector=CycleSelector(("NGOpt", {}), plugin_manager=PM,
                                       allow_spawn=NOptimizersSpawnStop(max_opts=2)),
            exit_conditions=MaxFuncCalls(fmax=800))
    assert manager.f_counter == 800
    for opt_id in (1, 2):
        assert manager.opt_log.get_metadata(opt_id, "init_kwargs") == {"budget": 400,
                                                                        "workers": 1}
        opt = manager._opts[opt_id].optimizer
        assert (opt.budget, opt.n_evals, manager.opt_log.len(opt_id)) == (400, 400, 400)
        assert (f"optimizer {opt_id}: budget=400 from the run's MaxFuncCalls(fmax=800): "
                "(800 - 0 spent) // 2 at once") in caplog.messages
    # the first to use its share converged; the other may be told to stop as the run ends
    assert "converged" in manager.optimizer_status().values()
    assert manager.result.fx < 1e-4


def test_ngopt_without_a_budget_in_a_run_without_one_is_refused_with_both_fixes(
        tmp_path: Path) -> None:
    from glompo_core import GloMPOError
    from glompo_core.exit_conditions import MaxSeconds

    # '&': the run may go on past 800 evaluations, so it has no budget to share
    with pytest.raises(GloMPOError, match=r"NGOpt chooses its algorithm from the budget.*give "
                                        r"budget=.*or run it under a MaxFuncCalls"):
        one_optimizer_run(tmp_path, {"optimizer": "NGOpt"},
                          exit_conditions=MaxFuncCalls(fmax=800) & MaxSeconds(session_max=5))


NGOPT_SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    from glompo_core import GloMPOManager
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
    import glompo_nevergrad.hooks
    from glompo_core.plugins import PluginManager

    warnings.filterwarnings("ignore")
    pm = PluginManager(load_entrypoints=False, plugins=[("nevergrad", glompo_nevergrad.hooks)])
    manager = GloMPOManager.new_manager(
        task=lambda x: float(np.sum((np.asarray(x) - 0.3) ** 2)), bounds=[(-2, 2)] * 5,
        opt_selector=CycleSelector(("NGOpt", {"budget": 600}), plugin_manager=pm,
                                   allow_spawn=NOptimizersSpawnStop(max_opts=1)),
        working_dir=__import__("sys").argv[1], max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=1000), split_printstreams=False, seed=1,
        plugin_manager=pm)
    result = manager.start_manager()
    print("RESULT", manager.optimizer_status()[1], manager.f_counter, result.fx, flush=True)
""")


def test_ngopt_runs_to_completion_and_the_process_exits(tmp_path: Path) -> None:
    """The known trap: with numpy 2.4, NGOpt's model fitting raises and the process hangs.

    NGOpt picks a MetaModel over pycma's fmin2 for a 5-D budget of 600; fmin2 runs in a
    background thread which, if not stopped, keeps the process alive. A timeout turns a
    hang into a failure.
    """
    script = tmp_path / "ngopt.py"
    script.write_text(NGOPT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    _, status, f_counter, fx = line.split()
    assert (status, f_counter) == ("converged", "600") and float(fx) < 1e-8


def test_workers_ask_a_batch_and_evaluate_it_at_once() -> None:
    task = BatchRecordingTask(shifted_sphere)
    opt = NevergradOptimizer(optimizer="TwoPointsDE", workers=6, budget=100, seed=1)
    res = opt.minimize(task, [1.0] * 5, BOUNDS5)
    assert task.batches == [6] * 16 + [4]  # the last batch is what is left of the budget
    assert opt.ng_optimizer.num_workers == 6 and res.stats is not None
    assert res.stats["evaluations"] == 100 == len(task.xs) and res.stats["iterations"] == 17


def test_x0_is_the_first_point_evaluated_and_points_stay_in_bounds() -> None:
    bounds = np.array([(10.0, 11.0), (-3.0, -2.5), (100.0, 200.0)])
    x0 = np.array([11.0, -2.5, 137.25])  # on two bounds
    for name in ("PSO", "CMA", "NelderMead"):
        task = BatchRecordingTask(lambda x: float(np.sum(x)))
        NevergradOptimizer(optimizer=name, budget=300, seed=1).minimize(task, x0.tolist(),
                                                                        bounds.tolist())
        xs = np.array(task.xs)
        np.testing.assert_allclose(xs[0], x0, rtol=1e-12)
        assert np.all(xs >= bounds[:, 0]) and np.all(xs <= bounds[:, 1])


def test_bounds_method_reaches_nevergrad() -> None:
    share = {}
    for method in ("bouncing", "clipping"):
        opt = NevergradOptimizer(optimizer="PSO", budget=600, seed=1, bounds_method=method)
        task = BatchRecordingTask(shifted_sphere)
        opt.minimize(task, [1.0] * 5, BOUNDS5)
        xs = np.abs(np.array(task.xs))
        share[method] = float(np.mean(xs == 2.0))  # coordinates exactly on a bound
        assert np.all(xs <= 2.0)
    assert share["bouncing"] > 2 * share["clipping"]  # PSO pins points on bouncing bounds


def test_seeded_runs_repeat_exactly() -> None:
    for name in ("NGOpt", "CMA", "DE", "TwoPointsDE", "PSO"):
        runs = []
        for seed in (5, 5, 6):
            task = BatchRecordingTask(shifted_sphere)
            NevergradOptimizer(optimizer=name, budget=120, seed=seed).minimize(
                task, [1.0] * 5, BOUNDS5)
            runs.append(np.array(task.xs))
        np.testing.assert_array_equal(runs[0], runs[1], err_msg=name)
        if name != "NGOpt":  # NGOpt's choice for this budget (Cobyla) is deterministic
            assert not np.array_equal(runs[0], runs[2]), name


def test_nan_and_infinity_are_told_as_the_worst_loss() -> None:
    def half_nan(x: Any) -> float:
        return float("nan") if x[0] < 0 else (float("inf") if x[1] < -1.5 else
                                              shifted_sphere(x))

    from nevergrad.common.errors import LossTooLargeWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", LossTooLargeWarning)  # nevergrad had to clip a loss
        res = NevergradOptimizer(optimizer="CMA", budget=800, seed=1).minimize(
            half_nan, [1.0] * 5, BOUNDS5)
    assert res.x is not None and res.fx < 1e-6 and np.all(np.isfinite(res.x))


def test_convergence_message_and_result_stats() -> None:
    opt, _, inbox = wired_ng(optimizer="OnePlusOne", budget=50, seed=1)
    res = opt.minimize(shifted_sphere, [1.0] * 5, BOUNDS5)
    assert inbox.items == [
        ManagerMessage(1, 0, "nevergrad OnePlusOne: budget of 50 evaluations used")]
    assert res.success and res.stats is not None
    assert (res.stats["evaluations"], res.stats["iterations"]) == (50, 50)
    assert res.stats["recommendation"].shape == (5,)
    assert res.origin == {"opt_id": 1, "type": "NevergradOptimizer", "optimizer": "OnePlusOne"}


def test_stop_ends_the_loop_and_background_threads(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    for name in ("NelderMead", "NGOpt"):  # NGOpt with 5-D and this budget: fmin2 in a thread
        opt, pipe, inbox = wired_ng(optimizer=name, budget=5000, seed=1)
        task = BatchRecordingTask(shifted_sphere)

        def f(x: np.ndarray, task: RecordingTask = task, pipe: ThreadPipe = pipe) -> float:
            if len(task.xs) == 40:
                pipe.send((Signal.STOP, "enough"))
            return shifted_sphere(x)

        task.f = f
        res = opt.minimize(task, [1.0] * 5, BOUNDS5)  # ends with the 40th evaluation
        assert not res.success and len(task.xs) == 40 and inbox.items == []
    deadline = time.monotonic() + 5
    while {t.ident for t in threading.enumerate()} - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not {t.ident for t in threading.enumerate()} - before


# -------------------------------------------------------------------------- injection


def test_an_injection_is_told_to_nevergrad_without_an_evaluation() -> None:
    opt, pipe, _ = wired_ng(optimizer="OnePlusOne", budget=30, seed=1)
    task = BatchRecordingTask(shifted_sphere)
    x_inj = CENTRE + 1e-3

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 10:
            pipe.send((Signal.INJECT, x_inj, shifted_sphere(x_inj)))
        return shifted_sphere(x)

    task.f = f
    res = opt.minimize(task, [1.5] * 5, BOUNDS5)
    assert len(task.xs) == 30 and opt.ng_optimizer.num_tell == 31  # one tell not asked
    assert res.x is not None
    np.testing.assert_allclose(res.x, x_inj)  # the incumbent...
    # ...and the one-plus-one's parent: every later point is a mutation of the injection
    later = np.array(task.xs[11:])
    assert np.median(np.linalg.norm(later - CENTRE, axis=1)) < \
        np.median(np.linalg.norm(np.array(task.xs[1:10]) - CENTRE, axis=1))


def test_an_algorithm_refusing_injections_keeps_the_incumbent_only() -> None:
    opt, pipe, _ = wired_ng(optimizer="EDA", budget=40, seed=1)
    task = BatchRecordingTask(shifted_sphere)

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 10:
            pipe.send((Signal.INJECT, CENTRE, 0.0))
        return shifted_sphere(x)

    task.f = f
    res = opt.minimize(task, [1.5] * 5, BOUNDS5)
    assert res.fx == 0.0 and not opt.tell_injections and len(task.xs) == 40


# ----------------------------------------------------------------------- checkpoints


def checkpointed_run(tmp_path: Path, name: str, workers: int = 1) -> tuple[
        list[np.ndarray], Path, Inbox]:
    """Run ``name`` stand-alone with a checkpoint request after 60 evaluations."""
    path = tmp_path / f"{name}.pkl"
    opt, pipe, inbox = wired_ng(optimizer=name, budget=160, seed=3, workers=workers)
    task = BatchRecordingTask(shifted_sphere)

    def f(x: np.ndarray) -> float:
        if len(task.xs) == 60:
            pipe.send((Signal.CHECKPOINT, path))
        return shifted_sphere(x)

    task.f = f
    opt.minimize(task, [1.0] * 5, BOUNDS5)
    return task.xs, path, inbox


@pytest.mark.parametrize(("name", "workers"), [("CMA", 1), ("TwoPointsDE", 4), ("PSO", 1),
                                               ("DE", 1), ("OnePlusOne", 1), ("NGOpt", 4)])
def test_a_checkpoint_continues_the_same_search(tmp_path: Path, name: str, workers: int) -> None:
    xs, path, inbox = checkpointed_run(tmp_path, name, workers)
    assert ManagerMessage(1, 2, str(path)) in inbox
    loaded = NevergradOptimizer.checkpoint_load(path, _opt_id=7)
    assert loaded.is_restart and loaded.opt_id == 7 and loaded.ng_optimizer is not None
    saved = loaded.n_evals
    resumed = BatchRecordingTask(shifted_sphere)
    res = loaded.minimize(resumed, [0.0] * 5, BOUNDS5)  # x0: ignored, the search goes on
    np.testing.assert_array_equal(np.array(resumed.xs), np.array(xs[saved:]))
    assert res.success and loaded.n_evals == 160


@pytest.mark.parametrize("name", ["NelderMead", "NGOpt"])
def test_an_algorithm_nevergrad_cannot_restore_refuses_the_checkpoint(tmp_path: Path,
                                                                      name: str) -> None:
    """nevergrad restores its recast algorithms by replaying them, and the replay of these
    fails (NGOpt picks MetaModel(CmaFmin2) here): the checkpoint is refused, with why."""
    _, path, inbox = checkpointed_run(tmp_path, name)
    refused = [m for m in inbox if m.key == 3]
    assert len(refused) == 1 and not path.exists()
    assert f"nevergrad's {name} cannot be saved and restored mid-run" in refused[0].message


def test_a_lost_state_restarts_from_the_best_point(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    xs, path, _ = checkpointed_run(tmp_path, "CMA")
    import dill

    def broken(blob: bytes) -> Any:
        raise RuntimeError("written by another nevergrad")

    monkeypatch.setattr(dill, "loads", broken)
    loaded = NevergradOptimizer.checkpoint_load(path)
    monkeypatch.undo()
    assert loaded.ng_optimizer is None
    best = loaded.incumbent["x"]
    assert loaded.incumbent["fx"] == min(shifted_sphere(x) for x in xs[:60])
    task = BatchRecordingTask(shifted_sphere)
    loaded.minimize(task, [0.0] * 5, BOUNDS5)
    np.testing.assert_array_equal(task.xs[0], best)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"optimizer": "TwoPointDE", "budget": 10}, "unknown nevergrad optimizer 'TwoPointDE'. "
                                                "Did you mean 'TwoPointsDE'"),
    ({"optimizer": "cma", "budget": 10}, "Did you mean 'CMA'"),
    ({"optimizer": "NGOpt"}, "nevergrad's NGOpt chooses its algorithm from the budget and "
                             "fails on its first ask without one: give budget="),
    ({"optimizer": "CMA", "budget": 0}, "budget must be None or an integer >= 1"),
    ({"optimizer": "CMA", "budget": 2.5}, "budget must be None or an integer >= 1"),
    ({"optimizer": "NelderMead", "workers": 2}, "nevergrad's NelderMead is sequential: it "
                                                "accepts workers=1 only"),
    ({"optimizer": "CMA", "seed": -1}, "seed must be None or an integer >= 0"),
    ({"optimizer": "CMA", "bounds_method": "arctan"}, "bounds_method must be one of "
                                                      "'bouncing', 'clipping'"),
])
def test_bad_input_names_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        NevergradOptimizer(**kwargs)


def test_the_algorithm_is_the_first_positional_argument() -> None:
    # the runtime arguments travel in **kwargs (by keyword): a positional name is the
    # algorithm, and a positional _opt_id (an int, the old long form) is refused clearly
    assert NevergradOptimizer("CMA", 50).optimizer == "CMA"
    with pytest.raises(TypeError, match=r"optimizer must be the name of a nevergrad "
                                        r"algorithm .*got 3; the manager's runtime "
                                        r"arguments \(_opt_id, ...\) are given by keyword"):
        NevergradOptimizer(3)  # type: ignore[arg-type]


def test_an_algorithm_that_needs_a_budget_says_so_on_its_first_ask() -> None:
    with pytest.raises(ValueError, match=r"nevergrad's LHSSearch failed on its first ask "
                                         r"without a budget.*give budget"):
        NevergradOptimizer(optimizer="LHSSearch").minimize(shifted_sphere, [0.0] * 5,
                                                           BOUNDS5)


def test_available_optimizers_is_nevergrads_registry() -> None:
    import nevergrad as ng

    names = available_optimizers()
    assert names == sorted(ng.optimizers.registry) and {"NGOpt", "CMA", "PSO"} <= set(names)


# --------------------------------------- a run with scipy and nevergrad: checkpoint, resume

MIXED_SCRIPT = textwrap.dedent("""
    import sys, time, warnings
    import numpy as np
    import glompo_nevergrad.hooks, glompo_scipy.hooks
    from glompo_core import GloMPOManager
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.plugins import PluginManager
    from glompo_core.selectors import CycleSelector

    warnings.filterwarnings("ignore")

    def task(x):
        time.sleep(0.0005)
        return float(np.sum((np.asarray(x) - 0.3) ** 2))

    pm = PluginManager(load_entrypoints=False, plugins=[
        ("scipy", glompo_scipy.hooks), ("nevergrad", glompo_nevergrad.hooks)])
    manager = GloMPOManager.new_manager(
        task=task, bounds=[(-2.0, 2.0)] * 4,
        opt_selector=CycleSelector(("nelder-mead", {}),
                                   ("NevergradOptimizer", {"optimizer": "CMA", "budget": 900}),
                                   plugin_manager=pm),
        working_dir=sys.argv[1], max_jobs=2, backend="threads",
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=200,
                                                naming_format="c_%(count)"),
        exit_conditions=MaxFuncCalls(fmax=300), split_printstreams=False, seed=4,
        plugin_manager=pm)
    manager.start_manager()
    print("DONE", manager.f_counter, flush=True)
""")


class BatchObserver:
    """A run-scoped plugin keeping every evaluation of the resumed session, by optimizer."""

    def __init__(self) -> None:
        self.x: dict[int, list[np.ndarray]] = {}

    @glompo_core_hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: Any, x: Any, fx: Any,
                               extras: Any) -> None:
        self.x.setdefault(opt_id, []).extend(np.array(x, dtype=float))


def test_a_run_with_scipy_and_nevergrad_checkpoints_and_resumes(tmp_path: Path) -> None:
    """scipy's optimizer cannot be saved mid-run: the checkpoint does not wait for it and
    it restarts from its best point; nevergrad's is saved and continues its search."""
    glompo_scipy_hooks = pytest.importorskip("glompo_scipy.hooks")
    from glompo_core.checkpointing import read_manifest

    script = tmp_path / "mixed.py"
    script.write_text(MIXED_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = tmp_path / "run" / "checkpoints" / "c_001.tar.gz"
    manifest = read_manifest(path)
    restart = {o["type"]: o["restart"] for o in manifest["optimizers"]}
    assert restart == {"NelderMead": "best", "NevergradOptimizer": "state"}

    observer = BatchObserver()
    pm = PluginManager(load_entrypoints=False, plugins=[
        ("scipy", glompo_scipy_hooks), ("nevergrad", glompo_nevergrad.hooks),
        ("observer", observer)])
    resumed = GloMPOManager.load_manager(path, plugin_manager=pm,
                                         exit_conditions=MaxFuncCalls(fmax=3000))
    ids = {o["type"]: o["opt_id"] for o in manifest["optimizers"]}
    plan = {entry["opt_id"]: entry for entry in resumed._restore}
    best_nm = plan[ids["NelderMead"]]["best_x"]
    saved = NevergradOptimizer.checkpoint_load(plan[ids["NevergradOptimizer"]]["path"])
    ng_before = saved.n_evals
    assert ng_before > 0 and saved.ng_optimizer.num_tell >= ng_before
    runner = threading.Thread(target=resumed.start_manager, daemon=True)
    runner.start()
    runner.join(120)
    assert not runner.is_alive(), "the resumed run hangs"
    # scipy: a new Nelder-Mead from the best point it had reached
    np.testing.assert_array_equal(observer.x[ids["NelderMead"]][0], best_nm)
    # nevergrad: the same CMA search, on to the end of its budget of 900 evaluations
    ng = resumed._opts[ids["NevergradOptimizer"]]
    assert ng.status == "converged" and ng.optimizer.n_evals == 900
    assert ng_before + len(observer.x[ids["NevergradOptimizer"]]) == 900


# ---------------------------------------------------------------------- the example


EXAMPLE = ROOT.parents[1] / "examples" / "portfolio.yml"  # the repository's examples/


def test_the_portfolio_example_runs_from_the_cli(tmp_path: Path) -> None:
    """CMAOptimizer, NevergradOptimizer (NGOpt) and ScipyOptimizer in one CycleSelector."""
    import yaml

    from glompo_core.cli import main

    eps = {ep.name for ep in importlib.metadata.entry_points(group="glompo")}
    missing = {"cma", "scipy", "nevergrad"} - eps
    if missing:
        pytest.skip(f"the example needs the plugin(s) {sorted(missing)}")
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLE), "--no-progress", "--set", f"working_dir={out}"]) == 0
    summary = yaml.safe_load((out / "glompo_manager_log.yml").read_text())
    counters = summary["Counters"]
    assert counters["Function Evaluations"] >= 8_000 or summary["Solution"]["fx"] < 1e-6
    assert counters["Optimizers"]["Started"] >= 3 and counters["Optimizers"]["Crashed"] == 0
    kinds = [o["type"] for o in
             summary["Settings"]["Optimizer Selector"]["Available Optimizers"].values()]
    assert kinds == ["CMAOptimizer", "NevergradOptimizer", "ScipyOptimizer"]
