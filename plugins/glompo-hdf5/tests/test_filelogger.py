"""FileLogger on its own: the file layout, the thread model, open/append/truncate, reading."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import tables
import yaml
from glompo_hdf5 import _format as fmt
from glompo_hdf5 import read_log, summarize_log
from glompo_hdf5.filelogger import FileLogger, chunk_rows

from glompo_core.errors import CheckpointingError

N = 3


def batch(first: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k rows with call_ids first..first+k-1; fx = sum(x**2)."""
    x = np.random.default_rng(seed + first).uniform(-1, 1, (k, N))
    return np.arange(first, first + k, dtype=np.int64), x, (x ** 2).sum(axis=1)


def new_log(path: Path, *, window: int | None = 2, checksum: str = "abc",
            expected_rows: int = 1000) -> FileLogger:
    log = FileLogger(N, expected_rows, False, window=window)
    log.open(path, "w", checksum)
    return log


def put(log: FileLogger, opt_id: int, first: int, k: int, extras: Any = None) -> None:
    ids, x, fx = batch(first, k)
    log.put_iteration(opt_id, ids, x, fx, extras)


def nrows(path: Path) -> dict[str, int]:
    """Rows per optimizer, read with h5py (locking off: the writer may hold the file)."""
    with h5py.File(path, "r", locking=False) as f:
        return {name: f[name]["iter_history"].shape[0] for name in f
                if name.startswith("optimizer_") and "iter_history" in f[name]}


# ------------------------------------------------------------------------------- layout
def test_layout_columns_metadata_and_messages(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path, expected_rows=100_000)
    log.put_manager_metadata("Settings", {"Max Jobs": 2, "Bounds": {"(-1, 1)": [0, 1, 2]}})
    log.put_manager_metadata("checksum", "abc")
    log.add_optimizer(1, "RandomOptimizer", 12.5)
    log.put_metadata(1, "init_kwargs", {"popsize": 4, "workers": 1})
    log.put_metadata(1, "x0", [0.1, 0.2, 0.3])
    log.add_iter_history(1, ["energy (eV)", "label", "vec", "2nd"])
    extras = [[1.5, 2.5], ["ok", "bad ✓"], [np.arange(2.0), np.arange(2.0) + 1], [7, 8]]
    put(log, 1, 1, 2, extras)
    log.put_message(1, "hello ✓")
    log.put_message(1, "second")
    log.put_metadata(1, "end_cond", "converged")
    log.close()

    with tables.open_file(str(path), "r") as h5:
        table = h5.root.optimizer_1.iter_history
        assert table.colnames == ["call_id", "x", "fx", "energy__eV_", "label", "vec", "c_2nd"]
        assert table.coldtypes["call_id"] == np.int64
        assert table.coldtypes["x"] == np.dtype((np.float64, (N,)))
        assert table.coldtypes["fx"] == np.float64
        assert table.coldtypes["energy__eV_"] == np.float64
        assert table.coldtypes["label"] == np.dtype("S64")
        assert table.coldtypes["vec"] == np.dtype((np.float64, (2,)))
        assert table.filters.complib == "zlib" and table.filters.complevel == 1
        assert table.filters.shuffle
        assert table.chunkshape == (chunk_rows(100_000, table.rowsize),)
        assert list(table.col("call_id")) == [1, 2]
        assert fmt.read_attrs(table)["extra_headers"] == ["energy (eV)", "label", "vec", "2nd"]
        assert isinstance(h5.root.optimizer_1.messages, tables.VLArray)

    with h5py.File(path, "r") as f:
        assert f.attrs["checksum"] == b"abc"
        assert yaml.safe_load(f.attrs["Settings"]) == {"Max Jobs": 2,
                                                       "Bounds": {"(-1, 1)": [0, 1, 2]}}
        assert "Settings" in yaml.safe_load(f.attrs["glompo_yaml_attrs"])
        group = f["optimizer_1"]
        assert group.attrs["type"] == b"RandomOptimizer"
        assert group.attrs["t_start"] == 12.5
        assert group.attrs["end_cond"] == b"converged"
        assert list(group.attrs["x0"]) == [0.1, 0.2, 0.3]
        assert yaml.safe_load(group.attrs["init_kwargs"]) == {"popsize": 4, "workers": 1}
        rows = group["iter_history"][:]
        assert rows.dtype.names == ("call_id", "x", "fx", "energy__eV_", "label", "vec", "c_2nd")
        assert rows["x"].shape == (2, N)
        assert list(rows["energy__eV_"]) == [1.5, 2.5]
        assert [v.decode() for v in rows["label"]] == ["ok", "bad ✓"]
        assert rows["vec"].tolist() == [[0.0, 1.0], [1.0, 2.0]]
        assert list(rows["c_2nd"]) == [7.0, 8.0]
        messages = [bytes(m).decode() for m in group["messages"][:]]
        assert messages == ["hello ✓", "second"]

    log_data = read_log(path)
    assert log_data.checksum == "abc"
    assert log_data.metadata["Settings"]["Max Jobs"] == 2
    hist = log_data.optimizers[1]
    assert hist.type == "RandomOptimizer" and hist.end_cond == "converged"
    assert hist.metadata["init_kwargs"] == {"popsize": 4, "workers": 1}
    assert hist.messages == ["hello ✓", "second"]
    assert list(hist.extras["label"]) == ["ok", "bad ✓"]
    assert list(hist.extras["energy (eV)"]) == [1.5, 2.5]
    np.testing.assert_array_equal(hist.x, batch(1, 2)[1])


