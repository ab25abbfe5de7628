"""The lock a run holds on its working directory.

A run (a manager from :meth:`~glompo_core.GloMPOManager.setup` or
:meth:`~glompo_core.GloMPOManager.load_checkpoint` until its run ends or it is closed)
holds ``<working_dir>/.glompo.lock``, so a second run in the same directory is refused
before it deletes or writes anything, whatever its ``overwrite_existing``.

How the lock works
------------------
- On POSIX the lock is a record lock (``fcntl.lockf``, ``F_SETLK``) on the whole lock
  file. The operating system drops it when its process ends, however it ends (SIGKILL
  included), so a lock file left by a dead run is no obstacle. Record locks are not
  inherited by forked children, so worker processes that outlive their manager do not
  keep the directory locked.
- Record locks do not conflict within one process: a registry of the directories this
  process holds refuses a second manager of the same process too.
- A record lock is dropped when its process closes *any* descriptor of the lock file:
  GloMPO never opens the lock file of a directory its own process holds, and nor should
  you.
- Where ``fcntl`` is missing (Windows), the `filelock <https://pypi.org/project/filelock>`_
  package locks the file instead (the system drops that lock with its process too), and
  the holder's details go to ``.glompo.lock.holder`` beside it.
- The holder writes its pid, host, command line and start time into the lock file (JSON),
  so the refusal says who holds the directory. A released lock's file is removed; a lock
  file found after a crash is simply taken over.
- On a file system without lock support (``ENOLCK``, ``ENOTSUP``) the run goes on with a
  warning, protected only against managers of its own process.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import itertools
import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

from glompo_core.errors import WorkingDirLockedError

__all__ = ["LOCK_NAME", "WorkingDirLock", "lock_working_dir", "read_holder"]

_log = logging.getLogger("glompo.workdir")

#: Name of the lock file in the working directory.
LOCK_NAME = ".glompo.lock"
_HOLDER_SUFFIX = ".holder"  # the holder's details when the lock file itself is locked (Windows)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Lock with ``fcntl.lockf`` (POSIX); else with the ``filelock`` package.
_USE_FCNTL = fcntl is not None

#: errnos of a file system that does not support record locks: the run goes on unlocked
_UNSUPPORTED = {errno.ENOLCK, errno.EINVAL, getattr(errno, "ENOTSUP", -1),
                getattr(errno, "EOPNOTSUPP", -1)}

# directories held by this process: directory key -> (token, holder details)
_HELD: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}
_HELD_LOCK = threading.Lock()
_TOKENS = itertools.count(1)


def _dir_key(directory: Path) -> tuple[int, int]:
    """The directory's identity (device, inode): every path to it gives the same key."""
    st = os.stat(directory)
    return st.st_dev, st.st_ino


def _holder_details(directory: Path) -> dict[str, Any]:
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": shlex.join(argv),
            "started": datetime.now().isoformat(timespec="seconds"),
            "working_dir": str(directory)}


