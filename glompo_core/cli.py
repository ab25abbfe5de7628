"""The ``glompo`` command.

``glompo run RUN.yml``
    Run the optimization a run file describes, with a live progress display.
``glompo plugins [--json]``
    The installed plugins, their status and the components they register.
``glompo log summary FILE.h5 [--json]``
    Per-optimizer figures of an HDF5 log (``summary_files=3``; needs glompo-hdf5).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from glompo_core._version import __version__
from glompo_core.errors import GloMPOError, RunFileError, UnknownComponentError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``glompo`` (its help is the CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="glompo",
        description="GloMPO: run many black-box optimizers at once on one expensive problem.")
    parser.add_argument("--version", action="version", version=f"glompo-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run the optimization described by a YAML run file",
                         description="Run the optimization described by a YAML run file. "
                                     "Keys are the arguments of GloMPOManager.setup().")
    run.add_argument("run_file", help="the YAML run file")
    run.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY=VALUE",
                     help="override a setting of the file (value in YAML; dotted keys "
                          "reach into mappings, e.g. task_kwargs.dims=10); repeatable")
    run.add_argument("--no-progress", action="store_true",
                     help="no live progress display")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="log more (-v: info, -vv: debug)")

    resume = sub.add_parser("resume", help="resume a run from a checkpoint",
                            description="Resume a run from a checkpoint tarball. A checkpoint "
                                        "is a pickle: load only files you trust.")
    resume.add_argument("checkpoint", help="the checkpoint (.tar.gz)")
    resume.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a setting (value in YAML), e.g. max_jobs=8, "
                             "working_dir=elsewhere, exit_conditions='MaxFuncCalls(fmax=100000)'")
    resume.add_argument("--no-progress", action="store_true", help="no live progress display")
    resume.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")

    chk = sub.add_parser("checkpoint", help="inspect checkpoints",
                         description="Inspect checkpoints without loading them.")
    chk_sub = chk.add_subparsers(dest="checkpoint_command", metavar="SUBCOMMAND")
    chk_sub.required = True
    info = chk_sub.add_parser("info", help="print a checkpoint's manifest")
    info.add_argument("file", help="the checkpoint (.tar.gz)")
    info.add_argument("--json", action="store_true", help="the manifest as JSON")

    plugins = sub.add_parser("plugins", help="list installed plugins and their components",
                             description="List installed plugins, their status and the "
                                         "components they register.")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    log = sub.add_parser("log", help="inspect HDF5 logs (summary_files=3)",
                         description="Inspect the HDF5 log of a run (glompo_log.h5, written "
                                     "with summary_files=3); needs the glompo-hdf5 plugin.")
    log_sub = log.add_subparsers(dest="log_command", metavar="SUBCOMMAND")
    log_sub.required = True
    summary = log_sub.add_parser("summary", help="per-optimizer evaluations, best fx, type "
                                                 "and end condition")
    summary.add_argument("file", help="the log file (glompo_log.h5)")
    summary.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _configure_logging(verbosity: int, console: Any) -> Callable[[], None]:
    """Send the ``glompo`` loggers to ``console``; returns a function undoing it."""
    from rich.logging import RichHandler

    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 \
        else logging.DEBUG
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("glompo")
    saved = (list(root.handlers), root.level, root.propagate)

    def restore() -> None:
        root.handlers, root.level, root.propagate = saved[0], saved[1], saved[2]

    root.handlers = [handler]
    root.setLevel(level)
    root.propagate = False
    return restore


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
        table.add_row("best fx", best)
        table.add_row("optimizers", f"{s['alive']} alive, {s['started']} started, "
                                    f"{s['stopped']} stopped, {s['converged']} converged, "
                                    f"{s['crashed']} crashed")
        table.add_row("elapsed", f"{s['elapsed']:.1f} s")
        return table


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(file=sys.stderr)
    restore_logging = _configure_logging(args.verbose, console)
    try:
        return _run(args, console)
    finally:
        restore_logging()


def _build_from_run_file(args: argparse.Namespace) -> Any:
    from glompo_core.manager import GloMPOManager
    from glompo_core.runfile import load_run_file

    kwargs = load_run_file(args.run_file, args.overrides)
    return GloMPOManager.new_manager(**kwargs)


def _build_from_checkpoint(args: argparse.Namespace) -> Any:
    import yaml

    from glompo_core.manager import GloMPOManager

    overrides: dict[str, Any] = {}
    for item in args.overrides:
        if "=" not in item:
            raise RunFileError(f"--set {item!r}: write key=value")
        key, raw = item.split("=", 1)
        try:
            overrides[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            overrides[key.strip()] = raw
    return GloMPOManager.load_manager(args.checkpoint, **overrides)


def _cmd_resume(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(file=sys.stderr)
    restore_logging = _configure_logging(args.verbose, console)
    try:
        return _run(args, console, _build_from_checkpoint, str(args.checkpoint))
    finally:
        restore_logging()


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
    plugins = ", ".join(f"{k} {v}" for k, v in manifest.get("plugins", {}).items())
    out.print(f"[bold]plugins:[/] {escape(plugins)}")
    for opt in manifest.get("optimizers", []):
        out.print(f"  optimizer {opt['opt_id']}: {escape(str(opt['type']))} "
                  f"({opt['status']}, restart: {opt['restart']})")
    out.print(f"[bold]members:[/] {len(manifest.get('members', {}))}")
    return 0


def _run(args: argparse.Namespace, console: Any, build: Any = _build_from_run_file,
         source: str | None = None) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.markup import escape

    from glompo_core.errors import CheckpointingError

    source = source or str(getattr(args, "run_file", ""))
    try:
        manager = build(args)
    except (RunFileError, UnknownComponentError, FileExistsError, CheckpointingError) as exc:
        return _error(console, "error:", exc)
    except (ValueError, TypeError, GloMPOError, OSError) as exc:
        return _error(console, f"error in {source}:", exc)
    show = not args.no_progress
    t0 = time.time()
    if show:
        with Live(_Progress(manager), console=console, refresh_per_second=4,
                  redirect_stdout=False, redirect_stderr=False, transient=False):
            result = manager.start_manager()
        if not console.is_terminal:
            console.line()  # end the last frame's line before the result is printed
    else:
        result = manager.start_manager()
    out = Console(soft_wrap=True, highlight=False)
    x = None if result.x is None else [float(v) for v in result.x]
    lines = [("best fx", repr(result.fx)), ("x", None if x is None else str(x)),
             ("found by", str(result.origin)),
             ("evaluations", f"{manager.f_counter}   [bold]optimizers:[/] {manager.o_counter}"
                             f"   [bold]time:[/] {time.time() - t0:.1f} s"),
             ("ended", (manager.exit_reason or "").replace(chr(10), " ")),
             ("outputs in", str(manager.working_dir) if manager.summary_files else None)]
    for label, text in lines:
        if text is not None:
            body = text if label == "evaluations" else escape(text)
            out.print(f"[bold]{label}:[/] {body}")
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from glompo_core.plugins import get_plugin_manager

    infos = get_plugin_manager().plugins()
    if args.json:
        print(json.dumps([info.as_dict() for info in infos], indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="GloMPO plugins")
    for col in ("plugin", "distribution", "version", "status", "components"):
        table.add_column(col)
    for info in infos:
        comps = "\n".join(f"{kind}: {', '.join(names)}"
                          for kind, names in info.components.items())
        status = info.status if not info.reason else f"{info.status}: {info.reason}"
        table.add_row(*(escape(cell) for cell in (info.name, info.distribution, info.version,
                                                  status, comps)))
    Console().print(table)
    return 0


def _cmd_log(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    err = Console(file=sys.stderr)
    try:
        from glompo_hdf5.reader import summarize_log
    except ImportError:
        return _error(err, "error:", ImportError(
            "reading HDF5 logs needs the glompo-hdf5 plugin, which is not installed: "
            "pip install glompo-hdf5"))
    try:
        summary = summarize_log(args.file)
    except FileNotFoundError as exc:
        return _error(err, "error:", exc)
    except Exception as exc:  # not an HDF5 file, or not a GloMPO log
        return _error(err, f"error: {args.file} cannot be read as a GloMPO log:", exc)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    table = Table(title=f"{args.file}: {summary['evaluations']:,} evaluations, checksum "
                        f"{summary['checksum']}")
    for col, justify in (("opt", "right"), ("type", "left"), ("evaluations", "right"),
                         ("best fx", "right"), ("at call", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("end condition", overflow="fold")
    for row in summary["optimizers"]:
        best = "--" if row["best_fx"] is None else f"{row['best_fx']:.8g}"
        table.add_row(str(row["opt_id"]), escape(str(row["type"] or "?")),
                      f"{row['evaluations']:,}", best,
                      "--" if row["best_call_id"] is None else str(row["best_call_id"]),
                      escape(str(row["end_cond"] or "--")))
    out = Console(soft_wrap=True)
    out.print(table)
    best = summary["best"]
    if best is not None:
        out.print(f"[bold]best:[/] fx={best['fx']:.10g} (optimizer {best['opt_id']}, "
                  f"call {best['call_id']})", highlight=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glompo`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    commands = {"run": _cmd_run, "plugins": _cmd_plugins, "resume": _cmd_resume,
                "checkpoint": _cmd_checkpoint, "log": _cmd_log}
    try:
        return commands[args.command](args)
    except BrokenPipeError:
        # The reader of the output left (``glompo plugins --json | head``): stop quietly,
        # with stdout pointed at devnull so the interpreter's final flush cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
