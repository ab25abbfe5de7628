"""Shared by the dashboard's tests: a slow task and a live run with a dashboard."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import glompo_dashboard.hooks
import glompo_hdf5.hooks
import httpx
import numpy as np
from glompo_dashboard.live import Dashboard

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector


def plugin_manager() -> PluginManager:
    """A plugin manager of the core, glompo-hdf5 and glompo-dashboard only."""
    return PluginManager(load_entrypoints=False,
                         plugins=[("hdf5", glompo_hdf5.hooks),
                                  ("dashboard", glompo_dashboard.hooks)])


class SlowSphere:
    """sum(x**2) + 1, sleeping ``delay`` seconds per evaluation."""

    def __init__(self, dims: int = 3, delay: float = 0.001) -> None:
        self.dims, self.delay = dims, delay
        self.bounds = [(-5.0, 5.0)] * dims

    def __call__(self, x: Sequence[float]) -> float:
        time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2)) + 1.0


class FailingSphere(SlowSphere):
    """A :class:`SlowSphere` whose task raises where ``x[0] > 2`` (a model's bad region)."""

    def __call__(self, x: Sequence[float]) -> float:
        if x[0] > 2.0:
            time.sleep(self.delay)
            raise ValueError("x[0] > 2 is outside the model's range")
        return super().__call__(x)


def wait_for(what: Callable[[], Any], timeout: float = 60.0, message: str = "") -> Any:
    """Poll ``what()`` until it is truthy; fail after ``timeout`` seconds (a hang guard)."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message or what}")
        time.sleep(0.02)


class LiveRun:
    """A run with a live dashboard, in a thread; ``end()`` ends it through the page's API."""

    def __init__(self, working_dir: Path, *, fmax: int = 10**7, delay: float = 0.001,
                 max_jobs: int = 2, optimizers: Sequence[Any] = ("RandomOptimizer",),
                 pm: PluginManager | None = None, dims: int = 3, task: Any = None,
                 exit_conditions: Any = None, **setup: Any) -> None:
        self.pm = pm or plugin_manager()
        self.manager = GloMPOManager.new_manager(
            task=task or SlowSphere(dims=dims, delay=delay), bounds=[(-5.0, 5.0)] * dims,
            opt_selector=CycleSelector(*optimizers, plugin_manager=self.pm),
            working_dir=str(working_dir), max_jobs=max_jobs, backend="threads",
            exit_conditions=exit_conditions or MaxFuncCalls(fmax=fmax), summary_files=3,
            seed=1, plugin_manager=self.pm, **setup)
        self.dashboard = Dashboard(port=0, interval=0.1, quiet=True)
        self.manager.add_observer(self.dashboard, "dashboard-test")  # until the run ends
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-run")

    def _run(self) -> None:
        try:
            self.result = self.manager.start_manager()
        except BaseException as exc:
            self.error = exc

    def start(self) -> LiveRun:
        self.thread.start()
        wait_for(lambda: self.dashboard.url or not self.thread.is_alive(), message="the URL")
        assert self.dashboard.url, f"the run ended before its dashboard started: {self.error}"
        self.dashboard_port = int(self.dashboard.url.split(":")[2].split("/")[0])
        return self

    @property
    def base(self) -> str:
        return self.dashboard.url.split("/?")[0]

    @property
    def headers(self) -> dict[str, str]:
        return {"X-GloMPO-Token": self.dashboard.token}

    def state(self) -> dict[str, Any]:
        response = httpx.get(f"{self.base}/api/state", headers=self.headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def end(self) -> None:
        if self.thread.is_alive() and self.dashboard.server is not None:
            try:
                httpx.post(f"{self.base}/api/end", headers=self.headers, timeout=10)
            except httpx.HTTPError:
                pass
        self.thread.join(120)
        assert not self.thread.is_alive(), "the run did not end"
