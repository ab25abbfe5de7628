"""The manager's loop: spawning, stopping, converging, crashing, injecting, exit, outputs."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from glompo_core import GloMPOError, GloMPOManager, hookimpl
from glompo_core.benchmarks import Rastrigin
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds, NOptConverged
from glompo_core.generators import SinglePointGenerator
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
from glompo_core.stoppers import BestUnmoving, MinFuncCalls
from tests.helpers import (
    DetailedSphere,
    Recorder,
    Rendezvous,
    ScaledStepOptimizer,
    SleepySphere,
    StepOptimizer,
    StepPlugin,
    plugin_manager,
    sphere,
)

BOUNDS = [(-2.0, 2.0)] * 3


def make(tmp_path: Path, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=sphere, bounds=BOUNDS, opt_selector=CycleSelector(StepOptimizer),
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=500), split_printstreams=False,
        plugin_manager=plugin_manager(("step", StepPlugin())))
    settings.update(kw)
    return GloMPOManager.new_manager(**settings)


def test_run_reaches_fmax_and_returns_the_best(tmp_path: Path) -> None:
    manager = make(tmp_path, opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})),
                   seed=2)
    result = manager.start_manager()
    assert 500 <= manager.f_counter <= 500 + 2 * 4  # at most one batch per optimizer past fmax
    assert len(manager.opt_log) == manager.f_counter
    best = manager.opt_log.get_best_iter()
    assert result.fx == best["fx"] == pytest.approx(sphere(result.x))
    assert result.origin == {"opt_id": best["opt_id"], "type": "RandomOptimizer",
                             "call_id": best["call_id"]}
    assert result.stats["f_counter"] == manager.f_counter
    assert "MaxFuncCalls(fmax=500) = True" in manager.exit_reason
    assert manager.t_end is not None and manager.t_end >= manager.t_start


def test_call_ids_are_unique_and_complete(tmp_path: Path) -> None:
    rec = Recorder()
    manager = make(tmp_path, opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 3})),
                   max_jobs=3, backend="threads",
                   plugin_manager=plugin_manager(("rec", rec)))
    manager.start_manager()
    ids = np.concatenate([c[1]["call_ids"] for c in rec.calls if c[0] == "batch"])
    assert sorted(ids.tolist()) == list(range(1, manager.f_counter + 1))
    # without stoppers the in-memory log keeps only the last rows of each optimizer
    assert all(len(manager.opt_log.get_history(o, "fx")) <= 2 for o in manager.opt_log.opt_ids)


def test_spawns_up_to_max_jobs_and_never_more(tmp_path: Path) -> None:
    rec = Recorder()
    seen: list[int] = []

    class Watch:
        @hookimpl
        def glompo_iteration_batch(self, manager: Any) -> None:
            seen.append(len(manager.opt_log.opt_ids) - len(manager.stopped_opts)
                        - manager.converged)

    pm = plugin_manager(("step", StepPlugin()), ("rec", rec), ("watch", Watch()))
    manager = make(tmp_path, task=SleepySphere(0.005), max_jobs=3, plugin_manager=pm,
                   opt_selector=CycleSelector((StepOptimizer, {"iters": 15})),
                   exit_conditions=MaxFuncCalls(fmax=120))
    manager.start_manager()
    started = [c for c in rec.calls if c[0] == "optimizer_started"]
    assert len(started) == manager.o_counter >= 6
    assert max(seen) == 3


def test_workers_take_slots(tmp_path: Path) -> None:
    pairs = Rendezvous(tmp_path / "pairs", group=2)  # each evaluation waits for a partner
    manager = make(tmp_path, task=pairs, max_jobs=3,
                   opt_selector=CycleSelector((StepOptimizer, {"workers": 2, "iters": 5})),
                   exit_conditions=NOptConverged(nconv=3))
    manager.start_manager()
    # one optimizer of 2 workers fits in 3 slots: they run one after the other, and each
    # population of 2 is evaluated at once (the two rows meet), never more than 2 at once.
    assert manager.o_counter == 3
    assert manager.f_counter == 3 * 5 * 2
    meetings = pairs.meetings()
    assert len(meetings) == 30 and all(m.met for m in meetings)
    assert max(m.crowd for m in meetings) == 2
    starts = [manager.opt_log.get_metadata(i, "t_start") for i in (1, 2, 3)]
    ends = [manager.opt_log.get_metadata(i, "t_end") for i in (1, 2, 3)]
    assert starts[1] >= ends[0] - 1e-3 and starts[2] >= ends[1] - 1e-3


def test_optimizer_needing_more_slots_than_max_jobs_ends_the_run(tmp_path: Path) -> None:
    manager = make(tmp_path, max_jobs=2,
                   opt_selector=CycleSelector((StepOptimizer, {"workers": 3})))
    manager.start_manager()
    assert manager.o_counter == 0
    assert "max_jobs=2" in manager.exit_reason


def test_stoppers_stop_stalled_optimizers(tmp_path: Path) -> None:
    rec = Recorder()
    pm = plugin_manager(("step", StepPlugin()), ("rec", rec))
    # step=0 makes the optimizer evaluate the same point forever: it stalls at once.
    manager = make(tmp_path, plugin_manager=pm, max_jobs=2, task=SleepySphere(0.001),
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.0})),
                   stoppers=BestUnmoving(calls=20, tol=0.0) & MinFuncCalls(min_pts=30),
                   stopcheck_interval=10, exit_conditions=MaxFuncCalls(fmax=400))
    manager.start_manager()
    assert len(manager.stopped_opts) >= 3
    stopped = [c[1] for c in rec.calls if c[0] == "stopped"]
    assert {s["opt_id"] for s in stopped} == set(manager.stopped_opts)
    assert all("BestUnmoving(calls=20, tol=0.0) = True" in s["reason"] for s in stopped)
    for opt_id in manager.stopped_opts:
        assert manager.opt_log.len(opt_id) >= 30
        assert manager.optimizer_status()[opt_id] == "stopped"
    assert manager.hunt_counter >= 1


def test_best_optimizer_is_spared_unless_asked(tmp_path: Path) -> None:
    kw: dict[str, Any] = dict(max_jobs=2, stoppers=BestUnmoving(calls=10, tol=0.0),
                              stopcheck_interval=5, exit_conditions=MaxFuncCalls(fmax=100))
    spared = make(tmp_path / "a", x0_generator=SinglePointGenerator(x=[1.0, 1.0, 1.0]),
                  **{**kw, "opt_selector": CycleSelector((StepOptimizer, {"step": 0.0}),
                                                         allow_spawn=NOptimizersSpawnStop(2))})
    spared.start_manager()
    best_id = spared.result.origin["opt_id"]
    assert best_id not in spared.stopped_opts
    applied = make(tmp_path / "b", apply_stoppers_to_best=True,
                   **{**kw, "opt_selector": CycleSelector((StepOptimizer, {"step": 0.0}),
                                                          allow_spawn=NOptimizersSpawnStop(2))})
    applied.start_manager()
    assert set(applied.stopped_opts) == {1, 2}


def test_convergence_is_counted_and_can_end_the_run(tmp_path: Path) -> None:
    rec = Recorder()
    pm = plugin_manager(("step", StepPlugin()), ("rec", rec))
    manager = make(tmp_path, plugin_manager=pm,
                   opt_selector=CycleSelector((StepOptimizer, {"iters": 7})),
                   exit_conditions=NOptConverged(nconv=4) | MaxFuncCalls(fmax=10_000))
    manager.start_manager()
    assert manager.converged >= 4
    assert "NOptConverged(nconv=4) = True" in manager.exit_reason
    conv = [c[1] for c in rec.calls if c[0] == "converged"]
    assert len(conv) == manager.converged
    assert conv[0]["reason"] == "step budget used"
    assert all(manager.opt_log.len(c["opt_id"]) == 7 for c in conv)


def test_spawning_stops_and_the_run_ends_when_the_last_optimizer_ends(tmp_path: Path) -> None:
    manager = make(tmp_path, opt_selector=CycleSelector((StepOptimizer, {"iters": 5}),
                                                        allow_spawn=NOptimizersSpawnStop(3)),
                   exit_conditions=MaxFuncCalls(fmax=10**6))
    manager.start_manager()
    assert manager.o_counter == 3
    assert manager.f_counter == 15
    assert "selector starts no more" in manager.exit_reason


class Crashy:
    """Raises for the points of optimizer-specific region x[0] > 1.5."""

    def __call__(self, x: Any) -> float:
        if x[0] > 1.5:
            raise ValueError("simulation failed at this point")
        return sphere(x)


def test_with_task_errors_crash_a_task_that_raises_crashes_only_its_optimizer(
        tmp_path: Path, caplog: Any) -> None:
    rec = Recorder()
    pm = plugin_manager(("step", StepPlugin()), ("rec", rec))
    gen = SinglePointGenerator(x=[1.45, 0.0, 0.0])
    manager = make(tmp_path, task=Crashy(), plugin_manager=pm, x0_generator=gen,
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.02})),
                   exit_conditions=MaxOptsStarted_or(4), task_errors="crash")
    with caplog.at_level(logging.ERROR, logger="glompo.manager"):
        manager.start_manager()
    assert manager.opt_crashed
    crashed = [c[1] for c in rec.calls if c[0] == "crashed"]
    assert len(crashed) >= 2
    assert "simulation failed at this point" in crashed[0]["error"]
    assert "ValueError" in caplog.text
    # the evaluations made before the crash are kept, and the failed one is a row (NaN)
    assert manager.opt_log.len(1) == 4
    np.testing.assert_allclose(rec.history(1, "x")[:, 0], [1.45, 1.47, 1.49, 1.51])
    assert np.isnan(rec.history(1, "fx")[-1])
    assert any("crashed" in m for m in manager.opt_log.get_messages(1))
    assert any(re.fullmatch(r"evaluation \d+ failed: ValueError at test_manager.py:\d+: "
                            "simulation failed at this point", m)
               for m in manager.opt_log.get_messages(1))
    assert len(manager.opt_log) == manager.f_counter == manager.result.stats["f_counter"]


def test_a_task_that_raises_gives_failed_evaluations_and_the_optimizer_goes_on(
        tmp_path: Path, caplog: Any) -> None:
    seen: list[float] = []

    class Probe(StepOptimizer):
        def minimize(self, function: Any, x0: Any, bounds: Any) -> Any:
            seen.append(function(np.array([1.6, 0.0, 0.0])))
            return super().minimize(function, x0, bounds)

    rec = Recorder()
    pm = plugin_manager(("step", StepPlugin()), ("rec", rec))
    gen = SinglePointGenerator(x=[1.45, 0.0, 0.0])
    manager = make(tmp_path, task=Crashy(), plugin_manager=pm, x0_generator=gen,
                   opt_selector=CycleSelector((Probe, {"step": 0.02, "iters": 20})),
                   exit_conditions=MaxFuncCalls(fmax=60), max_jobs=1)
    with caplog.at_level(logging.INFO, logger="glompo.manager"):
        result = manager.start_manager()
    assert not manager.opt_crashed and not [c for c in rec.calls if c[0] == "crashed"]
    assert seen[0] == float("inf")  # what the optimizer is told of a failed evaluation
    # every evaluation is a row, the failed ones with NaN, and counted
    assert len(manager.opt_log) == manager.f_counter == result.stats["f_counter"]
    fx = np.concatenate([kw["fx"] for name, kw in rec.calls if name == "batch"])
    assert np.isnan(rec.history(1, "fx")[0])
    assert np.isnan(fx).sum() == result.stats["failed_evaluations"] > 10
    messages = manager.opt_log.get_messages(1)
    assert messages[0].startswith("evaluation 1 failed: ValueError at test_manager.py:")
    assert "simulation failed at this point" in messages[0]
    # one warning line for the kind, its traceback once, a count at the end
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    firsts = [r for r in warnings if "further failures of this kind" in r.getMessage()]
    assert len(firsts) == 1
    assert sum("Traceback (most recent call last)" in r.getMessage()
               for r in caplog.records) == 1
    assert any(f"{result.stats['failed_evaluations']} x ValueError at test_manager.py:"
               in r.getMessage() for r in warnings)
    assert result.stats["end_state"] == "normal" and result.stats["exit_status"] == 0


def MaxOptsStarted_or(n: int) -> Any:
    from glompo_core.exit_conditions import MaxOptsStarted

    return MaxOptsStarted(max_opts=n) | MaxFuncCalls(fmax=1000)


def test_nan_results_are_logged_and_given_to_the_optimizer_as_inf(tmp_path: Path) -> None:
    seen: list[float] = []

    def nan_task(x: Any) -> float:
        return float("nan") if x[1] > 0 else sphere(x)

    class Probe(StepOptimizer):
        def minimize(self, function: Any, x0: Any, bounds: Any) -> Any:
            seen.append(function(np.array([0.0, 1.0, 0.0])))
            seen.append(function(np.array([0.0, -1.0, 0.0])))
            return super().minimize(function, x0, bounds)

    rec = Recorder()
    manager = make(tmp_path, task=nan_task, opt_selector=CycleSelector((Probe, {"iters": 2})),
                   exit_conditions=MaxFuncCalls(fmax=4), max_jobs=1,
                   plugin_manager=plugin_manager(("rec", rec)))
    manager.start_manager()
    assert seen == [float("inf"), 1.0]
    fx = rec.history(1, "fx")
    assert np.isnan(fx[0]) and fx[1] == 1.0
    assert not manager.opt_crashed


def test_best_is_shared_with_other_optimizers(tmp_path: Path) -> None:
    opts: list[StepOptimizer] = []

    class Keep(StepOptimizer):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            opts.append(self)

    manager = make(tmp_path, task=SleepySphere(0.002), share_best_solutions=True,
                   opt_selector=CycleSelector((Keep, {"step": -0.01})),
                   exit_conditions=MaxFuncCalls(fmax=200))
    manager.start_manager()
    injected = [inj for o in opts for inj in o.injected]
    assert injected, "no optimizer received the shared best"
    for x, fx in injected:
        assert fx == pytest.approx(sphere(x))
    assert min(fx for _, fx in injected) >= manager.result.fx


def test_no_sharing_by_default(tmp_path: Path) -> None:
    opts: list[StepOptimizer] = []

    class Keep(StepOptimizer):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            opts.append(self)

    make(tmp_path, opt_selector=CycleSelector(Keep)).start_manager()
    assert all(not o.injected for o in opts)


def test_stop_file_stops_the_named_optimizer(tmp_path: Path) -> None:
    run = tmp_path / "run"
    batches = {1: 0, 2: 0}
    after_stop_1: list[int] = []  # batches of optimizer 2 once optimizer 1 was stopped

    class StopFiles:
        """STOP_1 once both optimizers run; STOP_2 once 2 has gone on without 1."""

        @hookimpl
        def glompo_iteration_batch(self, opt_id: int) -> None:
            batches[opt_id] += 1
            if opt_id == 2 and after_stop_1:
                after_stop_1.append(batches[2])
                if len(after_stop_1) == 5:
                    (run / "STOP_2").write_text("")
            elif min(batches.values()) == 3 and not after_stop_1:
                (run / "STOP_1").write_text("")

        @hookimpl
        def glompo_optimizer_stopped(self, opt_id: int) -> None:
            if opt_id == 1:
                after_stop_1.append(batches[2])

    pm = plugin_manager(("step", StepPlugin()), ("files", StopFiles()))
    manager = make(tmp_path, task=SleepySphere(0.001), max_jobs=2, plugin_manager=pm,
                   opt_selector=CycleSelector(StepOptimizer, allow_spawn=NOptimizersSpawnStop(2)),
                   exit_conditions=MaxSeconds(session_max=120))
    manager.start_manager()
    assert set(manager.stopped_opts) == {1, 2}
    assert "MaxSeconds" not in str(manager.exit_reason)  # the files ended both
    assert "STOP_1" in manager.opt_log.get_metadata(1, "end_cond")
    assert "STOP_2" in manager.opt_log.get_metadata(2, "end_cond")
    assert not (run / "STOP_1").exists() and not (run / "STOP_2").exists()
    assert len(after_stop_1) >= 5  # STOP_1 stopped optimizer 1 only: 2 went on


def test_seeded_run_repeats_exactly(tmp_path: Path) -> None:
    def run(sub: str) -> GloMPOManager:
        manager = make(tmp_path / sub, task=Rastrigin(dims=3), bounds=None, max_jobs=1,
                       opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 5,
                                                                       "iters": 30})),
                       stoppers=BestUnmoving(calls=40, tol=0.01), stopcheck_interval=10,
                       exit_conditions=MaxFuncCalls(fmax=900), seed=11)
        manager.start_manager()
        return manager

    a, b = run("a"), run("b")
    assert a.f_counter == b.f_counter
    assert a.o_counter == b.o_counter
    assert a.result.fx == b.result.fx
    np.testing.assert_array_equal(a.result.x, b.result.x)
    assert a.stopped_opts.keys() == b.stopped_opts.keys()
    for opt_id in a.opt_log.opt_ids:
        np.testing.assert_array_equal(a.opt_log.get_history(opt_id, "fx"),
                                      b.opt_log.get_history(opt_id, "fx"))
    c = make(tmp_path / "c", task=Rastrigin(dims=3), bounds=None, max_jobs=1,
             opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 5, "iters": 30})),
             exit_conditions=MaxFuncCalls(fmax=900), seed=12)
    c.start_manager()
    assert c.result.fx != a.result.fx


def test_scaling_declared_by_an_optimizer_is_honoured(tmp_path: Path) -> None:
    opts: list[StepOptimizer] = []

    class Keep(ScaledStepOptimizer):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            opts.append(self)

    bounds = [(10.0, 20.0), (-4.0, 0.0)]
    rec = Recorder()
    manager = make(tmp_path, bounds=bounds, opt_selector=CycleSelector((Keep, {"iters": 3})),
                   exit_conditions=MaxFuncCalls(fmax=3), max_jobs=1,
                   x0_generator=SinglePointGenerator(x=[15.0, -1.0]),
                   plugin_manager=plugin_manager(("rec", rec)))
    manager.start_manager()
    opt = opts[0]
    assert opt.received_bounds == [(0.0, 1.0), (0.0, 1.0)]
    np.testing.assert_allclose(opt.received_x0, [0.5, 0.75])
    xs = rec.history(1, "x")
    np.testing.assert_allclose(xs[0], [15.0, -1.0])  # logged in the task's units
    np.testing.assert_allclose(xs[1], [15.1, -0.96])


def test_detailed_calls_are_recorded(tmp_path: Path) -> None:
    rec = Recorder()
    manager = make(tmp_path, task=DetailedSphere(), is_log_detailed=True,
                   opt_selector=CycleSelector((StepOptimizer, {"iters": 4})),
                   exit_conditions=MaxFuncCalls(fmax=4), max_jobs=1,
                   plugin_manager=plugin_manager(("rec", rec)))
    manager.start_manager()
    assert manager.opt_log.extra_headers(1) == ["norm", "label"]
    x = rec.history(1, "x")
    assert len(x) == 4
    np.testing.assert_allclose(rec.history(1, "extra_1"), np.linalg.norm(x, axis=1))
    assert rec.history(1, "extra_2") == ["ok"] * 4
    np.testing.assert_allclose(rec.history(1, "fx"), (x ** 2).sum(axis=1))


def test_detailed_log_needs_detailed_call(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="detailed_call"):
        make(tmp_path, is_log_detailed=True)


def test_printstreams_are_split_per_optimizer(tmp_path: Path) -> None:
    manager = make(tmp_path, split_printstreams=True, max_jobs=2,
                   opt_selector=CycleSelector((StepOptimizer, {"chatty": True, "iters": 3}),
                                              (StepOptimizer, {"iters": 3}),
                                              allow_spawn=NOptimizersSpawnStop(2)),
                   exit_conditions=MaxFuncCalls(fmax=100))
    manager.start_manager()
    folder = tmp_path / "run" / "glompo_optimizer_printstreams"
    assert sorted(p.name for p in folder.iterdir()) == ["printstream_0001.out"]
    lines = (folder / "printstream_0001.out").read_text().splitlines()
    assert lines[0].startswith("iteration 0 fx=") and len(lines) == 3


def test_lifecycle_hooks_are_fired_in_order(tmp_path: Path) -> None:
    rec = Recorder()
    pm = plugin_manager(("step", StepPlugin()), ("rec", rec))
    manager = make(tmp_path, plugin_manager=pm, exit_conditions=MaxFuncCalls(fmax=200))
    manager.start_manager()
    names = rec.names()
    assert names[0] == "run_started" and names[-1] == "run_finished"
    batches = [c[1] for c in rec.calls if c[0] == "batch"]
    assert sum(b["n"] for b in batches) == manager.f_counter
    bests = [c[1]["fx"] for c in rec.calls if c[0] == "best"]
    assert bests == sorted(bests, reverse=True) and bests[-1] == manager.result.fx
    assert rec.calls[-1][1]["result"] is manager.result


def test_a_failing_observer_is_muted_and_the_run_goes_on(tmp_path: Path, caplog: Any) -> None:
    class Broken:
        calls = 0

        @hookimpl
        def glompo_iteration_batch(self, opt_id: int) -> None:
            Broken.calls += 1
            raise RuntimeError("observer bug")

    pm = plugin_manager(("step", StepPlugin()), ("broken-observer", Broken()))
    manager = make(tmp_path, plugin_manager=pm)
    with caplog.at_level(logging.ERROR, logger="glompo.plugins"):
        manager.start_manager()
    assert manager.f_counter >= 500
    assert Broken.calls == 1
    assert "broken-observer" in caplog.text and "observer bug" in caplog.text


def test_summary_file(tmp_path: Path) -> None:
    manager = make(tmp_path, summary_files=1, stoppers=BestUnmoving(calls=50, tol=0.1), seed=3)
    manager.start_manager()
    data = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    assert list(data) == ["Assignment", "Settings", "Counters", "Run Information", "Solution"]
    assert data["Counters"]["Function Evaluations"] == manager.f_counter
    assert data["Counters"]["Optimizers"]["Started"] == manager.o_counter
    assert data["Settings"]["Stoppers"] == "BestUnmoving(calls=50, tol=0.1)"
    assert data["Settings"]["Exit Conditions"] == "MaxFuncCalls(fmax=500)"
    assert data["Settings"]["Seed"] == 3
    assert data["Settings"]["Bounds"] == {"(-2, 2)": [0, 1, 2]}
    assert data["Solution"]["fx"] == manager.result.fx
    assert data["Solution"]["x"] == [float(v) for v in manager.result.x]
    assert data["Solution"]["exit cond."] == "MaxFuncCalls(fmax=500) = True"
    assert data["Solution"]["origin"]["opt_id"] == manager.result.origin["opt_id"]


def test_summary_levels(tmp_path: Path) -> None:
    make(tmp_path / "zero", summary_files=0).start_manager()
    assert not (tmp_path / "zero" / "run" / "glompo_manager_log.yml").exists()
    manager = make(tmp_path / "on-demand", summary_files=0)
    manager.start_manager()
    path = manager.write_summary_file(tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "glompo_manager_log.yml" and path.exists()


# ----------------------------------------------------------------------- process backend
def cpu_task(x: Any) -> float:
    return sphere(x)


def failing_task(x: Any) -> float:
    if x[0] > 1.0:
        raise ArithmeticError("bad region")
    return sphere(x)


def hanging_task(x: Any) -> float:
    if x[0] > 1.5:
        time.sleep(60)
    return sphere(x)


def test_processes_backend_evaluates_in_worker_processes(tmp_path: Path) -> None:
    def where(x: Any) -> tuple[float, int]:
        return sphere(x), os.getpid()

    class PidTask:
        def __call__(self, x: Any) -> float:
            return sphere(x)

        def detailed_call(self, x: Any) -> tuple[float, int]:
            return where(x)

    rec = Recorder()
    manager = make(tmp_path, task=PidTask(), backend="processes", is_log_detailed=True,
                   exit_conditions=MaxFuncCalls(fmax=100),
                   plugin_manager=plugin_manager(("step", StepPlugin()), ("rec", rec)))
    manager.start_manager()
    pids = {int(p) for o in manager.opt_log.opt_ids for p in rec.history(o, "extra_1")}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_processes_task_error_crashes_only_that_optimizer_with_task_errors_crash(
        tmp_path: Path) -> None:
    manager = make(tmp_path, task=failing_task, backend="processes",
                   x0_generator=SinglePointGenerator(x=[0.95, 0.0, 0.0]),
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.02})),
                   exit_conditions=MaxOptsStarted_or(3), task_errors="crash")
    manager.start_manager()
    assert manager.opt_crashed
    crashed = [o for o, s in manager.optimizer_status().items() if s == "crashed"]
    assert crashed
    for opt_id in crashed:
        messages = " ".join(manager.opt_log.get_messages(opt_id))
        assert "ArithmeticError" in messages and "bad region" in messages
        assert "in the worker process" in messages
        # the evaluations before the failure, and the failed one
        assert manager.opt_log.len(opt_id) == 4


def test_processes_task_error_is_a_failed_evaluation_raised_in_the_worker(
        tmp_path: Path) -> None:
    manager = make(tmp_path, task=failing_task, backend="processes",
                   x0_generator=SinglePointGenerator(x=[0.95, 0.0, 0.0]),
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.02, "iters": 8}),
                                              allow_spawn=NOptimizersSpawnStop(2)),
                   exit_conditions=MaxFuncCalls(fmax=1000))
    result = manager.start_manager()
    assert not manager.opt_crashed
    assert manager.optimizer_status() == {1: "converged", 2: "converged"}
    assert result.stats["failed_evaluations"] == 2 * 5 and manager.f_counter == 16
    line = next(m for m in manager.opt_log.get_messages(1) if m.startswith("evaluation"))
    # where it was raised: the task's own line, in the worker process
    assert re.fullmatch(r"evaluation \d+ failed: ArithmeticError at test_manager.py:\d+: "
                        "bad region", line), line


def test_hung_evaluation_is_killed_and_the_optimizer_goes_on(tmp_path: Path) -> None:
    manager = make(tmp_path, task=hanging_task, backend="processes",
                   force_terminations_after=1.0,
                   x0_generator=SinglePointGenerator(x=[1.45, 0.0, 0.0]),
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.02, "iters": 5}),
                                              allow_spawn=NOptimizersSpawnStop(1)),
                   exit_conditions=MaxFuncCalls(fmax=10**6))
    result = manager.start_manager()
    assert not manager.opt_crashed
    assert manager.optimizer_status() == {1: "converged"}
    # the two points past 1.5 timed out: failed evaluations, rows with NaN
    assert result.stats["failed_evaluations"] == 2 and manager.f_counter == 5
    messages = " ".join(manager.opt_log.get_messages(1))
    assert "EvaluationTimeout" in messages and "killed and replaced" in messages
    assert len(manager.opt_log) == 5


def test_hung_thread_evaluation_is_abandoned(tmp_path: Path) -> None:
    release = threading.Event()
    hanging = threading.Event()

    def slow(x: Any) -> float:
        if x[0] > 1.5:
            hanging.set()
            release.wait(60)  # hangs until the test is over
        return sphere(x)

    manager = make(tmp_path, task=slow, force_terminations_after=1.0, end_timeout=0.5,
                   x0_generator=SinglePointGenerator(x=[1.45, 0.0, 0.0]),
                   opt_selector=CycleSelector((StepOptimizer, {"step": 0.02}),
                                              allow_spawn=NOptimizersSpawnStop(1)),
                   exit_conditions=MaxFuncCalls(fmax=10**6))
    try:
        manager.start_manager()
        # the run ended while the evaluation still hung: it did not wait for it
        assert hanging.is_set() and not release.is_set()
    finally:
        release.set()
    assert manager.optimizer_status()[1] == "crashed"


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("bounds", "match"), [
    ([(1.0, 0.0)] * 3, "min > max"),
    ([(0.0, 0.0), (0.0, 1.0), (0, 1)], "min == max"),
    ([(0.0, 1.0, 2.0)], "pairs"),
    ([], "non-empty"),
    ([(0.0, float("inf"))] * 3, "finite"),
])
def test_bad_bounds(tmp_path: Path, bounds: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make(tmp_path, bounds=bounds)


def test_bounds_must_match_the_task(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the task has 3 parameters but 2 bounds"):
        make(tmp_path, task=Rastrigin(dims=3), bounds=[(-1, 1)] * 2)
    with pytest.raises(ValueError, match="bounds are required"):
        make(tmp_path, bounds=None)


@pytest.mark.parametrize(("kw", "error", "match"), [
    ({"max_jobs": 0}, ValueError, "max_jobs"),
    ({"stopcheck_interval": 0}, ValueError, "stopcheck_interval"),
    ({"summary_files": 4}, ValueError, "summary_files must be"),
    ({"seed": -1}, ValueError, "seed"),
    ({"task": 3}, TypeError, "task must be callable"),
    ({"opt_selector": "CycleSelector"}, TypeError, "selector instance"),
    ({"backend": "mpi"}, LookupError, "unknown backend 'mpi'"),
    ({"stoppers": MaxFuncCalls(fmax=3)}, TypeError, "expected stoppers"),
    ({"exit_conditions": "MaxFuncCals(fmax=3)"}, LookupError, "Did you mean 'MaxFuncCalls'"),
])
def test_bad_settings(tmp_path: Path, kw: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make(tmp_path, **kw)


def test_summary_files_3_without_hdf5_plugin_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pip install glompo-hdf5"):
        make(tmp_path, summary_files=3)


def test_existing_results_are_not_overwritten_silently(tmp_path: Path) -> None:
    make(tmp_path, summary_files=1).start_manager()
    summary = tmp_path / "run" / "glompo_manager_log.yml"
    before = summary.read_text()
    with pytest.raises(FileExistsError, match="overwrite_existing=True"):
        make(tmp_path, summary_files=1)
    assert summary.read_text() == before
    (tmp_path / "run" / "notes.txt").write_text("mine")
    make(tmp_path, summary_files=1, overwrite_existing=True)
    assert not summary.exists()
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"  # only GloMPO's files go


def test_manager_is_set_up_once(tmp_path: Path) -> None:
    manager = make(tmp_path)
    with pytest.raises(GloMPOError, match="already initialised"):
        manager.setup(task=sphere, bounds=BOUNDS, opt_selector=CycleSelector(StepOptimizer))
    with pytest.raises(GloMPOError, match="setup"):
        GloMPOManager().start_manager()


class Unbuildable(StepOptimizer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raise RuntimeError("no licence for this solver")


def test_optimizer_that_cannot_be_built_is_a_clear_error(tmp_path: Path) -> None:
    manager = make(tmp_path, opt_selector=CycleSelector((Unbuildable, {"step": 1})))
    with pytest.raises(GloMPOError, match=r"Unbuildable could not be created .* no licence"):
        manager.start_manager()


def test_a_misspelt_optimizer_argument_is_refused_before_the_run(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'stepsize'.* did you mean 'step'"):
        make(tmp_path, opt_selector=CycleSelector((StepOptimizer, {"stepsize": 1})))
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ signals and shutdown
SIGINT_SCRIPT = textwrap.dedent("""
    import sys, time
    from glompo_core import GloMPOManager
    from glompo_core.selectors import CycleSelector
    from glompo_core.exit_conditions import MaxSeconds

    import itertools, os
    calls = itertools.count(1)

    def task(x):
        if next(calls) == 20:  # 19 evaluations done or under way; to the real stdout,
            os.write(1, b"evaluating\\n")  # not the optimizer's own printstream
        time.sleep(0.01)
        return sum(v * v for v in x)

    m = GloMPOManager.new_manager(task=task, bounds=[(-1, 1)] * 2,
        opt_selector=CycleSelector("RandomOptimizer"), working_dir=sys.argv[1],
        max_jobs=2, backend="threads", exit_conditions=MaxSeconds(session_max=60),
        summary_files=1)
    print("started", flush=True)
    r = m.start_manager()
    print("ended:", m.exit_reason, m.f_counter, flush=True)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_end_the_run_cleanly_with_the_summary(tmp_path: Path, sig: int) -> None:
    script = tmp_path / "run.py"
    script.write_text(SIGINT_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    assert proc.stdout.readline().strip() == "evaluating"  # the run is under way
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"interrupted by {signal.Signals(sig).name}" in out
    data = yaml.safe_load((tmp_path / "out" / "glompo_manager_log.yml").read_text())
    assert data["Counters"]["Function Evaluations"] > 0


def test_many_threaded_optimizers_always_shut_down(tmp_path: Path) -> None:
    before = threading.active_count()
    manager = make(tmp_path, max_jobs=8, task=SleepySphere(0.001),
                   opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 2})),
                   exit_conditions=MaxFuncCalls(fmax=3000))
    manager.start_manager()
    assert all(s != "running" for s in manager.optimizer_status().values())
    assert threading.active_count() <= before + 1


