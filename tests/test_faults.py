"""Issue 14 as a user meets it: failing simulations, exact budgets, prompt stops, safe resumes.

Each scenario is run the way a user runs it: ``glompo run`` / ``glompo resume`` in a
subprocess, with a run file and its task module written into ``tmp_path`` (the command
runs from another directory, so the module is found beside the run file), or the Python
API where that is how the feature is used. Each asserts what was kept:

- the HDF5 log has one row per evaluation the run counted (rows == ``f_counter``) and its
  call_ids are exactly 1..N;
- the task's own record of its calls (a file each call appends to) matches the log;
- no process of the run outlives it (psutil: every descendant seen while it ran is gone);
- the exit status and the last lines say how the run ended.

Waits are for events (a file appearing, a process gone) with a generous deadline; nothing
asserts a speed.

``python -m tests.test_faults`` runs the failing-simulation comparison (scenario 1) and
prints both best values.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
import yaml

from glompo_core.errors import EXIT_STATUS
from tests.helpers import running

ROOT = Path(__file__).resolve().parents[1]
ODE_MODULE = Path(__file__).with_name("_ode_task.py")
#: Longest wait (seconds) for a subprocess or an event before a test fails as hung.
DEADLINE = 300.0

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

#: ``evaluation <call_id> failed: <Type> at <file>:<line>: <message>`` (the manager's
#: message for a failed evaluation, in the optimizer's messages).
FAILED = re.compile(r"^evaluation (\d+) failed: (\w+) at ([^:\s]+):(\d+): (.*)$", re.S)

# ------------------------------------------------------------------------------ the tasks
TASKS = '''
import hashlib
import os
import time

import numpy as np


VERSION = "1"  # not a task


def _record(path, x, note="-"):
    """Append one line per call: pid, start time, note, x (one write: whole lines)."""
    line = f"{os.getpid()} {time.time()!r} {note} {' '.join(repr(float(v)) for v in x)}\\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class SimulationError(RuntimeError):
    pass


class AlwaysFails:
    """A task that cannot work here: every call raises."""

    bounds = [(-1.0, 1.0)] * 3

    def __call__(self, x):
        raise ValueError(f"licence server unreachable (tried for x={list(x)})")


class NotCallable:
    """A class whose instances cannot be called."""

    bounds = [(-1.0, 1.0)] * 3


class Counted:
    """Sum of squares; records each call in ``record``; sleeps ``delay`` s."""

    bounds = [(-1.0, 1.0)] * 3

    def __init__(self, record, delay=0.0):
        self.record = record
        self.delay = delay

    def __call__(self, x):
        _record(self.record, x)
        if self.delay:
            time.sleep(self.delay)
        return float(np.sum(np.asarray(x) ** 2))


class StopsItsOptimizer(Counted):
    """At its call number ``at``, asks the manager to stop optimizer 1 (a STOP_1 file)
    and returns only once the manager has taken the file: the stop is then decided."""

    def __init__(self, record, stop_file, at=3):
        super().__init__(record)
        self.stop_file = stop_file
        self.at = at
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        value = super().__call__(x)
        if self.calls == self.at:
            open(self.stop_file, "w").close()
            deadline = time.monotonic() + 240
            while os.path.exists(self.stop_file) and time.monotonic() < deadline:
                time.sleep(0.02)
            _record(self.record, x, "STOP-TAKEN")
        return value


class HangsOnce(Counted):
    """The first call (whichever creates ``marker``) writes its pid there and hangs."""

    def __init__(self, record, marker):
        super().__init__(record)
        self.marker = marker

    def __call__(self, x):
        try:
            fd = os.open(self.marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return super().__call__(x)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        _record(self.record, x, "HANGS")
        time.sleep(600)
        return 0.0


def fails_at(x, rate):
    digest = hashlib.blake2b(np.asarray(x, dtype=float).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64 < rate


class Flaky(Counted):
    """Records each call; raises SimulationError at a fraction ``rate`` of the points
    (decided by a hash of x)."""

    def __init__(self, record, rate=0.1):
        super().__init__(record)
        self.rate = rate

    def __call__(self, x):
        value = super().__call__(x)
        if fails_at(x, self.rate):
            raise SimulationError("the solver did not converge")
        return value
'''

BROKEN_OPTIMIZER = '''
from glompo_core import BaseOptimizer, hookimpl


class Broken(BaseOptimizer):
    """An optimizer plugin whose minimize raises at once."""

    def minimize(self, function, x0, bounds):
        raise RuntimeError("Broken.minimize is not implemented")

    def callstop(self, reason=""):
        pass


@hookimpl
def glompo_register_optimizers(register):
    register("Broken", Broken)
'''


# ---------------------------------------------------------------------------- helpers
def _env() -> dict[str, str]:
    """This repository first on the path, and no empty entry (which means the cwd)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def write_project(directory: Path, settings: dict[str, Any], name: str = "run.yml",
                  modules: dict[str, str] | None = None) -> Path:
    """A run file of ``settings`` (YAML) and the task modules beside it; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    for module, text in (modules or {"faulttasks": TASKS}).items():
        (directory / f"{module}.py").write_text(textwrap.dedent(text))
    path = directory / name
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


def settings(task: str, workdir: Path, *, optimizer: dict[str, Any] | str | None = None,
             max_opts: int | None = None, **extra: Any) -> dict[str, Any]:
    """The settings of a run file: one optimizer kind, cycled."""
    selector: dict[str, Any] = {
        "avail_opts": [optimizer or {"RandomOptimizer": {"init": {"popsize": 4}}}]}
    if max_opts is not None:
        selector["allow_spawn"] = {"NOptimizersSpawnStop": {"max_opts": max_opts}}
    out: dict[str, Any] = {"task": task, "working_dir": str(workdir), "backend": "threads",
                           "max_jobs": 2, "seed": 1, "opt_selector": {"CycleSelector": selector},
                           "summary_files": 3}
    out.update(extra)
    return out


@dataclass
class Outcome:
    """A finished ``glompo`` command."""

    returncode: int
    stdout: str
    stderr: str
    seen: list[psutil.Process] = field(default_factory=list)  # its descendants, while it ran

    def line(self, label: str) -> str:
        """The last line starting with ``label: `` (the text after it)."""
        found = [ln[len(label) + 2:] for ln in self.stdout.splitlines()
                 if ln.startswith(f"{label}: ")]
        assert found, f"no '{label}:' line in\n{self.stdout}\n{self.stderr}"
        return found[-1]


class Command:
    """``python -m glompo_core.cli ARGS`` running in the background, its descendants
    watched (psutil) until it ends."""

    def __init__(self, *args: str, cwd: Path) -> None:
        cwd.mkdir(parents=True, exist_ok=True)
        self._out = open(cwd / f".out-{time.monotonic_ns()}", "w+")
        self._err = open(cwd / f".err-{time.monotonic_ns()}", "w+")
        self.args = [sys.executable, "-m", "glompo_core.cli", *args]
        self.proc = subprocess.Popen(self.args,
                                     cwd=cwd, stdout=self._out, stderr=self._err, env=_env())
        self.seen: dict[int, psutil.Process] = {}

    def watch(self) -> list[psutil.Process]:
        """Note its descendants now; return those seen so far."""
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(child.pid, child)
        except psutil.Error:
            pass
        return list(self.seen.values())

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        """Poll ``condition`` (watching the descendants) while the command runs."""
        end = time.monotonic() + DEADLINE
        while True:
            self.watch()
            value = condition()
            if value:
                return value
            if self.proc.poll() is not None:
                raise AssertionError(f"the command ended before {what}:\n{self.finish()}")
            if time.monotonic() > end:
                raise AssertionError(f"still waiting after {DEADLINE} s for {what}")
            time.sleep(0.05)

    def finish(self) -> Outcome:
        """Wait for the end (watching the descendants); the outcome."""
        end = time.monotonic() + DEADLINE
        try:
            while self.proc.poll() is None:
                self.watch()
                if time.monotonic() > end:
                    raise AssertionError(f"the command did not end within {DEADLINE} s")
                time.sleep(0.1)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        texts = []
        for file in (self._out, self._err):
            file.flush()
            file.seek(0)
            texts.append(file.read())
            file.close()
            Path(file.name).unlink()
        return Outcome(int(self.proc.returncode), texts[0], texts[1], list(self.seen.values()))

    def __str__(self) -> str:
        return " ".join(self.args)


def finish_all(commands: list[Command]) -> list[Outcome]:
    """Wait for commands running at once, watching the descendants of each."""
    end = time.monotonic() + DEADLINE
    while any(c.proc.poll() is None for c in commands) and time.monotonic() < end:
        for command in commands:
            command.watch()
        time.sleep(0.1)
    return [command.finish() for command in commands]


def glompo(*args: str, cwd: Path) -> Outcome:
    """Run a ``glompo`` command to its end."""
    return Command(*args, cwd=cwd).finish()



def assert_no_orphan(outcome: Outcome, at_least: int = 0) -> None:
    """Every process the command started has ended (polled: the kernel may lag); it was
    seen to start ``at_least`` processes (its workers)."""
    assert len(outcome.seen) >= at_least, [(p.pid, p.name()) for p in outcome.seen]
    end = time.monotonic() + 60
    while running(outcome.seen) and time.monotonic() < end:
        time.sleep(0.05)
    left = running(outcome.seen)
    assert not left, [(p.pid, p.cmdline()) for p in left]


def summary_of(run_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((run_dir / "glompo_manager_log.yml").read_text())


def complete_log(run_dir: Path, name: str = "glompo_log.h5") -> Any:
    """The run's log, checked: no torn row, call_ids exactly 1..N, N == f_counter."""
    from glompo_hdf5.reader import read_log

    log = read_log(run_dir / name)
    n = summary_of(run_dir)["Counters"]["Function Evaluations"]
    assert log.torn_rows == 0
    ids = log.call_ids()
    assert len(ids) == n, f"{len(ids)} rows in the log, f_counter={n}"
    np.testing.assert_array_equal(ids, np.arange(1, n + 1))
    return log


