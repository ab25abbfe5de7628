"""One ManagerView contract: the protocol, the manager's view and the testing fake agree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
    assert {"f_counter", "run_budget", "working_dir", "checksum"} <= members
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
