"""The simulated-cluster benchmark (``benchmarks/scale.py``) on a tiny cluster.

No timing is asserted (machines are noisy): only that every case is reported with its
fields and that what the manager admitted, what it logged and what the task saw agree.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]

FIELDS = {"max_jobs", "opt_workers", "popsize", "layout", "evaluation", "evaluation_s",
          "optimizers_started", "fmax", "admitted", "logged", "task_calls",
          "finished_at_return", "counts_equal", "overshoot", "setup_s", "wall_s", "busy_s",
          "utilisation", "utilisation_in_budget", "target", "ok", "loadavg_1min_after"}


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.scale")


def test_tiny_cluster_counts_agree(scale: ModuleType, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scale.json"
    status = scale.main(["--workers", "4", "--layouts", "1", "2", "--evals-per-worker", "5",
                         "--duration", "0.01", "--random-range", "0.001", "0.02",
                         "--json", str(out)])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert status == 0
    assert "load average" in printed and "util" in printed
    assert set(data["machine"]) >= {"cpus", "loadavg_before", "loadavg_after"}
    cases = data["cases"]
    assert [(c["layout"], c["evaluation"]) for c in cases] == [
        ("1x16", "fixed"), ("1x16", "random"), ("2x16", "fixed"), ("2x16", "random")]
    for case in cases:
        assert set(case) >= FIELDS, FIELDS - set(case)
        assert case["max_jobs"] == 4 and case["fmax"] == 20
        assert case["admitted"] == case["logged"] == case["task_calls"]
        assert case["counts_equal"] is True
        assert case["finished_at_return"] == case["task_calls"]  # nothing runs on after
        assert case["overshoot"] == case["task_calls"] - 20 >= 0
        assert case["busy_s"] > 0 and case["wall_s"] > 0
        assert case["utilisation"] == pytest.approx(case["busy_s"] / (4 * case["wall_s"]))
        assert case["utilisation_in_budget"] == pytest.approx(
            case["utilisation"] * 20 / case["task_calls"])
        assert case["target"] is None and case["ok"] is None  # the target is at 128 workers


def test_random_durations_are_seeded_and_in_range(scale: ModuleType) -> None:
    a = scale.SleepingTask(0.1, 1.0, seed=1)
    b = scale.SleepingTask(0.1, 1.0, seed=1)
    c = scale.SleepingTask(0.1, 1.0, seed=2)
    points = [[0.1 * i, -0.2, 0.3, 0.0, 0.5] for i in range(50)]
    da = [a.duration(x) for x in points]
    assert da == [b.duration(x) for x in points]
    assert da != [c.duration(x) for x in points]
    assert all(0.1 <= d <= 1.0 for d in da)
    assert len(set(da)) == len(da)
    assert scale.SleepingTask(0.5).duration(points[3]) == 0.5


def test_a_layout_wider_than_the_cluster_is_refused(
        scale: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        scale.main(["--workers", "4", "--layouts", "8"])
    assert "--layouts 8 needs at least 8 workers" in capsys.readouterr().err
