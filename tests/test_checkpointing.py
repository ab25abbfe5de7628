"""Checkpoints: atomic writes, verified reads, resume that loses nothing."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glompo_core import CheckpointingError, GloMPOManager, _decisions
from glompo_core.benchmarks import Rastrigin
from glompo_core.checkpointing import CheckpointingControl, read_manifest
from glompo_core.cli import main as cli
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving
from tests.helpers import SleepySphere, plugin_manager

RUN_SCRIPT = textwrap.dedent("""
    import sys, time
    from glompo_core import GloMPOManager
    from glompo_core.benchmarks import Rastrigin
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector
    from glompo_core.stoppers import BestUnmoving

    mode, workdir = sys.argv[1], sys.argv[2]
    if mode == "resume":
        manager = GloMPOManager.load_manager(sys.argv[3])
    else:
        control = None
        if mode == "checkpoint":
            control = CheckpointingControl(checkpoint_iter_frequency=1500,
                                           naming_format="chk_%(count)")
        manager = GloMPOManager.new_manager(
            task=Rastrigin(dims=4), bounds=None,
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 5, "iters": 80})),
            working_dir=workdir, max_jobs=1, backend="threads",
            stoppers=BestUnmoving(calls=100, tol=0.01), stopcheck_interval=20,
            exit_conditions=MaxFuncCalls(fmax=3000), checkpoint_control=control, seed=5,
            summary_files=1)
        if mode == "checkpoint":
            # die (SIGKILL) as soon as the checkpoint is complete, as a killed job would
            from glompo_core import hookimpl
            import os, signal

            class Killer:
                @hookimpl
                def glompo_checkpoint_written(self, path):
                    os.kill(os.getpid(), signal.SIGKILL)

            manager._pm.add_observer(Killer(), "killer")
    result = manager.start_manager()
    print("RESULT", manager.f_counter, manager.o_counter, repr(result.fx),
          sorted(manager.stopped_opts), manager.converged, flush=True)
