"""GloMPO hook implementations of glompo-hdf5 (the ``hdf5`` entry point of group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
:mod:`tables` nor :mod:`glompo_hdf5.filelogger`: the logger class is imported when the
registration hook runs, and it imports :mod:`tables` only when a log file is opened.
The ``glompo log`` command (:mod:`glompo_hdf5.cli`) reads logs only when it runs.
"""

from __future__ import annotations

from collections.abc import Callable

from glompo_core import hookimpl

__all__ = ["glompo_register_commands", "glompo_register_loggers"]


@hookimpl
def glompo_register_loggers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_hdf5.filelogger.FileLogger` as ``FileLogger`` (alias ``hdf5``)."""
    from glompo_hdf5.filelogger import FileLogger

    register("FileLogger", FileLogger, aliases=("hdf5",))


@hookimpl
def glompo_register_commands(register: Callable[..., None]) -> None:
    """Register ``glompo log`` (:mod:`glompo_hdf5.cli`): ``glompo log summary FILE.h5``."""
    from glompo_hdf5 import cli

    register("log", cli.run, help=cli.HELP, description=cli.DESCRIPTION,
             configure=cli.configure)
