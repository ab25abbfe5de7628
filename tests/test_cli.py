"""The ``glompo`` command, in-process through ``main()`` and once as a real process."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import glompo_core.plugins
import glompo_core.runfile
from glompo_core import __version__, hookimpl
from glompo_core.cli import END_STATES, build_parser, exit_status_help, main
from glompo_core.errors import EXIT_STATUS
from glompo_core.exit_conditions import BaseExitCondition
from glompo_core.plugins import KINDS, PluginManager
from tests._plugin_fixtures import AlphaPlugin, write_run_file

SMALL_RUN = """
    task: Rastrigin
    task_kwargs: {{dims: 2}}
    working_dir: {working_dir}
    backend: threads
    max_jobs: 1
    seed: 5
    opt_selector:
      CycleSelector:
        avail_opts:
          - RandomOptimizer: {{init: {{popsize: 10, iters: 40}}}}
    stoppers: "BestUnmoving(calls=1000, tol=0.01)"
    exit_conditions: "MaxFuncCalls(fmax={fmax})"
    summary_files: 1
    """
SECTIONS = {"Assignment", "Settings", "Counters", "Run Information", "Solution"}


@pytest.fixture
def pm(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """The CLI's registry: built-ins plus a test plugin, never the machine's entry points."""
    registry = PluginManager(load_entrypoints=False, plugins=[("alpha-plugin", AlphaPlugin())])
    monkeypatch.setattr(glompo_core.runfile, "get_plugin_manager", lambda: registry)
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    monkeypatch.setattr(sys, "path", list(sys.path))  # run files add their directory
    return registry


def small_run(tmp_path: Path, fmax: int = 300) -> Path:
    return write_run_file(tmp_path, SMALL_RUN.format(working_dir=tmp_path / "out", fmax=fmax))


def test_run_writes_the_summary_and_prints_the_best(tmp_path: Path, pm: PluginManager,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    glompo = logging.getLogger("glompo")
    before = (list(glompo.handlers), glompo.level, glompo.propagate)
    path = small_run(tmp_path, fmax=300)
    code = main(["run", str(path), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err

    summary = yaml.safe_load((tmp_path / "out" / "glompo_manager_log.yml").read_text())
    assert set(summary) >= SECTIONS
    assert summary["Counters"]["Function Evaluations"] >= 300
    assert summary["Assignment"]["Task"] == "Rastrigin"
    assert summary["Settings"]["Seed"] == 5
    fx = summary["Solution"]["fx"]
    lines = out.splitlines()
    assert lines[0] == f"best fx: {fx!r}"
    assert any(line.startswith("x: [") for line in lines)
    assert any(line.startswith("evaluations: ") for line in lines)
    assert f"outputs in: {tmp_path / 'out'}" in lines
    opts = summary["Counters"]["Optimizers"]
    assert f"optimizers: {opts['Started']} started, {opts['Stopped']} stopped, " \
           f"{opts['Converged']} converged, {opts['Crashed']} crashed" in lines
    assert "exit status: 0 (normal)" in lines
    # the CLI leaves the logging configuration as it found it
    assert (list(glompo.handlers), glompo.level, glompo.propagate) == before


def test_run_with_overrides(tmp_path: Path, pm: PluginManager,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = small_run(tmp_path, fmax=300)
    code = main(["run", str(path), "--no-progress",
                 "--set", "exit_conditions=MaxFuncCalls(fmax=120)",
                 "--set", f"working_dir={tmp_path / 'other'}",
                 "--set", "opt_selector.CycleSelector.avail_opts=[alpha]"])
    _, err = capsys.readouterr()
    assert code == 0, err
    summary = yaml.safe_load((tmp_path / "other" / "glompo_manager_log.yml").read_text())
    assert 120 <= summary["Counters"]["Function Evaluations"] < 300
    assert summary["Solution"]["origin"]["type"] == "AlphaOptimizer"


def test_run_with_the_live_display(tmp_path: Path, pm: PluginManager,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = small_run(tmp_path, fmax=100)
    assert main(["run", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("best fx: ")
    assert "Traceback" not in err
    assert "failed evaluations" in err  # a row of the live table


def test_malformed_run_file_exits_2_without_traceback(tmp_path: Path, pm: PluginManager,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = small_run(tmp_path)
    path.write_text(path.read_text().replace("max_jobs: 1", "max_jobs: one"))
    assert main(["run", str(path), "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"error: {path}:5: key 'max_jobs': expected int or null, got 'one' (str)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_bad_yaml_exits_2(tmp_path: Path, pm: PluginManager,
                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("task: Rastrigin\nopt_selector: {a: [\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}:3: not valid YAML" in err
    assert "Traceback" not in err


def test_error_text_is_printed_verbatim(tmp_path: Path, pm: PluginManager,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Square brackets in messages are text, not console markup."""
    path = small_run(tmp_path)
    path.write_text(path.read_text() + "bounds: 7\n")
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "expected a list of [min, max] pairs, or one [min, max] pair" in err