def read_holder(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The details the holder of ``directory``'s lock wrote, or None if there are none.

    Never call this for a directory the calling process holds: closing the file it
    opens would drop the process's record lock (use the manager's own details).
    """
    directory = Path(directory)
    for name in (LOCK_NAME + _HOLDER_SUFFIX, LOCK_NAME):
        try:
            text = (directory / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process (its pid and host could not be read from the lock file)"
    text = f"pid {holder.get('pid')} on host {holder.get('host')}"
    details = []
    if holder.get("command"):
        details.append(f"command: {holder['command']}")
    if holder.get("started"):
        details.append(f"since {holder['started']}")
    return text + (f" ({', '.join(details)})" if details else "")


def _release(fd: int | None, other: Any, path: Path, holder_path: Path | None,
             key: tuple[int, int], token: int, owner: int) -> None:
    """Release a lock (a finalizer: it refers to no WorkingDirLock).

    In a forked child (``owner`` is its parent) it does nothing: the child holds no lock,
    and removing the file would free the directory while its parent runs.
    """
    if os.getpid() != owner:
        return
    try:
        if fd is not None:  # fcntl: remove the file while still holding it, then unlock
            with contextlib.suppress(OSError):
                if os.path.exists(path) and os.path.samestat(os.fstat(fd), os.stat(path)):
                    os.unlink(path)
            os.close(fd)
        if other is not None:  # filelock
            if holder_path is not None:
                with contextlib.suppress(OSError):
                    holder_path.unlink()
            other.release()
    except Exception:  # a finalizer must not raise; the process's end releases it anyway
        _log.debug("releasing the lock of %s failed", path.parent, exc_info=True)
    finally:
        with _HELD_LOCK:
            if _HELD.get(key, (None,))[0] == token:
                del _HELD[key]


class WorkingDirLock:
    """The lock of one run on its working directory.

    Build it with :func:`lock_working_dir`. The lock is released by :meth:`release`, when
    the object is garbage-collected, at interpreter exit, or by the operating system when
    the process dies.

    Parameters
    ----------
    directory
        The working directory (must exist).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self.details: dict[str, Any] = {}
        self._finalizer: weakref.finalize | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the directory."""
        return self._finalizer is not None and self._finalizer.alive

    def acquire(self) -> None:
        """Take the directory, or raise if another run holds it.

        Raises
        ------
        WorkingDirLockedError
            Another manager (of this or another process) holds the directory.
        PermissionError
            The lock file cannot be created: the directory is not writable.
        """
        if self.held:
            return
        key = _dir_key(self.directory)
        holder: dict[str, Any] = {}
        for attempt in range(2):
            with _HELD_LOCK:
                mine = _HELD.get(key)
                if mine is None:
                    self._acquire_os_lock(key)
                    return
                holder = mine[1]
            if attempt == 0:  # a manager nobody refers to any more still holds it: collect it
                gc.collect()
        raise WorkingDirLockedError(
            f"working_dir {self.directory} is in use by another GloMPO manager of this process "
            f"({_describe(holder)}); nothing was deleted. Let its run end or call its close() "
            "to release the directory, or choose another working_dir")

    def _acquire_os_lock(self, key: tuple[int, int]) -> None:
        """Take the OS lock and register it (called under _HELD_LOCK)."""
        details = _holder_details(self.directory)
        token = next(_TOKENS)
        if _USE_FCNTL:
            fd = self._lockf()
            if fd is not None:
                try:
                    data = json.dumps(details).encode()
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, data, 0)
                    os.fsync(fd)
                except OSError:
                    os.close(fd)
                    raise
            self._finalizer = weakref.finalize(self, _release, fd, None, self.path, None, key,
                                               token, details["pid"])
        else:
            other = self._filelock()
            holder_path = self.path.with_name(LOCK_NAME + _HOLDER_SUFFIX)
            try:
                holder_path.write_text(json.dumps(details), encoding="utf-8")
            except OSError:
                other.release()
                raise
            self._finalizer = weakref.finalize(self, _release, None, other, self.path,
                                               holder_path, key, token, details["pid"])
        self.details = details
        _HELD[key] = (token, details)
        _log.debug("working_dir %s locked (pid %d)", self.directory, details["pid"])

    def _lockf(self) -> int | None:
        """The descriptor of the lock file, record-locked; None if the file system has no
        locks."""
        assert fcntl is not None
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except PermissionError as exc:
                raise self._unwritable(exc) from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    raise self._locked_by_other() from None
                if exc.errno in _UNSUPPORTED:
                    _log.warning("the file system of %s does not support file locks (%s): "
                                 "another run could use this working_dir at the same time",
                                 self.directory, exc.strerror)
                    return None
                raise
            # the file may have been removed (a holder releasing it) since it was opened:
            # a lock on a removed file locks nothing, so try again on the new one
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)
        raise WorkingDirLockedError(f"the lock file {self.path} keeps being replaced; "
                                    "another program is removing it")

    def _filelock(self) -> Any:
        """The lock of the ``filelock`` package (where fcntl is missing), acquired."""
        try:
            import filelock
        except ImportError:
            raise ImportError("locking the working directory needs the 'filelock' package on "
                              "this platform: pip install filelock") from None
        other = filelock.FileLock(str(self.path))
        try:
            other.acquire(timeout=0)
        except filelock.Timeout:
            raise self._locked_by_other() from None
        except PermissionError as exc:
            raise self._unwritable(exc) from None
        return other

    def _locked_by_other(self) -> WorkingDirLockedError:
        holder = read_holder(self.directory)
        for _ in range(20):  # the holder writes its details just after locking
            if holder:
                break
            time.sleep(0.05)
            holder = read_holder(self.directory)
        where = ""
        if holder and holder.get("host") not in (None, socket.gethostname()):
            where = " (another machine, through a shared file system)"
        stop = ""
        if holder and holder.get("pid"):
            stop = f" or stop it (kill {holder['pid']} on {holder.get('host')}{where})"
        return WorkingDirLockedError(
            f"working_dir {self.directory} is in use by another GloMPO run: {_describe(holder)}; "
            f"nothing was deleted. Wait for that run to end{stop}, or choose another "
            "working_dir")

    def _unwritable(self, exc: OSError) -> PermissionError:
        return PermissionError(f"working_dir {self.directory} cannot be written (creating "
                               f"{LOCK_NAME} failed: {exc.strerror}); choose a directory you "
                               f"can write to, or fix its permissions (chmod u+w "
                               f"{self.directory})")

    def release(self) -> None:
        """Release the directory (does nothing if it is not held)."""
        if self._finalizer is not None:
            self._finalizer()
            _log.debug("working_dir %s released", self.directory)

    def __enter__(self) -> WorkingDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<WorkingDirLock {self.directory} {'held' if self.held else 'free'}>"


def lock_working_dir(directory: str | os.PathLike[str]) -> WorkingDirLock:
    """Create ``directory`` if needed and take its lock for the calling run.

    Parameters
    ----------
    directory
        The run's working directory.

    Returns
    -------
    WorkingDirLock
        The held lock; keep it for the run's life and :meth:`~WorkingDirLock.release` it
        when the run ends.

    Raises
    ------
    WorkingDirLockedError
        Another run (of this or another process) holds the directory; the message names
        its pid and host.
    NotADirectoryError
        ``directory`` exists and is not a directory.
    PermissionError
        The directory cannot be written.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"working_dir {path} exists and is not a directory; "
                                 "choose another working_dir")
    path.mkdir(parents=True, exist_ok=True)
    lock = WorkingDirLock(path)
    lock.acquire()
    return lock
