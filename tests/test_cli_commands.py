"""Plugins add ``glompo`` subcommands through ``glompo_register_commands``."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import pytest

import glompo_core.plugins
from glompo_core import hookimpl
from glompo_core.cli import build_parser, main
from glompo_core.errors import GloMPOError
from glompo_core.plugins import PluginManager
from tests._plugin_fixtures import fresh_pm

CORE_COMMANDS = ["run", "resume", "checkpoint", "plugins"]


class GreetPlugin:
    """Adds ``glompo greet NAME [--times N] [--fail]``."""

    @hookimpl
    def glompo_register_commands(self, register: Any) -> None:
        register("greet", self.run, help="greet someone", configure=self.configure)

    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--times", type=int, default=1)
        parser.add_argument("--fail", action="store_true")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.fail:
            raise GloMPOError(f"cannot greet {args.name}: [not] today")
        for _ in range(args.times):
            print(f"hello {args.name}")
        return 7 if args.name == "seven" else 0


@pytest.fixture
def cli_pm(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """The CLI's registry: built-ins and GreetPlugin, never the machine's entry points."""
    registry = fresh_pm(("greet-plugin", GreetPlugin()))
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    return registry


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_the_core_commands_register_through_the_same_hook() -> None:
    pm = fresh_pm()
    commands = pm.commands()
    assert [c.name for c in commands] == CORE_COMMANDS
    assert {(c.plugin, c.distribution) for c in commands} == {("builtin", "glompo-core")}
    assert {p.name: p.commands for p in pm.plugins()}["builtin"] == CORE_COMMANDS
    assert _subcommands(build_parser(pm)) == CORE_COMMANDS


def test_a_plugin_command_runs_with_its_arguments_and_status(
        cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    assert _subcommands(build_parser(cli_pm)) == [*CORE_COMMANDS, "greet"]
    assert main(["greet", "ada", "--times", "2"]) == 0
    assert capsys.readouterr().out == "hello ada\nhello ada\n"
    assert main(["greet", "seven"]) == 7
    assert "greet someone" in build_parser(cli_pm).format_help()
    (info,) = [c for c in cli_pm.commands() if c.name == "greet"]
    assert (info.plugin, info.help) == ("greet-plugin", "greet someone")
    assert {p.name: p.commands for p in cli_pm.plugins()}["greet-plugin"] == ["greet"]
    assert {p.name: p.as_dict() for p in cli_pm.plugins()}["greet-plugin"]["commands"] == \
        ["greet"]


def test_a_plugin_command_help_and_argument_errors_are_argparse_s(
        cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["greet", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: glompo greet [-h] [--times TIMES] [--fail] name" in out
    assert "Greet someone." in out  # the description defaults to the help
    with pytest.raises(SystemExit) as exit_info:
        main(["greet", "--times", "many", "ada"])
    assert exit_info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_a_glompo_error_of_a_command_is_one_line_and_status_2(
        cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["greet", "ada", "--fail"]) == 2
    err = capsys.readouterr().err
    assert " ".join(err.split()) == "error: cannot greet ada: [not] today"  # not markup
    assert "Traceback" not in err


def test_a_command_name_taken_by_the_core_fails_the_plugin_naming_both() -> None:
    class Clash:
        @hookimpl
        def glompo_register_commands(self, register: Any) -> None:
            register("run", GreetPlugin.run, help="run something else")

    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="'clash'"):
        info = pm.register_plugin(Clash(), "clash")
    assert info.status == "failed"
    assert info.reason == ("PluginError: command name 'run' registered by 'clash' (clash) is "
                           "already taken by 'builtin' (glompo-core); rename one of them")
    (run,) = [c for c in pm.commands() if c.name == "run"]
    assert run.plugin == "builtin"


def test_a_failed_plugin_takes_its_commands_with_it() -> None:
    class GreetThenFail(GreetPlugin):
        @hookimpl
        def glompo_register_stoppers(self, register: Any) -> None:
            raise RuntimeError("broken")

    pm = fresh_pm()
    with pytest.warns(RuntimeWarning, match="broken"):
        pm.register_plugin(GreetThenFail(), "greet-then-fail")
    assert [c.name for c in pm.commands()] == CORE_COMMANDS


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    (("Greet", GreetPlugin.run), {"help": "h"}, "invalid command name 'Greet'"),
    (("greet now", GreetPlugin.run), {"help": "h"}, "invalid command name 'greet now'"),
    (("greet", "not a function"), {"help": "h"}, "run must be a function"),
    (("greet", GreetPlugin.run), {"help": ""}, "help must be a one-line description"),
    (("greet", GreetPlugin.run), {"help": "h", "configure": 3}, "configure must be a function"),
])
def test_bad_command_registrations_are_refused(args: tuple[Any, ...], kwargs: dict[str, Any],
                                               match: str) -> None:
    class Bad:
        @hookimpl
        def glompo_register_commands(self, register: Any) -> None:
            register(*args, **kwargs)

    pm = fresh_pm()
    with pytest.warns(RuntimeWarning):
        info = pm.register_plugin(Bad(), "bad")
    assert info.status == "failed"
    assert match in info.reason


def test_a_broken_configure_leaves_only_that_command_out(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("-h")  # clashes with argparse's own -h

    class Broken:
        @hookimpl
        def glompo_register_commands(self, register: Any) -> None:
            register("broken", GreetPlugin.run, help="never works", configure=configure)

    registry = fresh_pm(("greet-plugin", GreetPlugin()), ("broken-plugin", Broken()))
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    for name in ("glompo", "glompo.cli"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="glompo.cli"):
        assert _subcommands(build_parser(registry)) == [*CORE_COMMANDS, "greet"]
    (record,) = [r for r in caplog.records if r.name == "glompo.cli"]
    assert record.getMessage().startswith(
        "the command 'broken' of plugin 'broken-plugin' (broken-plugin) is left out: its "
        "configure() raised ArgumentError")
    assert main(["greet", "ada"]) == 0
    assert capsys.readouterr().out == "hello ada\n"


def test_an_unknown_command_is_argparse_s_error(cli_pm: PluginManager,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["gret", "ada"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'gret'" in capsys.readouterr().err
