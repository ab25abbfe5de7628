"""The ``glompo run`` and ``glompo resume`` commands.

Their options, building the manager (from a run file, or from a checkpoint), the live
progress display and the result. The exit status of both is
:data:`glompo_core.errors.EXIT_STATUS` of the run's end state; :func:`exit_status_help`
is its table (public as :func:`glompo_core.cli.exit_status_help`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from glompo_core._cli_logging import _CliLogging, _error, _manager_error
from glompo_core.errors import EXIT_STATUS, GloMPOError, RunFileError, UnknownComponentError

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
    # the file has no opt_selector: say whose portfolio runs (once: at -v the runfile
    # logger's INFO record says it on the console already)
    if manager.default_portfolio is not None and \
            not logging.getLogger("glompo.runfile").isEnabledFor(logging.INFO):
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
