"""The run panel's facts: exit conditions' progress (optional), rates, remaining time."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from glompo_dashboard.live import URL_FILE, Dashboard, run_facts
from glompo_dashboard.server import PortInUseError

from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.testing import FakeManagerView


class NoProgress:
    """A third-party exit condition without progress()."""

    def __call__(self, manager: Any) -> bool:
        return False

    def __str__(self) -> str:
        return "NoProgress()"


def test_each_exit_condition_with_its_progress_or_none() -> None:
    conditions = MaxFuncCalls(fmax=1000)
    view = FakeManagerView(f_counter=250, t_start=None, t_used=30.0,
                              exit_conditions=conditions)
    facts = run_facts(view, deque())
    assert facts["exit_conditions"] == [{"name": "MaxFuncCalls(fmax=1000)", "progress": 0.25}]
    assert facts["exit_progress"] == 0.25
    assert facts["elapsed"] == 30.0 and facts["remaining"] == pytest.approx(90.0)


def test_a_condition_without_progress_is_shown_without_one() -> None:
    view = FakeManagerView(f_counter=10, exit_conditions=NoProgress())
    facts = run_facts(view, deque())
    assert facts["exit_conditions"] == [{"name": "NoProgress()", "progress": None}]
    assert facts["exit_progress"] is None and facts["remaining"] is None


def test_workers_busy_and_failed_evaluations_come_from_the_view() -> None:
    facts = run_facts(FakeManagerView(max_jobs=4, workers_busy=3, failed_evaluations=12),
                      deque())
    assert (facts["max_jobs"], facts["workers_busy"], facts["failed_evaluations"]) == (4, 3, 12)


def test_a_view_without_conditions_shows_the_evaluation_budget() -> None:
    view = FakeManagerView(f_counter=300, run_budget=1200)
    facts = run_facts(view, deque())
    assert facts["exit_conditions"] == [{"name": "evaluation budget: 300 of 1,200",
                                         "progress": 0.25}]


def test_evaluations_per_second_from_recent_samples() -> None:
    rates: deque[tuple[float, int]] = deque([(time.time() - 2.0, 100)])
    facts = run_facts(FakeManagerView(f_counter=500), rates)
    assert facts["evals_per_s"] == pytest.approx(200, rel=0.05)  # 400 evaluations in ~2 s
    assert "cpu" not in facts  # no process given: no CPU or memory figures


def _serving(dashboard: Dashboard) -> bool:
    return dashboard.server is not None


def test_a_dashboard_serves_the_run_of_one_manager_only(tmp_path: Path) -> None:
    first, second = FakeManagerView(working_dir=tmp_path), FakeManagerView()
    dashboard = Dashboard(port=0, quiet=True)
    dashboard.glompo_run_started(manager=first)
    try:
        url = dashboard.url
        assert _serving(dashboard) and (tmp_path / URL_FILE).is_file()
        dashboard.glompo_run_started(manager=second)  # another run on the same plugins
        assert dashboard.url == url
        dashboard.glompo_iteration_batch(opt_id=1, call_ids=np.array([1]),
                                         x=np.zeros((1, 2)), fx=np.array([1.0]))
        dashboard.glompo_run_finished(manager=second, reason="not this one")
        assert _serving(dashboard)
        dashboard.glompo_run_finished(manager=first, reason="done")
        assert not _serving(dashboard) and not (tmp_path / URL_FILE).exists()
        dashboard.glompo_run_started(manager=second)  # left registered: stays off
        assert not _serving(dashboard)
        dashboard.glompo_iteration_batch(opt_id=1, call_ids=np.array([2]),
                                         x=np.zeros((1, 2)), fx=np.array([0.5]))
        assert dashboard.state.optimizers[1].evaluations == 1  # the second run's: ignored
    finally:
        dashboard.close()


def test_no_free_port_leaves_the_run_without_its_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def no_port(host: str, port: int, **kwargs: Any) -> None:
        raise PortInUseError(f"ports {port} to {port + 20} on {host} are all in use: give "
                             "another port")

    monkeypatch.setattr("glompo_dashboard.live.bind_socket", no_port)
    dashboard = Dashboard(port=8765)
    dashboard.glompo_run_started(manager=FakeManagerView(working_dir=tmp_path))
    assert not _serving(dashboard) and not (tmp_path / URL_FILE).exists()
    assert capsys.readouterr().err == ("the dashboard is off for this run: ports 8765 to 8785 "
                                       "on 127.0.0.1 are all in use: give another port\n")
    dashboard.glompo_iteration_batch(opt_id=1, call_ids=np.array([1]), x=np.zeros((1, 2)),
                                     fx=np.array([1.0]))
    assert dashboard.state.optimizers == {}