""")


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_killed_run_resumes_to_the_identical_result(tmp_path: Path) -> None:
    plain = run_script(tmp_path, "plain", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    killed = run_script(tmp_path, "checkpoint", str(tmp_path / "killed"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    checkpoints = sorted((tmp_path / "killed" / "checkpoints").glob("*.tar.gz"))
    assert [p.name for p in checkpoints] == ["chk_001.tar.gz"]
    assert not list((tmp_path / "killed" / "checkpoints").glob(".tmp-*"))
    manifest = read_manifest(checkpoints[0])
    assert manifest["f_counter"] == 1500 and manifest["task"] == "pickle"
    resumed = run_script(tmp_path, "resume", str(tmp_path / "killed"), str(checkpoints[0]))
    assert resumed.returncode == 0, resumed.stderr
    line = [ln for ln in plain.stdout.splitlines() if ln.startswith("RESULT")]
    again = [ln for ln in resumed.stdout.splitlines() if ln.startswith("RESULT")]
    assert line == again and line  # same f_counter, o_counter, fx, stopped, converged


def make(tmp_path: Path, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=Rastrigin(dims=3), bounds=None,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})),
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=2000), split_printstreams=False, seed=3,
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=500))
    settings.update(kw)
    return GloMPOManager.new_manager(**settings)


def test_counters_and_time_continue_across_sessions(tmp_path: Path) -> None:
    first = make(tmp_path, exit_conditions=MaxFuncCalls(fmax=800))
    first.start_manager()
    path = Path(sorted(first.checkpoint_history)[-1])
    second = GloMPOManager.load_manager(path, exit_conditions=MaxFuncCalls(fmax=1600))
    assert 500 <= second.f_counter < 800
    assert second.t_used > 0 and second.opt_session_starts == first.opt_session_starts
    assert len(second.opt_session_ends) == 1
    before = second.f_counter
    second.start_manager()
    assert second.f_counter >= 1600 > before
    assert len(second.opt_session_starts) == 2 and len(second.opt_session_ends) == 2
    assert second.o_counter >= first.opt_log.n_optimizers - 1


def test_keep_past_prunes_only_older_complete_checkpoints(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_iter_frequency=300, keep_past=1,
                                   naming_format="c_%(count)")
    manager = make(tmp_path, checkpoint_control=control)
    manager.start_manager()
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert len(names) == 2 and names[-1] == f"c_{manager._chkpt_count:03d}.tar.gz"
    assert manager._chkpt_count >= 4


def test_naming_fields() -> None:
    control = CheckpointingControl(naming_format="x_%(year)_%(yr)%(month)%(day)_%(hour)%(min)"
                                                 "%(sec)_%(date)_%(time)_%(count)")
    when = datetime(2026, 3, 4, 5, 6, 7)
    assert control.name(12, when) == "x_2026_260304_050607_20260304_050607_012.tar.gz"
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['week'\]"):
        CheckpointingControl(naming_format="a_%(week)")
    with pytest.raises(ValueError, match="keep_past"):
        CheckpointingControl(keep_past=-2)


def test_an_existing_checkpoint_is_never_overwritten(tmp_path: Path) -> None:
    control = CheckpointingControl(naming_format="same", checkpoint_iter_frequency=700)
    manager = make(tmp_path, checkpoint_control=control)
    manager.start_manager()
    names = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert names == ["same.tar.gz", "same_1.tar.gz"]


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    manager = make(tmp_path, exit_conditions=MaxFuncCalls(fmax=600))
    manager.start_manager()
    return Path(sorted(manager.checkpoint_history)[-1])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_truncated_checkpoint_is_refused(checkpoint: Path, tmp_path: Path) -> None:
    before = _snapshot(tmp_path / "run")
    data = checkpoint.read_bytes()
    bad = tmp_path / "truncated.tar.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointingError, match="damaged"):
        GloMPOManager.load_manager(bad)
    assert _snapshot(tmp_path / "run") == before


def test_corrupt_member_is_refused(checkpoint: Path, tmp_path: Path) -> None:
    before = _snapshot(tmp_path / "run")
    raw = tmp_path / "raw"
    with tarfile.open(checkpoint) as tar:  # our own file: no extraction filter needed
        # (the filter argument is missing before Python 3.10.12 / 3.11.4)
        for member in tar.getmembers():
            if member.isfile():
                target = raw / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    pkl = raw / "manager.pkl"
    blob = bytearray(pkl.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    pkl.write_bytes(bytes(blob))
    bad = tmp_path / "corrupt.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        for p in sorted(raw.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=p.relative_to(raw).as_posix())
    with pytest.raises(CheckpointingError, match=r"'manager\.pkl' is corrupt"):
        GloMPOManager.load_manager(bad)
    assert _snapshot(tmp_path / "run") == before


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "notes.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info)
    with pytest.raises(CheckpointingError, match="not a GloMPO checkpoint"):
        GloMPOManager.load_manager(plain)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(gzip.compress(b"hello"))
    with pytest.raises(CheckpointingError, match="damaged or not a GloMPO checkpoint"):
        GloMPOManager.load_manager(junk)
    with pytest.raises(CheckpointingError, match="does not exist"):
        GloMPOManager.load_manager(tmp_path / "missing.tar.gz")


def test_missing_plugin_is_named(tmp_path: Path) -> None:
    plugin = tmp_path / "myopts.py"
    plugin.write_text(textwrap.dedent("""
        from glompo_core.optimizers import RandomOptimizer

        class LocalOptimizer(RandomOptimizer):
            pass
    """))
    script = tmp_path / "make.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from myopts import LocalOptimizer
        from glompo_core import GloMPOManager
        from glompo_core.benchmarks import Rastrigin
        from glompo_core.checkpointing import CheckpointingControl
        from glompo_core.exit_conditions import MaxFuncCalls
        from glompo_core.selectors import CycleSelector
        m = GloMPOManager.new_manager(task=Rastrigin(dims=2), bounds=None,
            opt_selector=CycleSelector(LocalOptimizer), working_dir={str(tmp_path / 'w')!r},
            backend="threads", max_jobs=1, exit_conditions=MaxFuncCalls(fmax=300),
            checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=100))
        m.start_manager()
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr
    path = sorted((tmp_path / "w" / "checkpoints").glob("*.tar.gz"))[0]
    with pytest.raises(CheckpointingError, match=r"'myopts'.*LocalOptimizer"):
        GloMPOManager.load_manager(path)


class Unpicklable:
    """A task holding a generator (does not pickle) that saves itself to files."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.stream = (i for i in range(3))
        self.bounds = [(-1.0, 1.0)] * 2

    def __call__(self, x: Any) -> float:
        return float(np.sum(np.asarray(x) ** 2)) + self.offset

    def checkpoint_save(self, directory: Path) -> None:
        (Path(directory) / "offset.txt").write_text(str(self.offset))


def load_unpicklable(directory: Path) -> Unpicklable:
    return Unpicklable(float((directory / "offset.txt").read_text()))


