"""Opening ``glompo_log.h5``: refusing, checking, keeping aside, truncating, rewriting.

Used by :meth:`glompo_hdf5.FileLogger.open` (through :func:`open_log`) and
:meth:`~glompo_hdf5.FileLogger.truncate_after`:

- ``open(path, 'w')`` over an existing file: :func:`refuse_overwrite` lets only an HDF5
  file without evaluations be replaced;
- ``open(path, 'a')`` (a resumed run): :func:`inspect_for_append` checks the file's
  ``checksum`` against the checkpoint's and counts the rows recorded after the checkpoint;
  :func:`keep_aside` copies the whole file to a new name before any of them is removed;
  :func:`adopt_existing` drops the optimizers started after the checkpoint and the
  messages sent after it, and :func:`truncate_tables` the rows;
- :func:`rewrite` copies the file with other filters and renames the copy over it: it
  compresses the finished file (``close``) and uncompresses a finished file a resumed
  run appends to.

Nothing recorded is deleted without a copy: :func:`keep_aside` never overwrites a file.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core.errors import CheckpointingError
from glompo_hdf5 import _format as fmt
from glompo_hdf5._locks import LogLockedError, open_h5
from glompo_hdf5._schema import TableWriter, new_messages, tables_module, writer_of

__all__ = ["AppendCheck", "adopt_existing", "inspect_for_append", "keep_aside", "open_log",
           "refuse_overwrite", "rewrite", "rows_beyond", "truncate_tables"]

_log = logging.getLogger("glompo.hdf5")


def refuse_overwrite(path: Path) -> None:
    """Raise unless ``path`` is an HDF5 file without evaluations (safe to replace).

    Raises
    ------
    FileExistsError
        The file holds rows, or is not a readable HDF5 file.
    glompo_hdf5.LogLockedError
        Another process holds the file open.
    """
    try:
        with open_h5(path, "r", writing=True) as h5:
            rows = sum(t.nrows for t in h5.walk_nodes("/", "Table"))
    except LogLockedError:
        raise
    except Exception as exc:
        raise FileExistsError(f"{path} exists and is not a readable HDF5 file ({exc}); "
                              "refusing to overwrite it") from None
    if rows:
        raise FileExistsError(f"{path} already holds {rows} evaluations of an earlier run; "
                              "refusing to overwrite it (the manager deletes old outputs "
                              "with overwrite_existing=True)")


def rows_beyond(h5: Any, call_id: int, known: Collection[int]) -> int:
    """Rows of the file a resume from ``call_id`` evaluations removes: those with a
    greater call_id, and every row of optimizers not in ``known`` (the in-memory log's)."""
    n = 0
    for group in h5.root._f_iter_nodes("Group"):
        opt_id = fmt.opt_id_of(group._v_name)
        if opt_id is None or fmt.TABLE not in group:
            continue
        ids = group._f_get_child(fmt.TABLE).col("call_id")
        n += int((ids >= 1).sum()) if opt_id not in known else int((ids > call_id).sum())
    return n


@dataclass(frozen=True)
class AppendCheck:
    """What :func:`inspect_for_append` found in a file a resumed run appends to."""

    #: Whether a leaf of the file is compressed (closed by a finished run).
    compressed: bool
    #: Rows the resume removes (see :func:`rows_beyond`).
    beyond: int


def inspect_for_append(path: Path, checksum: str, call_id: int, known: Collection[int]
                       ) -> AppendCheck:
    """Check that ``path`` is the log of the run whose checksum is ``checksum``.

    Parameters
    ----------
    path
        The log file of the run being resumed.
    checksum
        The checkpoint's checksum; the file's root attribute ``checksum`` must equal it.
    call_id
        The number of evaluations the checkpoint recorded.
    known
        The optimizers the checkpoint's in-memory log knows.

    Returns
    -------
    AppendCheck
        Whether the file is compressed and how many of its rows the resume removes.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    glompo_core.errors.CheckpointingError
        The file belongs to another run (different checksum).
    glompo_hdf5.LogLockedError
        Another process holds the file open.
    """
    if not path.exists():
        raise FileNotFoundError(f"no log file {path} to append to")
    with open_h5(path, "r", writing=True) as h5:
        found = fmt.read_attrs(h5.root).get("checksum")
        compressed = any(leaf.filters.complevel > 0 for leaf in h5.walk_nodes("/", "Leaf"))
        beyond = rows_beyond(h5, call_id, known)
    if found != checksum:
        raise CheckpointingError(
            f"{path} belongs to another run: its checksum is {found!r}, the "
            f"checkpoint's is {checksum!r}. Resume in another working_dir, or "
            "move the old glompo_log.h5 away")
    return AppendCheck(compressed=compressed, beyond=beyond)


def open_log(path: Path, mode: str, checksum: str, *, call_id: int, known: Collection[int],
             file_params: Mapping[str, Any]) -> Any:
    """Open the log file of a run, as :meth:`FileLogger.open <glompo_hdf5.FileLogger.open>`
    describes.

    ``'w'``: create it (an existing file only if :func:`refuse_overwrite` allows) and
    store ``checksum`` and the format version. ``'a'``: check it belongs to the run
    (:func:`inspect_for_append`), keep a copy aside if the resume removes rows, rewrite it
    uncompressed if a finished run compressed it, and open it for appending.

    Parameters
    ----------
    path
        The log file.
    mode
        ``'w'`` or ``'a'``.
    checksum
        The run's checksum.
    call_id
        The number of evaluations the checkpoint recorded (``'a'``).
    known
        The optimizers the checkpoint's in-memory log knows (``'a'``).
    file_params
        PyTables parameters of the opened file.

    Returns
    -------
    tables.File
        The open file; nothing is truncated yet (see :func:`adopt_existing`,
        :func:`truncate_tables`).
    """
    if mode == "w":
        if path.exists():
            refuse_overwrite(path)
        h5 = open_h5(path, "w", title="GloMPO optimization log", **file_params)
        fmt.write_attrs(h5, h5.root, {"checksum": str(checksum),
                                      "glompo_log_format": fmt.FORMAT_VERSION})
        return h5
    found = inspect_for_append(path, checksum, call_id, known)
    if found.beyond:  # before anything is removed or rewritten
        keep_aside(path, found.beyond, call_id)
    if found.compressed:  # closed by a finished run: rewrite it uncompressed
        rewrite(path, tables_module().Filters(complevel=0))
    return open_h5(path, "a", **file_params)


def keep_aside(path: Path, beyond: int, call_id: int) -> Path:
    """Copy ``path`` to ``<stem>.before-resume-<n><suffix>`` beside it (a new name, never
    an existing file's) and warn; return the copy."""
    for n in itertools.count(1):
        aside = path.with_name(f"{path.stem}.before-resume-{n}{path.suffix}")
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as dst, open(path, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            shutil.copystat(path, aside)
        except BaseException:
            aside.unlink(missing_ok=True)
            raise
        _log.warning("%s holds %d evaluations recorded after the checkpoint's %d; the "
                     "resumed run evaluates them again and removes them from the log: "
                     "the whole file was kept as %s", path, beyond, call_id, aside)
        return aside
    raise AssertionError("unreachable")  # pragma: no cover


def adopt_existing(h5: Any, known: Collection[int], n_messages: Mapping[int, int]
                   ) -> tuple[dict[int, TableWriter], dict[int, int]]:
    """Reconcile an existing file ('a' mode) with the in-memory state of the log.

    Groups of optimizers not in ``known`` (started after the checkpoint) are removed, and
    messages beyond the ``n_messages[opt_id]`` the log holds.

    Returns
    -------
    tuple[dict[int, TableWriter], dict[int, int]]
        The writers of the tables kept, and the number of messages written per optimizer.
    """
    writers: dict[int, TableWriter] = {}
    msgs_written: dict[int, int] = {}
    for group in list(h5.root._f_iter_nodes("Group")):
        opt_id = fmt.opt_id_of(group._v_name)
        if opt_id is None:
            continue
        if opt_id not in known:  # started after the checkpoint
            h5.remove_node(group, recursive=True)
            continue
        if fmt.TABLE in group:
            writers[opt_id] = writer_of(group._f_get_child(fmt.TABLE))
        if fmt.MESSAGES in group:
            messages = group._f_get_child(fmt.MESSAGES)
            keep = n_messages.get(opt_id, 0)
            if messages.nrows > keep:
                # VLArray.truncate() followed by append() leaves empty rows in
                # PyTables 3.11: rebuild the array with the rows to keep instead
                kept = messages.read(0, keep)
                h5.remove_node(messages)
                messages = new_messages(h5, group)
                for text in kept:
                    messages.append(text)
            msgs_written[opt_id] = min(messages.nrows, keep)
    return writers, msgs_written


def truncate_tables(writers: Collection[TableWriter], call_id: int) -> tuple[int, int]:
    """Drop the rows of the tables whose ``call_id`` is greater than ``call_id``.

    Returns
    -------
    tuple[int, int]
        The number of rows dropped and the number of (written) rows kept.
    """
    dropped = kept = 0
    for writer in writers:
        table = writer.table
        ids = table.col("call_id")
        over = ids > call_id
        n_over = int(over.sum())
        kept += int(((ids >= 1) & ~over).sum())
        if not n_over:
            continue
        first = int(np.argmax(over))
        if n_over == len(ids) - first:  # the usual case: the rows at the end
            table.truncate(first)
        else:
            keep = table.read()[~over]
            table.truncate(0)
            table.append(keep)
        dropped += n_over
    return dropped, kept


def rewrite(path: Path, filters: Any) -> None:
    """Copy ``path`` into a new file whose leaves use ``filters``, then replace ``path``
    by it (atomically: a crash leaves the old file, and a stray temporary file)."""
    tb = tables_module()
    tmp = path.with_name(f".{path.name}.rewrite")
    try:
        with tb.open_file(str(path), "r") as src, \
                tb.open_file(str(tmp), "w", title=src.title) as dst, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", tb.NaturalNameWarning)  # 'Run Information'
            src.root._v_attrs._f_copy(dst.root)
            for node in src.root._f_iter_nodes():
                node._f_copy(dst.root, recursive=True, filters=filters, chunkshape="keep")
    except BaseException:
        tmp.unlink(missing_ok=True)  # the log itself is untouched
        raise
    os.replace(tmp, path)
