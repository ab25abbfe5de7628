"""The ``glompo`` command, in-process through ``main()`` and once as a real process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import glompo_core.plugins
import glompo_core.runfile
from glompo_core import __version__
from glompo_core.cli import build_parser, main
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
    assert f"error in {path}: stopcheck_interval must be a whole number >= 1" in err


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


def test_a_closed_output_pipe_ends_quietly() -> None:
    """``glompo plugins --json | head -c 0``: the reader is gone before the output comes."""
    proc = subprocess.Popen([sys.executable, "-m", "glompo_core.cli", "plugins", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # every write of the command now fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
