"""Keep chosen files away from forked child processes.

A process started with ``fork`` inherits every open file descriptor of its parent, and
with it every ``flock`` the parent holds: HDF5 locks ``glompo_log.h5`` with ``flock``, so
an evaluation worker forked while the log is open holds the log's lock as long as it
lives, and a worker that outlives its manager keeps the log locked for every later
``glompo resume`` or ``glompo log summary``.

:func:`keep_from_children` registers a path; in every child forked afterwards (by
:func:`os.fork`, hence by :mod:`multiprocessing`'s ``fork`` start method) the descriptors
that refer to that file are replaced by ``/dev/null`` right after the fork, before the
child runs anything else. The descriptor *number* stays taken, so a library in the child
that still believes the file open (HDF5) never writes into a file the child opens later
under the same number; the *file* and its lock are no longer shared with the child.
:func:`allow_in_children` removes the registration.

Files are matched by device and inode (``os.fstat`` of each descriptor against
``os.stat`` of the registered path, taken in the child), so a path reached through
another name or a symbolic link is matched too, and a file replaced under the same name
(``os.replace``) is matched as it is at the time of the fork. Descriptors are listed from
``/proc/self/fd`` where it exists, else with :mod:`psutil`.

``spawn`` and ``forkserver`` children, and :mod:`subprocess` children, inherit no
descriptors Python does not pass on purpose, and need none of this.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["allow_in_children", "close_kept_files", "keep_from_children", "kept_paths"]

_lock = threading.Lock()
_counts: dict[str, int] = {}
#: What the child reads: replaced as a whole under ``_lock`` by the parent, read without
#: any lock in the child (a lock held by another thread at the fork would never be freed).
_kept: tuple[str, ...] = ()
_hook_installed = False


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def keep_from_children(path: str | os.PathLike[str]) -> None:
    """Close ``path`` in every child process forked from now on.

    Registrations are counted: each call needs one :func:`allow_in_children`.

    Parameters
    ----------
    path
        The file (it need not exist yet: it is looked up at each fork).

    Examples
    --------
    >>> keep_from_children("run/glompo_log.h5")  # doctest: +SKIP
    >>> allow_in_children("run/glompo_log.h5")  # doctest: +SKIP
    """
    global _kept, _hook_installed
    key = _key(path)
    with _lock:
        if not _hook_installed and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=close_kept_files)
            _hook_installed = True
        _counts[key] = _counts.get(key, 0) + 1
        _kept = tuple(_counts)


def allow_in_children(path: str | os.PathLike[str]) -> None:
    """Undo one :func:`keep_from_children` of ``path`` (nothing happens if none is left).

    Parameters
    ----------
    path
        The path given to :func:`keep_from_children` (or another name of it).
    """
    global _kept
    key = _key(path)
    with _lock:
        count = _counts.get(key, 0)
        if count <= 1:
            _counts.pop(key, None)
        else:
            _counts[key] = count - 1
        _kept = tuple(_counts)


def kept_paths() -> tuple[str, ...]:
    """The registered paths (resolved), in registration order."""
    return _kept


def _open_fds() -> list[int]:
    """This process's open descriptors (may include one that closed meanwhile)."""
    proc_fd = Path("/proc/self/fd")
    if proc_fd.is_dir():
        try:
            return [int(name) for name in os.listdir(proc_fd)]
        except OSError:
            pass
    import psutil

    return [f.fd for f in psutil.Process().open_files() if f.fd >= 0]


def close_kept_files() -> int:
    """Replace every descriptor of a registered file by ``/dev/null``.

    Run in each forked child by :func:`os.register_at_fork`; callable directly.

    Returns
    -------
    int
        The number of descriptors replaced.
    """
    paths = _kept
    if not paths:
        return 0
    wanted: set[tuple[int, int]] = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        wanted.add((st.st_dev, st.st_ino))
    if not wanted:
        return 0
    replaced = 0
    null = -1
    try:
        for fd in _open_fds():
            try:
                st = os.fstat(fd)
            except OSError:
                continue  # closed meanwhile (e.g. the descriptor that listed the directory)
            if (st.st_dev, st.st_ino) not in wanted:
                continue
            if null < 0:
                null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, fd, inheritable=False)
            replaced += 1
    finally:
        if null >= 0:
            os.close(null)
    return replaced
