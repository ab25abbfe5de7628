"""One ManagerView contract: the protocol, the manager's view and the testing fake agree."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from glompo_core import GloMPOManager
from glompo_core._view import View as _View
from glompo_core.budget import run_budget
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
from glompo_core.protocols import ManagerView
from glompo_core.selectors import CycleSelector
from glompo_core.testing import FakeManagerView
from tests.helpers import sphere


def _protocol_members() -> set[str]:
    return {name for name, value in vars(ManagerView).items() if isinstance(value, property)}


def _fake_members() -> set[str]:
    fields = {f.name for f in dataclasses.fields(FakeManagerView)}
    props = {name for name, value in vars(FakeManagerView).items()
             if isinstance(value, property)}
    return fields | props


def _view_members() -> set[str]:
    return {name for name, value in vars(_View).items() if isinstance(value, property)}


def test_the_protocol_the_view_and_the_fake_have_the_same_members() -> None:
    members = _protocol_members()
    assert {"f_counter", "run_budget", "working_dir", "checksum", "exit_conditions",
            "failed_evaluations", "workers_busy"} <= members
    assert _view_members() == members
    assert _fake_members() == members


def make(tmp_path: Path, exit_conditions: object) -> GloMPOManager:
    return GloMPOManager.new_manager(
        task=sphere, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=1, backend="threads",
        exit_conditions=exit_conditions, split_printstreams=False)


@pytest.mark.parametrize(("conditions", "expected"), [
    (MaxFuncCalls(fmax=500), 500),
    (MaxFuncCalls(fmax=700) | MaxSeconds(session_max=60), 700),
    (MaxSeconds(session_max=60), None),
])
def test_run_budget_agrees(tmp_path: Path, conditions: object, expected: int | None) -> None:
    manager = make(tmp_path, conditions)
    with manager:
        view: ManagerView = manager.view
        assert view.run_budget == expected == run_budget(manager.exit_conditions)
        assert view.working_dir == manager.working_dir
        fake: ManagerView = FakeManagerView(run_budget=expected)
        assert fake.run_budget == expected
    assert FakeManagerView().run_budget is None
    assert FakeManagerView().working_dir is None


class FailsRight:
    """sum(x**2), raising ValueError where x[0] > 0.5; counts what it did (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raised = 0

    def __call__(self, x: Sequence[float]) -> float:
        if x[0] > 0.5:
            with self.lock:
                self.raised += 1
            raise ValueError("x[0] > 0.5 is outside the model's range")
        return float(np.sum(np.asarray(x) ** 2))


def test_failed_evaluations_and_exit_conditions_agree(tmp_path: Path) -> None:
    task = FailsRight()
    conditions = MaxFuncCalls(fmax=300)
    manager = GloMPOManager.new_manager(
        task=task, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=2, backend="threads",
        exit_conditions=conditions, split_printstreams=False, seed=2)
    view: ManagerView = manager.view
    assert view.failed_evaluations == 0 and view.exit_conditions is conditions
    result = manager.start_manager()
    assert task.raised > 0  # about a quarter of the box raises
    assert view.failed_evaluations == task.raised == result.stats["failed_evaluations"]
    assert view.exit_conditions is manager.exit_conditions is conditions
    assert view.exit_conditions.progress(view) == 1.0
    fake: ManagerView = FakeManagerView(exit_conditions=conditions, failed_evaluations=7)
    assert fake.exit_conditions is conditions and fake.failed_evaluations == 7
    assert FakeManagerView().exit_conditions is None
    assert FakeManagerView().failed_evaluations == 0


class Gate:
    """A task whose evaluations wait at a gate: counts how many are waiting."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.lock = threading.Lock()
        self.waiting = 0

    def __call__(self, x: Sequence[float]) -> float:
        with self.lock:
            self.waiting += 1
        try:
            if not self.open.wait(60):
                raise TimeoutError("the test never opened the gate")
        finally:
            with self.lock:
                self.waiting -= 1
        return float(np.sum(np.asarray(x) ** 2))


def test_workers_busy_counts_the_evaluations_under_way(tmp_path: Path) -> None:
    gate = Gate()
    manager = GloMPOManager.new_manager(
        task=gate, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=3, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=60), split_printstreams=False, seed=1)
    view: ManagerView = manager.view
    assert view.workers_busy == 0
    outcome: list[object] = []
    run = threading.Thread(target=lambda: outcome.append(manager.start_manager()))
    run.start()
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a measurement
        while gate.waiting < 3 and run.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gate.waiting == 3, "three optimizers should each be evaluating a point"
        assert view.workers_busy == 3 == view.max_jobs
    finally:
        gate.open.set()
        run.join(120)
    assert not run.is_alive() and outcome
    assert view.workers_busy == 0  # every evaluation was recorded
    assert FakeManagerView(workers_busy=2).workers_busy == 2
    assert FakeManagerView().workers_busy == 0
