"""``glompo log``: the command of glompo-hdf5, added to ``glompo`` through a hook.

``glompo log summary FILE.h5 [--json]`` prints the per-optimizer figures of an HDF5 log
(``summary_files=3``). :func:`configure` and :func:`run` are what the hook
``glompo_register_commands`` in :mod:`glompo_hdf5.hooks` registers. Importing this
module imports neither :mod:`tables` nor the reader: :func:`run` does, when it reads.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from glompo_core.errors import GloMPOError

__all__ = ["DESCRIPTION", "HELP", "configure", "run"]

HELP = "inspect HDF5 logs (summary_files=3)"
DESCRIPTION = ("Inspect the HDF5 log of a run (glompo_log.h5, written with summary_files=3); "
               "needs the glompo-hdf5 plugin.")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the subcommands of ``glompo log`` to its parser.

    Parameters
    ----------
    parser
        The parser of ``glompo log``, made by the ``glompo`` command.
    """
    log_sub = parser.add_subparsers(dest="log_command", metavar="SUBCOMMAND")
    log_sub.required = True
    summary = log_sub.add_parser("summary", help="per-optimizer evaluations, best fx, type "
                                                 "and end condition")
    summary.add_argument("file", help="the log file (glompo_log.h5)")
    summary.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Run ``glompo log summary``: a table (or JSON) of the log's optimizers.

    Parameters
    ----------
    args
        The parsed command line (``file``, ``json``).

    Returns
    -------
    int
        0; a missing, locked or unreadable file raises
        :class:`~glompo_core.errors.GloMPOError`, which ``glompo`` prints as one line
        (exit status 2).
    """
    from glompo_hdf5.reader import summarize_log

    try:
        summary = summarize_log(args.file)
    except GloMPOError:  # e.g. locked by a process: its message says by which
        raise
    except FileNotFoundError as exc:
        raise GloMPOError(str(exc)) from exc
    except Exception as exc:  # not an HDF5 file, or not a GloMPO log
        raise GloMPOError(f"{args.file} cannot be read as a GloMPO log: {exc}") from exc
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    _print_table(args.file, summary)
    return 0


def _print_table(file: str, summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{file}: {summary['evaluations']:,} evaluations "
                        f"({summary.get('failed', 0):,} failed), checksum "
                        f"{summary['checksum']}")
    for col, justify in (("opt", "right"), ("type", "left"), ("evaluations", "right"),
                         ("failed", "right"), ("best fx", "right"), ("at call", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("end condition", overflow="fold")
    for row in summary["optimizers"]:
        best = "--" if row["best_fx"] is None else f"{row['best_fx']:.8g}"
        table.add_row(str(row["opt_id"]), escape(str(row["type"] or "?")),
                      f"{row['evaluations']:,}", f"{row.get('failed', 0):,}", best,
                      "--" if row["best_call_id"] is None else str(row["best_call_id"]),
                      escape(str(row["end_cond"] or "--")))
    out = Console(soft_wrap=True)
    out.print(table)
    best = summary["best"]
    if best is not None:
        out.print(f"[bold]best:[/] fx={best['fx']:.10g} (optimizer {best['opt_id']}, "
                  f"call {best['call_id']})", highlight=False)
