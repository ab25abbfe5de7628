"""Real GloMPO runs with summary_files=3: the file after normal ends, SIGINT, SIGKILL, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import glompo_hdf5.hooks
import h5py
import numpy as np
import pytest
import tables
import yaml
from glompo_hdf5 import read_log

from glompo_core import GloMPOManager
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.errors import CheckpointingError
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector

pytest.importorskip("matplotlib")

PM = PluginManager(load_entrypoints=False, plugins=[("hdf5", glompo_hdf5.hooks)])
BOUNDS = [(-2.0, 2.0)] * 3
SECTIONS = {"Assignment", "Settings", "Counters", "Run Information", "Solution"}


class DetailedTask:
    """sum(x**2), with a detailed call returning (fx, norm, label, gradient)."""

    detailed_call_headers = ("norm", "label", "grad")

    def __call__(self, x: Sequence[float]) -> float:
        return float(np.sum(np.asarray(x) ** 2))

    def detailed_call(self, x: Sequence[float]) -> tuple[float, float, str, np.ndarray]:
        a = np.asarray(x, dtype=float)
        fx = float(np.sum(a ** 2))
        return fx, float(np.linalg.norm(a)), "low" if fx < 1 else "high", 2 * a


class TalkativeRandom(RandomOptimizer):
    """RandomOptimizer sending a message to the manager every iteration."""

    def check_messages(self) -> list[int]:
        self.message_manager(9, f"iteration {self.n_iter} ✓")
        return super().check_messages()


def run(tmp_path: Path, backend: str, *, detailed: bool = True, fmax: int = 1200,
        **kwargs: Any) -> GloMPOManager:
    manager = GloMPOManager.new_manager(
        task=DetailedTask(), bounds=BOUNDS,
        opt_selector=CycleSelector((TalkativeRandom, {"popsize": 6, "iters": 30})),
        working_dir=tmp_path / "run", max_jobs=3, backend=backend,
        exit_conditions=MaxFuncCalls(fmax=fmax), summary_files=3, is_log_detailed=detailed,
        split_printstreams=False, seed=7, plugin_manager=PM, **kwargs)
    manager.start_manager()
    return manager


def all_call_ids(path: Path) -> np.ndarray:
    """Every call_id of the file, read with h5py."""
    with h5py.File(path, "r", locking=False) as f:
        parts = [f[g]["iter_history"]["call_id"] for g in f
                 if g.startswith("optimizer_") and "iter_history" in f[g]]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


@pytest.mark.parametrize("backend", ["threads", "processes"])
def test_a_detailed_run_writes_every_evaluation(tmp_path: Path, backend: str) -> None:
    manager = run(tmp_path, backend)
    path = manager.working_dir / "glompo_log.h5"
    n = manager.f_counter
    assert n >= 1200 and manager.o_counter >= 5  # several optimizers, converged and started

    # every evaluation the manager counted, exactly once
    np.testing.assert_array_equal(all_call_ids(path), np.arange(1, n + 1))

    with tables.open_file(str(path), "r") as h5:
        groups = sorted(g._v_name for g in h5.root._f_iter_nodes("Group")
                        if g._v_name.startswith("optimizer_"))
        assert groups == [f"optimizer_{i}" for i in range(1, manager.o_counter + 1)]
        for oid in range(1, manager.o_counter + 1):
            group = h5.root._f_get_child(f"optimizer_{oid}")
            if manager.opt_log.len(oid) == 0:  # started as the budget ran out: refused
                assert "iter_history" not in group
                continue
            table = group.iter_history
            assert table.colnames == ["call_id", "x", "fx", "norm", "label", "grad"]
            assert table.coldtypes["x"] == np.dtype((np.float64, (3,)))
            assert table.coldtypes["grad"] == np.dtype((np.float64, (3,)))
            assert table.coldtypes["label"].kind == "S"
            assert table.nrows == manager.opt_log.len(oid)
            assert group._v_attrs["type"] == "TalkativeRandom"
            assert isinstance(group.messages, tables.VLArray)

    with h5py.File(path, "r") as f:
        assert f.attrs["checksum"].decode() == manager.checksum
        meta = {k: yaml.safe_load(f.attrs[k]) for k in SECTIONS}
        assert meta["Counters"]["Function Evaluations"] == n  # the end-of-run metadata
        assert meta["Settings"]["Backend"] == backend
        assert meta["Settings"]["Is Log Detailed"] is True
        assert meta["Solution"]["fx"] == pytest.approx(manager.result.fx)
        for oid in range(1, manager.o_counter + 1):
            group = f[f"optimizer_{oid}"]
            if "iter_history" not in group:  # started as the budget ran out: refused
                continue
            rows = group["iter_history"][:]
            x, fx = rows["x"], rows["fx"]
            np.testing.assert_allclose(fx, np.sum(x ** 2, axis=1))
            np.testing.assert_allclose(rows["norm"], np.linalg.norm(x, axis=1))
            np.testing.assert_allclose(rows["grad"], 2 * x)
            assert {v.decode() for v in rows["label"]} <= {"low", "high"}
            assert np.all(np.diff(rows["call_id"]) > 0)
            messages = [bytes(m).decode() for m in group["messages"][:]]
            assert messages == [f"iteration {i} ✓" for i in range(1, len(messages) + 1)]
            assert abs(len(messages) - len(rows) // 6) <= 1  # one per iteration of 6
            assert yaml.safe_load(group.attrs["init_kwargs"]) == {"popsize": 6, "iters": 30,
                                                                  "workers": 1}
            assert group.attrs["x0"].shape == (3,)
            assert group.attrs["t_end"] >= group.attrs["t_start"] > 0
            if manager.optimizer_status()[oid] == "converged":
                assert group.attrs["end_cond"].decode().startswith("converged")

    data = read_log(path)
    assert data.checksum == manager.checksum and data.n_evaluations == n
    assert data.best()["fx"] == pytest.approx(manager.result.fx)
    assert set(data.metadata) >= SECTIONS | {"checksum"}

    # the trajectory plots read the file back (the in-memory log keeps a window only)
    assert len(manager.opt_log.get_history(1, "fx")) < manager.opt_log.len(1)
    for name in ("trajectories.png", "trajectories_best.png"):
        image = _image(manager.working_dir / name)
        assert image.std() > 0.01  # not blank
        assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20


def _image(path: Path) -> np.ndarray:
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(str(path)))


def test_a_plain_run_has_only_the_three_columns(tmp_path: Path) -> None:
    manager = run(tmp_path, "threads", detailed=False, fmax=300)
    with h5py.File(manager.working_dir / "glompo_log.h5", "r") as f:
        # every table written; on a loaded machine the first optimizer started may have
        # had none of the 300 evaluations (three run at once), so no table of its own
        columns = {g: f[g]["iter_history"].dtype.names for g in f
                   if g.startswith("optimizer_") and "iter_history" in f[g]}
    assert columns and set(columns.values()) == {("call_id", "x", "fx")}, columns
    np.testing.assert_array_equal(all_call_ids(manager.working_dir / "glompo_log.h5"),
                                  np.arange(1, manager.f_counter + 1))


def test_the_manager_refuses_to_overwrite_an_old_log(tmp_path: Path) -> None:
    run(tmp_path, "threads", fmax=100)
    with pytest.raises(FileExistsError, match=r"glompo_log\.h5"):
        run(tmp_path, "threads", fmax=100)
    manager = run(tmp_path, "threads", fmax=100, overwrite_existing=True)
    assert read_log(manager.working_dir / "glompo_log.h5").checksum == manager.checksum


# ------------------------------------------------------------------------------ resuming
def test_resume_appends_without_duplicates_or_gaps(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_iter_frequency=300, naming_format="c_%(count)")
    first = run(tmp_path, "threads", fmax=1200, checkpoint_control=control)
    path = first.working_dir / "glompo_log.h5"
    assert len(all_call_ids(path)) == first.f_counter
    checkpoint = first.working_dir / "checkpoints" / "c_002.tar.gz"
    resumed = GloMPOManager.load_manager(checkpoint, plugin_manager=PM,
                                         exit_conditions=MaxFuncCalls(fmax=1500))
    assert resumed.f_counter < first.f_counter  # the file holds rows after the checkpoint
    resumed.start_manager()
    assert resumed.f_counter >= 1500
    np.testing.assert_array_equal(all_call_ids(path), np.arange(1, resumed.f_counter + 1))
    data = read_log(path)
    assert data.checksum == first.checksum
    assert data.metadata["Counters"]["Function Evaluations"] == resumed.f_counter


def test_resume_refuses_another_runs_log(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_iter_frequency=200, naming_format="c_%(count)")
    first = run(tmp_path / "one", "threads", fmax=400, checkpoint_control=control)
    other = run(tmp_path / "two", "threads", fmax=100)
    resumed = GloMPOManager.load_manager(first.working_dir / "checkpoints" / "c_001.tar.gz",
                                         plugin_manager=PM, working_dir=other.working_dir,
                                         exit_conditions=MaxFuncCalls(fmax=600))
    with pytest.raises(CheckpointingError, match="belongs to another run"):
        resumed.start_manager()


# --------------------------------------------------------------------- signals (processes)
SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import glompo_hdf5.hooks
    from glompo_core import GloMPOManager
    from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
    from glompo_core.plugins import PluginManager
    from glompo_core.selectors import CycleSelector

    def task(x):
        time.sleep({delay})
        return float(np.sum(np.asarray(x) ** 2))

    pm = PluginManager(load_entrypoints=False, plugins=[("hdf5", glompo_hdf5.hooks)])
    m = GloMPOManager.new_manager(
        task=task, bounds=[(-1.0, 1.0)] * 4,
        opt_selector=CycleSelector(("RandomOptimizer", {{"popsize": 16, "iters": 200}})),
        working_dir=sys.argv[1], max_jobs=3, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=10**8) | MaxSeconds(session_max=120),
        summary_files=3, split_printstreams=False, seed=3, plugin_manager=pm)
    m.start_manager()
    print(json.dumps({{"f_counter": m.f_counter, "checksum": m.checksum,
                      "exit": m.exit_reason}}))
    """)