def test_task_saved_by_its_own_files_and_loader(tmp_path: Path) -> None:
    manager = make(tmp_path, task=Unpicklable(2.5), exit_conditions=MaxFuncCalls(fmax=600))
    manager.start_manager()
    path = Path(sorted(manager.checkpoint_history)[-1])
    assert read_manifest(path)["task"] == "files"
    with pytest.raises(CheckpointingError, match="task="):
        GloMPOManager.load_manager(path)
    resumed = GloMPOManager.load_manager(path, task_loader=load_unpicklable,
                                         exit_conditions=MaxFuncCalls(fmax=900))
    assert resumed.task.offset == 2.5
    resumed.start_manager()
    assert resumed.result.fx >= 2.5
    direct = GloMPOManager.load_manager(path, task=Unpicklable(1.0),
                                        working_dir=tmp_path / "elsewhere")
    assert direct.task.offset == 1.0 and direct.working_dir == tmp_path / "elsewhere"


def test_resume_refuses_changing_bounds(checkpoint: Path) -> None:
    with pytest.raises(ValueError, match="bounds cannot be changed"):
        GloMPOManager.load_manager(checkpoint, bounds=[(0, 1)] * 3)
    with pytest.raises(ValueError, match="'seed' cannot be set"):
        GloMPOManager.load_manager(checkpoint, seed=3)


def test_chkpt_file_asks_for_a_checkpoint(tmp_path: Path) -> None:
    manager = make(tmp_path, task=SleepySphere(0.002), bounds=[(-1, 1)] * 2,
                   checkpoint_control=CheckpointingControl(),
                   exit_conditions=MaxSeconds(session_max=3))
    (tmp_path / "run").mkdir(parents=True, exist_ok=True)
    (tmp_path / "run" / "CHKPT").write_text("")
    manager.start_manager()
    assert len(manager.checkpoint_history) == 1
    assert not (tmp_path / "run" / "CHKPT").exists()


def test_checkpoint_at_init_and_at_convergence(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_at_init=True, checkpoint_at_conv=True,
                                   naming_format="c_%(count)")
    manager = make(tmp_path, checkpoint_control=control, task=SleepySphere(0.001),
                   bounds=[(-1, 1)] * 2,
                   opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})),
                   exit_conditions=MaxFuncCalls(fmax=300))
    manager.start_manager()
    first = read_manifest(tmp_path / "run" / "checkpoints" / "c_001.tar.gz")
    assert first["f_counter"] == 0
    last = read_manifest(tmp_path / "run" / "checkpoints" / "c_002.tar.gz")
    assert len(manager.checkpoint_history) == 2
    assert 300 <= last["f_counter"] <= 300 + 2 * 4  # taken where the exit condition held
    assert [o["status"] for o in last["optimizers"]] == ["running", "running"]
    assert all(s == "ended" for s in manager.optimizer_status().values())
    # the finished run goes on with a larger budget
    more = GloMPOManager.load_manager(tmp_path / "run" / "checkpoints" / "c_002.tar.gz",
                                      task=SleepySphere(0.001),
                                      exit_conditions=MaxFuncCalls(fmax=600))
    more.start_manager()
    assert more.f_counter >= 600 and more.o_counter == 2


SIGTERM_SCRIPT = textwrap.dedent("""
    import sys, time
    from glompo_core import GloMPOManager
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.exit_conditions import MaxSeconds
    from glompo_core.selectors import CycleSelector

    import itertools, os
    calls = itertools.count(1)

    def task(x):
        if next(calls) == 20:  # 19 evaluations done or under way; to the real stdout,
            os.write(1, b"evaluating\\n")  # not the optimizer's own printstream
        time.sleep(0.005)
        return sum(v * v for v in x)

    m = GloMPOManager.new_manager(task=task, bounds=[(-1, 1)] * 2,
        opt_selector=CycleSelector("RandomOptimizer"), working_dir=sys.argv[1],
        max_jobs=2, backend="threads", exit_conditions=MaxSeconds(session_max=60),
        checkpoint_control=CheckpointingControl(naming_format="on_term"))
    print("started", flush=True)
    m.start_manager()
    print("ended", m.f_counter, flush=True)
""")


def test_sigterm_writes_a_checkpoint_then_stops(tmp_path: Path) -> None:
    script = tmp_path / "term.py"
    script.write_text(SIGTERM_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "w")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    assert proc.stdout.readline().strip() == "evaluating"  # the run is under way
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    path = tmp_path / "w" / "checkpoints" / "on_term.tar.gz"
    manifest = read_manifest(path)
    f_end = int(out.split()[-1])
    assert 0 < manifest["f_counter"] <= f_end
    # the job can be resumed where it stopped, with the tasks defined in that script
    target = manifest["f_counter"] + 100
    resumed = GloMPOManager.load_manager(path, task=SleepySphere(0.001),
                                         exit_conditions=f"MaxFuncCalls(fmax={target})")
    resumed.start_manager()
    assert resumed.f_counter >= manifest["f_counter"] + 100


