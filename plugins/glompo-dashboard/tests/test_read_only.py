"""``glompo dashboard RUN_DIR``: a finished run's page, read-only, and its bad inputs."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from glompo_dashboard import cli
from glompo_dashboard.offline import load_run_dir
from glompo_dashboard.server import bind_socket
from helpers import plugin_manager

from glompo_core import GloMPOManager
from glompo_core.errors import GloMPOError
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import CycleSelector


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run's directory (summary_files=3)."""
    pm = plugin_manager()
    work = tmp_path_factory.mktemp("finished") / "run"
    manager = GloMPOManager.new_manager(
        task="Rastrigin", bounds=[(-5.12, 5.12)] * 2,
        opt_selector=CycleSelector("RandomOptimizer", plugin_manager=pm),
        working_dir=str(work), max_jobs=3, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=1500), summary_files=3, seed=4, plugin_manager=pm)
    manager.start_manager()
    return work


def _glompo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glompo_core.cli", *args], text=True,
                          capture_output=True, timeout=120)


def _log_summary(run_dir: Path) -> dict[str, Any]:
    done = _glompo("log", "summary", str(run_dir / "glompo_log.h5"), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _serve(run_dir: Path, **extra: Any) -> tuple[argparse.Namespace, threading.Event,
                                                 threading.Thread]:
    args = argparse.Namespace(run_dir=str(run_dir), port=0, host="127.0.0.1",
                              strict_port=False, **extra)
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=cli.run, args=(args,), kwargs={"ready": ready,
                                                                    "stop": stop})
    thread.start()
    assert ready.wait(30), "the server did not start"
    return args, stop, thread


def test_the_read_only_page_shows_the_counts_of_glompo_log_summary(finished_run: Path) -> None:
    expected = _log_summary(finished_run)
    args, stop, thread = _serve(finished_run)
    try:
        base, token = args.url.split("/?token=")
        state = httpx.get(f"{base}/api/state", params={"token": token}).json()
        assert httpx.post(f"{base}/api/end", params={"token": token}).status_code == 409
    finally:
        stop.set()
        thread.join(30)
    assert state["mode"] == "read-only" and "read-only view" in state["note"]
    assert state["run"]["f_counter"] == expected["evaluations"] == 1500
    assert state["run"]["failed"] == expected["failed"]
    rows = {o["id"]: o for o in state["optimizers"]}
    assert sorted(rows) == [o["opt_id"] for o in expected["optimizers"]]
    for opt in expected["optimizers"]:
        row = rows[opt["opt_id"]]
        assert (row["type"], row["evaluations"], row["best_f"]) == \
            (opt["type"], opt["evaluations"], opt["best_fx"])
    assert state["run"]["best"]["fx"] == expected["best"]["fx"]
    assert state["run"]["best"]["opt_id"] == expected["best"]["opt_id"]
    assert all(len(p["n"]) > 0 for p in state["points"].values())


def test_without_the_log_the_page_comes_from_the_summary_and_says_so(
        finished_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    expected = _log_summary(copy)
    (copy / "glompo_log.h5").unlink()
    state = load_run_dir(copy).snapshot()
    assert "from glompo_manager_log.yml alone" in state["note"]
    assert state["optimizers"] == [] and state["run"]["f_counter"] == expected["evaluations"]
    assert state["run"]["best"]["fx"] == pytest.approx(expected["best"]["fx"])
    assert state["run"]["optimizers_started"] == len(expected["optimizers"])


def test_an_unknown_run_dir_is_one_line(tmp_path: Path) -> None:
    done = _glompo("dashboard", str(tmp_path / "nowhere"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "no run directory" in done.stderr and "nowhere" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GloMPOError, match=r"holds no glompo_log\.h5 nor glompo_manager_log\.yml"):
        load_run_dir(empty)


def test_a_port_in_use_is_one_line(finished_run: Path) -> None:
    taken = bind_socket("127.0.0.1", 0)
    try:
        port = str(taken.getsockname()[1])
        done = _glompo("dashboard", str(finished_run), "--port", port, "--strict-port")
    finally:
        taken.close()
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: port {port} on 127.0.0.1 is in use: give another "
                                   "port (--port PORT)")


def test_a_log_still_open_in_a_running_process_is_one_line(finished_run: Path) -> None:
    log = finished_run / "glompo_log.h5"
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import sys; f = open({str(log)!r}, 'rb'); print('open', "
                               "flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        done = _glompo("dashboard", str(finished_run))
    finally:
        holder.communicate("", timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"PID {holder.pid}" in done.stderr and "the run is not over" in done.stderr
