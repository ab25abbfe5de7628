"""``glompo run`` and ``glompo resume`` as a user runs them: the installed command, in
subprocesses, from a directory other than the run file's.

The ``glompo`` console script (not ``python -m``) is used on purpose: it does not put the
current directory on ``sys.path``, so a task module is found only where the command
looks for it (the run file's directory, the directories a checkpoint recorded, the
current directory).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from glompo_core.errors import EXIT_STATUS

ROOT = Path(__file__).resolve().parents[1]
GLOMPO = Path(sys.executable).with_name("glompo")

pytestmark = pytest.mark.skipif(not GLOMPO.exists(),
                                reason=f"the glompo command is not installed beside "
                                       f"{sys.executable} (pip install -e .)")

TASK_MODULE = '''
import os
import time


class Quad:
    """Sum of squares; touches ``marker`` at its first evaluation; sleeps ``delay`` s."""

    def __init__(self, dims=2, delay=0.0, marker=None):
        self.dims = dims
        self.bounds = [(-5.0, 5.0)] * dims
        self.delay = delay
        self.marker = marker

    def __call__(self, x):
        if self.marker and not os.path.exists(self.marker):
            open(self.marker, "w").close()
        if self.delay:
            time.sleep(self.delay)
        return float(sum(v * v for v in x))
'''

RUN_FILE = """
task: "quadtask:Quad"
task_kwargs: {{dims: 2, delay: {delay}, marker: {marker}}}
working_dir: "{working_dir}"
backend: threads
max_jobs: 2
seed: 3
opt_selector:
  CycleSelector:
    avail_opts:
      - RandomOptimizer: {{init: {{popsize: 10, iters: 1000000}}}}
exit_conditions: "MaxFuncCalls(fmax={fmax})"
checkpoint_control: {{checkpoint_at_conv: true, naming_format: final}}
summary_files: 1
"""


def _env() -> dict[str, str]:
    """This repository first on the path, and no empty entry (which means the cwd)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def glompo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GLOMPO), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=_env())


def write_project(tmp_path: Path, fmax: int = 100, delay: float = 0.0,
                  marker: Path | None = None) -> Path:
    """``proj/quadtask.py`` beside ``proj/run.yml``, writing into ``proj/run``."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "quadtask.py").write_text(textwrap.dedent(TASK_MODULE))
    text = RUN_FILE.format(delay=delay, marker="null" if marker is None else f'"{marker}"',
                           working_dir=proj / "run", fmax=fmax)
    run_file = proj / "run.yml"
    run_file.write_text(textwrap.dedent(text).lstrip())
    return run_file


def evaluations(run_dir: Path) -> int:
    summary = yaml.safe_load((run_dir / "glompo_manager_log.yml").read_text())
    return int(summary["Counters"]["Function Evaluations"])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """A finished run of 100 evaluations, started from another directory; its run dir."""
    run_file = write_project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = glompo("run", str(run_file), "--no-progress", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "proj" / "run"
    assert (run_dir / "checkpoints" / "final.tar.gz").exists()
    return run_dir


def move_task_module(tmp_path: Path) -> Path:
    """Take ``quadtask.py`` away from the run file's directory, into ``lib/``."""
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.move(tmp_path / "proj" / "quadtask.py", lib / "quadtask.py")
    shutil.rmtree(tmp_path / "proj" / "__pycache__", ignore_errors=True)
    return lib


def test_a_normal_run_exits_0_and_its_last_lines_count_the_optimizers(tmp_path: Path
                                                                       ) -> None:
    run_file = write_project(tmp_path)
    proc = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    run_dir = tmp_path / "proj" / "run"
    summary = yaml.safe_load((run_dir / "glompo_manager_log.yml").read_text())
    opts = summary["Counters"]["Optimizers"]
    lines = proc.stdout.splitlines()
    assert f"optimizers: {opts['Started']} started, {opts['Stopped']} stopped, " \
           f"{opts['Converged']} converged, {opts['Crashed']} crashed" in lines
    assert any(line.startswith("evaluations: 100   failed: 0   time: ") for line in lines)
    assert "exit status: 0 (normal)" in lines
    # the checkpoint says where the task came from
    proc = glompo("checkpoint", "info", "checkpoints/final.tar.gz", cwd=run_dir)
    assert proc.returncode == 0, proc.stderr
    info = proc.stdout.splitlines()
    assert "task_module: quadtask" in info
    assert "task_class: Quad" in info
    assert f"task_path: {run_file.parent}" in info
    assert f"run_file_dir: {run_file.parent}" in info
    assert f"working_dir: {run_dir}" in info
    assert "checkpointing_dir: checkpoints" in info


