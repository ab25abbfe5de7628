"""The 'dask' backend on its own: a LocalCluster of 2 worker processes per test."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster
from glompo_dask import DaskBackend

from glompo_core.errors import EvaluationTimeout

try:
    from tests.helpers import Rendezvous
except ImportError:  # pytest took plugins/glompo-dask as rootdir: the core's helpers by path
    _helpers = sys.modules.get("glompo_core_tests_helpers")  # loaded so by test_runs.py
    if _helpers is None:
        _path = Path(__file__).resolve().parents[3] / "tests" / "helpers.py"
        _spec = importlib.util.spec_from_file_location("glompo_core_tests_helpers", _path)
        assert _spec is not None and _spec.loader is not None
        _helpers = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_helpers)
    Rendezvous = _helpers.Rendezvous  # type: ignore[misc]

QUIET = {"dashboard_address": ":0", "silence_logs": logging.CRITICAL}


class Sleepy:
    """Sleeps ``delay`` s, then returns the sum of squares (a class of this test module)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __call__(self, x: Any) -> float:
        time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2))


class Picky:
    """Raises for x[0] > 0.5, hangs for x[0] < -0.5, else returns x[0]."""

    def __call__(self, x: Any) -> float:
        if x[0] > 0.5:
            raise ArithmeticError(f"no solution at x0={x[0]:.2f}")
        if x[0] < -0.5:
            time.sleep(60)
        return float(x[0])

    def detailed_call(self, x: Any) -> tuple[float, int, str]:
        return self(x), os.getpid(), "ok"


def _plugins_on(client: Client) -> list[str]:
    """GloMPO tasks the scheduler would still install on new workers."""
    names = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.worker_plugins))
    return [n for n in names if n.startswith("glompo-task-")]


@pytest.fixture(params=["tasks", "actors"])
def backend(request: pytest.FixtureRequest) -> Iterator[DaskBackend]:
    """A backend on a LocalCluster of 2 workers, for each way of dispatching evaluations."""
    b = DaskBackend(n_workers=2, cluster_kwargs=QUIET, dispatch=request.param)
    yield b
    b.shutdown()


def test_evaluate_and_batch_in_order(backend: DaskBackend) -> None:
    backend.start(Sleepy(0.0), 2, detailed=False)
    assert backend.client is not None and backend.cluster is not None
    assert len(backend.client.nthreads()) == 2
    assert backend.evaluate(np.array([1.0, 2.0])) == 5.0
    xs = np.arange(12.0).reshape(6, 2)
    assert backend.evaluate_batch(xs) == [float(a * a + b * b) for a, b in xs]
    assert backend.evaluate_batch(np.empty((0, 2))) == []


def test_the_dashboard_link_is_logged(backend: DaskBackend, caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="glompo.backends"):
        backend.start(Sleepy(0.0), 2, detailed=False)
    assert "dashboard: http" in caplog.text and "2 workers" in caplog.text


def test_a_closure_and_a_class_of_this_module_are_shipped(backend: DaskBackend) -> None:
    offset = 10.0

    def shifted(x: Any) -> float:
        return float(x[0]) + offset

    backend.start(shifted, 2, detailed=False)
    assert backend.evaluate_batch(np.array([[1.0], [2.0]])) == [11.0, 12.0]


def test_a_module_the_workers_cannot_import_is_sent_by_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    (tmp_path / "glompo_dask_probe_task.py").write_text(
        "class Cube:\n    def __call__(self, x):\n        return float(x[0]) ** 3\n")
    with LocalCluster(n_workers=1, processes=True, **QUIET) as cluster:
        monkeypatch.syspath_prepend(str(tmp_path))  # after the workers started: not theirs
        module = importlib.import_module("glompo_dask_probe_task")
        monkeypatch.setitem(sys.modules, "glompo_dask_probe_task", module)
        backend = DaskBackend(address=cluster.scheduler_address)
        try:
            with caplog.at_level(logging.INFO, logger="glompo.backends"):
                backend.start(module.Cube(), 1, detailed=False)
            assert backend.evaluate(np.array([2.0])) == 8.0
        finally:
            backend.shutdown()
    assert "'glompo_dask_probe_task' cannot be imported on 1 worker(s)" in caplog.text


