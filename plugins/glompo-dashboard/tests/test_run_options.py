"""The run-file key ``dashboard`` and ``glompo run --dashboard``: contributed by the plugin
through glompo_register_run_options, so that the core names no plugin."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import glompo_dashboard.hooks
import pytest
from glompo_dashboard.live import Dashboard
from helpers import plugin_manager

from glompo_core import hookimpl
from glompo_core.cli import _flag_overrides, build_parser
from glompo_core.errors import RunFileError
from glompo_core.plugins import PluginManager
from glompo_core.runfile import RunFile, build_manager, load_run_file

RUN = """\
task: Rastrigin
task_kwargs: {dims: 2}
opt_selector: {CycleSelector: {avail_opts: [RandomOptimizer]}}
exit_conditions: {MaxFuncCalls: {fmax: 100}}
"""


def _file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "run.yml"
    path.write_text(RUN + textwrap.dedent(extra))
    return path


def _observers(path: Path, pm: PluginManager, overrides: list[str] | None = None) -> list:
    run = RunFile(path, overrides)
    load_run_file(run, plugin_manager=pm)
    return [obs for _, obs in run.observers]


@pytest.mark.parametrize(("value", "port", "host"), [
    ("true", 8765, "127.0.0.1"), ("9001", 9001, "127.0.0.1"),
    ("{port: 0, host: 0.0.0.0}", 0, "0.0.0.0")])
def test_the_key_builds_a_dashboard(tmp_path: Path, value: str, port: int, host: str) -> None:
    (dashboard,) = _observers(_file(tmp_path, f"dashboard: {value}\n"), plugin_manager())
    assert isinstance(dashboard, Dashboard)
    assert (dashboard.port, dashboard.host) == (port, host)


def test_the_run_files_dashboard_lives_as_long_as_its_run(tmp_path: Path) -> None:
    pm = plugin_manager()
    path = _file(tmp_path, f"""\
        dashboard: {{port: 0, quiet: true}}
        backend: threads
        max_jobs: 1
        working_dir: {tmp_path / 'run'}
        """)
    assert not pm.has_listeners("glompo_run_started")
    manager = build_manager(path, plugin_manager=pm)
    assert pm.has_listeners("glompo_run_started")  # registered by the manager at once
    manager.start_manager()
    assert not (tmp_path / "run" / "dashboard_url.txt").exists()
    assert not pm.has_listeners("glompo_run_started")  # and removed when the run ended


@pytest.mark.parametrize("value", ["false", "null"])
def test_false_or_null_is_no_dashboard(tmp_path: Path, value: str) -> None:
    assert _observers(_file(tmp_path, f"dashboard: {value}\n"), plugin_manager()) == []


def test_a_bad_setting_is_reported_at_its_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "dashboard: {prot: 9000}\n")
    with pytest.raises(RunFileError, match=r"run.yml:5: key 'dashboard': unknown setting "
                                           r"'prot'; did you mean 'port'\?"):
        _observers(path, plugin_manager())
    with pytest.raises(RunFileError, match=r"run.yml:5: key 'dashboard': port=70000: give a "
                                           "TCP port number"):
        _observers(_file(tmp_path, "dashboard: {port: 70000}\n"), plugin_manager())


def test_without_the_plugin_the_key_names_the_plugin_to_install(tmp_path: Path) -> None:
    path = _file(tmp_path, "dashboard: true\n")
    with pytest.raises(RunFileError, match=r"run.yml:5: key 'dashboard': the key 'dashboard' "
                                           r"is provided by the plugin glompo-dashboard, which "
                                           r"is not installed: pip install glompo-dashboard"):
        _observers(path, PluginManager(load_entrypoints=False))


def test_an_unknown_key_still_gets_did_you_mean(tmp_path: Path) -> None:
    path = _file(tmp_path, "dashbord: true\n")
    with pytest.raises(RunFileError, match=r"unknown key; did you mean 'dashboard'\?"):
        _observers(path, plugin_manager())
    with pytest.raises(RunFileError, match=r"unknown key; did you mean 'max_jobs'\?"):
        _observers(_file(tmp_path, "max_jbos: 2\n"), plugin_manager())


def test_the_flag_sets_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pm = plugin_manager()
    monkeypatch.setattr("glompo_core.plugins.get_plugin_manager", lambda: pm)
    parser = build_parser(pm)
    path = _file(tmp_path, "dashboard: false\n")
    for argv, port in ((["--dashboard"], 8765), (["--dashboard", "9100"], 9100)):
        args = parser.parse_args(["run", str(path), *argv])
        (dashboard,) = _observers(path, pm, _flag_overrides(args))
        assert dashboard.port == port
    args = parser.parse_args(["run", str(path)])
    assert _flag_overrides(args) == []
    args = parser.parse_args(["run", str(path), "--dashboard", "http"])
    with pytest.raises(RunFileError, match=r"^--dashboard http: give a port number, e\.g\. "
                                           r"--dashboard 8765$"):
        _flag_overrides(args)


class _Clash:
    @hookimpl
    def glompo_register_run_options(self, register):  # type: ignore[no-untyped-def]
        register("dashboard", lambda value: None, help="another dashboard")


def test_a_key_taken_twice_fails_the_later_plugin() -> None:
    with pytest.warns(RuntimeWarning, match="key 'dashboard' registered by 'clash'.*already "
                                            "taken by 'dashboard'"):
        pm = PluginManager(load_entrypoints=False,
                           plugins=[("dashboard", glompo_dashboard.hooks), ("clash", _Clash())])
    assert {p.name: p.status for p in pm.plugins()}["clash"] == "failed"
    assert [o.key for o in pm.run_options()] == ["dashboard"]


class _CoreKey:
    @hookimpl
    def glompo_register_run_options(self, register):  # type: ignore[no-untyped-def]
        register("max_jobs", lambda value: None, help="steals a core key")


def test_a_core_key_cannot_be_taken() -> None:
    with pytest.warns(RuntimeWarning, match="'max_jobs' of 'core' is one of the core's keys"):
        pm = PluginManager(load_entrypoints=False, plugins=[("core", _CoreKey())])
    assert pm.run_options() == []


def test_glompo_run_with_the_option_serves_then_cleans_up(tmp_path: Path) -> None:
    (tmp_path / "run.yml").write_text(RUN + "working_dir: out\nsummary_files: 1\n")
    done = subprocess.run([sys.executable, "-m", "glompo_core.cli", "run", "run.yml",
                           "--dashboard", "0", "--no-progress"], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (line,) = [t for t in done.stderr.splitlines() if t.startswith("GloMPO dashboard: ")]
    assert re.fullmatch(r"GloMPO dashboard: http://127\.0\.0\.1:\d+/\?token=[\w-]{32}", line)
    assert (tmp_path / "out" / "glompo_manager_log.yml").is_file()
    assert not (tmp_path / "out" / "dashboard_url.txt").exists()  # removed at the run's end
