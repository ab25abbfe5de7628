"""FileLogger: GloMPO's in-memory log plus every evaluation written to ``glompo_log.h5``.

The manager builds it for ``summary_files=3``. It keeps :class:`BaseLogger`'s in-memory
behaviour (the stoppers read it, windowed) and also writes every row, message and piece
of metadata to an HDF5 file with PyTables, in the layout of the GloMPO reference::

    /                          manager metadata (attributes), checksum, glompo_log_format
    /optimizer_<id>            optimizer metadata (attributes): type, t_start, t_end,
                               end_cond, init_kwargs, x0, ...
    /optimizer_<id>/messages   VLArray of UTF-8 strings (one row per message)
    /optimizer_<id>/iter_history
                               Table: call_id (int64), x (float64, shape (n_parms,)),
                               fx (float64), then one column per extra value of a
                               detailed call

Threads
-------
``put_iteration``, ``put_message`` and ``put_metadata`` are called from the optimizers'
threads; they only append to pending buffers (guarded by the logger's own lock).
All HDF5 I/O happens in :meth:`FileLogger.flush` (and ``open``, ``truncate_after``,
``full_history``, ``close``), which the manager calls from its own thread about every
50 ms; every call holds an I/O lock, so PyTables is never entered by two threads at
once. ``flush`` swaps the buffers, appends the rows and calls ``File.flush()``.

Killed runs
-----------
A process killed at any moment (``SIGKILL``) leaves a file that PyTables and h5py open,
holding every row up to the last flush. HDF5 has no journal, so this rests on how the
file is written while the run goes on:

- :meth:`FileLogger.flush` is the only writer, and ends with a file flush;
- the tables are written **without compression** while the run goes on. Every flush
  appends to the last, partial chunk of each table; a compressed chunk then changes size
  and is written elsewhere, and a kill during that rewrite (before the file's index is
  flushed) leaves the index pointing at space reused by other data: in a busy run about
  one kill in twelve left an unreadable chunk. Uncompressed chunks are rewritten in place
  with their earlier rows unchanged, so the last flushed state stays valid;
- :meth:`FileLogger.close` then compresses the finished file (zlib level 1 with byte
  shuffle by default) into a temporary file and renames it over ``glompo_log.h5``, so a
  kill during compression leaves the uncompressed file. ``open(path, 'a')`` rewrites a
  compressed file uncompressed before appending to it.

Rows never written (a kill while extending a table) read back with the fill value
``call_id = -1``; :func:`glompo_hdf5.read_log` drops them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from glompo_core._fork_safety import allow_in_children, keep_from_children
from glompo_core.errors import CheckpointingError
from glompo_core.optimizerlogger import BaseLogger
from glompo_hdf5 import _resume
from glompo_hdf5._locks import read_with
from glompo_hdf5._schema import (
    CHUNK_MAX_BYTES,
    CHUNK_MIN_BYTES,
    Batch,
    TableWriter,
    chunk_rows,
    read_track,
    tables_module,
)
from glompo_hdf5._writer import Swap, TableLayout, sync, write_swap

if TYPE_CHECKING:
    import tables

__all__ = ["CHUNK_MAX_BYTES", "CHUNK_MIN_BYTES", "FileLogger", "chunk_rows"]

_log = logging.getLogger("glompo.hdf5")

#: Attributes of a FileLogger that belong to the open file and the running session;
#: they are not saved in checkpoints and are rebuilt by ``_init_runtime``.
_RUNTIME_ATTRS = ("_file", "_lock", "_cond", "_io_lock", "_accepting", "_flushing", "_rows",
                  "_n_pending", "_dirty_meta", "_dirty_msgs", "_dirty_manager",
                  "_msgs_written", "_writers", "_warned")


class FileLogger(BaseLogger):
    """The in-memory log of :class:`BaseLogger`, plus every row written to an HDF5 file.

    Parameters
    ----------
    n_parms
        Number of parameters of the optimization problem (the shape of column ``x``).
    expected_rows
        The manager's estimate of the number of rows; sets the chunk size of the tables
        (see :func:`chunk_rows`).
    build_traj_plot
        Keep every evaluation in memory too. The manager passes False: trajectory plots
        read the rows back from the file (:meth:`full_history`).
    window
        Rows per optimizer kept in memory for the stoppers (None: all).

    Notes
    -----
    The file is written only between :meth:`open` and :meth:`close`; rows recorded while
    no file is open stay in memory only.

    *Metadata* (the manager's and each optimizer's) is stored as HDF5 attributes:
    strings, numbers and numeric lists natively, nested dicts and anything else as YAML
    text (listed in the attribute ``glompo_yaml_attrs``); see :mod:`glompo_hdf5._format`.

    *Extra columns* of a detailed call are typed from the first batch of values: numbers
    (bool, int, float) become ``float64`` columns, numeric arrays a ``float64`` column of
    that shape, strings (and any other object, through ``str``) a UTF-8 ``StringCol`` of
    width ``max(min_string_width, 2 * longest first value)`` bytes. A later string longer
    than the width is truncated to it, a warning is logged once per column and the column
    is listed in the table attribute ``truncated_columns``; a later value that does not
    fit a numeric column is stored as NaN (also warned once).

    *Compression*: the finished file uses ``tables.Filters(complevel=1, complib="zlib",
    shuffle=True)`` (class attributes ``complevel`` and ``complib``; ``complevel = 0``
    keeps it uncompressed): zlib and shuffle are built into every HDF5, so h5py, HDFView
    and ``h5dump`` read the file without plugins (Blosc needs ``hdf5plugin`` for h5py, and
    compresses random floats no better). While the run goes on, the tables are written
    uncompressed (see the module docstring: killed runs); :meth:`close` compresses them.
    *Chunks* are :func:`chunk_rows` rows long, from ``expected_rows``.

    *Back-pressure*: while a flush is writing, an optimizer thread whose batch brings the
    pending rows over ``max_pending_bytes`` waits (at most ``max_block_seconds``) for the
    flush to finish, so a writer slower than the optimizers slows them down instead of
    growing memory. It never waits when no flush is running: the manager's thread may be
    waiting for the manager's lock that the optimizer holds, and waiting would only stall.
    Between flushes, the buffer holds what the optimizers produce in one manager loop.

    Examples
    --------
    The manager makes these calls during a run; here by hand, into a temporary directory.
    Rows are buffered until :meth:`flush` (or :meth:`close`) writes them:

    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from glompo_hdf5 import FileLogger, read_log
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "glompo_log.h5"
    >>> log = FileLogger(n_parms=2)
    >>> log.open(path, "w", checksum="run-1")
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.array([1, 2]), np.array([[0.0, 1.0], [0.5, 0.5]]),
    ...                   np.array([1.0, 0.25]))
    >>> len(log), log.is_open
    (2, True)
    >>> log.close()
    >>> data = read_log(path)
    >>> data.checksum, data.n_evaluations, data.optimizers[1].type
    ('run-1', 2, 'RandomOptimizer')
    >>> data.best()["fx"]
    0.25

    A file holding rows is never overwritten, and appending (a resumed run) checks that
    it belongs to the same run:

    >>> FileLogger(n_parms=2).open(path, "w", checksum="run-2")
    Traceback (most recent call last):
    ...
    FileExistsError: ...glompo_log.h5 already holds 2 evaluations of an earlier run; ...
    >>> FileLogger(n_parms=2).open(path, "a", checksum="run-2")
    Traceback (most recent call last):
    ...
    glompo_core.errors.CheckpointingError: ... belongs to another run: its checksum is 'run-1', ...
    >>> tmp.cleanup()
    """

    #: The file in the run's working directory (the manager opens it there).
    filename: ClassVar[str | None] = "glompo_log.h5"
    #: Compression level of the finished file, applied by close() (0: no compression).
    complevel: ClassVar[int] = 1
    #: Compression library of the finished file (``zlib``: readable everywhere).
    complib: ClassVar[str] = "zlib"
    #: Pending (not yet written) rows above this many bytes trigger back-pressure.
    max_pending_bytes: ClassVar[int] = 64 * 2**20
    #: Longest an optimizer thread waits for a running flush, in seconds.
    max_block_seconds: ClassVar[float] = 2.0
    #: HDF5 chunk cache of each dataset of the written file, in bytes (see _file_params).
    chunk_cache_bytes: ClassVar[int] = 0
    #: Smallest width, in bytes, of a string column of extras.
    min_string_width: ClassVar[int] = 64

    def __init__(self, n_parms: int, expected_rows: int = 0, build_traj_plot: bool = False,
                 *, window: int | None = None) -> None:
        super().__init__(n_parms, expected_rows, build_traj_plot, window=window)
        self.path: Path | None = None
        self.checksum: str | None = None
        self._manager_meta: dict[str, Any] = {}
        self._init_runtime()

    def _init_runtime(self) -> None:
        """(Re)create the session state: no file open, empty buffers, fresh locks."""
        self._file: tables.File | None = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._io_lock = threading.RLock()
        self._accepting = False
        self._flushing = False
        self._rows: dict[int, list[Batch]] = {}
        self._n_pending = 0
        self._dirty_meta: set[int] = set()
        self._dirty_msgs: set[int] = set()
        self._dirty_manager: set[str] = set()
        self._msgs_written: dict[int, int] = {}
        self._writers: dict[int, TableWriter] = {}
        self._warned = False

    @property
    def max_pending_rows(self) -> int:
        """Pending rows above which a running flush makes optimizer threads wait."""
        return max(1, self.max_pending_bytes // (8 * (self.n_parms + 2)))

    @property
    def is_open(self) -> bool:
        """True while the HDF5 file is open for writing."""
        return self._file is not None

    # -- recording (any thread) ------------------------------------------------------------
    def add_optimizer(self, opt_id: int, opt_type: str, t_start: float) -> None:
        """Create the in-memory record of a new optimizer; its group is written at the next
        flush."""
        super().add_optimizer(opt_id, opt_type, t_start)
        with self._lock:
            self._dirty_meta.add(opt_id)

    def put_iteration(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                      extras: Sequence[Sequence[Any]] | None = None) -> None:
        """Record a batch in memory and queue its rows for the next flush.

        Parameters
        ----------
        opt_id
            The optimizer which made the evaluations.
        call_ids
            Universal evaluation numbers, shape (k,).
        x
            Evaluated points, shape (k, n_parms).
        fx
            Function values, shape (k,).
        extras
            One sequence of length k per extra column of a detailed call.

        Notes
        -----
        No HDF5 I/O happens here. The arrays are queued as they are (not copied): the
        manager hands every batch over and does not modify it afterwards.
        """
        super().put_iteration(opt_id, call_ids, x, fx, extras)
        k = len(fx)
        if k == 0:
            return
        batch: Batch = (np.asarray(call_ids, dtype=np.int64),
                         np.asarray(x, dtype=np.float64).reshape(k, self.n_parms),
                         np.asarray(fx, dtype=np.float64), extras)
        with self._lock:
            if not self._accepting:
                return
            self._rows.setdefault(opt_id, []).append(batch)
            self._n_pending += k
            if self._flushing and self._n_pending > self.max_pending_rows:
                self._wait_for_flush()

    def _wait_for_flush(self) -> None:
        """Back-pressure: wait (lock held) until the running flush ends, or time out."""
        deadline = time.monotonic() + self.max_block_seconds
        while self._flushing and self._accepting and self._n_pending > self.max_pending_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if not self._warned:
                    self._warned = True
                    _log.warning("the HDF5 log is written more slowly than evaluations "
                                 "arrive: %d rows are pending", self._n_pending)
                return
            self._cond.wait(remaining)

    def put_message(self, opt_id: int, message: str) -> None:
        """Store a message an optimizer sent; it is appended to its ``messages`` at the next
        flush."""
        super().put_message(opt_id, message)
        with self._lock:
            self._dirty_msgs.add(opt_id)

    def put_metadata(self, opt_id: int, key: str, value: Any) -> None:
        """Set optimizer metadata; the group's attributes are rewritten at the next flush."""
        super().put_metadata(opt_id, key, value)
        with self._lock:
            self._dirty_meta.add(opt_id)

    def put_manager_metadata(self, key: str, value: Any) -> None:
        """Record run settings and state as a root attribute (written at the next flush).

        Dicts (the summary's sections) are stored as YAML text, strings and numbers as
        they are; the manager also stores ``checksum`` this way.
        """
        with self._lock:
            self._manager_meta[key] = value
            self._dirty_manager.add(key)

    # -- the file (manager's thread) -----------------------------------------------------------
    def open(self, path: str | Path, mode: str, checksum: str) -> None:
        """Open or create the HDF5 log file.

        Parameters
        ----------
        path
            The file (``glompo_log.h5`` in the run's working directory).
        mode
            ``'w'`` creates the file. An existing file holding rows is refused (the manager
            deletes old outputs only with ``overwrite_existing=True``); an existing file
            without rows is replaced. ``'a'`` appends to the file of a resumed run: its
            ``checksum`` attribute must equal ``checksum``, and rows, messages, metadata and
            optimizers recorded after the checkpoint this log was loaded from are removed
            (see :meth:`truncate_after`), so the finished file equals that of an
            uninterrupted run. If the file holds rows recorded after the checkpoint, it
            is first copied, whole and as it is, to a new name beside it
            (``glompo_log.before-resume-1.h5``, ``-2``, ...; an existing file is never
            overwritten), and a warning on the ``glompo.hdf5`` logger names the copy:
            nothing a run recorded is deleted.
        checksum
            The run's checksum, stored in (``'w'``) or checked against (``'a'``) the file.

        Raises
        ------
        FileExistsError
            ``'w'`` and the file holds rows, or is not an HDF5 file.
        FileNotFoundError
            ``'a'`` and the file does not exist.
        glompo_core.errors.CheckpointingError
            ``'a'`` and the file belongs to another run (different checksum).
        glompo_hdf5.LogLockedError
            Another process holds the file open (an ``OSError`` and a ``GloMPOError``
            whose one-line message names the pid(s) and command line(s), and what to do).
        ValueError
            An unknown mode.

        Notes
        -----
        While the file is open, child processes forked by this process (the workers of
        the ``'processes'`` backend) do not inherit it, nor its lock
        (:func:`glompo_core._fork_safety.keep_from_children`).
        """
        path = Path(path)
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', got {mode!r}")
        with self._io_lock:
            if self._file is not None:
                raise RuntimeError(f"the log file {self.path} is already open; close() it "
                                   "first")
            h5 = _resume.open_log(path, mode, checksum, call_id=len(self), known=self._meta,
                                  file_params=self._file_params())
            self._file, self.path, self.checksum = h5, path.resolve(), str(checksum)
            keep_from_children(self.path)  # forked workers must not hold it (nor its lock)
            self._writers = {}
            self._msgs_written = {}
            try:
                if mode == "a":
                    self._writers, self._msgs_written = _resume.adopt_existing(
                        h5, self._meta, {oid: len(m) for oid, m in self._messages.items()})
                with self._lock:
                    self._dirty_meta.update(self._meta)
                    self._dirty_msgs.update(self._messages)
                    self._dirty_manager.update(self._manager_meta)
                    self._accepting = True
                if mode == "a":
                    self._truncate(len(self))
                self.flush()
                h5.flush()  # a readable file on disk from the start
            except BaseException:
                self._abandon()
                raise

    def _file_params(self) -> dict[str, Any]:
        """PyTables parameters of the written file.

        No chunk cache (``chunk_cache_bytes = 0``): HDF5 then writes each chunk while the
        rows are appended, and PyTables releases the GIL there, so the optimizers'
        threads keep running; with a cache, the chunks are written by the file flush,
        which holds the GIL.
        """
        return {"chunk_cache_size": self.chunk_cache_bytes}

    def _abandon(self) -> None:
        """Close the file after a failure, dropping what is pending."""
        with self._lock:
            self._accepting = False
            self._rows.clear()
            self._n_pending = 0
            self._cond.notify_all()
        self._writers = {}
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
                if self.path is not None:
                    allow_in_children(self.path)

    def flush(self, opt_id: int | None = None) -> None:
        """Write every pending row, message and piece of metadata, then flush the file.

        Called by the manager from its own thread (about every 50 ms, before checkpoints
        and at the end). Does nothing when no file is open or nothing is pending.

        Parameters
        ----------
        opt_id
            Accepted for compatibility with :meth:`BaseLogger.flush`; everything pending is
            written whatever its value.
        """
        with self._io_lock:
            h5 = self._file
            if h5 is None:
                return
            with self._lock:
                rows, self._rows = self._rows, {}
                self._n_pending = 0
                meta_ids, self._dirty_meta = self._dirty_meta, set()
                msg_ids, self._dirty_msgs = self._dirty_msgs, set()
                manager_keys, self._dirty_manager = self._dirty_manager, set()
                swap = Swap(
                    rows=rows,
                    meta={oid: dict(self._meta[oid]) for oid in meta_ids if oid in self._meta},
                    messages={oid: self._messages.get(oid, [])[self._msgs_written.get(oid, 0):]
                              for oid in msg_ids},
                    manager={key: self._manager_meta[key] for key in manager_keys})
                if not swap:
                    return
                self._flushing = True
            try:
                layout = TableLayout(self.n_parms, self.expected_rows, self.min_string_width,
                                     self.extra_headers)
                sync(h5, write_swap(h5, swap, self._writers, self._msgs_written, layout))
            finally:
                with self._lock:
                    self._flushing = False
                    self._cond.notify_all()

    def _filters(self) -> Any:
        """The filters of the finished file."""
        return tables_module().Filters(complevel=self.complevel, complib=self.complib,
                                       shuffle=self.complevel > 0)

    def truncate_after(self, call_id: int) -> int:
        """Drop every row of the file whose ``call_id`` is greater than ``call_id``.

        Used when resuming: the manager's checkpoint recorded ``call_id`` evaluations, and
        rows written after it (before the run was interrupted) are evaluated again by the
        resumed run. Pending rows are flushed first. The in-memory log is not changed.
        Before any row is dropped, the whole file is copied to a new name beside it
        (``glompo_log.before-resume-<n>.h5``, never overwritten; see :meth:`open`), and a
        warning names it.

        Parameters
        ----------
        call_id
            The last evaluation to keep.

        Returns
        -------
        int
            Number of rows removed.

        Raises
        ------
        RuntimeError
            No file is open.
        """
        with self._io_lock:
            h5 = self._file
            if h5 is None:
                raise RuntimeError("no log file is open")
            self.flush()
            beyond = _resume.rows_beyond(h5, call_id, self._meta)
            if beyond and self.path is not None:
                _resume.keep_aside(self.path, beyond, call_id)
            return self._truncate(call_id)

    def _truncate(self, call_id: int) -> int:
        """:meth:`truncate_after` without keeping the rows aside (they were, by ``open``)."""
        with self._io_lock:
            h5 = self._file
            if h5 is None:
                raise RuntimeError("no log file is open")
            self.flush()
            dropped, kept = _resume.truncate_tables(self._writers.values(), call_id)
            if dropped:
                _log.info("removed %d rows recorded after evaluation %d from %s", dropped,
                          call_id, self.path)
                h5.flush()
            if kept < call_id:
                _log.warning("%s holds %d of the %d evaluations recorded before the "
                             "checkpoint", self.path, kept, call_id)
            return dropped

    def close(self) -> None:
        """Write everything pending, close the file and compress it. Safe to call twice.

        Compression (``complevel > 0``) copies the file into ``.glompo_log.h5.rewrite``
        with the finished file's filters, then renames it over the log.
        """
        with self._io_lock:
            if self._file is None:
                with self._lock:
                    self._accepting = False
                return
            try:
                self.flush()
            finally:
                self._abandon()
            if self.complevel > 0 and self.path is not None:
                t0 = time.perf_counter()
                _resume.rewrite(self.path, self._filters())
                _log.info("compressed %s in %.2f s", self.path, time.perf_counter() - t0)

    # -- reading -------------------------------------------------------------------------------
    def full_history(self, opt_id: int, track: str) -> np.ndarray:
        """Every row of a column of ``opt_id``'s history, read back from the file.

        Parameters
        ----------
        opt_id
            Unique optimizer identifier.
        track
            ``'call_id'``, ``'x'``, ``'fx'``, ``'fx_best'`` (the optimizer's best value so
            far at each row) or an extra column (by the header given to
            ``add_iter_history``).

        Returns
        -------
        numpy.ndarray
            Pending rows are flushed first. String extras come back as an object array of
            ``str``. Without a file (never opened), the in-memory history is used.
        """
        if self._file is None and (self.path is None or not self.path.exists()):
            return super().full_history(opt_id, track)
        with self._io_lock:
            if self._file is not None:
                self.flush()
                return self._read_track(self._file, opt_id, track)
            return read_with(str(self.path), lambda h5: self._read_track(h5, opt_id, track))

    def _read_track(self, h5: Any, opt_id: int, track: str) -> np.ndarray:
        return read_track(h5, opt_id, track, n_parms=self.n_parms, known=opt_id in self._meta,
                          writer=self._writers.get(opt_id))

    # -- checkpointing ---------------------------------------------------------------------
    def checkpoint_save(self, path: str | Path = "", block: Sequence[str] | None = None) -> None:
        """Save the in-memory state and the file's path and checksum (not the file).

        Pending rows are flushed first, so the file holds every row the checkpoint counts.

        Parameters
        ----------
        path
            Directory in which to write the state (file ``opt_log``).
        block
            Attributes not to save (the open file and session state are never saved).
        """
        self.flush()
        super().checkpoint_save(path, (*(block or ()), *_RUNTIME_ATTRS))

    @classmethod
    def checkpoint_load(cls, path: str | Path) -> FileLogger:
        """Rebuild a FileLogger from :meth:`checkpoint_save`'s directory; no file is open.

        The manager then calls ``open(path, 'a', checksum)`` to continue the same file.
        """
        log = super().checkpoint_load(path)
        if not isinstance(log, FileLogger):  # pragma: no cover - guarded by the class saved
            raise CheckpointingError(f"{path} does not hold a FileLogger")
        log._init_runtime()
        return log