def test_cli_resume_and_info(checkpoint: Path, capsys: Any) -> None:
    assert cli(["checkpoint", "info", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "f_counter:" in out and "RandomOptimizer" in out and "restart: state" in out
    code = cli(["resume", str(checkpoint), "--no-progress", "--set",
                "exit_conditions=MaxFuncCalls(fmax=900)"])
    assert code == 0
    assert "best fx:" in capsys.readouterr().out
    assert cli(["checkpoint", "info", str(checkpoint.with_name("nope.tar.gz"))]) == 2


def test_optimizer_that_cannot_checkpoint_restarts_from_its_best(tmp_path: Path) -> None:
    from glompo_core.optimizers import RandomOptimizer

    class NoSave(RandomOptimizer):
        can_checkpoint = False

    manager = make(tmp_path, opt_selector=CycleSelector((NoSave, {"popsize": 4})),
                   exit_conditions=MaxFuncCalls(fmax=600), max_jobs=1)
    manager.start_manager()
    path = Path(sorted(manager.checkpoint_history)[-1])
    manifest = read_manifest(path)
    live = [o for o in manifest["optimizers"] if o["status"] == "running"]
    assert live and all(o["restart"] == "best" for o in live)
    resumed = GloMPOManager.load_manager(path, exit_conditions=MaxFuncCalls(fmax=700))
    entry = resumed._restore[0]
    best = resumed.opt_log.get_best_iter(entry["opt_id"])  # its best when the file was made
    np.testing.assert_allclose(entry["best_x"], best["x"])
    resumed.start_manager()
    assert resumed.f_counter >= 700


def test_plugin_manager_is_used_for_resumed_runs(checkpoint: Path) -> None:
    pm = plugin_manager()
    resumed = GloMPOManager.load_manager(checkpoint, plugin_manager=pm,
                                         exit_conditions=MaxFuncCalls(fmax=700))
    assert resumed._pm is pm
    resumed.start_manager()
    assert resumed.f_counter >= 700


def test_stoppers_resume_with_their_state(tmp_path: Path) -> None:
    manager = make(tmp_path, stoppers=BestUnmoving(calls=50, tol=0.01), stopcheck_interval=25,
                   exit_conditions=MaxFuncCalls(fmax=600))
    manager.start_manager()
    resumed = GloMPOManager.load_manager(Path(sorted(manager.checkpoint_history)[-1]))
    assert str(resumed.stoppers) == "BestUnmoving(calls=50, tol=0.01)"
    assert resumed.last_hunt > 0 and resumed.hunt_counter > 0


def test_run_dir_of_finds_the_run_directory_of_a_checkpoint(tmp_path: Path) -> None:
    from glompo_core.checkpointing import run_dir_of
    from glompo_core.errors import CheckpointingError

    run = tmp_path / "copy of run"
    assert run_dir_of(run / "checkpoints" / "c.tar.gz", {}) == run.resolve()
    assert run_dir_of(run / "a" / "b" / "c.tar.gz", {"checkpointing_dir": "a/b"}) == \
        run.resolve()
    assert run_dir_of(run / "c.tar.gz", {"checkpointing_dir": "."}) == run.resolve()
    with pytest.raises(CheckpointingError, match="Give the directory to write into"):
        run_dir_of(tmp_path / "loose.tar.gz", {"working_dir": "/elsewhere"})


def test_an_exit_decided_while_the_manager_spawns_still_gets_its_final_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's end may be decided by an optimizer's thread at any moment, also while the
    manager's thread is starting optimizers: checkpoint_at_conv writes the final
    checkpoint all the same (a race once lost it, about one run in three)."""
    original = _decisions.spawn_as_needed
    decided: list[str] = []

    def spawn_then_an_optimizer_ends_the_run(m: GloMPOManager) -> None:
        original(m)
        if m.o_counter and not decided:  # as an optimizer's thread would, between checks
            decided.append("yes")
            _decisions.request_exit(m, "the budget is spent", converged=True)

    monkeypatch.setattr(_decisions, "spawn_as_needed", spawn_then_an_optimizer_ends_the_run)
    manager = make(tmp_path, checkpoint_control=CheckpointingControl(
        checkpoint_at_conv=True, naming_format="final"))
    manager.start_manager()
    assert decided and manager.exit_reason == "the budget is spent"
    assert (tmp_path / "run" / "checkpoints" / "final.tar.gz").is_file()