def test_unknown_component_exits_2(tmp_path: Path, pm: PluginManager,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = small_run(tmp_path)
    path.write_text(path.read_text().replace("- RandomOptimizer:", "- CMAOptimizer:"))
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "unknown optimizer 'CMAOptimizer'" in err
    assert f"{path}:10, key 'opt_selector.CycleSelector.avail_opts[0]'" in err
    assert "pip install glompo-cma" in err
    assert "Traceback" not in err


def test_setup_error_exits_2(tmp_path: Path, pm: PluginManager,
                             capsys: pytest.CaptureFixture[str]) -> None:
    path = small_run(tmp_path)
    assert main(["run", str(path), "--no-progress"]) == 0
    capsys.readouterr()
    # the same working_dir again, without overwrite_existing
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds results of an earlier run" in err
    assert "Traceback" not in err
    # a value only setup() checks
    assert main(["run", str(path), "--set", "overwrite_existing=true",
                 "--set", "stopcheck_interval=0"]) == 2
    err = capsys.readouterr().err
    assert (f"error: {path} (--set stopcheck_interval=0): key 'stopcheck_interval': "
            "stopcheck_interval must be a whole number >= 1") in err


def test_missing_run_file_exits_2(tmp_path: Path, pm: PluginManager,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yml")]) == 2
    assert "cannot read run file" in capsys.readouterr().err


def test_plugins_json(pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list)
    by_name = {entry["name"]: entry for entry in data}
    builtin = by_name["builtin"]
    assert builtin["distribution"] == "glompo-core"
    assert builtin["version"] == __version__
    assert builtin["status"] == "active"
    assert builtin["reason"] == ""
    assert set(builtin["components"]) == set(KINDS)
    assert builtin["components"]["optimizer"] == ["RandomOptimizer"]
    assert len(builtin["components"]["stopper"]) == 9
    assert len(builtin["components"]["task"]) == 22
    assert "threads" in builtin["components"]["backend"]
    assert by_name["alpha-plugin"]["components"] == {"optimizer": ["AlphaOptimizer"]}


def test_plugins_table(pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for text in ("builtin", "glompo-core", "active", "alpha-plugin", "AlphaOptimizer"):
        assert text in out


class DrawingPlugin:
    """A plugin that registers no component, only the live visualisation (as glompo-scope)."""

    @hookimpl
    def glompo_create_visualisation(self, manager: Any, settings: dict[str, Any]) -> Any:
        return None


def test_plugins_show_aliases_and_the_hooks_of_a_plugin_without_components(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    registry = PluginManager(load_entrypoints=False, plugins=[("alpha-plugin", AlphaPlugin()),
                                                               ("drawing", DrawingPlugin())])
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    assert main(["plugins", "--json"]) == 0
    by_name = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert by_name["alpha-plugin"]["aliases"] == {"optimizer": {"AlphaOptimizer": ["alpha"]}}
    assert by_name["alpha-plugin"]["hooks"] == []
    assert by_name["builtin"]["aliases"]["optimizer"] == {"RandomOptimizer": ["random"]}
    assert by_name["drawing"]["components"] == {} and by_name["drawing"]["aliases"] == {}
    assert by_name["drawing"]["hooks"] == ["glompo_create_visualisation"]
    monkeypatch.setenv("COLUMNS", "200")  # one line per entry
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "optimizer: AlphaOptimizer (alpha)" in out
    assert "optimizer: RandomOptimizer (random)" in out
    assert ("hook glompo_create_visualisation: Build the live visualisation of a run "
            "(setup(visualisation=True))") in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"glompo-core {__version__}"


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
    help_text = build_parser().format_help()
    assert "run" in help_text and "plugins" in help_text


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    return env


def test_glompo_run_as_a_process(tmp_path: Path) -> None:
    path = small_run(tmp_path, fmax=200)
    proc = subprocess.run(
        [sys.executable, "-m", "glompo_core.cli", "run", str(path), "--no-progress"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("best fx: ")
    summary = yaml.safe_load((tmp_path / "out" / "glompo_manager_log.yml").read_text())
    assert set(summary) >= SECTIONS
    assert summary["Counters"]["Function Evaluations"] >= 200
    assert proc.stdout.splitlines()[0] == f"best fx: {summary['Solution']['fx']!r}"


def test_malformed_run_file_as_a_process(tmp_path: Path) -> None:
    path = write_run_file(tmp_path, """
        task: Rastrigin
        stopers: "BestUnmoving(calls=10)"
        """)
    proc = subprocess.run(
        [sys.executable, "-m", "glompo_core.cli", "run", str(path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
    assert proc.returncode == 2
    assert f"{path}:2: key 'stopers': unknown key; did you mean 'stoppers'?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
@pytest.mark.parametrize("command", [["plugins", "--json"], ["plugins"]], ids=" ".join)
def test_a_closed_output_pipe_ends_quietly(unbuffered: bool, command: list[str]) -> None:
    """``glompo plugins --json | head -c 0``: the reader is gone before the output comes.

    Buffered (a user's shell: no PYTHONUNBUFFERED), the failed write shows only when the
    output is flushed; unbuffered, at the first write. Both end with status 1 and nothing
    on stderr, in an environment without any PYTHON* variable but the one tested.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "glompo_core.cli", *command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # every write of the command now fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == ""


def test_the_help_of_run_and_resume_lists_every_exit_status() -> None:
    assert set(END_STATES) == set(EXIT_STATUS)
    for command in ("run", "resume"):
        parser = build_parser()
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
    text = exit_status_help()
    rows = {int(line.split()[0]): line for line in text.splitlines()[1:] if line[:3].strip()}
    assert set(rows) == set(EXIT_STATUS.values()) | {2}
    for state, code in EXIT_STATUS.items():
        assert END_STATES[state].split()[0] in rows[code], state
    for command in ("run", "resume"):
        sub = next(a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction)).choices[command]
        assert text in sub.format_help()


class _RaisingExit(BaseExitCondition):
    """An exit condition that fails once the run has evaluations (a bug in a plugin)."""

    def __call__(self, manager: Any) -> bool:
        if manager.f_counter >= 20:
            raise RuntimeError("boom in the exit condition")
        return False


class _RaisingExitPlugin:
    @hookimpl
    def glompo_register_exit_conditions(self, register: Any) -> None:
        register("RaisingExit", _RaisingExit)


def test_a_logged_exception_is_one_line_and_its_traceback_goes_to_the_error_log(
        tmp_path: Path, pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    pm.register_plugin(_RaisingExitPlugin(), "raising-exit")
    path = small_run(tmp_path)
    code = main(["run", str(path), "--no-progress",
                 "--set", "exit_conditions=RaisingExit() | MaxFuncCalls(fmax=300)"])
    out, err = capsys.readouterr()
    assert code == EXIT_STATUS["error"], err
    assert "exit status: 1 (error)" in out.splitlines()
    error_log = tmp_path / "out" / "glompo_error.log"
    flat = " ".join(err.split())  # the console wraps long lines
    assert "RuntimeError: boom in the exit condition" in flat
    assert f"tracebackin{error_log}" in "".join(err.split())  # (wrapped inside the path)
    assert "Traceback" not in err
    logged = error_log.read_text()
    assert "Traceback (most recent call last)" in logged
    assert "boom in the exit condition" in logged


def _blocked_checkpoints(tmp_path: Path) -> Path:
    """A run whose first checkpoint cannot be written and must be (raise_checkpoint_fail)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = small_run(tmp_path)
    path.write_text(path.read_text() + "checkpoint_control: {checkpoint_at_init: true, "
                    f"raise_checkpoint_fail: true, checkpointing_dir: '{blocker / 'sub'}'}}\n")
    return path


def test_a_manager_error_is_one_line_and_status_1(tmp_path: Path, pm: PluginManager,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _blocked_checkpoints(tmp_path)
    assert main(["run", str(path), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    error_log = tmp_path / "out" / "glompo_error.log"
    assert out == ""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: the run stopped on an error in the manager: ")
    assert f"(itstracebackisin{error_log})" in "".join(err.split())
    assert "Traceback (most recent call last)" in error_log.read_text()
    # -vv: the traceback on the terminal too
    path.write_text(path.read_text() + "overwrite_existing: true\n")
    assert main(["run", str(path), "--no-progress", "-vv"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
