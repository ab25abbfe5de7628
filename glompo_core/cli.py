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
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glompo_core._version import __version__
from glompo_core.errors import EXIT_STATUS, GloMPOError, RunFileError, UnknownComponentError

if TYPE_CHECKING:
    from glompo_core.plugins import CommandInfo, PluginManager

__all__ = ["build_parser", "exit_status_help", "main"]

#: What each end state of a run (``Result.stats["end_state"]``) means, for the help.
END_STATES: dict[str, str] = {
    "normal": "the run ended normally: an exit condition, or nothing left to start and "
              "every optimizer finished",
    "error": "an error in the manager stopped the run (its traceback is in "
             "WORKING_DIR/glompo_error.log)",
    "crash_loop": "optimizers kept crashing before doing any useful evaluation",
    "task_failing": "the task failed on every evaluation",
    "SIGHUP": "hang-up (the terminal closed); a checkpoint was written if enabled",
    "SIGINT": "interrupted (Ctrl-C); a checkpoint was written if enabled",
    "SIGTERM": "terminated (kill, a batch scheduler's time limit); a checkpoint was "
               "written if enabled",
}
#: The status of a command that ran nothing: bad run file, checkpoint or arguments.
USAGE_ERROR = 2
#: The file beside a run's outputs that holds the traceback of a manager error.
ERROR_LOG = "glompo_error.log"


def exit_status_help() -> str:
    """The table of exit statuses of ``glompo run`` and ``glompo resume`` (their epilog)."""
    rows = sorted([(code, END_STATES.get(state, state)) for state, code in EXIT_STATUS.items()]
                  + [(USAGE_ERROR, "a bad run file, checkpoint or command line: nothing ran")])
    lines = ["exit status:"]
    for code, text in rows:
        lines.append(textwrap.fill(text, width=78, initial_indent=f"  {code:<5}",
                                   subsequent_indent=" " * 7))
    return "\n".join(lines)


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual, but keeps text that has line breaks as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


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


def _configure_run(run: argparse.ArgumentParser) -> None:
    run.epilog = exit_status_help()
    run.formatter_class = _HelpFormatter
    run.add_argument("run_file", help="the YAML run file")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY=VALUE",
                     help="override a setting of the file (value in YAML; dotted keys "
                          "reach into mappings, e.g. task_kwargs.dims=10); repeatable")
    run.add_argument("--no-progress", action="store_true",
                     help="no live progress display")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="log more (-v: info, -vv: debug)")
    from glompo_core.plugins import get_plugin_manager

    for option in get_plugin_manager().run_options():  # plugins' options (--dashboard)
        if option.flag is not None:
            run.add_argument(option.flag, dest=_RUN_OPTION + option.key, nargs="?",
                             const=None, default=_NOT_GIVEN, metavar=option.metavar,
                             help=f"{option.help} (sets the run file's '{option.key}'; "
                                  f"from {option.distribution})")


#: Prefix of the argparse destinations of the options plugins add to ``glompo run``.
_RUN_OPTION = "run_option_"
_NOT_GIVEN = object()


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    """``--set KEY=VALUE`` items for the plugin options given to ``glompo run``."""
    from glompo_core.plugins import get_plugin_manager

    items = []
    for option in get_plugin_manager().run_options():
        given_value = getattr(args, _RUN_OPTION + option.key, _NOT_GIVEN)
        if given_value is _NOT_GIVEN or option.from_flag is None:
            continue
        text = None if given_value is None else str(given_value)
        try:
            value = option.from_flag(text)
        except (ValueError, TypeError) as exc:
            given = option.flag if text is None else f"{option.flag} {text}"
            raise RunFileError(f"{given}: {exc}") from None
        items.append(f"{option.key}={json.dumps(value)}")
    return items