def test_batches_run_concurrently(backend: DaskBackend, tmp_path: Path) -> None:
    pairs = Rendezvous(tmp_path / "pairs", group=2)  # each row waits for a partner
    backend.start(pairs, 2, detailed=False)
    assert backend.evaluate_batch(np.ones((2, 2))) == [2.0, 2.0]  # 2 rows on 2 workers
    assert backend.evaluate_batch(np.ones((4, 2))) == [2.0] * 4  # 4 rows: two at a time
    meetings = pairs.meetings()
    assert len(meetings) == 6 and all(m.met for m in meetings)  # every row ran beside another
    assert max(m.crowd for m in meetings) == 2  # one evaluation per worker at a time
    assert len({m.pid for m in meetings}) == 2 and os.getpid() not in {m.pid for m in meetings}


def test_optimizer_threads_share_the_cluster(backend: DaskBackend, tmp_path: Path) -> None:
    pairs = Rendezvous(tmp_path / "pairs", group=2)
    backend.start(pairs, 2, detailed=False)
    out: list[float] = []
    threads = [threading.Thread(target=lambda: out.append(backend.evaluate(np.ones(2))))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [2.0, 2.0]
    assert [m.met for m in pairs.meetings()] == [True, True]  # not one after the other


def test_detailed_call(backend: DaskBackend) -> None:
    backend.start(Picky(), 2, detailed=True)
    fx, pid, label = backend.evaluate(np.array([0.25]))
    assert (fx, label) == (0.25, "ok") and pid != os.getpid()  # ran in a worker process
    rows = backend.evaluate_batch(np.array([[0.1], [0.2]]))
    assert [r[0] for r in rows] == [0.1, 0.2]


def test_a_task_exception_arrives_with_its_type_and_text(backend: DaskBackend) -> None:
    backend.start(Picky(), 2, detailed=False)
    with pytest.raises(ArithmeticError, match=r"no solution at x0=0\.90") as info:
        backend.evaluate(np.array([0.9]))
    frames = "".join(str(f) for f in info.traceback)  # the worker's frames are kept
    # the frame of the raise, by name and line; cloudpickle >= 3.1.3 sends code pickled by
    # value under the file name '<dynamic-code>', so its source text may be absent
    raise_line = Picky.__call__.__code__.co_firstlineno + 2
    assert "in __call__" in frames
    assert "raise ArithmeticError" in frames or f":{raise_line} in __call__" in frames
    with pytest.raises(ArithmeticError, match=r"x0=0\.70"):  # the first failing row, in order
        backend.evaluate_batch(np.array([[0.1], [0.7], [0.8]]))
    assert backend.evaluate(np.array([0.3])) == 0.3  # the backend goes on


@pytest.mark.slow
def test_a_hung_evaluation_times_out_and_its_worker_is_restarted(backend: DaskBackend) -> None:
    backend.start(Picky(), 2, detailed=False, timeout=1.0)
    assert backend.client is not None
    pids = set(backend.client.run(os.getpid).values())
    t0 = time.perf_counter()
    with pytest.raises(EvaluationTimeout, match=r"ran past 1\.0 s on the Dask cluster"):
        backend.evaluate(np.array([-0.9]))  # it hangs 60 s: returning at all is the timeout
    assert time.perf_counter() - t0 >= 1.0  # given its whole limit
    assert backend.evaluate_batch(np.array([[0.1], [0.2]])) == [0.1, 0.2]
    deadline = time.time() + 20
    while time.time() < deadline:
        now = set(backend.client.run(os.getpid).values())
        if len(now) == 2 and len(now & pids) == 1:
            break  # the hung worker was replaced, the other one kept
        time.sleep(0.2)
    else:
        pytest.fail(f"the worker of the hung evaluation was not restarted: {pids} -> {now}")


@pytest.mark.slow
def test_a_killed_worker_costs_a_rerun_not_the_evaluation(backend: DaskBackend) -> None:
    backend.start(Sleepy(0.5), 2, detailed=False)
    assert backend.client is not None
    backend.evaluate_batch(np.zeros((2, 1)))
    pid = next(iter(backend.client.run(os.getpid).values()))
    out: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: out.setdefault("fx", backend.evaluate_batch(np.arange(4.0)[:, None])))
    thread.start()
    time.sleep(0.25)
    os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out["fx"] == [0.0, 1.0, 4.0, 9.0]


