"""No process outlives the manager; forked workers never hold the HDF5 log (issue 14, item 5).

Processes are checked with psutil. Every wait polls for an event (rows in the log, a
process gone) until a generous deadline; nothing asserts a speed.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from glompo_core import _fork_safety
from glompo_core.backends import ProcessesBackend, ProcessesForcedBackend
from glompo_core.errors import EvaluationTimeout, GloMPOError
from tests.helpers import running

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")

#: Longest wait for an event (processes ending, rows appearing) before a test fails.
DEADLINE = 60.0
SLEEPER = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def poll(condition: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """Call ``condition`` until it returns something true; fail after ``deadline`` s."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"still waiting after {deadline} s for {what}")
        time.sleep(0.05)



def assert_all_end(procs: list[psutil.Process]) -> None:
    assert procs
    poll(lambda: not running(procs), f"processes {[p.pid for p in running(procs)]} to end")


def sleepers(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes started by the tasks below (running ``SLEEPER``)."""
    found = []
    for proc in procs:
        try:
            if SLEEPER in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


# ----------------------------------------------------------------------- glompo run, SIGKILL
TASK_MODULE = textwrap.dedent(f"""
    import signal, subprocess, sys, time

    import numpy as np

    _children = []


    class Sleepy:
        \"\"\"Sleeps 0.2 s per call; may ignore SIGTERM and start a process of its own.\"\"\"

        def __init__(self, ignore_sigterm=False, start_process=False):
            self.ignore_sigterm = ignore_sigterm
            self.start_process = start_process

        def __call__(self, x):
            if self.ignore_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if self.start_process and not _children:
                _children.append(subprocess.Popen([sys.executable, "-c", {SLEEPER!r}]))
            time.sleep(0.2)
            return float(np.sum(np.asarray(x) ** 2))
    """)

RUN_FILE = """\
task: "orphan_task:Sleepy"
task_kwargs: {{ignore_sigterm: {ignore}, start_process: {start}}}
bounds: [[-1, 1], [-1, 1], [-1, 1]]
working_dir: {workdir}
backend: {backend}
max_jobs: 2
seed: 1
opt_selector:
  CycleSelector:
    avail_opts:
      - RandomOptimizer: {{init: {{popsize: 4}}}}
exit_conditions: "MaxFuncCalls(fmax=1000000)"
summary_files: 3
"""


def _log_rows(path: Path) -> int:
    from glompo_hdf5 import read_log

    if not path.exists():
        return 0
    try:
        return read_log(path).n_evaluations
    except Exception:  # caught while the run creates it
        return 0


@pytest.mark.parametrize(("backend", "ignore", "start"), [
    ("processes", False, False),
    ("processes", True, False),
    ("processes_forced", True, True),
], ids=["processes-sleeps", "processes-ignores-SIGTERM", "processes_forced-own-process"])
def test_sigkill_of_glompo_run_leaves_no_process_and_a_readable_log(
        tmp_path: Path, backend: str, ignore: bool, start: bool) -> None:
    pytest.importorskip("glompo_hdf5")
    (tmp_path / "orphan_task.py").write_text(TASK_MODULE)
    workdir = tmp_path / "run"
    run_file = tmp_path / "run.yml"
    run_file.write_text(RUN_FILE.format(ignore=str(ignore).lower(), start=str(start).lower(),
                                        workdir=workdir, backend=backend))
    log = workdir / "glompo_log.h5"
    proc = subprocess.Popen([sys.executable, "-m", "glompo_core.cli", "run", str(run_file),
                             "--no-progress"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        manager = psutil.Process(proc.pid)
        poll(lambda: proc.poll() is not None or _log_rows(log) >= 4, "rows in the log")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        # every process of the run: 2 workers; with start_process, each worker's reaper
        # and the process its task started
        want = 6 if start else 2

        def tree_of_run() -> tuple[list[psutil.Process], list[psutil.Process]] | None:
            tree = manager.children(recursive=True)
            own = sleepers(tree)
            return (tree, own) if len(tree) >= want and len(own) == 2 * start \
                else None

        tree, own = poll(tree_of_run, "the workers (and their processes) to start")
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert_all_end(tree)
    assert len(own) == (2 if start else 0)

    summary = subprocess.run([sys.executable, "-m", "glompo_core.cli", "log", "summary",
                              str(log), "--json"], capture_output=True, text=True,
                             timeout=DEADLINE)
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["evaluations"] >= 4


# ----------------------------------------------------------------------------- the backends
class ChildStarting:
    """A task which starts a process of its own (once per worker) and may hang."""

    def __call__(self, x: Any) -> float:
        if not _STARTED:
            _STARTED.append(subprocess.Popen([sys.executable, "-c", SLEEPER]))
        if x[0] > 1:
            time.sleep(600)
        return float(np.sum(np.asarray(x) ** 2))


_STARTED: list[subprocess.Popen[bytes]] = []


def _tree_of(backend: ProcessesBackend) -> list[psutil.Process]:
    procs = [psutil.Process(pid) for pid in backend.worker_pids()]
    return procs + [c for p in procs for c in p.children(recursive=True)]


@pytest.mark.parametrize("cls", [ProcessesBackend, ProcessesForcedBackend])
def test_shutdown_leaves_no_process(cls: type[ProcessesBackend]) -> None:
    backend = cls()
    backend.start(ChildStarting(), 2, detailed=False)
    try:
        assert backend.evaluate_batch(np.zeros((4, 2))) == [0.0] * 4
        tree = _tree_of(backend)
        if cls is ProcessesForcedBackend:  # the processes the task started, and the reapers
            tree = poll(lambda: len(sleepers(t := _tree_of(backend))) == 2 and t,
                        "the task's processes")
    finally:
        backend.shutdown()
    assert len(tree) >= 2
    assert_all_end(tree)


def test_killing_a_forced_worker_kills_its_process_tree() -> None:
    backend = ProcessesForcedBackend()
    backend.start(ChildStarting(), 1, detailed=False, timeout=1.0)
    try:
        assert backend.evaluate(np.zeros(2)) == 0.0
        first = poll(lambda: len(sleepers(t := _tree_of(backend))) == 1 and t,
                     "the task's process")
        with pytest.raises(EvaluationTimeout):
            backend.evaluate(np.array([2.0, 0.0]))  # hangs: the worker is killed, replaced
        assert_all_end(first)
        assert backend.evaluate(np.array([1.0, 1.0])) == 2.0  # the new worker works
    finally:
        backend.shutdown()


class Hangs:
    def __call__(self, x: Any) -> float:
        if x[0] > 1:
            time.sleep(600)
        return float(np.sum(np.asarray(x) ** 2))


@pytest.mark.parametrize("cls", [ProcessesBackend, ProcessesForcedBackend])
def test_a_worker_replaced_from_a_thread_that_ended_keeps_working(
        cls: type[ProcessesBackend]) -> None:
    """Linux sends the parent-death signal when the *thread* that forked a worker ends:
    a worker replaced after a timeout in an optimizer thread must survive that thread."""
    backend = cls()
    backend.start(Hangs(), 1, detailed=False, timeout=0.5)
    try:
        first = backend.worker_pids()
        errors: list[BaseException] = []

        def optimizer_thread() -> None:
            try:
                backend.evaluate(np.array([2.0, 0.0]))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=optimizer_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], EvaluationTimeout)
        replacement = backend.worker_pids()
        assert replacement and replacement != first
        assert backend.evaluate(np.array([1.0, 2.0])) == 5.0
        assert backend.worker_pids() == replacement
    finally:
        backend.shutdown()


MANAGER_SCRIPT = textwrap.dedent("""
    import json, re, signal, sys, threading, time

    import numpy as np

    import glompo_core.backends._processes as processes

    mode = sys.argv[1]
    if mode == "watcher":  # no Linux parent-death signal: the worker's watcher thread alone
        processes._set_parent_death_signal = lambda sig: False


    class Busy:
        def __call__(self, x):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if mode == "watcher":
                time.sleep(600)
            else:  # holds the GIL for ever: no Python thread of the worker runs again
                re.match(r"(a+)+$", "a" * 64 + "b")
            return 0.0


    backend = processes.ProcessesBackend()
    backend.start(Busy(), 2, detailed=False)
    for _ in range(2):
        threading.Thread(target=backend.evaluate, args=(np.zeros(2),), daemon=True).start()
    print(json.dumps(backend.worker_pids()), flush=True)
    time.sleep(600)
    """)


@pytest.mark.parametrize("mode", [
    "watcher",
    pytest.param("linux-signal", marks=pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")),
])
def test_busy_workers_that_ignore_sigterm_end_with_their_killed_manager(
        tmp_path: Path, mode: str) -> None:
    script = tmp_path / "manager.py"
    script.write_text(MANAGER_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        pids = json.loads(proc.stdout.readline())
        workers = [psutil.Process(pid) for pid in pids]
        assert len(workers) == 2
        poll(lambda: all(w.cpu_times().user > 0.2 for w in workers) if mode != "watcher"
             else all(w.status() == psutil.STATUS_SLEEPING for w in workers),
             "the workers to be busy")
    finally:
        proc.kill()
        proc.wait()
    assert_all_end(workers)


# ------------------------------------------------------------------- files kept from children
def _fds_of(path: Path, conn: Any) -> None:
    """In a forked child: send the descriptors of this process that refer to ``path``."""
    st = path.stat()
    held = []
    for f in psutil.Process().open_files():
        try:
            same = os.stat(f.path)
        except OSError:
            continue
        if (same.st_dev, same.st_ino) == (st.st_dev, st.st_ino):
            held.append(f.fd)
    conn.send(held)
    conn.recv()  # live until told to end


def _fork_child(path: Path) -> tuple[Any, Any, list[int]]:
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_fds_of, args=(path, child))
    proc.start()
    return proc, parent, parent.recv()


def _locked_by_someone(path: Path) -> bool:
    with open(path, "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def test_a_forked_child_does_not_hold_a_file_kept_from_children(tmp_path: Path) -> None:
    path = tmp_path / "glompo_log.h5"
    path.write_bytes(b"x")
    for keep in (False, True):  # without keep_from_children the child holds file and lock
        f = open(path, "rb")
        fd = f.fileno()
        fcntl.flock(f, fcntl.LOCK_EX)
        if keep:
            _fork_safety.keep_from_children(tmp_path / "." / "glompo_log.h5")  # another name
        try:
            proc, conn, held = _fork_child(path)
            f.close()  # the parent lets go: only a child holding the file keeps the lock
            try:
                if keep:
                    assert held == []
                    assert not _locked_by_someone(path)
                else:
                    assert held == [fd]
                    assert _locked_by_someone(path)
            finally:
                conn.send(None)
                proc.join(DEADLINE)
        finally:
            if keep:
                _fork_safety.allow_in_children(path)
    assert _fork_safety.kept_paths() == ()


def test_kept_descriptors_stay_taken_by_dev_null(tmp_path: Path) -> None:
    """The number stays taken (a library in the child that still believes the file open
    never writes into another file opened later under the same number)."""
    path = tmp_path / "kept.bin"
    path.write_bytes(b"data")
    fd = os.open(path, os.O_RDONLY)
    _fork_safety.keep_from_children(path)
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: is fd /dev/null now?
            code = 2
            try:
                st, null = os.fstat(fd), os.stat(os.devnull)
                code = 1 if (st.st_dev, st.st_ino) == (null.st_dev, null.st_ino) else 0
            finally:
                os.write(write, bytes([code]))
                os._exit(0)
        os.close(write)
        answer = os.read(read, 1)
        os.waitpid(pid, 0)
        os.close(read)
        assert os.pread(fd, 4, 0) == b"data"  # the parent's descriptor is untouched
    finally:
        _fork_safety.allow_in_children(path)
        os.close(fd)
    assert answer == bytes([1])


def test_registrations_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.h5"
    _fork_safety.keep_from_children(path)
    _fork_safety.keep_from_children(path)
    _fork_safety.allow_in_children(path)
    assert _fork_safety.kept_paths() == (os.path.realpath(path),)
    _fork_safety.allow_in_children(path)
    assert _fork_safety.kept_paths() == ()


# ---------------------------------------------------------------------------- a locked log
HOLDER_SCRIPT = textwrap.dedent("""
    import sys, time

    import numpy as np
    from glompo_hdf5 import FileLogger

    log = FileLogger(2, 100)
    log.open(sys.argv[1], "w", "c0ffee")
    log.add_optimizer(1, "RandomOptimizer", 0.0)
    log.put_iteration(1, np.array([1, 2, 3]), np.zeros((3, 2)), np.array([3.0, 2.0, 1.0]))
    log.flush()
    print("ready", flush=True)
    time.sleep(600)
    """)


def test_a_locked_log_is_a_one_line_error_naming_the_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("glompo_hdf5")
    from glompo_hdf5 import FileLogger, LogLockedError, _locks, read_log

    path = tmp_path / "glompo_log.h5"
    script = tmp_path / "hold_log.py"
    script.write_text(HOLDER_SCRIPT)
    holder = subprocess.Popen([sys.executable, str(script), str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        for mode in ("a", "w"):  # to resume it, or to start over in its place
            with pytest.raises(LogLockedError) as info:
                FileLogger(2, 100).open(path, mode, "c0ffee")
            text = str(info.value)
            assert "\n" not in text
            assert f"{path} is locked by another process" in text
            assert f"pid {holder.pid} (" in text and "hold_log.py" in text
            assert f"kill {holder.pid}" in text
            assert isinstance(info.value, OSError) and isinstance(info.value, GloMPOError)
            assert info.value.holders == [(holder.pid, f"{sys.executable} {script} {path}")]

        # reading it while it is written works, from a copy taken in memory
        data = read_log(path)
        assert data.n_evaluations == 3 and data.checksum == "c0ffee"
        cli = subprocess.run([sys.executable, "-m", "glompo_core.cli", "log", "summary",
                              str(path), "--json"], capture_output=True, text=True,
                             timeout=DEADLINE)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["evaluations"] == 3
        assert f"pid {holder.pid}" in cli.stderr  # the warning names the writer

        # too large to copy: the clear error, with the way to read without a lock
        monkeypatch.setattr(_locks, "SNAPSHOT_MAX_BYTES", 0)
        with pytest.raises(LogLockedError, match=f"pid {holder.pid} .*"
                                                        "HDF5_USE_FILE_LOCKING=FALSE"):
            read_log(path)
    finally:
        holder.kill()
        holder.wait()
    assert read_log(path).n_evaluations == 3  # no lock left: read directly
