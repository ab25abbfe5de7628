"""Opening ``glompo_log.h5`` when another process holds it: a clear error, or a snapshot.

HDF5 (1.10 and later) locks a file with ``flock`` when it opens it: exclusively to
write, shared to read. A second process then fails inside ``H5Fopen`` and PyTables
raises :class:`tables.HDF5ExtError` whose text holds HDF5's error stack, ending in
``unable to lock file, errno = 11, error message = 'Resource temporarily unavailable'``
(``errno`` 35 on macOS). The lock is only advisory: the bytes of the file can still be
read, and the only switch PyTables offers, ``HDF5_USE_FILE_LOCKING=FALSE``, is read by
HDF5 once, when the library starts, so it cannot be turned on for one file later.

- :func:`open_h5` opens a file as ``tables.open_file`` does, and turns a lock conflict
  into :class:`LogLockedError`: one line naming the process(es) holding the file open
  (pid and command line, found with :mod:`psutil`) and what to do.
- :func:`read_with` reads a file locked by a writer (a run in progress) from a
  snapshot of its bytes in memory (HDF5's ``core`` driver), which takes no lock; the
  rows written since the writer's last flush are missing. A snapshot that does not
  parse (taken in the middle of a flush) is taken again; a file larger than
  :data:`SNAPSHOT_MAX_BYTES` is not copied, and the error explains the alternatives.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from glompo_core.errors import GloMPOError

__all__ = ["SNAPSHOT_MAX_BYTES", "LogLockedError", "holders", "lock_error", "open_h5",
           "read_with"]

_log = logging.getLogger("glompo.hdf5")

_T = TypeVar("_T")

#: Largest log (bytes) read through an in-memory snapshot while another process holds it.
SNAPSHOT_MAX_BYTES = 2**30
#: Attempts at a snapshot that parses (one may be taken while the writer flushes).
SNAPSHOT_ATTEMPTS = 5

_ERRNO = re.compile(r"unable to lock file, errno = (\d+)")
#: errno values of a lock held by someone else (EWOULDBLOCK is EAGAIN on Linux and macOS).
_CONFLICT = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}
#: errno values of a file system that does not lock files at all.
_UNSUPPORTED = {errno.ENOLCK, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.ENOSYS)}


class LogLockedError(GloMPOError, OSError):
    """``glompo_log.h5`` is locked by another process.

    A :class:`~glompo_core.errors.GloMPOError` and an :class:`OSError`. The message is
    one line naming the path, the holding process(es) (pid and command line) and what to
    do; ``holders`` is the list of ``(pid, command line)`` found (empty when the holder
    cannot be seen: another user, or another host sharing the file system).
    """

    def __init__(self, message: str, path: Path, holders: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.path = path
        self.holders = holders

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def holders(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The processes that hold ``path`` open, as ``(pid, command line)``, by pid.

    Processes this user may not inspect are left out.
    """
    target = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(target)
        inode: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:
        inode = None
    import psutil

    found: list[tuple[int, str]] = []
    for proc in psutil.process_iter(["pid"]):
        try:
            files = proc.open_files()
            if not any(_same_file(f.path, target, inode) for f in files):
                continue
            cmdline = " ".join(proc.cmdline()) or proc.name()
        except psutil.Error:
            continue
        found.append((proc.pid, cmdline))
    return sorted(found)


def _same_file(name: str, target: str, inode: tuple[int, int] | None) -> bool:
    if name == target:
        return True
    if inode is None:
        return False
    try:
        st = os.stat(name)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == inode


def _describe(found: list[tuple[int, str]]) -> str:
    me = os.getpid()
    parts = []
    for pid, cmdline in found:
        text = cmdline if len(cmdline) <= 120 else cmdline[:117] + "..."
        parts.append(f"pid {pid} ({text})" + (" [this process]" if pid == me else ""))
    return ", ".join(parts)