@pytest.mark.slow
def test_losing_every_worker_at_once_loses_no_evaluation(backend: DaskBackend) -> None:
    """The restarted workers get the task again (worker plugin) and rerun the evaluations."""
    backend.start(Sleepy(0.5), 2, detailed=False)
    assert backend.client is not None
    backend.evaluate_batch(np.zeros((2, 1)))
    pids = list(backend.client.run(os.getpid).values())
    out: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: out.setdefault("fx", backend.evaluate_batch(np.arange(2.0)[:, None])))
    thread.start()
    time.sleep(0.25)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    thread.join(30)
    assert out["fx"] == [0.0, 1.0]
    assert not set(backend.client.run(os.getpid).values()) & set(pids)


@pytest.mark.parametrize("dispatch", ["tasks", "actors"])
def test_evaluations_spread_over_workers_that_join_later(dispatch: str) -> None:
    """A worker that joins after the start gets the task and takes evaluations."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, **QUIET) as cluster:
        backend = DaskBackend(address=cluster.scheduler_address, dispatch=dispatch)
        try:
            backend.start(Picky(), 2, detailed=True)
            assert backend.client is not None
            cluster.scale(2)
            backend.client.wait_for_workers(2, timeout=20)
            time.sleep(2.5)  # an active memory manager cycle: no copy of the task to pin to
            rows = backend.evaluate_batch(np.full((8, 1), 0.1))
            assert len({pid for _, pid, _ in rows}) == 2
        finally:
            backend.shutdown()


@pytest.mark.parametrize("dispatch", ["tasks", "actors"])
def test_address_leaves_the_cluster_running(dispatch: str) -> None:
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, **QUIET) as cluster:
        backend = DaskBackend(address=cluster.scheduler_address, dispatch=dispatch)
        backend.start(Sleepy(0.0), 2, detailed=False)
        assert backend.cluster is None
        assert backend.evaluate_batch(np.ones((3, 2))) == [2.0, 2.0, 2.0]
        assert backend.client is not None and len(_plugins_on(backend.client)) == 1
        backend.shutdown()
        assert backend.client is None
        with Client(cluster.scheduler_address, set_as_default=False) as client:
            assert len(client.nthreads()) == 1  # the scheduler and its worker still run
            assert client.submit(sum, [1, 2]).result(timeout=10) == 3
            assert _plugins_on(client) == []  # and do not keep the task
            actors = client.run(lambda dask_worker: len(dask_worker.state.actors))
            assert set(actors.values()) == {0}  # nor an evaluator (dispatch='actors')


@pytest.mark.parametrize("dispatch", ["tasks", "actors"])
def test_a_given_client_stays_open_and_the_task_is_released(dispatch: str) -> None:
    with LocalCluster(n_workers=1, processes=False, **QUIET) as cluster, \
            Client(cluster, set_as_default=False) as client:
        backend = DaskBackend(client=client, dispatch=dispatch)
        backend.start(Sleepy(0.0), 1, detailed=False)
        assert backend.client is client
        assert backend.evaluate(np.ones(2)) == 2.0
        backend.shutdown()
        assert client.status == "running"
        assert _plugins_on(client) == []  # the task was removed from the scheduler


def test_no_worker_within_startup_timeout() -> None:
    with LocalCluster(n_workers=0, processes=False, **QUIET) as cluster:
        backend = DaskBackend(address=cluster.scheduler_address, startup_timeout=0.5)
        with pytest.raises(RuntimeError, match="no Dask worker joined the scheduler"):
            backend.start(Sleepy(0.0), 1, detailed=False)
        assert backend.client is None