def rows(log: Any) -> dict[int, tuple[int, np.ndarray, float]]:
    """call_id -> (opt_id, x, fx) of every row."""
    out = {}
    for oid, hist in log.optimizers.items():
        for cid, x, fx in zip(hist.call_id, hist.x, hist.fx):
            out[int(cid)] = (oid, np.asarray(x, dtype=float), float(fx))
    return out


def failures(log: Any) -> dict[int, tuple[int, re.Match[str]]]:
    """call_id -> (opt_id, parsed message) of every failed evaluation's message."""
    out = {}
    for oid, hist in log.optimizers.items():
        for message in hist.messages:
            if message.startswith("evaluation ") and " failed: " in message:
                match = FAILED.match(message)
                assert match, f"a failed evaluation's message in an unexpected form: {message}"
                assert int(match[1]) not in out, f"evaluation {match[1]} failed twice"
                out[int(match[1])] = (oid, match)
    return out


def calls(record: Path) -> list[tuple[int, float, tuple[float, ...], str]]:
    """The task's record of its calls: (pid, start time, x, note) per line."""
    out: list[tuple[int, float, tuple[float, ...], str]] = []
    if not record.exists():
        return out
    for line in record.read_text().splitlines():
        pid, start, note, *values = line.split()
        out.append((int(pid), float(start), tuple(float(v) for v in values), note))
    return out