def test_large_metadata_goes_to_a_node(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    big = {"Bounds": {"(-1, 1)": list(range(20_000))}}
    log.put_manager_metadata("Settings", big)
    log.add_optimizer(1, "R", 0.0)
    log.put_metadata(1, "x0", np.arange(10_000.0))  # 80 kB: over the attribute limit
    log.flush()
    with h5py.File(path, "r", locking=False) as f:
        assert "Settings" not in f.attrs
        assert yaml.safe_load(f.attrs["glompo_large_attrs"]) == ["Settings"]
        assert yaml.safe_load(f["_large_attrs/Settings"][()]) == big
        assert f["optimizer_1/_large_attrs/x0"].shape == (10_000,)
    log.put_manager_metadata("Settings", {"small": 1})  # shrinks back into an attribute
    log.close()
    data = read_log(path)
    assert data.metadata["Settings"] == {"small": 1}
    np.testing.assert_array_equal(data.optimizers[1].metadata["x0"], np.arange(10_000.0))
    with h5py.File(path, "r") as f:
        assert "Settings" not in f["_large_attrs"]


def test_long_strings_are_truncated_and_bad_numbers_are_nan(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    log.add_iter_history(1, ["s", "f"])
    put(log, 1, 1, 2, [["short", "ab"], [1.0, 2.0]])
    log.flush()
    with caplog.at_level(logging.WARNING, logger="glompo.hdf5"):
        put(log, 1, 3, 2, [["y" * 200, "é" * 100], ["oops", None]])
        log.flush()
    assert "strings longer than 64 bytes are truncated" in caplog.text
    assert "stored as NaN" in caplog.text
    log.close()
    hist = read_log(path).optimizers[1]
    assert list(hist.extras["s"]) == ["short", "ab", "y" * 64, "é" * 32]
    np.testing.assert_array_equal(hist.extras["f"], [1.0, 2.0, np.nan, np.nan])
    with tables.open_file(str(path)) as h5:
        assert fmt.read_attrs(h5.root.optimizer_1.iter_history)["truncated_columns"] == ["s"]


# ------------------------------------------------------------------------- thread model
def test_put_iteration_only_buffers_flush_writes(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    put(log, 1, 1, 5)
    assert nrows(path) == {}  # the group is not even created yet
    log.flush()
    assert nrows(path) == {"optimizer_1": 5}
    put(log, 1, 6, 5)
    assert nrows(path) == {"optimizer_1": 5}
    log.flush()
    assert nrows(path) == {"optimizer_1": 10}
    with h5py.File(path, "r", locking=False) as f:  # written plainly while the run goes on
        assert f["optimizer_1/iter_history"].compression is None
    log.close()
    with h5py.File(path, "r") as f:  # compressed by close()
        assert f["optimizer_1/iter_history"].compression == "gzip"
        assert f["optimizer_1/iter_history"].shuffle
        assert f["optimizer_1/messages"].compression == "gzip"
    assert not list(tmp_path.glob(".*rewrite"))


def test_complevel_zero_leaves_the_file_uncompressed(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FileLogger, "complevel", 0)
    log = new_log(tmp_path / "log.h5")
    log.add_optimizer(1, "R", 0.0)
    put(log, 1, 1, 5)
    log.close()
    with h5py.File(tmp_path / "log.h5", "r") as f:
        assert f["optimizer_1/iter_history"].compression is None


def test_concurrent_writers_and_a_flushing_thread(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    n_threads, per_thread, k = 4, 60, 7
    counter = iter(range(1, 10**9))
    counter_lock = threading.Lock()
    for oid in range(1, n_threads + 1):
        log.add_optimizer(oid, "R", 0.0)
    done = threading.Event()

    def optimizer(oid: int) -> None:
        for _ in range(per_thread):
            with counter_lock:  # the manager's lock: numbers and the call itself
                ids = [next(counter) for _ in range(k)]
                x = np.full((k, N), float(oid))
                log.put_iteration(oid, np.array(ids), x, np.array(ids, dtype=float))
            time.sleep(0)

    def flusher() -> None:
        while not done.is_set():
            log.flush()
            time.sleep(0.001)

    flush_thread = threading.Thread(target=flusher)
    flush_thread.start()
    workers = [threading.Thread(target=optimizer, args=(oid,)) for oid in range(1, 5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    flush_thread.join()
    log.close()
    data = read_log(path)
    total = n_threads * per_thread * k
    assert data.n_evaluations == total == len(log)
    np.testing.assert_array_equal(data.call_ids(), np.arange(1, total + 1))
    for oid, hist in data.optimizers.items():
        assert np.all(np.diff(hist.call_id) > 0)  # each optimizer's rows in order
        assert np.all(hist.x == oid)
        np.testing.assert_array_equal(hist.fx, hist.call_id.astype(float))


def test_put_iteration_waits_for_a_running_flush_when_over_the_bound(tmp_path: Path) -> None:
    log = new_log(tmp_path / "log.h5")
    log.max_pending_bytes = 8 * (N + 2) * 10  # 10 rows
    log.add_optimizer(1, "R", 0.0)
    with log._lock:
        log._flushing = True  # as if the manager's thread were writing
    returned = threading.Event()

    def optimizer() -> None:
        put(log, 1, 1, 20)
        returned.set()

    thread = threading.Thread(target=optimizer)
    thread.start()
    assert not returned.wait(0.3)  # blocked: pending is over the bound, a flush runs
    with log._lock:
        log._flushing = False
        log._cond.notify_all()
    assert returned.wait(5)
    thread.join()
    put(log, 1, 21, 20)  # no flush running: never waits
    log.close()
    assert read_log(tmp_path / "log.h5").n_evaluations == 40


def test_waiting_is_bounded_and_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = new_log(tmp_path / "log.h5")
    log.max_pending_bytes = 8
    log.max_block_seconds = 0.2
    log.add_optimizer(1, "R", 0.0)
    with log._lock:
        log._flushing = True
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="glompo.hdf5"):
        put(log, 1, 1, 5)
    # _flushing never clears: returning at all is the bound; it waited max_block_seconds
    assert time.monotonic() - t0 >= 0.15
    assert "written more slowly than evaluations arrive" in caplog.text
    with log._lock:
        log._flushing = False
    log.close()


def test_rows_are_not_queued_without_an_open_file(tmp_path: Path) -> None:
    log = FileLogger(N, 100, False, window=2)
    log.add_optimizer(1, "R", 0.0)
    put(log, 1, 1, 5)
    assert log._rows == {} and len(log) == 5
    log.open(tmp_path / "log.h5", "w", "abc")
    put(log, 1, 6, 5)
    log.close()
    log.close()  # twice is fine
    put(log, 1, 11, 5)  # after close: memory only
    assert log._rows == {} and len(log) == 15
    data = read_log(tmp_path / "log.h5")
    assert data.optimizers[1].call_id.tolist() == list(range(6, 11))
    assert data.optimizers[1].metadata["type"] == "R"  # metadata from before open is written


# ------------------------------------------------------------------------- open modes
def test_w_refuses_a_file_with_rows_but_replaces_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    log.close()  # a log without rows
    again = new_log(path, checksum="def")
    again.add_optimizer(1, "R", 0.0)
    put(again, 1, 1, 3)
    again.close()
    with pytest.raises(FileExistsError, match=r"already holds 3 evaluations.*overwrite_existing"):
        new_log(path)
    other = tmp_path / "notes.h5"
    other.write_text("not hdf5")
    with pytest.raises(FileExistsError, match="not a readable HDF5 file"):
        new_log(other)
    with pytest.raises(ValueError, match="mode must be 'w' or 'a'"):
        FileLogger(N).open(tmp_path / "x.h5", "r", "abc")


def test_a_refuses_another_runs_file(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    new_log(path, checksum="run-one").close()
    with pytest.raises(CheckpointingError, match=r"belongs to another run.*'run-one'.*'run-two'"):
        FileLogger(N).open(path, "a", "run-two")
    with pytest.raises(FileNotFoundError, match="no log file"):
        FileLogger(N).open(tmp_path / "missing.h5", "a", "run-one")
    log = FileLogger(N)
    log.open(path, "a", "run-one")  # the right checksum opens
    with pytest.raises(RuntimeError, match="already open"):
        log.open(path, "a", "run-one")
    log.close()


def _simulated_run(log: FileLogger, start: int, stop: int) -> None:
    """Optimizers 1 and 2 alternate batches of 10 from ``start`` to ``stop``; optimizer 3
    starts at 120; messages at every 50."""
    for first in range(start, stop, 10):
        oid = 1 if (first // 10) % 2 == 0 else 2
        if first >= 120:
            oid = 3
            if 3 not in log.opt_ids:
                log.add_optimizer(3, "Late", 1.0)
        put(log, oid, first, 10)
        if first % 50 == 1:
            log.put_message(oid, f"at {first}")
        log.flush()


def test_append_after_resume_equals_an_uninterrupted_file(tmp_path: Path) -> None:
    # the reference: one uninterrupted run
    ref = new_log(tmp_path / "ref.h5", window=None)
    for oid in (1, 2):
        ref.add_optimizer(oid, "R", 0.0)
    _simulated_run(ref, 1, 201)
    ref.close()

    # the same run, checkpointed at 91 rows, killed at 151, resumed from the checkpoint
    path = tmp_path / "log.h5"
    log = new_log(path, window=None)
    for oid in (1, 2):
        log.add_optimizer(oid, "R", 0.0)
    _simulated_run(log, 1, 91)
    chk = tmp_path / "chk"
    chk.mkdir()
    log.checkpoint_save(chk)
    _simulated_run(log, 91, 151)
    log.put_metadata(1, "end_cond", "set after the checkpoint")
    log.flush()
    log._abandon()  # killed: the file is left as it was at the last flush
    assert read_log(path).n_evaluations == 150

    resumed = FileLogger.checkpoint_load(chk)
    assert resumed.path == path.resolve() and resumed.checksum == "abc"
    assert resumed._file is None and resumed._rows == {}
    assert len(resumed) == 90
    resumed.open(path, "a", "abc")  # drops everything after evaluation 90
    assert sum(nrows(path).values()) == 90 and "optimizer_3" not in nrows(path)
    with h5py.File(path, "r", locking=False) as f:
        assert "end_cond" not in f["optimizer_1"].attrs
        assert len(f["optimizer_1/messages"]) == 1  # 'at 51' came after the checkpoint
    _simulated_run(resumed, 91, 201)
    resumed.close()

    got, want = read_log(path), read_log(tmp_path / "ref.h5")
    np.testing.assert_array_equal(got.call_ids(), np.arange(1, 201))
    assert sorted(got.optimizers) == sorted(want.optimizers) == [1, 2, 3]
    for oid in want.optimizers:
        g, w = got.optimizers[oid], want.optimizers[oid]
        np.testing.assert_array_equal(g.call_id, w.call_id)
        np.testing.assert_array_equal(g.x, w.x)
        np.testing.assert_array_equal(g.fx, w.fx)
        assert g.messages == w.messages
        assert g.metadata == w.metadata


def test_truncate_after_keeps_rows_in_order_when_they_interleave(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    ids = np.array([1, 5, 2, 9, 3, 7])
    log.put_iteration(1, ids, np.zeros((6, N)), ids.astype(float))
    assert log.truncate_after(4) == 3
    assert log.truncate_after(4) == 0
    log.close()
    assert read_log(path).optimizers[1].call_id.tolist() == [1, 2, 3]
    # the dropped rows were kept aside first, once
    aside = sorted(tmp_path.glob("log.before-resume-*.h5"))
    assert [p.name for p in aside] == ["log.before-resume-1.h5"]
    assert read_log(aside[0]).optimizers[1].call_id.tolist() == [1, 5, 2, 9, 3, 7]
    with pytest.raises(RuntimeError, match="no log file is open"):
        log.truncate_after(1)


def _killed_after_checkpoint(tmp_path: Path, *, checkpoint_at: int, killed_at: int,
                             finished: bool) -> tuple[Path, Path]:
    """A log checkpointed after ``checkpoint_at - 1`` rows, then written up to
    ``killed_at - 1`` rows (optimizer 3 starts at 120) and closed (``finished``: compressed)
    or abandoned. Returns (log path, checkpoint directory)."""
    path = tmp_path / "glompo_log.h5"
    log = new_log(path, window=None)
    for oid in (1, 2):
        log.add_optimizer(oid, "R", 0.0)
    _simulated_run(log, 1, checkpoint_at)
    chk = tmp_path / f"chk{checkpoint_at}"
    chk.mkdir()
    log.checkpoint_save(chk)
    _simulated_run(log, checkpoint_at, killed_at)
    if finished:
        log.close()
    else:
        log.flush()
        log._abandon()
    return path, chk


@pytest.mark.parametrize("finished", [True, False], ids=["finished", "killed"])
def test_resume_keeps_the_rows_after_the_checkpoint_aside(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, finished: bool) -> None:
    path, chk = _killed_after_checkpoint(tmp_path, checkpoint_at=91, killed_at=151,
                                         finished=finished)
    before = path.read_bytes()
    caplog.set_level(logging.WARNING, logger="glompo.hdf5")
    resumed = FileLogger.checkpoint_load(chk)
    resumed.open(path, "a", "abc")
    aside = tmp_path / "glompo_log.before-resume-1.h5"
    assert aside.read_bytes() == before  # the whole file, as it was
    kept = read_log(aside)
    np.testing.assert_array_equal(kept.call_ids(), np.arange(1, 151))
    assert sorted(kept.optimizers) == [1, 2, 3]
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1
    assert "60 evaluations recorded after the checkpoint's 90" in warning[0]
    assert str(aside) in warning[0]
    assert sum(nrows(path).values()) == 90  # the log itself continues from the checkpoint
    _simulated_run(resumed, 91, 131)
    resumed.close()

    # resuming the same checkpoint again keeps the newer rows under the next name
    second = FileLogger.checkpoint_load(chk)
    second.open(path, "a", "abc")
    second.close()
    assert aside.read_bytes() == before  # never overwritten
    again = read_log(tmp_path / "glompo_log.before-resume-2.h5")
    np.testing.assert_array_equal(again.call_ids(), np.arange(1, 131))


def test_resume_without_rows_after_the_checkpoint_copies_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, chk = _killed_after_checkpoint(tmp_path, checkpoint_at=91, killed_at=91,
                                         finished=True)
    caplog.set_level(logging.WARNING, logger="glompo.hdf5")
    resumed = FileLogger.checkpoint_load(chk)
    resumed.open(path, "a", "abc")
    assert resumed.truncate_after(90) == 0
    resumed.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chk91", "glompo_log.h5"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_another_runs_log_is_refused_before_any_copy(tmp_path: Path) -> None:
    path, chk = _killed_after_checkpoint(tmp_path, checkpoint_at=91, killed_at=151,
                                         finished=True)
    resumed = FileLogger.checkpoint_load(chk)
    with pytest.raises(CheckpointingError, match="belongs to another run"):
        resumed.open(path, "a", "not-abc")
    assert not list(tmp_path.glob("*before-resume*"))


# ------------------------------------------------------------------------------ reading
def test_full_history_reads_the_file_not_the_memory_window(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path, window=3)
    log.add_optimizer(1, "R", 0.0)
    log.add_iter_history(1, ["label"])
    for first in range(1, 50, 7):
        put(log, 1, first, 7, [[f"r{i}" for i in range(first, first + 7)]])
    assert len(log.get_history(1, "fx")) == 3  # the stoppers' window
    fx = log.full_history(1, "fx")  # flushes, then reads
    assert len(fx) == 49
    np.testing.assert_array_equal(log.full_history(1, "call_id"), np.arange(1, 50))
    assert log.full_history(1, "x").shape == (49, N)
    np.testing.assert_array_equal(log.full_history(1, "fx_best"), np.minimum.accumulate(fx))
    assert log.full_history(1, "label")[-1] == "r49"
    with pytest.raises(KeyError, match="no column 'nope'"):
        log.full_history(1, "nope")
    with pytest.raises(KeyError, match="no optimizer 7"):
        log.full_history(7, "fx")
    log.add_optimizer(2, "R", 0.0)
    assert log.full_history(2, "x").shape == (0, N)
    log.close()
    np.testing.assert_array_equal(log.full_history(1, "call_id"), np.arange(1, 50))  # reopened


def test_without_a_file_full_history_is_the_memory_one() -> None:
    log = FileLogger(N, 100, True)
    log.add_optimizer(1, "R", 0.0)
    put(log, 1, 1, 4)
    assert log.full_history(1, "call_id").tolist() == [1, 2, 3, 4]


def test_torn_rows_are_dropped_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    put(log, 1, 1, 4)
    log.close()
    with tables.open_file(str(path), "a") as h5:
        h5.root.optimizer_1.iter_history.truncate(7)  # 3 rows of fill values
    data = read_log(path)
    assert data.torn_rows == 3
    assert data.optimizers[1].call_id.tolist() == [1, 2, 3, 4]
    assert summarize_log(path)["evaluations"] == 4


def test_summarize_log(tmp_path: Path) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    log.add_optimizer(2, "S", 0.0)
    log.put_iteration(1, np.array([1, 2]), np.zeros((2, N)), np.array([3.0, 1.0]))
    log.put_iteration(2, np.array([3]), np.zeros((1, N)), np.array([np.nan]))
    log.put_metadata(1, "end_cond", "converged")
    log.put_message(1, "hi")
    log.close()
    summary = summarize_log(path)
    assert summary["checksum"] == "abc" and summary["evaluations"] == 3
    assert summary["best"] == {"opt_id": 1, "call_id": 2, "fx": 1.0}
    first, second = summary["optimizers"]
    assert (first["type"], first["evaluations"], first["best_fx"], first["end_cond"],
            first["messages"]) == ("R", 2, 1.0, "converged", 1)
    assert (second["type"], second["evaluations"], second["best_fx"]) == ("S", 1, None)
    assert read_log(path).best() == {"opt_id": 1, "call_id": 2, "x": pytest.approx([0, 0, 0]),
                                     "fx": 1.0}


def test_as_dataframe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.h5"
    log = new_log(path)
    log.add_optimizer(1, "R", 0.0)
    log.add_iter_history(1, ["norm"])
    put(log, 1, 1, 3, [[0.5, 0.6, 0.7]])
    log.close()
    data = read_log(path)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        data.as_dataframe()
    monkeypatch.undo()
    pytest.importorskip("pandas")
    frame = data.as_dataframe()
    assert list(frame.columns) == ["opt_id", "call_id", "x_0", "x_1", "x_2", "fx", "norm"]
    assert frame["call_id"].tolist() == [1, 2, 3]


def test_column_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    names = [fmt.column_name(h, taken, i) for i, h in enumerate(
        ["x", "fx", "call_id", "a b", "a_b", "", "_p", "ok"])]
    assert names == ["x_2", "fx_2", "call_id_2", "a_b", "a_b_2", "extra_6", "c__p", "ok"]


def test_chunk_rows_follows_expected_rows() -> None:
    assert chunk_rows(10, 96) == 4096 // 96
    assert chunk_rows(1_000_000, 96) == 16 * 1024 // 96
    assert chunk_rows(8_000, 96) == 8_000 // 64
    assert chunk_rows(10**6, 10**6) == 1
