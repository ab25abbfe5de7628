"""The dask backend passes GloMPO's backend conformance checks (glompo_core.testing).

Every check runs on LocalClusters of threaded workers (tasks and actors); the checks where
worker processes make a difference (a task's exception crossing a process boundary, no
process left after shutdown) run on a cluster of worker processes too (a cluster of
processes takes 5-9 s to start on a 2-core machine, once per check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from glompo_dask import DaskBackend

from glompo_core.testing import parametrize_with_component_checks

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@parametrize_with_component_checks([
    (DaskBackend, {"n_workers": 2, "processes": False}),
    (DaskBackend, {"n_workers": 2, "processes": False, "dispatch": "actors"}),
])
def test_dask_backend_conforms(component: Any, check: Callable[[Any], None]) -> None:
    check(component)


@parametrize_with_component_checks(
    [(DaskBackend, {"n_workers": 2})],
    skip={"check_backend_protocol", "check_backend_order", "check_backend_detailed"})
def test_dask_backend_with_worker_processes_conforms(component: Any,
                                                     check: Callable[[Any], None]) -> None:
    check(component)
