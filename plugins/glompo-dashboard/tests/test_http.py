"""The dashboard over HTTP (no browser): tokens, state, events, controls, shutdown."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from glompo_dashboard.live import URL_FILE
from glompo_dashboard.server import PortInUseError, bind_socket, make_app
from glompo_dashboard.state import RunState
from glompo_hdf5 import read_log
from helpers import FailingSphere, LiveRun, wait_for
from starlette.testclient import TestClient

from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds

TOKEN = "secret-token"


class FakeControl:
    """Records the requests the page makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def stop_optimizer(self, opt_id: int, reason: str) -> bool:
        self.calls.append(("stop", opt_id, reason))
        return opt_id == 1

    def checkpoint(self) -> None:
        self.calls.append(("checkpoint",))

    def end_run(self, reason: str) -> None:
        self.calls.append(("end", reason))


def _state() -> RunState:
    state = RunState()
    state.optimizer_started(1, "RandomOptimizer", {"workers": 1})
    state.batch(1, np.array([1, 2]), np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([3.0, 2.0]))
    return state


def _client(control: Any = None, read_only: bool = False) -> TestClient:
    app = make_app(_state(), TOKEN, control=None if read_only else (lambda: control),
                   interval=0.01)
    return TestClient(app)


@pytest.mark.parametrize("path", ["/", "/api/state", "/api/events"])
def test_without_the_token_a_request_is_refused_401_and_with_a_wrong_one_403(path: str) -> None:
    client = _client(FakeControl())
    assert client.get(path).status_code == 401
    assert client.get(path, params={"token": "wrong"}).status_code == 403
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 403


@pytest.mark.parametrize("path", ["/api/stop/1", "/api/checkpoint", "/api/end"])
def test_controls_need_the_token(path: str) -> None:
    control = FakeControl()
    client = _client(control)
    assert client.post(path).status_code == 401
    assert client.post(path, headers={"X-GloMPO-Token": "nope"}).status_code == 403
    assert control.calls == []
    assert client.post(path, headers={"X-GloMPO-Token": TOKEN}).status_code == 200
    assert len(control.calls) == 1


def test_controls_reach_the_run_control() -> None:
    control = FakeControl()
    client = _client(control)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/api/stop/1", headers=auth).json() == {"ok": True, "stopping": 1}
    refused = client.post("/api/stop/7", headers=auth)
    assert refused.status_code == 409 and "not running" in refused.json()["error"]
    assert client.post("/api/stop/x", headers=auth).status_code == 400
    client.post("/api/checkpoint", headers=auth)
    client.post("/api/end", headers=auth)
    assert control.calls == [("stop", 1, "user request (dashboard)"),
                             ("stop", 7, "user request (dashboard)"), ("checkpoint",),
                             ("end", "dashboard")]


def test_controls_of_a_read_only_view_409_and_of_a_run_without_control_503() -> None:
    auth = {"X-GloMPO-Token": TOKEN}
    assert _client(read_only=True).post("/api/end", headers=auth).status_code == 409
    assert _client(None).post("/api/end", headers=auth).status_code == 503


def test_the_page_and_plotly_are_served_locally() -> None:
    client = _client()
    page = client.get("/", params={"token": TOKEN})
    assert page.status_code == 200 and '<script src="/static/plotly.min.js">' in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content
    assert client.get("/static/dashboard.js").status_code == 200


def test_events_stream_the_state_and_then_only_what_changed() -> None:
    state = _state()
    client = TestClient(make_app(state, TOKEN, control=None, interval=0.01))
    with client.stream("GET", "/api/events", params={"token": TOKEN, "limit": 1}) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data:")]
    first = json.loads(lines[0][5:])
    assert first["full"] and first["points"]["1"]["n"] == [2]
    state.batch(1, np.array([3]), np.array([[0.5, 0.5]]), np.array([0.5]))
    params = {"token": TOKEN, "limit": 1, "since": first["version"]}
    with client.stream("GET", "/api/events", params=params) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data:")]
    delta = json.loads(lines[0][5:])
    assert not delta["full"] and delta["points"]["1"] == {"n": [3], "f": [0.5], "best": [0.5]}
    assert delta["run"]["best"] is None  # set by glompo_best_improved, not by batches
    assert delta["top"][0]["fx"] == 0.5


