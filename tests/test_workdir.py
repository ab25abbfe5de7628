"""Working directories are safe: one run per directory, locks that die with their process,
resumes that write where the user resumes, and logs whose later rows are kept aside."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import yaml

from glompo_core import GloMPOManager, _workdir
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.errors import WorkingDirLockedError
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from tests._plugin_fixtures import write_run_file
from tests.helpers import sphere

BOUNDS = [(-2.0, 2.0)] * 3
HOST = socket.gethostname()
WAIT = 120  # seconds a subprocess gets to reach a point before the test gives up (hangs)


def make(workdir: Path, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=sphere, bounds=BOUNDS, opt_selector=CycleSelector(("RandomOptimizer",
                                                                {"popsize": 5})),
        working_dir=workdir, max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=100), split_printstreams=False, seed=1,
        plugin_manager=PluginManager(load_entrypoints=False))
    settings.update(kw)
    return GloMPOManager.new_manager(**settings)


def snapshot(directory: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """Every file under ``directory``: relative path -> (size, mtime in ns)."""
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name not in skip:
            st = path.stat()
            out[path.relative_to(directory).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _read_line(proc: subprocess.Popen[str]) -> str:
    """The next line the subprocess prints (it prints when it reached a point)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"the subprocess ended early ({proc.wait()}):\n{err}")
    return line.strip()


def _kill(*pids: int) -> None:
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


# ------------------------------------------------------------------------ in one process
def test_a_second_manager_of_the_same_process_is_refused(tmp_path: Path) -> None:
    first = make(tmp_path / "run")
    for overwrite in (False, True):
        with pytest.raises(WorkingDirLockedError) as info:
            make(tmp_path / "run", overwrite_existing=overwrite)
        text = str(info.value)
        assert f"pid {os.getpid()} on host {HOST}" in text
        assert "another GloMPO manager of this process" in text
        assert "close()" in text and "nothing was deleted" in text
    # the same directory by another path is the same directory
    (tmp_path / "alias").symlink_to(tmp_path / "run")
    with pytest.raises(WorkingDirLockedError):
        make(tmp_path / "alias")
    first.start_manager()  # the run's end releases the directory
    second = make(tmp_path / "run", summary_files=1, overwrite_existing=True)
    second.start_manager()
    assert second.f_counter >= 100


def test_close_releases_and_a_run_takes_the_lock_again(tmp_path: Path) -> None:
    first = make(tmp_path / "run")
    first.close()
    first.close()  # twice is harmless
    with make(tmp_path / "run") as second, \
            pytest.raises(WorkingDirLockedError, match="this process"):
        first.start_manager()  # the directory is another manager's now (closed on exit)
    result = first.start_manager()  # free again: the run takes it back
    assert result.fx is not None and first.f_counter >= 100
    assert second.f_counter == 0
    make(tmp_path / "run").close()  # released at the end of first's run


def test_a_manager_nobody_refers_to_releases_the_directory(tmp_path: Path) -> None:
    make(tmp_path / "run")  # set up, never run, never closed, dropped
    gc.collect()
    make(tmp_path / "run").close()
    gc.disable()  # no automatic collection: the refusal's own collection must free it
    try:
        abandoned = make(tmp_path / "run")
        del abandoned  # in a reference cycle: only a collection frees it
        make(tmp_path / "run").close()
    finally:
        gc.enable()


def test_a_failed_setup_keeps_no_lock(tmp_path: Path) -> None:
    make(tmp_path / "run", summary_files=1).start_manager()
    with pytest.raises(FileExistsError, match="overwrite_existing=True") as info:
        make(tmp_path / "run", summary_files=1)
    assert info.value is not None  # the traceback (and its frames) are still alive here
    make(tmp_path / "run", summary_files=1, overwrite_existing=True).close()
    assert not (tmp_path / "run" / _workdir.LOCK_NAME).exists()  # a released lock's file goes


def test_a_working_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        make(tmp_path / "file")


# --------------------------------------------------------------------- across processes
HOLDER = textwrap.dedent("""
    import json, multiprocessing, os, sys, time
    from glompo_core import GloMPOManager, _workdir
    from glompo_core.plugins import PluginManager
    from glompo_core.selectors import CycleSelector

    if sys.argv[2] == "filelock":
        _workdir._USE_FCNTL = False

    def task(x):
        return float(sum(v * v for v in x))

    m = GloMPOManager.new_manager(
        task=task, bounds=[(-1.0, 1.0)] * 2, opt_selector=CycleSelector("RandomOptimizer"),
        working_dir=sys.argv[1], backend="threads", split_printstreams=False,
        plugin_manager=PluginManager(load_entrypoints=False))
    child = None
    if sys.argv[2] == "fork":  # forked children, as a process backend's workers
        ctx = multiprocessing.get_context("fork")
        brief = ctx.Process(target=sys.exit)  # ends at once (atexit handlers included)
        brief.start()
        brief.join()
        if os.fork() == 0:  # a bare fork whose child exits through sys.exit (atexit runs)
            sys.exit(0)
        os.wait()
        child = ctx.Process(target=time.sleep, args=(600,))
        child.start()
    print(json.dumps({"pid": os.getpid(), "child": child.pid if child else None}), flush=True)
    time.sleep(600)
    """)


