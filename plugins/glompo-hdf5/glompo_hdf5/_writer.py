"""One flush of :class:`glompo_hdf5.FileLogger`: the pending buffers written to the file.

:meth:`FileLogger.flush <glompo_hdf5.FileLogger.flush>` swaps its buffers under its lock
and hands the swap to :func:`write_swap` (manager metadata as root attributes, then per
optimizer: its group's attributes, its new messages, its new rows), then calls
:func:`sync`. Only the thread holding the logger's I/O lock calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from glompo_hdf5 import _format as fmt
from glompo_hdf5._schema import Batch, TableWriter, append_rows, group_of, new_table

__all__ = ["Swap", "TableLayout", "sync", "write_swap"]


@dataclass(frozen=True)
class Swap:
    """What one flush writes: everything recorded since the previous flush."""

    #: Pending batches of rows, per optimizer.
    rows: dict[int, list[Batch]]
    #: The whole metadata of each optimizer whose metadata changed.
    meta: dict[int, dict[str, Any]]
    #: The messages not yet written, per optimizer.
    messages: dict[int, list[str]]
    #: The manager metadata that changed.
    manager: dict[str, Any]

    def __bool__(self) -> bool:
        return bool(self.rows or self.meta or self.manager or any(self.messages.values()))


@dataclass(frozen=True)
class TableLayout:
    """What a new ``iter_history`` table is built from (see :func:`~glompo_hdf5._schema.
    new_table`)."""

    n_parms: int
    expected_rows: int
    min_string_width: int
    #: The extra headers of an optimizer's detailed calls.
    headers_of: Callable[[int], Sequence[str]]


def write_swap(h5: Any, swap: Swap, writers: dict[int, TableWriter],
               msgs_written: dict[int, int], layout: TableLayout) -> list[Any]:
    """Write one swap of the buffers; return the tables that received rows.

    Parameters
    ----------
    h5
        The open ``tables.File``.
    swap
        What to write.
    writers
        The tables written so far, per optimizer; a new table is added to it.
    msgs_written
        Messages written so far, per optimizer; updated.
    layout
        How to build the table of an optimizer's first rows.

    Returns
    -------
    list
        The tables that received rows (for :func:`sync`).
    """
    written = []
    if swap.manager:
        fmt.write_attrs(h5, h5.root, swap.manager)
    rows, meta, messages = swap.rows, swap.meta, swap.messages
    for oid in sorted(set(meta) | set(rows) | {o for o, m in messages.items() if m}):
        group = group_of(h5, oid)
        if oid in meta:
            fmt.write_attrs(h5, group, meta[oid], replace=True)
        new = messages.get(oid)
        if new:
            vlarray = group._f_get_child(fmt.MESSAGES)
            for text in new:
                vlarray.append(str(text).encode("utf-8"))
            msgs_written[oid] = msgs_written.get(oid, 0) + len(new)
        if oid in rows:
            writer = writers.get(oid)
            if writer is None:
                writer = writers[oid] = new_table(
                    h5, group, oid, n_parms=layout.n_parms,
                    expected_rows=layout.expected_rows, headers=layout.headers_of(oid),
                    first_extras=rows[oid][0][3], min_string_width=layout.min_string_width)
            append_rows(h5, writer, rows[oid])
            written.append(writer.table)
    return written


def sync(h5: Any, tables_written: list[Any]) -> None:
    """Flush the file to disk (HDF5's flush is file-wide: one leaf's flush is enough).

    ``File.flush()`` would flush every node PyTables has loaded, one file-wide HDF5
    flush each; flushing the tables just written (their row buffers, then the file)
    costs one flush per table that received rows.
    """
    if tables_written:
        for table in tables_written:
            table.flush()
    else:
        h5.flush()
