"""RunState: bounded, down-sampled series; deltas; the best points."""

from __future__ import annotations

import numpy as np
import pytest
from glompo_dashboard.state import TOP_N, RunState


def test_a_trajectory_stays_bounded_and_spread_over_the_run() -> None:
    state = RunState(max_points=64)
    state.optimizer_started(1, "A", {})
    for i in range(1, 10_001):
        state.batch(1, np.array([i]), np.array([[float(i)]]), np.array([1000.0 / i]))
    points = state.optimizers[1].points
    assert len(points) <= 64
    calls = [p[1] for p in points]
    assert calls[0] == 1 and calls[-1] == 10_000  # first and last kept
    gaps = np.diff(calls)
    # evenly spread over the run (not the last 64 batches), the latest batch added
    assert gaps[:-1].max() <= 2 * gaps[:-1].min() and gaps[-1] <= gaps[:-1].max()
    assert len(points) > 16
    assert state.optimizers[1].evaluations == 10_000
    assert points[-1][3] == pytest.approx(0.1)  # best so far


def test_a_delta_holds_only_what_changed() -> None:
    state = RunState()
    state.optimizer_started(1, "A", {"sigma": 0.5, "array": np.zeros(100)})
    state.optimizer_started(2, "B", {})
    state.batch(1, np.array([1, 2]), np.zeros((2, 2)), np.array([5.0, np.nan]))
    seen = state.version
    state.batch(2, np.array([3]), np.zeros((1, 2)), np.array([4.0]))
    state.optimizer_ended(2, "converged", "tolerance reached\n")
    delta = state.delta(seen)
    assert [row["id"] for row in delta["optimizers"]] == [2]
    assert list(delta["points"]) == ["2"] and delta["points"]["2"]["f"] == [4.0]
    assert delta["markers"] == [{"version": state.version, "kind": "converged", "opt_id": 2,
                                 "call_id": 3, "f": 4.0, "text": "tolerance reached"}]
    full = state.snapshot()
    assert full["run"]["failed"] == 1 and full["run"]["f_counter"] == 3
    assert full["optimizers"][0]["settings"]["sigma"] == 0.5
    assert isinstance(full["optimizers"][0]["settings"]["array"], str)  # shortened
    assert state.delta(state.version)["optimizers"] == []
    assert full["run"]["workers_held"] == 1  # optimizer 2 converged; 1 holds its one worker
    state.optimizer_started(3, "C", {"workers": 4})
    assert state.snapshot()["run"]["workers_held"] == 5


def test_the_top_points_are_the_lowest_values_seen() -> None:
    state = RunState()
    rng = np.random.default_rng(1)
    values = rng.permutation(500).astype(float)
    for k in range(0, 500, 50):
        state.batch(k % 3, np.arange(k + 1, k + 51), rng.random((50, 4)), values[k:k + 50])
    top = state.snapshot()["top"]
    assert [t["fx"] for t in top] == list(range(TOP_N))
    assert all(len(t["x"]) == 4 for t in top)


def test_too_few_points_are_refused() -> None:
    with pytest.raises(ValueError, match="max_points=4: keep at least 16"):
        RunState(max_points=4)
