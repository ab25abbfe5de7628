"""The ``glompo`` command.

``glompo run RUN.yml``
    Run the optimization a run file describes, with a live progress display.
``glompo resume CHECKPOINT.tar.gz``
    Continue a run from a checkpoint, in the run directory that holds it.
``glompo checkpoint info CHECKPOINT.tar.gz``
    A checkpoint's manifest (nothing is unpickled).
``glompo plugins [--json]``
    The installed plugins, their status and the components they register.

Plugins add their own subcommands through the hook ``glompo_register_commands`` (the
core's commands above register through it too); ``glompo --help`` lists them all.

``glompo run`` and ``glompo resume`` exit 0 when the run ended normally and with a
status naming how it ended otherwise (:data:`glompo_core.errors.EXIT_STATUS`, 2 for a
bad run file, checkpoint or command line); ``exit_status_help()`` is the table.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from glompo_core._cli_inspect import (
    _cmd_checkpoint,
    _cmd_plugins,
    _configure_checkpoint,
    _configure_plugins,
)
from glompo_core._cli_logging import ERROR_LOG as ERROR_LOG
from glompo_core._cli_logging import _error
from glompo_core._cli_run import END_STATES as END_STATES
from glompo_core._cli_run import USAGE_ERROR as USAGE_ERROR
from glompo_core._cli_run import (
    _cmd_resume,
    _cmd_run,
    _configure_resume,
    _configure_run,
    exit_status_help,
)
from glompo_core._cli_run import _flag_overrides as _flag_overrides
from glompo_core._version import __version__
from glompo_core.errors import GloMPOError

if TYPE_CHECKING:
    from glompo_core.plugins import CommandInfo, PluginManager

__all__ = ["build_parser", "exit_status_help", "main"]


#: The attribute of the parsed arguments that holds the chosen command's function.
_RUN = "_glompo_run"
_log = logging.getLogger("glompo.cli")


def build_parser(plugin_manager: PluginManager | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``glompo`` (its help is the CLI reference).

    Parameters
    ----------
    plugin_manager
        Where the subcommands come from (``glompo_register_commands``); default
        :func:`~glompo_core.plugins.get_plugin_manager`.
    """
    from glompo_core.plugins import get_plugin_manager

    pm = get_plugin_manager() if plugin_manager is None else plugin_manager
    parser = argparse.ArgumentParser(
        prog="glompo",
        description="GloMPO: run many black-box optimizers at once on one expensive problem.")
    parser.add_argument("--version", action="version", version=f"glompo-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in pm.commands():
        if not _configures(command):
            continue
        description = command.description or command.help[:1].upper() + command.help[1:] + "."
        command_parser = sub.add_parser(command.name, help=command.help,
                                        description=description)
        if command.configure is not None:
            command.configure(command_parser)
        command_parser.set_defaults(**{_RUN: command.run})
    return parser


def _configures(command: CommandInfo) -> bool:
    """True if the command's ``configure`` works (tried on a parser of its own first).

    A plugin's broken ``configure`` leaves its command out, with a warning naming the
    plugin, instead of breaking every other command.
    """
    if command.configure is None or command.plugin == "builtin":
        return True
    try:
        command.configure(argparse.ArgumentParser(prog=f"glompo {command.name}"))
    except Exception as exc:
        _log.warning("the command %r of plugin %r (%s) is left out: its configure() raised "
                     "%s: %s", command.name, command.plugin, command.distribution,
                     type(exc).__name__, exc)
        return False
    return True


def _register_commands(register: Any) -> None:
    """The core's own commands (called by the built-in ``glompo_register_commands``)."""
    register("run", _cmd_run, help="run the optimization described by a YAML run file",
             description="Run the optimization described by a YAML run file. Keys are the "
                         "arguments of GloMPOManager.setup().",
             configure=_configure_run)
    register("resume", _cmd_resume, help="resume a run from a checkpoint",
             description="Resume a run from a checkpoint tarball. A checkpoint is a pickle: "
                         "load only files you trust. The run continues in the run directory "
                         "that holds the checkpoint (<run dir>/checkpoints/FILE), so a copied "
                         "run directory resumes in the copy, or in --working-dir. The task is "
                         "the one the checkpoint saved: its module is looked for in the run "
                         "file's directory and its own directory as the checkpoint recorded "
                         "them, then in the current directory; or give the task as a run file "
                         "does, with --task or --set task=... (and --set "
                         "task_kwargs.NAME=VALUE).",
             configure=_configure_resume)
    register("checkpoint", _cmd_checkpoint, help="inspect checkpoints",
             description="Inspect checkpoints without loading them.",
             configure=_configure_checkpoint)
    register("plugins", _cmd_plugins, help="list installed plugins and their components",
             description="List installed plugins, their status and the components they "
                         "register.",
             configure=_configure_plugins)


def _command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named on a command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glompo`` command; returns the exit code."""
    from rich.console import Console

    from glompo_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    words = sys.argv[1:] if argv is None else list(argv)
    name = _command_word(words)
    missing = None if name is None else pm.missing_command_message(name)
    if missing is not None:  # a first-party plugin's command, and the plugin is not here
        return _error(Console(file=sys.stderr), "error:", RuntimeError(missing))
    args = build_parser(pm).parse_args(words)
    try:
        try:
            code = int(getattr(args, _RUN)(args))
        except GloMPOError as exc:  # a failure the user can fix: one line, no traceback
            code = _error(Console(file=sys.stderr), "error:", exc)
        # A pipe whose reader left shows here when stdout is buffered (no PYTHONUNBUFFERED),
        # rather than in the interpreter's final flush (status 120 and a message).
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader of the output left (``glompo plugins --json | head``): stop quietly,
        # with stdout pointed at devnull so the interpreter's final flush cannot fail too.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (an embedding program's)
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