def evaluated(record: Path) -> list[tuple[float, ...]]:
    """The points the task was called at (every record line but the notes')."""
    return [c[2] for c in calls(record) if c[3] in ("-", "HANGS")]


# ===================================================================== 1. failing simulation
ODE_RUN = {
    "backend": "processes",
    "max_jobs": 2,
    "seed": 5,
    "opt_selector": {"CycleSelector": {
        "avail_opts": [
            {"CMAOptimizer": {"init": {"sigma0": 0.5, "popsize": 12, "verbose": False,
                                       "maxfevals": 900}}},
            {"NelderMead": {"init": {"maxfev": 500}}},
        ],
        "allow_spawn": {"NOptimizersSpawnStop": {"max_opts": 4}}}},
    # a safety net only: the run ends when its four optimizers have converged
    "exit_conditions": "MaxFuncCalls(fmax=20000)",
    "summary_files": 3,
    "checkpoint_control": {"checkpoint_iter_frequency": 500, "naming_format": "chk_%(count)"},
}


@dataclass
class OdeRun:
    """One finished run of the oscillator fit."""

    variant: str
    run_dir: Path
    outcome: Outcome
    summary: dict[str, Any]
    log: Any

    @property
    def best_fx(self) -> float:
        return float(self.summary["Solution"]["fx"])