def _configure_resume(resume: argparse.ArgumentParser) -> None:
    resume.epilog = exit_status_help()
    resume.formatter_class = _HelpFormatter
    resume.add_argument("checkpoint", help="the checkpoint (.tar.gz)")
    resume.add_argument("--task", metavar="TASK",
                        help="the task, as 'task:' in a run file: a registered task name or "
                             "module:Class (built with --set task_kwargs.NAME=VALUE), instead "
                             "of the one the checkpoint saved")
    resume.add_argument("--working-dir", metavar="DIR",
                        help="write the resumed run here (default: the run directory "
                             "holding the checkpoint)")
    resume.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a setting (value in YAML), e.g. max_jobs=8, "
                             "exit_conditions='MaxFuncCalls(fmax=100000)', "
                             "task=module:Class, task_kwargs.dims=10; repeatable")
    resume.add_argument("--no-progress", action="store_true", help="no live progress display")
    resume.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")


def _configure_checkpoint(chk: argparse.ArgumentParser) -> None:
    chk_sub = chk.add_subparsers(dest="checkpoint_command", metavar="SUBCOMMAND")
    chk_sub.required = True
    info = chk_sub.add_parser("info", help="print a checkpoint's manifest")
    info.add_argument("file", help="the checkpoint (.tar.gz)")
    info.add_argument("--json", action="store_true", help="the manifest as JSON")


def _configure_plugins(plugins: argparse.ArgumentParser) -> None:
    plugins.add_argument("--json", action="store_true", help="machine-readable output")


class _OneLine(logging.Formatter):
    """A record and its exception on one line: the traceback goes to the error log."""

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt)
        self.error_log: Path | None = None

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return super().format(record)
        saved = (record.exc_info, record.exc_text)
        record.exc_info, record.exc_text = None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        where = f"; traceback in {self.error_log}" if self.error_log else "; -vv shows it"
        return f"{text} ({type(exc).__name__}: {exc}{where})"


class _CliLogging:
    """The ``glompo`` loggers while a command runs: the console, and a run's error log.

    At ``-v`` and below a record with an exception is one line on the console; its
    traceback goes to ``WORKING_DIR/glompo_error.log`` once the run's directory is known
    (:meth:`attach_error_log`). ``-vv`` prints tracebacks on the console too.
    """

    def __init__(self, verbosity: int, console: Any) -> None:
        from rich.logging import RichHandler

        self.verbosity = verbosity
        level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 \
            else logging.DEBUG
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
        self.formatter = _OneLine("%(name)s: %(message)s")
        handler.setFormatter(self.formatter if verbosity < 2
                             else logging.Formatter("%(name)s: %(message)s"))
        self.root = logging.getLogger("glompo")
        self.saved = (list(self.root.handlers), self.root.level, self.root.propagate)
        self.file_handler: logging.Handler | None = None
        self.root.handlers = [handler]
        self.root.setLevel(level)
        self.root.propagate = False

    def attach_error_log(self, working_dir: str | os.PathLike[str]) -> Path:
        """Write the tracebacks of logged exceptions to ``working_dir/glompo_error.log``.

        The file is made only when the first traceback comes.
        """
        path = Path(working_dir) / ERROR_LOG
        handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                               "%(message)s"))
        handler.addFilter(lambda record: record.exc_info is not None)
        handler.setLevel(logging.DEBUG)
        self.root.addHandler(handler)
        self.file_handler = handler
        self.formatter.error_log = path
        return path

    def restore(self) -> None:
        """Put the ``glompo`` loggers back as they were; close the error log."""
        if self.file_handler is not None:
            self.file_handler.close()
        self.root.handlers, self.root.level, self.root.propagate = \
            self.saved[0], self.saved[1], self.saved[2]


def _error(console: Any, prefix: str, exc: BaseException) -> int:
    """Print an error without a traceback (never read as markup, never wrapped)."""
    from rich.markup import escape

    console.print(f"[bold red]{escape(prefix)}[/] {escape(str(exc))}", highlight=False,
                  soft_wrap=True)
    return 2