def test_status_is_logged_every_status_interval(tmp_path: Path, caplog: Any) -> None:
    manager = make(tmp_path, task=SleepySphere(0.01), status_interval=0.3,
                   exit_conditions=MaxSeconds(session_max=1.2))
    with caplog.at_level(logging.INFO, logger="glompo.manager"):
        manager.start_manager()
    status = [r.getMessage() for r in caplog.records if r.getMessage().startswith("status:")]
    assert 3 <= len(status) <= 6
    assert "evaluations, best fx=" in status[-1] and "alive/started" in status[-1]
    assert len(manager.cpu_history) == len(manager.mem_history) == len(manager.load_history)
    assert len(manager.mem_history) >= len(status)
    assert all(m > 0 for m in manager.mem_history)


def test_trajectory_plots_at_summary_level_2(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image  # matplotlib depends on pillow

    manager = make(tmp_path, summary_files=2, task=Rastrigin(dims=3), bounds=None,
                   opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 5, "iters": 20})),
                   exit_conditions=MaxFuncCalls(fmax=400), seed=1)
    manager.start_manager()
    run = tmp_path / "run"
    for name in ("trajectories.png", "trajectories_best.png"):
        image = np.asarray(Image.open(run / name).convert("L"), dtype=float)
        assert image.shape == (600, 1000)
        assert image.std() > 5  # not blank
    # every evaluation was kept in memory for the plot
    assert sum(manager.opt_log.len(o) for o in manager.opt_log.opt_ids) == manager.f_counter
    assert sum(len(manager.opt_log.get_history(o, "fx"))
               for o in manager.opt_log.opt_ids) == manager.f_counter
    assert (run / "glompo_manager_log.yml").exists()
    assert not (run / "glompo_log.h5").exists()


def test_visualisation_comes_from_a_plugin(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="pip install glompo-scope"):
        make(tmp_path, visualisation=True)

    class FakeScope:
        def __init__(self) -> None:
            self.batches = 0
            self.finished = False

        @hookimpl
        def glompo_iteration_batch(self, fx: Any) -> None:
            self.batches += 1

        @hookimpl
        def glompo_run_finished(self) -> None:
            self.finished = True

    made: list[tuple[FakeScope, dict[str, Any]]] = []

    class Provider:
        @hookimpl
        def glompo_create_visualisation(self, settings: dict[str, Any]) -> FakeScope:
            scope = FakeScope()
            made.append((scope, settings))
            return scope

    pm = plugin_manager(("step", StepPlugin()), ("fake-scope", Provider()))
    manager = make(tmp_path, plugin_manager=pm, visualisation=True,
                   visualisation_args={"record_movie": False})
    manager.start_manager()
    scope, settings = made[0]
    assert settings == {"record_movie": False} and manager.scope is scope
    assert scope.batches > 0 and scope.finished
    assert not any(p is scope for p in pm.hook_manager.get_plugins())  # unregistered at the end