def run_ode_fits(directory: Path) -> dict[str, OdeRun]:
    """Run the oscillator fit twice through ``glompo run``, at once: the task raising
    (``OscillatorFit``) and returning NaN (``OscillatorFitNaN``) at the same points, with
    the same seeds and settings. Returns both runs by variant."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ODE_MODULE, directory / "odefit.py")
    commands = {}
    for variant in ("OscillatorFit", "OscillatorFitNaN"):
        run_file = directory / f"{variant}.yml"
        run_file.write_text(yaml.safe_dump(
            {"task": f"odefit:{variant}", "working_dir": str(directory / variant), **ODE_RUN},
            sort_keys=False))
        commands[variant] = Command("run", str(run_file), "--no-progress",
                                    cwd=directory / "elsewhere")
    out = {}
    outcomes = finish_all(list(commands.values()))
    for variant, outcome in zip(commands, outcomes):
        run_dir = directory / variant
        assert outcome.returncode == 0, outcome.stderr
        out[variant] = OdeRun(variant, run_dir, outcome, summary_of(run_dir),
                              complete_log(run_dir))
    return out


def test_a_failing_simulation_costs_nothing_but_its_failed_points(tmp_path: Path) -> None:
    """The ODE fit raising at ~3% of its points ends with no crashed optimizer, every
    evaluation a row, each failure a NaN row with its message, and exactly the result of
    the same task returning NaN there instead."""
    pytest.importorskip("glompo_cma")
    pytest.importorskip("glompo_scipy")
    pytest.importorskip("glompo_hdf5")
    from tests import _ode_task as ode

    runs = run_ode_fits(tmp_path)
    raising, nan = runs["OscillatorFit"], runs["OscillatorFitNaN"]

    for run in (raising, nan):
        assert run.outcome.line("optimizers") == "4 started, 0 stopped, 4 converged, 0 crashed"
        assert run.outcome.line("exit status") == "0 (normal)"
        assert run.summary["Counters"]["Optimizers"]["Crashed"] == 0
        assert list((run.run_dir / "checkpoints").glob("chk_*.tar.gz"))
        assert_no_orphan(run.outcome, at_least=2)  # the two workers

    # the raising run: every failure is a NaN row, with its message, counted everywhere
    by_call = rows(raising.log)
    failed = failures(raising.log)
    expected = {cid for cid, (_, x, _) in by_call.items() if ode.outcome(x) == "fail"}
    assert expected, "the run met no failing point: the scenario tests nothing"
    solver = set(failed) - expected  # points where the ODE solver itself failed
    assert expected <= set(failed)
    task = ode.OscillatorFit()
    for cid in solver:
        with pytest.raises(ode.SimulationError):
            task(by_call[cid][1])
    for cid, (oid, match) in failed.items():
        assert by_call[cid][0] == oid  # the message is the evaluating optimizer's
        assert np.isnan(by_call[cid][2])
        assert match[2] == "SimulationError"
        assert match[3] == "odefit.py"
        assert match[5].startswith("the solver ")
    total = raising.summary["Counters"]["Failed Evaluations"]
    assert total["Total"] == len(failed)
    assert sum(kind["Count"] for kind in total["Kinds"]) == len(failed)
    # the first failure of each kind keeps its traceback, in its optimizer's messages
    tracebacks = [m for h in raising.log.optimizers.values() for m in h.messages
                  if m.startswith("traceback of evaluation ")]
    assert len(tracebacks) == len(total["Kinds"])
    assert all("SimulationError: the solver " in m for m in tracebacks)
    assert raising.outcome.line("evaluations").startswith(
        f"{len(by_call)}   failed: {len(failed)}   time: ")
    # one warning line per kind when first seen, one count line per kind at the end,
    # not a traceback per failure
    err = " ".join(raising.outcome.stderr.split())
    assert err.count("recorded as a failed evaluation (fx=NaN)") == len(total["Kinds"])
    assert f"{len(failed)} failed evaluation(s) of {len(by_call)}" in err
    assert "Traceback" not in raising.outcome.stderr
    # a sample of the rows, evaluated again here: the log holds what the task returned
    for cid in sorted(by_call)[:: max(1, len(by_call) // 40)]:
        _, x, fx = by_call[cid]
        if cid in failed:
            continue
        assert task(x) == fx or (np.isnan(fx) and np.isnan(task(x)))

    # the NaN run: the same points are NaN rows, and nothing failed
    assert failures(nan.log) == {}
    assert nan.summary["Counters"]["Failed Evaluations"] == 0
    nan_rows = rows(nan.log)
    assert all(np.isnan(fx) for _, x, fx in nan_rows.values() if ode.outcome(x) != "ok")

    # a failed evaluation steers the optimizer exactly as NaN does: each optimizer
    # evaluated the same points in both runs, so the runs are the same
    for oid, hist in raising.log.optimizers.items():
        other = nan.log.optimizers[oid]
        assert hist.type == other.type
        np.testing.assert_array_equal(hist.x, other.x)
        np.testing.assert_array_equal(hist.fx, other.fx)  # NaN == NaN here
    assert len(by_call) == len(nan_rows)
    assert raising.best_fx == nan.best_fx
    assert raising.best_fx < 1e-3  # the fit is found (the noise floor is 4e-4)


# ================================================ 2. tasks and optimizers that never work
def test_a_task_that_always_fails_ends_the_run_with_status_4(tmp_path: Path) -> None:
    pytest.importorskip("glompo_hdf5")
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings("faulttasks:AlwaysFails", run_dir))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == EXIT_STATUS["task_failing"] == 4, out.stderr
    assert out.line("exit status") == "4 (task_failing)"
    ended = out.line("ended")
    assert ended.startswith("the task failed on every evaluation so far (")
    assert "max_failures_in_a_row=100); first error: ValueError at faulttasks.py:" in ended
    assert ": licence server unreachable (tried for x=[" in ended
    log = complete_log(run_dir)
    n = len(log.call_ids())
    # it stops once 100 failures in a row have reached the manager (they come a
    # population of 4 at a time): at most the two populations under way follow
    assert 100 <= n <= 100 + 2 * 4
    assert len(failures(log)) == n
    assert out.line("evaluations").startswith(f"{n}   failed: {n}   time: ")
    assert out.line("optimizers").endswith("0 crashed")
    summary = summary_of(run_dir)
    assert summary["Solution"]["end state"] == "task_failing"
    assert summary["Counters"]["Failed Evaluations"]["Total"] == n
    assert "Traceback" not in out.stderr


def test_a_task_that_cannot_be_called_is_refused_before_the_run(tmp_path: Path) -> None:
    """A task that is not callable (the historical ``--set task=module:Class`` string
    mistake included) is a usage error naming the key: status 2, nothing ran."""
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings("faulttasks:NotCallable", run_dir))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    err = " ".join(out.stderr.split())
    assert "task must be callable" in err
    assert "Traceback" not in out.stderr
    assert not (run_dir / "glompo_log.h5").exists()
    # strings that name no callable
    out = glompo("run", str(run_file), "--no-progress", "--set", "task=faulttasks:VERSION",
                 cwd=tmp_path)
    assert out.returncode == 2
    assert "'faulttasks:VERSION' is not callable" in " ".join(out.stderr.split())
    out = glompo("run", str(run_file), "--no-progress", "--set", "task=faulttasks:Countd",
                 cwd=tmp_path)
    assert out.returncode == 2
    assert "module 'faulttasks' has no 'Countd'" in " ".join(out.stderr.split())
    # the string of a module and class given with --set is the task it names: it runs
    out = glompo("run", str(run_file), "--no-progress", "--set", "task=faulttasks:Counted",
                 "--set", f"task_kwargs.record={tmp_path / 'calls.txt'}",
                 "--set", "exit_conditions=MaxFuncCalls(fmax=20)", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(evaluated(tmp_path / "calls.txt")) == 20


def test_an_optimizer_that_crashes_at_once_ends_the_run_with_status_3(tmp_path: Path
                                                                      ) -> None:
    pytest.importorskip("glompo_hdf5")
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(
        tmp_path / "proj",
        settings("faulttasks:Counted", run_dir, optimizer="Broken", plugins=["brokenopt"],
                 task_kwargs={"record": str(tmp_path / "calls.txt")},
                 exit_conditions="MaxFuncCalls(fmax=100000)"),
        modules={"faulttasks": TASKS, "brokenopt": BROKEN_OPTIMIZER})
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == EXIT_STATUS["crash_loop"] == 3, out.stderr
    assert out.line("exit status") == "3 (crash_loop)"
    summary = summary_of(run_dir)["Counters"]["Optimizers"]
    # five crashes in a row end it; with two slots a sixth may have started meanwhile
    assert 5 <= summary["Crashed"] <= summary["Started"] <= 6
    assert out.line("optimizers") == (f"{summary['Started']} started, 0 stopped, 0 converged, "
                                      f"{summary['Crashed']} crashed")
    ended = out.line("ended")
    # the first crash of the row is quoted (two start at once: either may be first)
    assert re.fullmatch(r"5 optimizers in a row crashed before finishing an iteration "
                        r"\(max_crashes_in_a_row=5\); the first: optimizer [12] \(Broken\): "
                        r"RuntimeError: Broken.minimize is not implemented", ended), ended
    assert not (tmp_path / "calls.txt").exists()
    complete_log(run_dir)


# ============================================================== 3. exact budgets, prompt stops
def test_the_budget_is_exact(tmp_path: Path) -> None:
    """MaxFuncCalls(fmax=8), four optimizers of 16 points each at once: 8 task calls."""
    pytest.importorskip("glompo_hdf5")
    record = tmp_path / "calls.txt"
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings(
        "faulttasks:Counted", run_dir, max_jobs=4,
        optimizer={"RandomOptimizer": {"init": {"popsize": 16}}},
        task_kwargs={"record": str(record), "delay": 0.3},
        exit_conditions="MaxFuncCalls(fmax=8)"))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    log = complete_log(run_dir)
    assert len(evaluated(record)) == 8
    assert len(log.call_ids()) == 8
    assert sorted(tuple(x) for _, x, _ in rows(log).values()) == sorted(evaluated(record))


def test_no_evaluation_starts_after_a_stop_file_is_taken(tmp_path: Path) -> None:
    """STOP_1 mid-population: the optimizer's population of 16 is cut at once."""
    pytest.importorskip("glompo_hdf5")
    record = tmp_path / "calls.txt"
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings(
        "faulttasks:StopsItsOptimizer", run_dir, max_jobs=1, max_opts=1,
        optimizer={"RandomOptimizer": {"init": {"popsize": 16}}},
        task_kwargs={"record": str(record), "stop_file": str(run_dir / "STOP_1"), "at": 3},
        exit_conditions="MaxFuncCalls(fmax=1000)"))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    notes = [c[3] for c in calls(record)]
    assert notes == ["-", "-", "-", "STOP-TAKEN"]  # nothing started after the stop was taken
    log = complete_log(run_dir)
    assert len(log.call_ids()) == 3
    assert log.optimizers[1].end_cond == "user request (STOP_1 file)"
    assert out.line("optimizers") == "1 started, 1 stopped, 0 converged, 0 crashed"