def test_a_port_in_use_takes_the_next_free_one_and_says_so() -> None:
    taken = bind_socket("127.0.0.1", 0)
    port = taken.getsockname()[1]
    said: list[str] = []
    try:
        other = bind_socket("127.0.0.1", port, say=said.append)
        assert other.getsockname()[1] > port
        assert said == [f"port {port} is in use: the dashboard takes port "
                        f"{other.getsockname()[1]} instead"]
        other.close()
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is in use"):
            bind_socket("127.0.0.1", port, search=0)
    finally:
        taken.close()


def test_a_live_run_serves_its_optimizers_and_the_stop_button_stops_one(
        live_run: LiveRun) -> None:
    url_file = Path(live_run.manager.working_dir) / URL_FILE
    assert url_file.read_text().strip() == live_run.dashboard.url
    assert url_file.stat().st_mode & 0o077 == 0  # the token is its owner's
    state = wait_for(lambda: (s := live_run.state())["optimizers"] and s["run"]["f_counter"] > 50
                     and s, message="evaluations in the state")
    first = state["version"]
    target = next(o["id"] for o in state["optimizers"] if o["status"] == "running")
    stop = httpx.post(f"{live_run.base}/api/stop/{target}", headers=live_run.headers)
    assert stop.status_code == 200, stop.text
    wait_for(lambda: any(o["id"] == target and o["status"] == "stopped"
                         for o in live_run.state()["optimizers"]), message="the stop")
    later = live_run.state()
    assert later["version"] > first and later["run"]["f_counter"] >= state["run"]["f_counter"]
    assert any(m["kind"] == "stopped" and m["opt_id"] == target for m in later["markers"])
    live_run.end()
    log = read_log(Path(live_run.manager.working_dir) / "glompo_log.h5")
    assert "dashboard" in (log.optimizers[target].end_cond or "")
    assert live_run.result.stats["end_state"] == "SIGTERM"  # as SIGTERM does
    # the server is gone: its thread joined, its port free, the URL file removed
    assert not any(t.name == "glompo-dashboard" for t in threading.enumerate())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", live_run.dashboard_port))
    assert not url_file.exists()


def test_a_live_run_shows_failed_evaluations_and_each_exit_conditions_progress(
        tmp_path: Path) -> None:
    conditions = MaxFuncCalls(fmax=10**6) | MaxSeconds(session_max=3600)
    run = LiveRun(tmp_path / "run", task=FailingSphere(), exit_conditions=conditions,
                  max_jobs=3).start()
    try:
        state = wait_for(lambda: (s := live_run_state(run))["failed_evaluations"] and
                         s["f_counter_manager"] > 100 and s, message="failed evaluations")
        assert state["failed_evaluations"] <= state["f_counter_manager"]
        assert 0 <= state["workers_busy"] <= state["max_jobs"] == 3
        names = [c["name"] for c in state["exit_conditions"]]
        assert names == [str(c) for c in conditions.leaves()] and len(names) == 2
        assert names[0] == "MaxFuncCalls(fmax=1000000)"
        evals, seconds = (c["progress"] for c in state["exit_conditions"])
        assert 0 < evals <= state["f_counter_manager"] / 10**6 + 1e-9  # counted before
        assert 0 <= seconds < 1
    finally:
        run.end()
    final = run.dashboard.state.snapshot()["run"]  # the last facts, read as the run ended
    assert final["failed_evaluations"] == run.result.stats["failed_evaluations"] > 0
    assert final["workers_busy"] == 0


def live_run_state(run: LiveRun) -> dict[str, Any]:
    """The run panel of the live page's state (over HTTP)."""
    run_panel: dict[str, Any] = run.state()["run"]
    return run_panel


def test_a_new_session_has_a_new_token(tmp_path: Path) -> None:
    tokens = []
    for i in range(2):
        run = LiveRun(tmp_path / f"run{i}").start()
        tokens.append(run.dashboard.token)
        run.end()
    assert tokens[0] != tokens[1] and all(len(t) >= 32 for t in tokens)
