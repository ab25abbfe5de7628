"""The ``glompo`` command's output: its loggers, a run's error log and one-line errors.

While a command runs, records go to the console (one line each, at ``-v`` and below)
and the tracebacks of logged exceptions to ``WORKING_DIR/glompo_error.log``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from glompo_core.errors import EXIT_STATUS

#: The file beside a run's outputs that holds the traceback of a manager error.
ERROR_LOG = "glompo_error.log"


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
