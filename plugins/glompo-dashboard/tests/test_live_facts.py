"""The run panel's facts: exit conditions' progress (optional), rates, remaining time."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest
from glompo_dashboard.live import run_facts

from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.testing import FakeManagerView


class NoProgress:
    """A third-party exit condition without progress()."""

    def __call__(self, manager: Any) -> bool:
        return False

    def __str__(self) -> str:
        return "NoProgress()"


@dataclass
class ViewWithConditions(FakeManagerView):
    exit_conditions: Any = None


def test_each_exit_condition_with_its_progress_or_none() -> None:
    conditions = MaxFuncCalls(fmax=1000)
    view = ViewWithConditions(f_counter=250, t_start=None, t_used=30.0,
                              exit_conditions=conditions)
    facts = run_facts(view, deque())
    assert facts["exit_conditions"] == [{"name": "MaxFuncCalls(fmax=1000)", "progress": 0.25}]
    assert facts["exit_progress"] == 0.25
    assert facts["elapsed"] == 30.0 and facts["remaining"] == pytest.approx(90.0)


def test_a_condition_without_progress_is_shown_without_one() -> None:
    view = ViewWithConditions(f_counter=10, exit_conditions=NoProgress())
    facts = run_facts(view, deque())
    assert facts["exit_conditions"] == [{"name": "NoProgress()", "progress": None}]
    assert facts["exit_progress"] is None and facts["remaining"] is None


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