def test_no_evaluation_starts_after_a_stopper_fired(tmp_path: Path) -> None:
    """A stopper that fires inside a population of 100 cuts it: the task is called
    exactly as many times as the stopper saw evaluations."""
    from glompo_core import GloMPOManager
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
    from glompo_core.stoppers import BaseStopper

    class AfterEvaluations(BaseStopper):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n
            self.seen: list[int] = []

        def __call__(self, log: Any, best_opt_id: int, tested_opt_id: int) -> bool:
            count = len(log.get_history(tested_opt_id, "fx"))
            if count >= self.n:
                self.seen.append(count)
                return True
            return False

    n_calls = 0

    def task(x: Any) -> float:
        nonlocal n_calls
        n_calls += 1
        return float(np.sum(np.asarray(x) ** 2))

    stopper = AfterEvaluations(30)
    manager = GloMPOManager.new_manager(
        task=task, bounds=[(-1.0, 1.0)] * 3,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 100}),
                                   allow_spawn=NOptimizersSpawnStop(1)),
        working_dir=tmp_path / "run", max_jobs=1, backend="threads", stoppers=stopper,
        stopcheck_interval=10, apply_stoppers_to_best=True,
        exit_conditions=MaxFuncCalls(fmax=1000), split_printstreams=False, seed=2)
    result = manager.start_manager()
    assert len(stopper.seen) == 1
    assert 30 <= stopper.seen[0] < 100  # it fired inside the first population
    assert n_calls == stopper.seen[0] == result.stats["f_counter"]
    assert manager.optimizer_status() == {1: "stopped"}
    assert result.stats["end_state"] == "normal"