def _start(tmp_path: Path, delay: float) -> tuple[subprocess.Popen[str], Path]:
    script = tmp_path / "long_run.py"
    script.write_text(SCRIPT.format(delay=delay))
    workdir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(script), str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return proc, workdir / "glompo_log.h5"


def _wait_for_rows(proc: subprocess.Popen[str], path: Path, rows: int,
                   timeout: float = 60) -> int:
    """Poll the file (h5py, no locking) until it holds at least ``rows`` rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the run ended early:\n{err}")
        if path.exists():
            try:
                n = len(all_call_ids(path))
            except Exception:  # caught mid-write: try again
                n = 0
            if n >= rows:
                return n
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"no {rows} rows in {path} after {timeout} s")


def _wait(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_sigint_ends_the_run_with_every_row_written(tmp_path: Path) -> None:
    proc, path = _start(tmp_path, delay=0.0005)
    _wait_for_rows(proc, path, 500)
    proc.send_signal(signal.SIGINT)
    out, err = _wait(proc)
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert "SIGINT" in result["exit"]
    np.testing.assert_array_equal(all_call_ids(path), np.arange(1, result["f_counter"] + 1))
    data = read_log(path)
    assert data.checksum == result["checksum"] and data.torn_rows == 0
    assert data.metadata["Counters"]["Function Evaluations"] == result["f_counter"]
    assert (path.parent / "trajectories.png").exists()


@pytest.mark.parametrize("delay", [0.0005, 0.0])
def test_sigkill_leaves_a_readable_prefix(tmp_path: Path, delay: float) -> None:
    """Killed at any moment (a busy run: delay 0 writes all the time), the file opens with
    PyTables and h5py and holds each optimizer's rows in order, each call_id once."""
    proc, path = _start(tmp_path, delay=delay)
    _wait_for_rows(proc, path, 2000)
    time.sleep(0.37)  # land somewhere in the flush cycle, after more rows were written
    proc.send_signal(signal.SIGKILL)
    _wait(proc)
    assert proc.returncode == -signal.SIGKILL

    with tables.open_file(str(path), "r") as h5:
        assert h5.root._v_attrs["checksum"]
        n_tables = sum(1 for _ in h5.walk_nodes("/", "Table"))
        assert n_tables >= 1
    data = read_log(path)  # PyTables; drops rows never written, if any
    ids = data.call_ids()
    assert len(ids) >= 2000 and len(np.unique(ids)) == len(ids)
    for hist in data.optimizers.values():
        assert np.all(np.diff(hist.call_id) > 0)
        np.testing.assert_allclose(hist.fx, np.sum(hist.x ** 2, axis=1))
    # evaluations counted but not yet handed to the log: at most a batch per optimizer
    assert ids.max() - len(ids) <= 3 * 64
    assert len(all_call_ids(path)) == len(ids) + data.torn_rows  # h5py reads it too
    with h5py.File(path, "r") as f:
        assert f.attrs["checksum"].decode() == data.checksum

