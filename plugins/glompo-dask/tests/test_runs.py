"""GloMPO runs with ``backend='dask'``: the same results as 'processes', lost workers, crashes."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import glompo_dask.hooks
import numpy as np
import pytest
from glompo_dask import DaskBackend

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.generators import SinglePointGenerator
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop


def _core_test_helpers() -> ModuleType:
    """The core suite's ``tests/helpers.py`` (Recorder, StepOptimizer, plugin_manager).

    Importable as ``tests.helpers`` when pytest runs from the repository root with the
    root's configuration; this plugin's own ``tests`` directory shadows that name when
    pytest takes ``plugins/glompo-dask`` as its rootdir, so it is then loaded by path.
    """
    try:
        return importlib.import_module("tests.helpers")
    except ImportError:
        path = Path(__file__).resolve().parents[3] / "tests" / "helpers.py"
        spec = importlib.util.spec_from_file_location("glompo_core_tests_helpers", path)
        if spec is None or spec.loader is None:
            raise
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module


_helpers = _core_test_helpers()
Recorder = _helpers.Recorder
StepOptimizer = _helpers.StepOptimizer
plugin_manager = _helpers.plugin_manager
Rendezvous = _helpers.Rendezvous

QUIET = {"dashboard_address": ":0", "silence_logs": logging.CRITICAL}
BOUNDS = [(-1.0, 1.0)] * 3


class SleepySum:
    """Sum of squares after ``delay`` s; ``detailed_call`` adds when and where it ran."""

    detailed_call_headers = ("t_start", "t_end", "pid")

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def __call__(self, x: Any) -> float:
        time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2))

    def detailed_call(self, x: Any) -> tuple[float, float, float, int]:
        t0 = time.time()
        fx = self(x)
        return fx, t0, time.time(), os.getpid()


class Poisoned(SleepySum):
    """Raises for x[0] > 0.5 (a region where the simulation fails)."""

    def __call__(self, x: Any) -> float:
        if x[0] > 0.5:
            raise FloatingPointError(f"simulation diverged at x0={x[0]:.2f}")
        return super().__call__(x)


def _plugins(rec: Recorder) -> Any:
    plugins: list[tuple[str, Any]] = [("dask", glompo_dask.hooks), ("rec", rec)]
    if importlib.util.find_spec("glompo_cma") is not None:
        import glompo_cma.hooks

        plugins.append(("cma", glompo_cma.hooks))
    return plugin_manager(*plugins)


def _run(tmp_path: Path, name: str, rec: Recorder, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=SleepySum(), bounds=BOUNDS, working_dir=tmp_path / name, max_jobs=4,
        split_printstreams=False, plugin_manager=_plugins(rec), seed=7)
    settings.update(kw)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


def _evaluations(rec: Recorder) -> dict[int, list[tuple[tuple[float, ...], float]]]:
    """Every evaluation seen through the hooks: opt_id -> [(x, fx), ...] in call order."""
    out: dict[int, list[tuple[tuple[float, ...], float]]] = {}
    for name, kw in rec.calls:
        if name == "batch":
            out.setdefault(kw["opt_id"], []).extend(
                (tuple(x), float(fx)) for x, fx in zip(kw["x"].tolist(), kw["fx"]))
    return out


def _call_ids(rec: Recorder) -> list[int]:
    return sorted(int(i) for name, kw in rec.calls if name == "batch" for i in kw["call_ids"])


OPTIMIZERS = [("RandomOptimizer", {"workers": 2, "popsize": 4, "iters": 6})]
if importlib.util.find_spec("glompo_cma") is not None:
    OPTIMIZERS.append(("CMAOptimizer", {"workers": 2, "popsize": 4, "maxiter": 6,
                                        "sigma0": 0.3, "verbose": False}))


@pytest.mark.parametrize("dispatch", ["tasks", "actors"])
@pytest.mark.parametrize(("optimizer", "settings"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_same_evaluations_as_the_processes_backend(tmp_path: Path, optimizer: str,
                                                   settings: dict[str, Any],
                                                   dispatch: str) -> None:
    """Two seeded optimizers of 6 populations of 4: every x and fx as with 'processes'.

    Each optimizer's points depend only on its seed and on the values it receives, so
    they do not depend on the backend; the count is fixed by ``iters``/``maxiter`` and
    the spawn limit (MaxFuncCalls is only the safety net it would be in production).
    """
    runs = {}
    for backend, kwargs in (("processes", None),
                            ("dask", {"n_workers": 2, "cluster_kwargs": QUIET,
                                      "dispatch": dispatch})):
        rec = Recorder()
        selector = CycleSelector((optimizer, settings), allow_spawn=NOptimizersSpawnStop(2))
        manager = _run(tmp_path, backend, rec, backend=backend, backend_kwargs=kwargs,
                       opt_selector=selector, exit_conditions=MaxFuncCalls(fmax=1000))
        assert manager.optimizer_status() == {1: "converged", 2: "converged"}
        runs[backend] = (manager.f_counter, _evaluations(rec), manager.result.fx)
    assert runs["dask"][0] == runs["processes"][0] == 2 * 6 * 4
    assert runs["dask"][1] == runs["processes"][1]  # the same points and values, per optimizer
    assert runs["dask"][2] == runs["processes"][2]


@pytest.mark.slow
@pytest.mark.parametrize("dispatch", ["tasks", "actors"])
def test_a_killed_worker_loses_no_evaluation(tmp_path: Path, dispatch: str) -> None:
    rec = Recorder()
    backend = DaskBackend(n_workers=2, cluster_kwargs=QUIET, dispatch=dispatch)
    killed: list[int] = []
    manager: GloMPOManager | None = None

    def kill_one_worker_mid_run() -> None:
        deadline = time.time() + 20
        while time.time() < deadline:
            if backend.client is not None and manager is not None and manager.f_counter >= 20:
                pid = next(iter(backend.client.run(os.getpid).values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.01)

    manager = GloMPOManager.new_manager(
        task=SleepySum(0.05), bounds=BOUNDS, working_dir=tmp_path / "run", max_jobs=4,
        opt_selector=CycleSelector(("RandomOptimizer", {"workers": 2, "popsize": 2})),
        backend=backend, exit_conditions=MaxFuncCalls(fmax=80), split_printstreams=False,
        plugin_manager=plugin_manager(("rec", rec)), seed=3)
    killer = threading.Thread(target=kill_one_worker_mid_run, daemon=True)
    killer.start()
    manager.start_manager()
    killer.join()
    assert killed, "no worker was killed"
    assert not manager.opt_crashed
    assert manager.f_counter >= 80
    assert _call_ids(rec) == list(range(1, manager.f_counter + 1))  # each exactly once
    assert len(manager.opt_log) == manager.f_counter


def test_with_task_errors_crash_a_task_error_crashes_only_its_optimizer(
        tmp_path: Path) -> None:
    rec = Recorder()
    manager = _run(
        tmp_path, "run", rec, task=Poisoned(), backend="dask",
        backend_kwargs={"n_workers": 2, "cluster_kwargs": QUIET},
        x0_generator=SinglePointGenerator(x=[0.45, 0.0, 0.0]),
        opt_selector=CycleSelector((StepOptimizer, {"step": 0.02}),
                                   (StepOptimizer, {"step": -0.02}),
                                   allow_spawn=NOptimizersSpawnStop(2)),
        exit_conditions=MaxFuncCalls(fmax=30), task_errors="crash")
    assert manager.opt_crashed
    assert manager.optimizer_status() == {1: "crashed", 2: "ended"}
    messages = " ".join(manager.opt_log.get_messages(1))
    assert "FloatingPointError" in messages and "simulation diverged at x0=0.51" in messages
    # the evaluations before the failure, and the failed one (NaN)
    np.testing.assert_allclose(rec.history(1, "x")[:, 0], [0.45, 0.47, 0.49, 0.51])
    assert np.isnan(rec.history(1, "fx")[-1])
    assert manager.f_counter == 30  # the other optimizer went on to the end


def test_a_task_error_on_a_worker_is_a_failed_evaluation(tmp_path: Path) -> None:
    rec = Recorder()
    manager = _run(
        tmp_path, "run", rec, task=Poisoned(), backend="dask",
        backend_kwargs={"n_workers": 2, "cluster_kwargs": QUIET},
        x0_generator=SinglePointGenerator(x=[0.45, 0.0, 0.0]),
        opt_selector=CycleSelector((StepOptimizer, {"step": 0.02, "iters": 6}),
                                   allow_spawn=NOptimizersSpawnStop(1)),
        exit_conditions=MaxFuncCalls(fmax=30))
    assert not manager.opt_crashed and manager.optimizer_status() == {1: "converged"}
    fx = rec.history(1, "fx")
    assert len(fx) == manager.f_counter == 6 and np.isnan(fx[3:]).all()
    assert manager.result.stats["failed_evaluations"] == 3
    line = next(m for m in manager.opt_log.get_messages(1) if m.startswith("evaluation 4 "))
    assert "failed: FloatingPointError at " in line and "simulation diverged" in line


def test_detailed_log_and_concurrent_populations(tmp_path: Path) -> None:
    """is_log_detailed records the extras; a population of 2 runs on 2 workers at once."""
    rec = Recorder()
    pairs = Rendezvous(tmp_path / "pairs", group=2)  # each row waits for a partner
    manager = _run(
        tmp_path, "run", rec, task=pairs, backend="dask", max_jobs=2,
        backend_kwargs={"n_workers": 2, "cluster_kwargs": QUIET}, is_log_detailed=True,
        opt_selector=CycleSelector(("RandomOptimizer", {"workers": 2, "popsize": 2,
                                                        "iters": 3}),
                                   allow_spawn=NOptimizersSpawnStop(1)),
        exit_conditions=MaxFuncCalls(fmax=1000))
    assert manager.f_counter == 6
    x, fx = rec.history(1, "x"), rec.history(1, "fx")
    np.testing.assert_allclose(fx, np.sum(x ** 2, axis=1))
    pids = rec.history(1, "extra_1")  # the detailed call's column
    assert os.getpid() not in pids and len(set(pids)) == 2  # both workers evaluated
    meetings = pairs.meetings()  # the two rows of each population ran at once
    assert len(meetings) == 6 and all(m.met for m in meetings)