def test_resume_finds_the_task_module_beside_the_run_file(tmp_path: Path,
                                                          finished: Path) -> None:
    """No --task: the module is found where the checkpoint says the run file was."""
    other = tmp_path / "other"
    other.mkdir()
    proc = glompo("resume", str(finished / "checkpoints" / "final.tar.gz"), "--no-progress",
                  "--set", "exit_conditions=MaxFuncCalls(fmax=250)", cwd=other)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "exit status: 0 (normal)" in proc.stdout.splitlines()
    assert f"outputs in: {finished}" in proc.stdout.splitlines()
    assert evaluations(finished) == 250  # written where the checkpoint lies
    assert sorted(p.name for p in other.iterdir()) == []


def test_resume_of_a_copied_run_directory_writes_into_the_copy(tmp_path: Path,
                                                               finished: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    before = snapshot(finished)
    proc = glompo("resume", "copy/checkpoints/final.tar.gz", "--no-progress",
                  "--set", "exit_conditions=MaxFuncCalls(fmax=250)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert evaluations(copy) == 250
    assert snapshot(finished) == before  # the original run is untouched
    assert f"outputs in: {copy}" in proc.stdout.splitlines()


def test_resume_into_another_working_dir(tmp_path: Path, finished: Path) -> None:
    before = snapshot(finished)
    proc = glompo("resume", str(finished / "checkpoints" / "final.tar.gz"), "--no-progress",
                  "--working-dir", "second", "--set", "exit_conditions=MaxFuncCalls(fmax=250)",
                  cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert evaluations(tmp_path / "second") == 250
    assert snapshot(finished) == before
    # --set working_dir= still works
    proc = glompo("resume", str(finished / "checkpoints" / "final.tar.gz"), "--no-progress",
                  "--set", f"working_dir={tmp_path / 'third'}",
                  "--set", "exit_conditions=MaxFuncCalls(fmax=200)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert evaluations(tmp_path / "third") == 200


def test_a_loose_checkpoint_needs_a_working_dir(tmp_path: Path, finished: Path) -> None:
    loose = tmp_path / "saved.tar.gz"
    shutil.copy(finished / "checkpoints" / "final.tar.gz", loose)
    before = snapshot(finished)
    proc = glompo("resume", str(loose), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"cannot tell which run directory {loose} belongs to" in proc.stderr
    assert f"(the run wrote into {finished}): --working-dir DIR" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(finished) == before


def test_a_task_that_cannot_be_found_says_what_to_pass(tmp_path: Path, finished: Path) -> None:
    move_task_module(tmp_path)
    before = snapshot(finished)
    proc = glompo("resume", str(finished / "checkpoints" / "final.tar.gz"), "--no-progress",
                  cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    err = " ".join(proc.stderr.split())  # the console may wrap
    assert "module 'quadtask' cannot be imported here" in err
    assert f"(it was in {finished.parent})" in err
    assert "give the task: --task quadtask:Quad" in err
    assert "Traceback" not in proc.stderr
    assert snapshot(finished) == before


@pytest.mark.parametrize("how", ["--task", "--set task", "--set task mapping"])
def test_the_task_given_on_the_command_line(tmp_path: Path, finished: Path, how: str) -> None:
    """The module is in the current directory only, as --task names it, and is built with
    the arguments given (its marker file proves that the new task is the one evaluated)."""
    lib = move_task_module(tmp_path)
    marker = tmp_path / "new-task-ran"
    args = {"--task": ["--task", "quadtask:Quad", "--set", f"task_kwargs.marker={marker}"],
            "--set task": ["--set", "task=quadtask:Quad", "--set",
                           f"task_kwargs.marker={marker}"],
            "--set task mapping": ["--set", f"task={{quadtask:Quad: {{marker: {marker}}}}}"],
            }[how]
    proc = glompo("resume", str(finished / "checkpoints" / "final.tar.gz"), "--no-progress",
                  "--set", "exit_conditions=MaxFuncCalls(fmax=250)", *args, cwd=lib)
    assert proc.returncode == 0, proc.stderr
    assert marker.exists()
    assert evaluations(finished) == 250
    assert "0 crashed" in proc.stdout


def test_a_bad_task_on_the_command_line_names_the_option(tmp_path: Path,
                                                         finished: Path) -> None:
    ckpt = str(finished / "checkpoints" / "final.tar.gz")
    proc = glompo("resume", ckpt, "--task", "nosuchmodule:Quad", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"error: {ckpt} (--task nosuchmodule:Quad): key 'task': cannot import module " \
           "'nosuchmodule'" in " ".join(proc.stderr.split())
    proc = glompo("resume", ckpt, "--set", "task_kwargs.dims=3", cwd=tmp_path)
    assert proc.returncode == 2
    assert "the arguments of a task need the task: --task quadtask:Quad" in \
        " ".join(proc.stderr.split())


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_gives_its_exit_status(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "evaluating"
    run_file = write_project(tmp_path, fmax=10**9, delay=0.002, marker=marker)
    proc = subprocess.Popen([str(GLOMPO), "run", str(run_file), "--no-progress"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():  # the run has evaluations
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never evaluated the task"
            time.sleep(0.05)
        proc.send_signal(getattr(signal, name))
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    code = EXIT_STATUS[name]
    assert proc.returncode == code, err
    assert f"exit status: {code} ({name})" in out.splitlines()
    assert "Traceback" not in err
    run_dir = tmp_path / "proj" / "run"
    assert evaluations(run_dir) > 0  # the summary was written
    assert list((run_dir / "checkpoints").glob("final*.tar.gz"))  # a checkpoint, then stop


FAILING_TASK = '''
class Failing:
    """A simulation that never converges."""

    def __init__(self, dims=2):
        self.dims = dims
        self.bounds = [(-5.0, 5.0)] * dims

    def __call__(self, x):
        raise RuntimeError("the solver did not converge")
'''

CRASHING_PLUGIN = '''
from glompo_core import hookimpl
from glompo_core.optimizers import RandomOptimizer


class Crashing(RandomOptimizer):
    """An optimizer with a bug: it raises before its first evaluation."""

    def minimize(self, function, x0, bounds, **kwargs):
        raise ValueError("a bug in the optimizer")


@hookimpl
def glompo_register_optimizers(register):
    register("Crashing", Crashing)
'''


def test_a_task_that_always_fails_gives_status_4_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "failing.py").write_text(textwrap.dedent(FAILING_TASK))
    run_file = tmp_path / "run.yml"
    run_file.write_text(textwrap.dedent(f"""
        task: "failing:Failing"
        working_dir: "{tmp_path / 'run'}"
        backend: threads
        max_jobs: 1
        seed: 1
        opt_selector: {{CycleSelector: {{avail_opts: [RandomOptimizer]}}}}
        exit_conditions: "MaxFuncCalls(fmax=100000)"
        max_failures_in_a_row: 30
        summary_files: 1
        """))
    proc = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert proc.returncode == EXIT_STATUS["task_failing"] == 4, proc.stderr
    summary = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    n = summary["Counters"]["Function Evaluations"]
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"evaluations: {n}   failed: {n}   ") for line in lines)
    assert "exit status: 4 (task_failing)" in lines
    assert "Traceback" not in proc.stderr


def test_a_crash_loop_gives_status_3_and_the_last_lines_count_the_crashes(tmp_path: Path
                                                                          ) -> None:
    (tmp_path / "crashplug.py").write_text(textwrap.dedent(CRASHING_PLUGIN))
    run_file = tmp_path / "run.yml"
    run_file.write_text(textwrap.dedent(f"""
        task: Rastrigin
        task_kwargs: {{dims: 2}}
        plugins: [crashplug]
        working_dir: "{tmp_path / 'run'}"
        backend: threads
        max_jobs: 1
        seed: 1
        opt_selector: {{CycleSelector: {{avail_opts: [Crashing]}}}}
        exit_conditions: "MaxFuncCalls(fmax=100000)"
        max_crashes_in_a_row: 4
        summary_files: 1
        """))
    proc = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert proc.returncode == EXIT_STATUS["crash_loop"] == 3, proc.stderr
    summary = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    opts = summary["Counters"]["Optimizers"]
    assert opts["Crashed"] == 4
    lines = proc.stdout.splitlines()
    assert f"optimizers: {opts['Started']} started, {opts['Stopped']} stopped, " \
           f"{opts['Converged']} converged, 4 crashed" in lines
    assert "exit status: 3 (crash_loop)" in lines
    assert "Traceback" not in proc.stderr
