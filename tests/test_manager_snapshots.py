"""Status and summary read frozen snapshots taken under the manager's lock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import CycleSelector
from glompo_core.status import StatusSnapshot, status_dict, status_text
from glompo_core.status import snapshot as status_snapshot
from glompo_core.summary import SummarySnapshot, summary_dict, write_summary
from glompo_core.summary import snapshot as summary_snapshot
from tests.helpers import sphere


def make(tmp_path: Path) -> GloMPOManager:
    return GloMPOManager.new_manager(
        task=sphere, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})), max_jobs=1,
        backend="threads", exit_conditions=MaxFuncCalls(fmax=200), split_printstreams=False,
        seed=2)


def test_a_snapshot_keeps_the_moment_it_was_taken(tmp_path: Path) -> None:
    manager = make(tmp_path)
    status_before = status_snapshot(manager)
    summary_before = summary_snapshot(manager)
    manager.start_manager()
    assert isinstance(status_before, StatusSnapshot)
    assert isinstance(summary_before, SummarySnapshot)
    with pytest.raises(dataclasses.FrozenInstanceError):
        status_before.evaluations = 5  # type: ignore[misc]
    assert status_dict(status_before)["evaluations"] == 0
    assert summary_dict(summary_before)["Counters"]["Function Evaluations"] == 0
    # taken after the run: the run's figures, the same from the manager or its snapshot
    after = status_snapshot(manager)
    assert after.evaluations == manager.f_counter >= 200 and after.alive == 0
    assert status_dict(manager) == status_dict(after)
    assert status_text(after).startswith(f"status: {manager.f_counter} evaluations")
    from_manager = summary_dict(manager)
    from_snapshot = summary_dict(summary_snapshot(manager))
    for section in ("Settings", "Counters", "Solution"):
        assert from_manager[section] == from_snapshot[section], section
    assert from_snapshot["Solution"]["fx"] == manager.result.fx
    path = write_summary(summary_snapshot(manager), tmp_path / "out")
    assert path.read_text().count("Function Evaluations") == 1