def _start_holder(tmp_path: Path, mode: str = "plain") -> tuple[subprocess.Popen[str], int | None]:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "run"), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    import json

    info = json.loads(_read_line(proc))
    assert info["pid"] == proc.pid
    return proc, info["child"]


@pytest.mark.parametrize("mode", ["plain", "fork"])
def test_the_lock_dies_with_a_sigkilled_process(tmp_path: Path, mode: str) -> None:
    proc, child = _start_holder(tmp_path, mode)
    try:
        with pytest.raises(WorkingDirLockedError) as info:
            make(tmp_path / "run")
        assert f"pid {proc.pid} on host {HOST}" in str(info.value)
        assert f"kill {proc.pid} on {HOST}" in str(info.value)
        assert "holder.py" in str(info.value)  # its command line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
        if child is not None:  # the forked child lives on: it does not hold the lock
            assert psutil.pid_exists(child)
        assert (tmp_path / "run" / _workdir.LOCK_NAME).exists()  # stale: no obstacle
        manager = make(tmp_path / "run")
        assert manager.start_manager().fx is not None
    finally:
        _kill(proc.pid, *([child] if child else []))
        proc.communicate()


def test_the_filelock_fallback_refuses_and_dies_with_its_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("filelock")
    monkeypatch.setattr(_workdir, "_USE_FCNTL", False)
    proc, _ = _start_holder(tmp_path, "filelock")
    try:
        with pytest.raises(WorkingDirLockedError, match=f"pid {proc.pid} on host {HOST}"):
            make(tmp_path / "run", overwrite_existing=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
        make(tmp_path / "run").start_manager()
        assert not (tmp_path / "run" / (_workdir.LOCK_NAME + ".holder")).exists()
    finally:
        _kill(proc.pid)
        proc.communicate()


GATE_TASK = textwrap.dedent("""
    import time
    from pathlib import Path


    class GateTask:
        \"\"\"sum(x**2); every call waits until the file ``release`` exists (after telling
        the test, by the file ``waiting``, that the run is under way).\"\"\"

        def __init__(self, release):
            self.release = Path(release)

        def __call__(self, x):
            (self.release.parent / "waiting").touch()
            while not self.release.exists():
                time.sleep(0.01)
            return float(sum(v * v for v in x))
    """)

GATED_RUN = """
    task: gatetask:GateTask
    task_kwargs: {{release: {release}}}
    bounds: [[-1, 1], [-1, 1], [-1, 1]]
    working_dir: {working_dir}
    overwrite_existing: true
    backend: threads
    max_jobs: 2
    seed: 5
    opt_selector:
      CycleSelector:
        avail_opts:
          - RandomOptimizer: {{init: {{popsize: 6}}}}
    exit_conditions: "MaxFuncCalls(fmax=150)"
    summary_files: {summary_files}
    """


def _gated_run_file(tmp_path: Path, summary_files: int) -> Path:
    (tmp_path / "gatetask.py").write_text(GATE_TASK)
    return write_run_file(tmp_path, GATED_RUN.format(
        release=tmp_path / "release", working_dir=tmp_path / "run",
        summary_files=summary_files))


def _glompo_run(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "glompo_core.cli", "run", str(path),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=path.parent, env=_env())


def _wait_for(path: Path, procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a run ended early ({proc.returncode}):\n"
                                     f"{proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.02)


def test_a_running_run_refuses_a_second_one_and_keeps_its_files(tmp_path: Path) -> None:
    run_file = _gated_run_file(tmp_path, summary_files=1)
    proc = _glompo_run(run_file)
    try:
        _wait_for(tmp_path / "waiting", [proc])  # set up, optimizers waiting on the task
        before = snapshot(tmp_path / "run")
        for overwrite in (False, True):
            with pytest.raises(WorkingDirLockedError) as info:
                make(tmp_path / "run", overwrite_existing=overwrite, summary_files=1)
            assert f"pid {proc.pid} on host {HOST}" in str(info.value)
            assert "nothing was deleted" in str(info.value)
        assert snapshot(tmp_path / "run") == before
        (tmp_path / "release").touch()
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
    finally:
        _kill(proc.pid)
    summary = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    assert summary["Counters"]["Function Evaluations"] >= 150


def test_two_glompo_runs_of_one_run_file_at_once(tmp_path: Path) -> None:
    pytest.importorskip("glompo_hdf5")
    from glompo_hdf5 import read_log

    run_file = _gated_run_file(tmp_path, summary_files=3)  # with overwrite_existing: true
    procs = [_glompo_run(run_file), _glompo_run(run_file)]
    try:
        # the winner's task waits for 'release': the loser is refused while it runs
        deadline = time.monotonic() + WAIT
        while all(p.poll() is None for p in procs):
            assert time.monotonic() < deadline, "neither run was refused"
            time.sleep(0.02)
        loser = next(p for p in procs if p.poll() is not None)
        winner = next(p for p in procs if p is not loser)
        assert winner.poll() is None  # still running: it waits for 'release'
        out, err = loser.communicate()
        assert loser.returncode != 0
        assert f"pid {winner.pid} on host {HOST}" in err, err
        assert "Traceback" not in err and out == ""
        (tmp_path / "release").touch()
        out, err = winner.communicate(timeout=WAIT)
        assert winner.returncode == 0, err
    finally:
        for p in procs:
            _kill(p.pid)
    summary = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    f_counter = summary["Counters"]["Function Evaluations"]
    assert f_counter >= 150
    log = read_log(tmp_path / "run" / "glompo_log.h5")
    np.testing.assert_array_equal(np.sort(log.call_ids()), np.arange(1, f_counter + 1))


# ------------------------------------------------------------------------------ resuming
def _finished_run_with_checkpoints(workdir: Path) -> tuple[GloMPOManager, PluginManager]:
    hooks = pytest.importorskip("glompo_hdf5.hooks")
    pm = PluginManager(load_entrypoints=False, plugins=[("hdf5", hooks)])
    control = CheckpointingControl(checkpoint_iter_frequency=100, naming_format="c_%(count)")
    manager = make(workdir, summary_files=3, checkpoint_control=control,
                   exit_conditions=MaxFuncCalls(fmax=300), plugin_manager=pm)
    manager.start_manager()
    return manager, pm


def test_resuming_a_copy_leaves_the_original_untouched(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from glompo_hdf5 import read_log

    first, pm = _finished_run_with_checkpoints(tmp_path / "original")
    copy = tmp_path / "copy"
    shutil.copytree(first.working_dir, copy)
    before = snapshot(first.working_dir)
    assert "glompo_log.h5" in before and "checkpoints/c_001.tar.gz" in before

    caplog.set_level(logging.WARNING)
    resumed = GloMPOManager.load_manager(copy / "checkpoints" / "c_001.tar.gz",
                                         working_dir=copy, plugin_manager=pm,
                                         exit_conditions=MaxFuncCalls(fmax=400))
    assert resumed.working_dir == copy.resolve()
    assert not [r for r in caplog.records if "run directory" in r.getMessage()]
    resumed.start_manager()

    assert snapshot(first.working_dir) == before  # files and mtimes
    log = read_log(copy / "glompo_log.h5")
    np.testing.assert_array_equal(np.sort(log.call_ids()), np.arange(1, resumed.f_counter + 1))
    kept = read_log(copy / "glompo_log.before-resume-1.h5")  # the copy's rows after c_001
    assert kept.n_evaluations == first.f_counter
    assert any("before-resume-1.h5" in r.getMessage() for r in caplog.records)


def test_resuming_without_working_dir_warns_where_it_writes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first, pm = _finished_run_with_checkpoints(tmp_path / "original")
    copy = tmp_path / "copy"
    shutil.copytree(first.working_dir, copy)
    before = snapshot(first.working_dir)
    caplog.set_level(logging.WARNING, logger="glompo.manager")
    resumed = GloMPOManager.load_manager(copy / "checkpoints" / "c_002.tar.gz",
                                         plugin_manager=pm)
    assert resumed.working_dir == first.working_dir  # the spec's rule: the recorded one
    warning = [r.getMessage() for r in caplog.records if "run directory" in r.getMessage()]
    assert len(warning) == 1
    assert str(first.working_dir) in warning[0] and f"working_dir='{copy}'" in warning[0]
    with pytest.raises(WorkingDirLockedError):  # it holds the recorded directory
        make(first.working_dir)
    resumed.close()
    assert snapshot(first.working_dir) == before  # loading wrote nothing
