"""JSONLinesLogger: GloMPO's conformance checks, then the file it writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import glompo_compass.hooks
import numpy as np
import pytest
from glompo_compass import JSONLinesLogger

from glompo_core.plugins import PluginManager
from glompo_core.testing import parametrize_with_component_checks

PM = PluginManager(load_entrypoints=False, plugins=[("compass", glompo_compass.hooks)])


@parametrize_with_component_checks([JSONLinesLogger, (JSONLinesLogger, {"window": 3})])
def test_conformance(component: Any, check: Callable[[Any], None]) -> None:
    check(component)


def test_registered_by_name() -> None:
    assert PM.get("logger", "JSONLinesLogger") is JSONLinesLogger


def test_every_row_is_a_line_of_json_as_soon_as_it_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = JSONLinesLogger(2)
    log.open(path, "w", "abc")
    log.add_optimizer(1, "CompassSearch", 0.0)
    log.put_iteration(1, np.array([1, 2]), np.array([[0.5, 1.0], [0.0, 0.0]]),
                      np.array([1.25, float("nan")]))
    lines = [json.loads(line) for line in path.read_text().splitlines()]  # before close()
    assert lines[0] == {"glompo_checksum": "abc"}
    assert lines[1] == {"opt_id": 1, "call_id": 1, "x": [0.5, 1.0], "fx": 1.25}
    assert lines[2]["call_id"] == 2 and np.isnan(lines[2]["fx"])
    log.close()


def test_a_resumed_run_appends_and_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = JSONLinesLogger(1)
    log.open(path, "w", "run-1")
    log.add_optimizer(1, "CompassSearch", 0.0)
    log.put_iteration(1, np.array([1]), np.zeros((1, 1)), np.array([2.0]))
    log.checkpoint_save(tmp_path)
    log.close()
    resumed = JSONLinesLogger.checkpoint_load(tmp_path)
    resumed.open(path, "a", "run-1")
    resumed.put_iteration(1, np.array([2]), np.ones((1, 1)), np.array([1.0]))
    resumed.close()
    assert resumed.full_history(1, "call_id").tolist() == [1, 2]
    other = JSONLinesLogger(1)
    with pytest.raises(ValueError, match=r"belongs to another run \(checksum 'run-1', this run "
                                         r"'run-2'\)"):
        other.open(path, "a", "run-2")
    with pytest.raises(ValueError, match="mode must be 'w' or 'a', got 'r'"):
        other.open(path, "r", "run-1")