class _Progress:
    """Rich renderable of a running manager's figures."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def __rich__(self) -> Any:
        from rich.table import Table

        from glompo_core.status import status_dict

        s = status_dict(self.manager)
        table = Table(title="GloMPO", show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan")
        table.add_column()
        best = "--" if s["best_opt"] is None else f"{s['best_fx']:.8g} (optimizer {s['best_opt']})"
        table.add_row("evaluations", f"{s['evaluations']:,}")
        table.add_row("failed evaluations", f"{s.get('failed', 0):,}")
        table.add_row("best fx", best)
        table.add_row("optimizers", f"{s['alive']} alive, {s['started']} started, "
                                    f"{s['stopped']} stopped, {s['converged']} converged, "
                                    f"{s['crashed']} crashed")
        table.add_row("elapsed", f"{s['elapsed']:.1f} s")
        return table


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(file=sys.stderr)
    logs = _CliLogging(args.verbose, console)
    try:
        return _run(args, console, logs)
    finally:
        logs.restore()


def _build_from_run_file(args: argparse.Namespace) -> Any:
    from glompo_core.runfile import build_manager

    overrides = [*args.overrides, *_flag_overrides(args)]
    manager = build_manager(args.run_file, overrides)  # setup() errors name the line
    # recorded in checkpoints, so that glompo resume finds the modules beside the run file
    manager.run_file_dir = str(Path(args.run_file).resolve().parent)
    if manager.default_portfolio is not None:  # the file has no opt_selector: say whose
        print(f"glompo: {manager.default_portfolio.describe()}", file=sys.stderr, flush=True)
    return manager


def _task_hint(manifest: dict[str, Any]) -> str:
    """The ``--task`` a user gives to resume a checkpoint whose saved task is unusable."""
    module, name = manifest.get("task_module"), manifest.get("task_class")
    spec = f"{module}:{name}" if module and name and module != "__main__" else "module:Class"
    return (f"--task {spec} (with --set task_kwargs.NAME=VALUE for the arguments it was "
            "built with)")


def _check_saved_task(checkpoint: str, manifest: dict[str, Any]) -> None:
    """Refuse, saying what to pass, a checkpoint whose task ``glompo resume`` cannot load."""
    import importlib.util

    from glompo_core.errors import CheckpointingError

    kind = manifest.get("task")
    if kind == "none":
        raise CheckpointingError(f"{checkpoint} holds no task (it did not pickle and has no "
                                 f"checkpoint_save method): give it: {_task_hint(manifest)}")
    if kind == "files":
        raise CheckpointingError(
            f"{checkpoint} holds its task as the files of its checkpoint_save method, which "
            f"only a task_loader reads back: give the task: {_task_hint(manifest)}, or resume "
            "from Python: GloMPOManager.load_manager(CHECKPOINT, task_loader=...)")
    module = manifest.get("task_module")
    if kind != "pickle" or not module or module == "__main__":
        return
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        where = manifest.get("run_file_dir") or manifest.get("task_path")
        was = f" (it was in {where})" if where else ""
        raise CheckpointingError(
            f"the task of {checkpoint} is an instance of {module}:{manifest.get('task_class')}, "
            f"saved by reference to its module, and module {module!r} cannot be imported "
            f"here{was}: put it on the Python path (PYTHONPATH, or run from its directory), "
            f"or give the task: {_task_hint(manifest)}")


def _build_from_checkpoint(args: argparse.Namespace) -> Any:
    from glompo_core.checkpointing import read_manifest, run_dir_of
    from glompo_core.errors import CheckpointingError
    from glompo_core.manager import GloMPOManager
    from glompo_core.plugins import get_plugin_manager
    from glompo_core.runfile import RunFile, add_to_sys_path, build_task

    manifest = read_manifest(args.checkpoint)
    settings = RunFile.from_settings(args.checkpoint, args.overrides, task=args.task)
    for parts, item in settings.overridden.items():
        if len(parts) > 1 and parts[0] != "task_kwargs":
            raise RunFileError(f"--set {item}: when resuming, dotted keys reach only into "
                               f"task_kwargs; give the whole value: --set {parts[0]}=...")
    data = dict(settings.data)
    if data.get("task") is None and "task_kwargs" in data:
        raise RunFileError("--set task_kwargs...: the arguments of a task need the task: "
                           f"{_task_hint(manifest)}")
    # where the task's module (and the run file's local modules) were, then here
    search = (manifest.get("run_file_dir"), manifest.get("task_path"), os.getcwd())
    add_to_sys_path(*search)
    task = None
    if data.get("task") is not None:
        task = build_task(settings, get_plugin_manager(), search_path=search)
    else:
        _check_saved_task(args.checkpoint, manifest)
    data.pop("task", None)
    data.pop("task_kwargs", None)

    working_dir = data.pop("working_dir", None)
    if args.working_dir is not None:
        if working_dir is not None and \
                Path(str(working_dir)).resolve() != Path(args.working_dir).resolve():
            raise RunFileError(f"--working-dir {args.working_dir} and --set "
                               f"working_dir={working_dir}: give the working directory once")
        working_dir = args.working_dir
    if working_dir is None:
        try:
            working_dir = run_dir_of(args.checkpoint, manifest)
        except CheckpointingError as exc:
            raise CheckpointingError(f"{exc}: --working-dir DIR") from None
    try:
        manager = GloMPOManager.load_manager(args.checkpoint, task=task,
                                             working_dir=str(working_dir), **data)
    except CheckpointingError as exc:
        if task is None and "task=" in str(exc):  # the Python API's advice, for the CLI
            raise CheckpointingError(f"{exc}; on the command line: {_task_hint(manifest)}") \
                from None
        raise
    manager.run_file_dir = manifest.get("run_file_dir")
    return manager


def _cmd_resume(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(file=sys.stderr)
    logs = _CliLogging(args.verbose, console)
    try:
        return _run(args, console, logs, _build_from_checkpoint, str(args.checkpoint))
    finally:
        logs.restore()


def _cmd_checkpoint(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from glompo_core.checkpointing import read_manifest
    from glompo_core.errors import CheckpointingError

    try:
        manifest = read_manifest(args.file)
    except CheckpointingError as exc:
        return _error(Console(file=sys.stderr), "error:", exc)
    if args.json:
        print(json.dumps(manifest, indent=2, default=str))
        return 0
    out = Console(soft_wrap=True, highlight=False)
    for key in ("written", "glompo_core_version", "format_version", "checksum", "f_counter",
                "o_counter", "task"):
        out.print(f"[bold]{key}:[/] {escape(str(manifest.get(key)))}")
    # where the run came from (checkpoints written since glompo-core recorded it)
    for key in ("task_module", "task_class", "task_path", "run_file_dir", "working_dir",
                "checkpointing_dir"):
        if key in manifest:
            out.print(f"[bold]{key}:[/] {escape(str(manifest[key]))}")
    plugins = ", ".join(f"{k} {v}" for k, v in manifest.get("plugins", {}).items())
    out.print(f"[bold]plugins:[/] {escape(plugins)}")
    for opt in manifest.get("optimizers", []):
        out.print(f"  optimizer {opt['opt_id']}: {escape(str(opt['type']))} "
                  f"({opt['status']}, restart: {opt['restart']})")
    out.print(f"[bold]members:[/] {len(manifest.get('members', {}))}")
    return 0


def _run(args: argparse.Namespace, console: Any, logs: _CliLogging,
         build: Any = _build_from_run_file, source: str | None = None) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.markup import escape

    from glompo_core.errors import CheckpointingError

    source = source or str(getattr(args, "run_file", ""))
    try:
        manager = build(args)
    except KeyboardInterrupt:  # Ctrl-C before the run started: nothing ran
        return EXIT_STATUS["SIGINT"]
    except (RunFileError, UnknownComponentError, FileExistsError, CheckpointingError) as exc:
        return _error(console, "error:", exc)
    except (ValueError, TypeError, GloMPOError, OSError) as exc:
        return _error(console, f"error in {source}:", exc)
    try:
        error_log: Path | None = logs.attach_error_log(manager.working_dir)
    except OSError:
        error_log = None
    show = not args.no_progress
    t0 = time.time()
    try:
        if show:
            with Live(_Progress(manager), console=console, refresh_per_second=4,
                      redirect_stdout=False, redirect_stderr=False, transient=False):
                result = manager.start_manager()
            if not console.is_terminal:
                console.line()  # end the last frame's line before the result is printed
        else:
            result = manager.start_manager()
    except KeyboardInterrupt:  # a Ctrl-C the manager could not take (outside its loop)
        return EXIT_STATUS["SIGINT"]
    except Exception as exc:
        return _manager_error(console, error_log, exc, args.verbose)
    stats = result.stats
    end_state = str(stats.get("end_state", "normal"))
    status = stats.get("exit_status")
    if not isinstance(status, int) or isinstance(status, bool):
        status = EXIT_STATUS.get(end_state, EXIT_STATUS["error"])
    out = Console(soft_wrap=True, highlight=False)
    x = None if result.x is None else [float(v) for v in result.x]
    started = stats.get("o_counter", manager.o_counter)
    optimizers = (f"{started} started, {stats.get('optimizers_stopped', 0)} stopped, "
                  f"{stats.get('optimizers_converged', 0)} converged, "
                  f"{stats.get('optimizers_crashed', 0)} crashed")
    lines = [("best fx", repr(result.fx)), ("x", None if x is None else str(x)),
             ("found by", str(result.origin)),
             ("evaluations", f"{stats.get('f_counter', manager.f_counter)}   [bold]failed:[/] "
                             f"{stats.get('failed_evaluations', 0)}   [bold]time:[/] "
                             f"{time.time() - t0:.1f} s"),
             ("optimizers", optimizers),
             ("ended", (manager.exit_reason or "").replace(chr(10), " ")),
             ("exit status", f"{status} ({end_state})"),
             ("outputs in", str(manager.working_dir) if manager.summary_files else None)]
    for label, text in lines:
        if text is not None:
            body = text if label == "evaluations" else escape(text)
            out.print(f"[bold]{label}:[/] {body}")
    return status


def _manager_error(console: Any, error_log: Path | None, exc: BaseException,
                   verbosity: int) -> int:
    """One line for an error that ended the run: the error, and where its traceback is."""
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = "run with -vv to see its traceback"
    if error_log is not None:
        try:
            with open(error_log, "a", encoding="utf-8") as file:
                file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} the run stopped on an "
                           f"error in the manager:\n{text}")
            where = f"its traceback is in {error_log}"
        except OSError:
            pass
    if verbosity >= 2:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    _error(console, "error: the run stopped on an error in the manager:",
           RuntimeError(f"{type(exc).__name__}: {exc} ({where})"))
    return EXIT_STATUS["error"]


def _cmd_plugins(args: argparse.Namespace) -> int:
    from glompo_core import hookspecs
    from glompo_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    observers = (*hookspecs.SERVICE_HOOKS, *hookspecs.LIFECYCLE_HOOKS)
    rows = []
    for info in pm.plugins():
        row = info.as_dict()
        # aliases: kind -> name -> its other names (only names that have some)
        aliases: dict[str, dict[str, list[str]]] = {}
        for kind, names in info.components.items():
            for name in names:
                other_names = list(pm.info(kind, name).aliases)
                if other_names:
                    aliases.setdefault(kind, {})[name] = other_names
        # hooks: what the plugin does besides registering components (e.g. the scope)
        plugin = pm.hook_manager.get_plugin(info.name) if info.status == "active" else None
        callers = {c.name for c in pm.hook_manager.get_hookcallers(plugin) or ()} \
            if plugin is not None else set()
        row["aliases"] = aliases
        row["hooks"] = [hook for hook in observers if hook in callers]
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="GloMPO plugins")
    for col in ("plugin", "distribution", "version", "status"):
        table.add_column(col)
    table.add_column("provides", overflow="fold")
    for row in rows:
        lines = []
        for kind, names in row["components"].items():
            shown = [name if name not in row["aliases"].get(kind, {})
                     else f"{name} ({', '.join(row['aliases'][kind][name])})" for name in names]
            lines.append(f"{kind}: {', '.join(shown)}")
        for hook in row["hooks"]:
            doc = (getattr(hookspecs, hook).__doc__ or "").strip().splitlines()
            lines.append(f"hook {hook}" + (f": {doc[0].replace('``', '')}" if doc else ""))
        if row.get("commands"):
            lines.append(f"commands: {', '.join(row['commands'])}")
        status = row["status"] if not row["reason"] else f"{row['status']}: {row['reason']}"
        table.add_row(*(escape(cell) for cell in (row["name"], row["distribution"],
                                                  row["version"], status, "\n".join(lines))))
    Console().print(table)
    return 0


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
