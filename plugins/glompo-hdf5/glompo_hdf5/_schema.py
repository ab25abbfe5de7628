"""The ``iter_history`` table of an optimizer: its columns, its chunks, its rows.

Used by :class:`glompo_hdf5.FileLogger` while a file is open. A table has the columns
``call_id`` (int64, fill value -1), ``x`` (float64, shape ``(n_parms,)``) and ``fx``
(float64), then one column per extra value of a detailed call, typed from the first batch
of values (see :func:`spec_for`). This module creates the groups, tables and ``messages``
arrays of a file, turns batches of rows into structured arrays, and reads a column back.

Functions taking PyTables nodes are only called once a file is open; PyTables itself is
imported by :func:`tables_module` (never at import time: ``import glompo_hdf5`` stays
light).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glompo_hdf5 import _format as fmt

__all__ = ["CHUNK_MAX_BYTES", "CHUNK_MIN_BYTES", "Batch", "ExtraSpec", "TableWriter",
           "append_rows", "chunk_rows", "group_of", "new_messages", "new_table", "read_track",
           "spec_for", "tables_module", "writer_of"]

_log = logging.getLogger("glompo.hdf5")

#: One batch of an optimizer's rows: call ids (k,), points (k, n_parms), values (k,)
#: and the extra values of a detailed call (one sequence of length k per extra), if any.
Batch = tuple[np.ndarray, np.ndarray, np.ndarray, "Sequence[Sequence[Any]] | None"]

#: Bounds of the size of a chunk of an ``iter_history`` table, in bytes.
CHUNK_MIN_BYTES = 4 * 1024
CHUNK_MAX_BYTES = 16 * 1024


def tables_module() -> Any:
    """Import PyTables (only when a file is opened or read)."""
    import tables

    return tables


def chunk_rows(expected_rows: int, row_bytes: int) -> int:
    """Rows per HDF5 chunk of an ``iter_history`` table.

    ``expected_rows // 64`` rows, held between :data:`CHUNK_MIN_BYTES` (4 KiB) and
    :data:`CHUNK_MAX_BYTES` (16 KiB) per chunk: chunks of a few KiB compress floats as
    well as larger ones do, read fast enough, and keep the partial last chunk of each of
    a run's many (often short) optimizers small.

    Parameters
    ----------
    expected_rows
        The manager's estimate of the number of rows (from ``MaxFuncCalls``).
    row_bytes
        Size of one row of the table.

    Returns
    -------
    int
        The chunk length in rows (at least 1).

    Examples
    --------
    >>> chunk_rows(1_000_000, 96)
    170
    >>> chunk_rows(1_000, 96)
    42
    """
    lo = max(1, CHUNK_MIN_BYTES // row_bytes)
    hi = max(1, CHUNK_MAX_BYTES // row_bytes)
    return int(min(max(expected_rows // 64, lo), hi))


@dataclass
class ExtraSpec:
    """How one extra value of a detailed call is stored."""

    header: str  # the name given by the task (detailed_call_headers)
    column: str  # the column name in the table
    kind: str  # "f" float64, "a" float64 array of ``shape``, "s" UTF-8 bytes of ``width``
    shape: tuple[int, ...] = ()
    width: int = 0


@dataclass
class TableWriter:
    """An optimizer's ``iter_history`` table and how its extra columns are filled."""

    table: Any
    extras: list[ExtraSpec] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)


def as_bytes(value: Any) -> bytes:
    """``value`` as bytes: bytes as they are, anything else as UTF-8 of its ``str``."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


# -- groups and messages ------------------------------------------------------------------------
def new_messages(h5: Any, group: Any) -> Any:
    """Create the (empty) ``messages`` VLArray of an optimizer's group."""
    return h5.create_vlarray(group, fmt.MESSAGES, tables_module().VLStringAtom(),
                             "messages of the optimizer to the manager (UTF-8)",
                             expectedrows=64)


def group_of(h5: Any, opt_id: int) -> Any:
    """The group of ``opt_id``, created (with its ``messages``) if needed."""
    name = fmt.group_name(opt_id)
    if name in h5.root:
        return h5.root._f_get_child(name)
    group = h5.create_group(h5.root, name, f"optimizer {opt_id}")
    new_messages(h5, group)
    return group