# ========================================================================= 4. timeouts
def test_a_timed_out_evaluation_is_a_failed_row_and_its_optimizer_goes_on(tmp_path: Path
                                                                          ) -> None:
    pytest.importorskip("glompo_hdf5")
    record, marker = tmp_path / "calls.txt", tmp_path / "hung.pid"
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings(
        "faulttasks:HangsOnce", run_dir, backend="processes", max_opts=1,
        optimizer={"RandomOptimizer": {"init": {"popsize": 4, "iters": 10}}},
        task_kwargs={"record": str(record), "marker": str(marker)},
        force_terminations_after=3, exit_conditions="MaxFuncCalls(fmax=1000)"))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.line("optimizers") == "1 started, 0 stopped, 1 converged, 0 crashed"
    log = complete_log(run_dir)
    assert len(log.call_ids()) == 40  # 10 iterations of 4: none lost, the hung one a row
    failed = failures(log)
    assert len(failed) == 1
    (cid, (oid, match)), = failed.items()
    assert match[2] == "EvaluationTimeout"
    assert "ran past 3.0 s; its worker was killed and replaced" in match[5]
    by_call = rows(log)
    assert np.isnan(by_call[cid][2])
    hung = [c[2] for c in calls(record) if c[3] == "HANGS"]
    assert len(hung) == 1
    np.testing.assert_array_equal(by_call[cid][1], hung[0])
    # the optimizer went on after it
    assert any(c > cid for c, (o, _, _) in by_call.items() if o == oid)
    assert summary_of(run_dir)["Counters"]["Failed Evaluations"]["Total"] == 1
    # the hung worker was killed (and replaced), and no worker outlives the run
    assert int(marker.read_text()) in {p.pid for p in out.seen}
    assert_no_orphan(out, at_least=3)