def lock_error(exc: BaseException, path: str | os.PathLike[str], *, writing: bool
               ) -> OSError | None:
    """The clear error for an HDF5 error that is a failed file lock, else None.

    Parameters
    ----------
    exc
        The exception ``tables.open_file`` raised.
    path
        The file it opened.
    writing
        Whether it was opened to write (the advice differs).

    Returns
    -------
    OSError or None
        :class:`LogLockedError` for a lock held by another process; an :class:`OSError`
        explaining ``HDF5_USE_FILE_LOCKING`` for a file system without locks; None when
        ``exc`` is no lock failure.
    """
    match = _ERRNO.search(str(exc))
    if match is None:
        return None
    code = int(match.group(1))
    path = Path(path)
    if code in _UNSUPPORTED and code not in _CONFLICT:
        return OSError(code, f"{path} cannot be locked: its file system does not support file "
                             f"locks ({os.strerror(code)}); set HDF5_USE_FILE_LOCKING=FALSE in "
                             "the environment before starting Python, and make sure no other "
                             "process writes the file at the same time")
    if code not in _CONFLICT:
        return None
    found = holders(path)
    if found:
        who = f"it is open in {_describe(found)}"
        pids = " ".join(str(pid) for pid, _ in found if pid != os.getpid())
        end = f"end it (kill {pids}) if it is" if pids else "close it there if it is"
    else:
        who = ("the process holding it is not visible here (another user, or another host "
               "sharing the file system)")
        end = "end it if it is"
    if writing:
        todo = (f"wait for that run to end, or {end} left over from an interrupted run, "
                "then try again")
    else:
        todo = (f"wait for that run to end, or {end} left over from an interrupted run; "
                "or set HDF5_USE_FILE_LOCKING=FALSE in the environment before starting Python "
                "to read it without a lock")
    return LogLockedError(f"{path} is locked by another process: {who}; {todo}", path, found)


def open_h5(path: str | os.PathLike[str], mode: str, *, writing: bool | None = None,
            **kwargs: Any) -> Any:
    """``tables.open_file(path, mode, **kwargs)``, with :class:`LogLockedError` for a lock
    held by another process.

    Parameters
    ----------
    path
        The file.
    mode
        As for ``tables.open_file``.
    writing
        Whether the caller means to write the file (the advice of the error differs);
        default: ``mode != 'r'``.
    **kwargs
        Passed to ``tables.open_file``.

    Returns
    -------
    tables.File
        The open file.

    Raises
    ------
    LogLockedError
        Another process holds the file (names it, and says what to do).
    OSError
        The file system does not support locks (says how to open without them).
    """
    import tables

    try:
        return tables.open_file(os.fspath(path), mode, **kwargs)
    except tables.HDF5ExtError as exc:
        clear = lock_error(exc, path, writing=mode != "r" if writing is None else writing)
        if clear is None:
            raise
        raise clear from None


def read_with(path: str | os.PathLike[str], read: Callable[[Any], _T]) -> _T:
    """Open a log to read, and return ``read(file)``; from a snapshot in memory when another
    process holds the file.

    Parameters
    ----------
    path
        The ``glompo_log.h5`` file.
    read
        Reads what is wanted from the open ``tables.File`` (closed afterwards).

    Returns
    -------
    object
        What ``read`` returned.

    Raises
    ------
    LogLockedError
        The file is locked and larger than :data:`SNAPSHOT_MAX_BYTES`, or no snapshot of
        it could be read.
    """

    path = Path(path)
    try:
        h5 = open_h5(path, "r")
    except LogLockedError as locked:
        return _read_snapshot(path, locked, read)
    with h5:
        return read(h5)


def _read_snapshot(path: Path, locked: LogLockedError, read: Callable[[Any], _T]) -> _T:
    """``read`` an in-memory copy of ``path`` (no lock taken), or raise ``locked``."""
    import tables

    size = path.stat().st_size
    if size > SNAPSHOT_MAX_BYTES:
        raise LogLockedError(f"{locked} (the file, {size / 2**20:.0f} MiB, is too large to "
                             "read from a copy in memory)", locked.path,
                             locked.holders) from None
    last: BaseException | None = None
    for attempt in range(SNAPSHOT_ATTEMPTS):
        if attempt:
            time.sleep(0.05 * attempt)
        image = path.read_bytes()
        try:
            with tables.open_file(f"{path}.snapshot", "r", driver="H5FD_CORE",
                                  driver_core_image=image, driver_core_backing_store=0) as h5:
                result = read(h5)
        except tables.HDF5ExtError as exc:  # copied in the middle of a write
            last = exc
            continue
        _log.warning("%s is being written by %s: read a copy taken now (the rows of the "
                     "last moments may be missing)", path,
                     _describe(locked.holders) or "another process")
        return result
    raise LogLockedError(f"{locked} (no copy of it could be read either: "
                         f"{str(last).strip().splitlines()[-1] if last else ''})",
                         locked.path, locked.holders) from None