# -- tables -----------------------------------------------------------------------------------
def spec_for(header: str, column: str, values: list[Any], min_string_width: int) -> ExtraSpec:
    """Choose the column type of one extra value from its first values.

    Numbers (bool, int, float) give a ``float64`` column, numeric arrays a ``float64``
    column of their shape, anything else a string column of width
    ``max(min_string_width, 2 * longest first value)`` bytes (rounded up to 8).
    """
    first = next((v for v in values if v is not None), None)
    if first is None or isinstance(first, (bool, int, float, np.bool_, np.integer,
                                           np.floating)):
        return ExtraSpec(header, column, "f")
    if not isinstance(first, (str, bytes)):
        try:
            arr = np.asarray(first, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.ndim >= 1 and arr.size > 0:
            return ExtraSpec(header, column, "a", shape=tuple(arr.shape))
    longest = max((len(as_bytes(v)) for v in values if v is not None), default=0)
    width = max(min_string_width, 2 * longest)
    return ExtraSpec(header, column, "s", width=-(-width // 8) * 8)


def new_table(h5: Any, group: Any, opt_id: int, *, n_parms: int, expected_rows: int,
              headers: Sequence[str], first_extras: Sequence[Sequence[Any]] | None,
              min_string_width: int) -> TableWriter:
    """Create ``iter_history`` of ``opt_id`` in ``group``.

    Parameters
    ----------
    h5
        The open ``tables.File``.
    group
        The optimizer's group.
    opt_id
        The optimizer's id (in the table's title).
    n_parms
        Number of parameters (the shape of column ``x``).
    expected_rows
        The manager's estimate of the number of rows (sets the chunk size).
    headers
        The names of the extra values of a detailed call (may be empty).
    first_extras
        The extra values of the first batch, which type the extra columns.
    min_string_width
        Smallest width, in bytes, of a string column.

    Returns
    -------
    TableWriter
        The new table and the types of its extra columns.
    """
    tb = tables_module()
    description: dict[str, Any] = {
        "call_id": tb.Int64Col(pos=0, dflt=-1),
        "x": tb.Float64Col(shape=(n_parms,), pos=1, dflt=np.nan),
        "fx": tb.Float64Col(pos=2, dflt=np.nan),
    }
    specs: list[ExtraSpec] = []
    taken: set[str] = set()
    for j, header in enumerate(headers):
        values = list(first_extras[j]) if first_extras is not None and \
            j < len(first_extras) else []
        spec = spec_for(header, fmt.column_name(header, taken, j), values, min_string_width)
        specs.append(spec)
        pos = 3 + j
        if spec.kind == "f":
            description[spec.column] = tb.Float64Col(pos=pos, dflt=np.nan)
        elif spec.kind == "a":
            description[spec.column] = tb.Float64Col(shape=spec.shape, pos=pos, dflt=np.nan)
        else:
            description[spec.column] = tb.StringCol(spec.width, pos=pos)
    row_bytes = 16 + 8 * n_parms + sum(
        8 * int(np.prod(s.shape)) if s.kind == "a" else 8 if s.kind == "f" else s.width
        for s in specs)
    expected = max(expected_rows, 1)
    table = h5.create_table(group, fmt.TABLE, description,
                            f"evaluations of optimizer {opt_id}",
                            expectedrows=expected,
                            chunkshape=(chunk_rows(expected, row_bytes),))
    if specs:
        fmt.write_attrs(h5, table, {"extra_headers": [s.header for s in specs]})
    return TableWriter(table, specs)


def writer_of(table: Any) -> TableWriter:
    """The writer of an existing table (its extra columns read from the file)."""
    headers = fmt.read_attrs(table).get("extra_headers") or []
    specs = []
    for header, column in zip(headers, table.colnames[3:]):
        dtype = table.coldtypes[column]
        if dtype.kind == "S":
            specs.append(ExtraSpec(str(header), column, "s", width=dtype.itemsize))
        elif dtype.shape:
            specs.append(ExtraSpec(str(header), column, "a", shape=tuple(dtype.shape)))
        else:
            specs.append(ExtraSpec(str(header), column, "f"))
    return TableWriter(table, specs)


# -- rows ---------------------------------------------------------------------------------------
def append_rows(h5: Any, writer: TableWriter, batches: list[Batch]) -> None:
    """Append the batches of one optimizer to its table as one structured array."""
    table = writer.table
    if len(batches) == 1:
        ids, x, fx, _ = batches[0]
    else:
        ids = np.concatenate([b[0] for b in batches])
        x = np.concatenate([b[1] for b in batches])
        fx = np.concatenate([b[2] for b in batches])
    rows = np.empty(len(ids), dtype=table.dtype)
    rows["call_id"] = ids
    rows["x"] = x
    rows["fx"] = fx
    for j, spec in enumerate(writer.extras):
        values: list[Any] = []
        for b in batches:
            extras = b[3]
            n = len(b[2])
            if extras is not None and j < len(extras) and len(extras[j]) == n:
                values.extend(extras[j])
            else:
                values.extend([None] * n)
        rows[spec.column] = _column_values(h5, writer, spec, values)
    table.append(rows)


def _column_values(h5: Any, writer: TableWriter, spec: ExtraSpec, values: list[Any]
                   ) -> np.ndarray:
    """The values of one extra column, converted to its type."""
    if spec.kind == "s":
        encoded = [b"" if v is None else as_bytes(v) for v in values]
        if any(len(e) > spec.width for e in encoded):
            _warn_once(h5, writer, spec, f"strings longer than {spec.width} bytes are "
                                         "truncated", truncated=True)
            encoded = [e[:spec.width] for e in encoded]
        return np.array(encoded, dtype=f"S{spec.width}")
    shape = (len(values), *spec.shape)
    try:
        return np.asarray([np.nan if v is None else v for v in values],
                          dtype=np.float64).reshape(shape)
    except (TypeError, ValueError):
        out = np.full(shape, np.nan)
        for i, v in enumerate(values):
            try:
                out[i] = np.asarray(v, dtype=np.float64).reshape(spec.shape)
            except (TypeError, ValueError):
                pass
        _warn_once(h5, writer, spec, "values that are not numbers of the column's shape "
                                     f"{spec.shape or 'scalar'} are stored as NaN")
        return out


def _warn_once(h5: Any, writer: TableWriter, spec: ExtraSpec, text: str,
               truncated: bool = False) -> None:
    """Log ``text`` once per column; list a truncated column in ``truncated_columns``."""
    if spec.column in writer.warned:
        return
    writer.warned.add(spec.column)
    table = writer.table
    _log.warning("%s, extra %r: %s", table._v_parent._v_name, spec.header, text)
    if truncated:
        done = fmt.read_attrs(table).get("truncated_columns") or []
        fmt.write_attrs(h5, table, {"truncated_columns": [*done, spec.header]})


# -- reading ------------------------------------------------------------------------------------
def read_track(h5: Any, opt_id: int, track: str, *, n_parms: int, known: bool,
               writer: TableWriter | None) -> np.ndarray:
    """One column of ``opt_id``'s table in ``h5`` (see :meth:`FileLogger.full_history`).

    Parameters
    ----------
    h5
        An open ``tables.File``.
    opt_id
        The optimizer.
    track
        ``'call_id'``, ``'x'``, ``'fx'``, ``'fx_best'`` or an extra column (by header or
        column name).
    n_parms
        Number of parameters (the shape of an empty ``x``).
    known
        Whether the in-memory log knows ``opt_id`` (then a missing table reads as empty).
    writer
        The table's writer if it is open for writing, else None (read from the file).

    Returns
    -------
    numpy.ndarray
        The column; string extras as an object array of ``str``.

    Raises
    ------
    KeyError
        No such optimizer, or no such column.
    """
    name = fmt.group_name(opt_id)
    group = h5.root._f_get_child(name) if name in h5.root else None
    if group is None or fmt.TABLE not in group:
        if known or group is not None:
            return np.empty((0, n_parms)) if track == "x" else np.empty(0)
        raise KeyError(f"no optimizer {opt_id} in the log")
    table = group._f_get_child(fmt.TABLE)
    if track == "fx_best":
        fx = table.col("fx")
        return np.minimum.accumulate(np.where(np.isfinite(fx), fx, np.inf)) \
            if fx.size else fx
    if track in fmt.RESERVED_COLUMNS:
        return table.col(track)
    writer = writer or writer_of(table)
    for spec in writer.extras:
        if track in (spec.header, spec.column):
            col = table.col(spec.column)
            if spec.kind == "s":
                return np.array([bytes(v).decode("utf-8", errors="ignore") for v in col],
                                dtype=object)
            return col
    raise KeyError(f"no column {track!r}; columns are "
                   f"{['call_id', 'x', 'fx', 'fx_best', *(s.header for s in writer.extras)]}")