# ================================================== 5. a failure inside a CMA-ES population
def test_a_failing_population_member_loses_no_other_evaluation(tmp_path: Path) -> None:
    """CMA-ES evaluating its populations four points at a time on the processes backend,
    the task raising at ~10% of the points: every task call is a row."""
    pytest.importorskip("glompo_cma")
    pytest.importorskip("glompo_hdf5")
    record = tmp_path / "calls.txt"
    run_dir = tmp_path / "proj" / "run"
    run_file = write_project(tmp_path / "proj", settings(
        "faulttasks:Flaky", run_dir, backend="processes", max_jobs=4, max_opts=1,
        optimizer={"CMAOptimizer": {"init": {"sigma0": 0.3, "popsize": 10, "workers": 4,
                                             "verbose": False}}},
        task_kwargs={"record": str(record), "rate": 0.1},
        exit_conditions="MaxFuncCalls(fmax=203)"))
    out = glompo("run", str(run_file), "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    log = complete_log(run_dir)
    assert len(log.call_ids()) == 203  # a population cut by the budget, none overshot
    made = evaluated(record)
    assert len(made) == 203
    by_call = rows(log)
    assert sorted(tuple(x) for _, x, _ in by_call.values()) == sorted(made)
    failed = failures(log)
    hashed = {cid for cid, (_, x, _) in by_call.items()
              if _fails_at(x, 0.1)}
    assert set(failed) == hashed and len(hashed) > 5
    assert all(np.isnan(by_call[cid][2]) for cid in failed)
    assert all(np.isfinite(fx) for cid, (_, _, fx) in by_call.items() if cid not in failed)
    assert out.line("optimizers").endswith("0 crashed")
    assert_no_orphan(out, at_least=4)


def _fails_at(x: np.ndarray, rate: float) -> bool:
    import hashlib

    digest = hashlib.blake2b(np.asarray(x, dtype=float).tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64 < rate


# ================================================= 6. signals, checkpoints and resumes
def _rows_now(path: Path) -> int:
    """Rows of a log that a run is writing (read from a copy; 0 while it is created)."""
    from glompo_hdf5.reader import read_log

    try:
        return read_log(path).n_evaluations if path.exists() else 0
    except Exception:
        return 0


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_an_interrupted_run_resumes_without_losing_an_evaluation(tmp_path: Path,
                                                                 name: str) -> None:
    """``glompo run`` (processes backend, HDF5 log) is asked for a checkpoint (a CHKPT
    file), goes on, and is interrupted; ``glompo resume`` of its newest checkpoint then
    finishes the run: call_ids continue without a gap, and rows the first run logged
    after that checkpoint are kept aside, not lost. SIGINT, SIGTERM and SIGHUP write a
    checkpoint and a summary first; SIGKILL cannot, and leaves no worker behind either."""
    pytest.importorskip("glompo_hdf5")
    from glompo_hdf5.reader import read_log

    from glompo_core.checkpointing import read_manifest

    record = tmp_path / "calls.txt"
    run_dir = tmp_path / "proj" / "run"
    log_path = run_dir / "glompo_log.h5"
    run_file = write_project(tmp_path / "proj", settings(
        "faulttasks:Counted", run_dir, backend="processes",
        task_kwargs={"record": str(record), "delay": 0.01},
        exit_conditions="MaxFuncCalls(fmax=1000000)",
        checkpoint_control={"naming_format": "chk_%(count)"}))  # on request and on a signal
    run = Command("run", str(run_file), "--no-progress", cwd=tmp_path / "elsewhere")
    run.wait_for(lambda: len(evaluated(record)) >= 30, "30 evaluations")
    (run_dir / "CHKPT").touch()
    requested = run_dir / "checkpoints" / "chk_001.tar.gz"
    run.wait_for(requested.exists, "the requested checkpoint")
    at_request = int(read_manifest(requested)["f_counter"])
    run.wait_for(lambda: _rows_now(log_path) >= at_request + 20, "rows after the checkpoint")
    run.wait_for(lambda: len(run.watch()) >= 2, "the two workers")
    run.proc.send_signal(getattr(signal, name))
    out = run.finish()
    assert_no_orphan(out, at_least=2)
    made = len(evaluated(record))
    checkpoints = sorted((run_dir / "checkpoints").glob("chk_*.tar.gz"))
    if name == "SIGKILL":
        assert out.returncode == -signal.SIGKILL
        assert checkpoints == [requested]
        first_rows = rows(read_log(log_path))  # what the log held when the run was killed
        assert len(first_rows) >= at_request + 20
    else:
        code = EXIT_STATUS[name]
        assert out.returncode == code, out.stderr
        assert out.line("exit status") == f"{code} ({name})"
        assert "Traceback" not in out.stderr
        assert summary_of(run_dir)["Solution"]["end state"] == name
        assert len(checkpoints) == 2  # the one requested, the one of the signal
        first_rows = rows(complete_log(run_dir))
        # every evaluation the task made is a row: nothing evaluated was lost
        assert sorted(tuple(x) for _, x, _ in first_rows.values()) == \
            sorted(evaluated(record))
    newest = checkpoints[-1]
    kept = int(read_manifest(newest)["f_counter"])
    assert at_request <= kept <= len(first_rows)
    np.testing.assert_array_equal(sorted(first_rows), np.arange(1, len(first_rows) + 1))

    target = kept + 60
    out = glompo("resume", str(newest), "--no-progress",
                 "--set", f"exit_conditions=MaxFuncCalls(fmax={target})",
                 cwd=tmp_path / "elsewhere")
    assert out.returncode == 0, out.stderr
    assert out.line("exit status") == "0 (normal)"
    assert out.line("outputs in") == str(run_dir)
    assert_no_orphan(out)
    second_rows = rows(complete_log(run_dir))
    assert len(second_rows) == target  # call_ids 1..target: no gap where it resumed
    assert len(evaluated(record)) - made == target - kept  # each evaluation made once
    for cid in range(1, kept + 1):  # the checkpoint's rows are the first run's
        assert second_rows[cid][0] == first_rows[cid][0]
        np.testing.assert_array_equal(second_rows[cid][1], first_rows[cid][1])
        assert second_rows[cid][2] == first_rows[cid][2]
    aside = run_dir / "glompo_log.before-resume-1.h5"
    if name == "SIGKILL":
        assert len(first_rows) > kept  # so the rows after the checkpoint must be aside
    if len(first_rows) > kept:  # the first run's log, whole, kept aside
        aside_rows = rows(read_log(aside))
        assert aside_rows.keys() == first_rows.keys()
        for cid, (oid, x, fx) in aside_rows.items():
            assert first_rows[cid][0] == oid and first_rows[cid][2] == fx
            np.testing.assert_array_equal(first_rows[cid][1], x)
    else:
        assert not aside.exists()


# ------------------------------------------------------------------------------- script
def main() -> None:
    """Run the failing-simulation comparison (scenario 1) and print both best values."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="glompo-faults-") as tmp:
        runs = run_ode_fits(Path(tmp))
        for variant, run in runs.items():
            counters = run.summary["Counters"]
            failed = counters["Failed Evaluations"]
            took = run.outcome.line("evaluations").split("time: ")[-1]
            print(f"{variant:17s} best fx = {run.best_fx!r}  evaluations = "
                  f"{counters['Function Evaluations']}  failed = "
                  f"{failed['Total'] if failed else 0}  crashed optimizers = "
                  f"{counters['Optimizers']['Crashed']}  time: {took}")


if __name__ == "__main__":
    main()
