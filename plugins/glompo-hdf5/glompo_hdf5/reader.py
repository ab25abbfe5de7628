"""Read ``glompo_log.h5`` back: :func:`read_log` and :func:`summarize_log`.

The reader needs PyTables (a dependency of glompo-hdf5) and numpy; pandas only for
``as_dataframe()``. The log of a running optimization (which the writer holds locked)
is read from a copy of the file taken in memory (see :func:`glompo_hdf5._locks.read_with`;
a warning names the writer): the rows of the last moments are missing. A locked log too
large for that (over 1 GiB) is a :class:`~glompo_hdf5.LogLockedError` naming the
process that holds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glompo_hdf5 import _format as fmt
from glompo_hdf5._locks import read_with

__all__ = ["LogData", "OptimizerHistory", "read_log", "summarize_log"]

_log = logging.getLogger("glompo.hdf5")


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError("as_dataframe() needs pandas, which is not installed: "
                          "pip install pandas") from None
    return pandas


@dataclass
class OptimizerHistory:
    """Everything the log holds about one optimizer.

    Attributes
    ----------
    opt_id
        The optimizer's identifier.
    metadata
        Its metadata: ``type``, ``t_start``, ``t_end``, ``end_cond``, ``init_kwargs``,
        ``x0``, ...
    messages
        Messages it sent to the manager, in order.
    call_id
        Universal evaluation numbers, shape (n,).
    x
        Evaluated points, shape (n, n_parms).
    fx
        Function values, shape (n,).
    extras
        Extra values of a detailed call, by header: float arrays, or object arrays of
        ``str`` for string columns.
    """

    opt_id: int
    metadata: dict[str, Any]
    messages: list[str]
    call_id: np.ndarray
    x: np.ndarray
    fx: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.call_id)

    @property
    def type(self) -> str | None:
        """The optimizer's class name."""
        value = self.metadata.get("type")
        return None if value is None else str(value)

    @property
    def end_cond(self) -> str | None:
        """Why it ended (None if it did not end before the file was last written)."""
        value = self.metadata.get("end_cond")
        return None if value is None else str(value)

    def best(self) -> dict[str, Any] | None:
        """The lowest finite evaluation: ``{'call_id', 'x', 'fx'}``, or None."""
        finite = np.isfinite(self.fx)
        if not finite.any():
            return None
        i = int(np.argmin(np.where(finite, self.fx, np.inf)))
        return {"call_id": int(self.call_id[i]), "x": self.x[i].copy(), "fx": float(self.fx[i])}

    def as_dataframe(self) -> Any:
        """The rows as a ``pandas.DataFrame``: call_id, x_0..x_{n-1}, fx, extras."""
        pd = _pandas()
        data: dict[str, Any] = {"call_id": self.call_id}
        for j in range(self.x.shape[1] if self.x.ndim == 2 else 0):
            data[f"x_{j}"] = self.x[:, j]
        data["fx"] = self.fx
        for name, col in self.extras.items():
            data[name] = list(col) if col.ndim > 1 else col
        return pd.DataFrame(data)


@dataclass
class LogData:
    """The content of a GloMPO HDF5 log.

    Attributes
    ----------
    path
        The file read.
    metadata
        The manager's metadata (root attributes): ``checksum`` and the summary's
        sections (``Assignment``, ``Settings``, ``Counters``, ``Run Information``,
        ``Solution``) as dicts.
    optimizers
        Each optimizer's history, by id.
    torn_rows
        Rows dropped because they were never written (a run killed while writing).
    """

    path: Path
    metadata: dict[str, Any]
    optimizers: dict[int, OptimizerHistory]
    torn_rows: int = 0

    @property
    def checksum(self) -> str | None:
        """The run's checksum."""
        value = self.metadata.get("checksum")
        return None if value is None else str(value)

    @property
    def n_evaluations(self) -> int:
        """Number of rows (evaluations) in the file."""
        return sum(len(h) for h in self.optimizers.values())

    def call_ids(self) -> np.ndarray:
        """Every call_id in the file, sorted."""
        parts = [h.call_id for h in self.optimizers.values()]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def best(self) -> dict[str, Any] | None:
        """The lowest finite evaluation of the run: ``{'opt_id', 'call_id', 'x', 'fx'}``."""
        found = [(b["fx"], oid, b) for oid, h in self.optimizers.items()
                 if (b := h.best()) is not None]
        if not found:
            return None
        _, oid, b = min(found, key=lambda t: (t[0], t[1]))
        return {"opt_id": oid, **b}

    def as_dataframe(self) -> Any:
        """Every row as one ``pandas.DataFrame``, with an ``opt_id`` column, sorted by
        call_id."""
        pd = _pandas()
        frames = []
        for oid, hist in self.optimizers.items():
            frame = hist.as_dataframe()
            frame.insert(0, "opt_id", oid)
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["opt_id", "call_id", "fx"])
        return pd.concat(frames, ignore_index=True).sort_values("call_id",
                                                                 ignore_index=True)


def _decode_strings(col: np.ndarray) -> np.ndarray:
    return np.array([bytes(v).decode("utf-8", errors="ignore") for v in col], dtype=object)


#: The message the manager writes for each failed evaluation.
_FAILED = re.compile(r"evaluation \d+ failed: ")


def _read_messages(group: Any) -> list[str]:
    if fmt.MESSAGES not in group:
        return []
    return [bytes(m).decode("utf-8", errors="replace")
            for m in group._f_get_child(fmt.MESSAGES).read()]


def read_log(path: str | Path, *, opt_ids: Iterable[int] | None = None) -> LogData:
    """Read a GloMPO HDF5 log into numpy arrays.

    Parameters
    ----------
    path
        The ``glompo_log.h5`` file.
    opt_ids
        Read only these optimizers (default: all).

    Returns
    -------
    LogData
        Manager metadata and, per optimizer, its metadata, messages and rows. Rows whose
        ``call_id`` is the fill value (never written: the run was killed while writing
        them) are dropped and counted in ``torn_rows``.

    Raises
    ------
    FileNotFoundError
        No such file.

    Examples
    --------
    >>> log = read_log("glompo_log.h5")  # doctest: +SKIP
    >>> log.n_evaluations, log.checksum  # doctest: +SKIP
    >>> log.optimizers[1].x.shape  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no log file {path}")
    wanted = None if opt_ids is None else {int(o) for o in opt_ids}

    def read(h5: Any) -> tuple[dict[str, Any], dict[int, OptimizerHistory], int]:
        optimizers: dict[int, OptimizerHistory] = {}
        torn = 0
        metadata = fmt.read_attrs(h5.root)
        groups = sorted(((oid, g) for g in h5.root._f_iter_nodes("Group")
                         if (oid := fmt.opt_id_of(g._v_name)) is not None),
                        key=lambda t: t[0])
        for oid, group in groups:
            if wanted is not None and oid not in wanted:
                continue
            meta = fmt.read_attrs(group)
            extras: dict[str, np.ndarray] = {}
            if fmt.TABLE in group:
                table = group._f_get_child(fmt.TABLE)
                data = table.read()
                good = data["call_id"] >= 1
                torn += int((~good).sum())
                data = data[good]
                call_id, x, fx = data["call_id"], data["x"], data["fx"]
                headers = fmt.read_attrs(table).get("extra_headers") or []
                for header, column in zip(headers, table.colnames[3:]):
                    col = data[column]
                    extras[str(header)] = _decode_strings(col) if col.dtype.kind == "S" \
                        else np.asarray(col)
            else:
                n_parms = meta.get("x0")
                width = len(n_parms) if isinstance(n_parms, (list, np.ndarray)) else 0
                call_id = np.empty(0, dtype=np.int64)
                x = np.empty((0, width))
                fx = np.empty(0)
            optimizers[oid] = OptimizerHistory(oid, meta, _read_messages(group),
                                               np.asarray(call_id), np.asarray(x),
                                               np.asarray(fx), extras)
        return metadata, optimizers, torn

    metadata, optimizers, torn = read_with(path, read)
    if torn:
        _log.warning("%s: %d rows were never written (the run was killed while writing) "
                     "and are left out", path, torn)
    return LogData(path, metadata, optimizers, torn)


def summarize_log(path: str | Path) -> dict[str, Any]:
    """Per-optimizer figures of a log, reading only the ``call_id`` and ``fx`` columns.

    Parameters
    ----------
    path
        The ``glompo_log.h5`` file.

    Returns
    -------
    dict
        ``{'path', 'checksum', 'evaluations', 'failed', 'best': {opt_id, call_id, fx} or
        None, 'optimizers': [{'opt_id', 'type', 'evaluations', 'failed', 'best_fx',
        'best_call_id', 'end_cond', 't_start', 't_end', 'messages'}, ...]}``. ``failed``
        counts the failed evaluations (the task raised or timed out): the optimizer's
        messages ``evaluation <call_id> failed: ...``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no log file {path}")

    def read(h5: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        metadata = fmt.read_attrs(h5.root)
        for group in h5.root._f_iter_nodes("Group"):
            oid = fmt.opt_id_of(group._v_name)
            if oid is None:
                continue
            meta = fmt.read_attrs(group)
            n, best_fx, best_call = 0, None, None
            if fmt.TABLE in group:
                table = group._f_get_child(fmt.TABLE)
                ids, fx = table.col("call_id"), table.col("fx")
                good = ids >= 1
                ids, fx = ids[good], fx[good]
                n = len(ids)
                finite = np.isfinite(fx)
                if finite.any():
                    i = int(np.argmin(np.where(finite, fx, np.inf)))
                    best_fx, best_call = float(fx[i]), int(ids[i])
            messages = _read_messages(group)
            failed = sum(1 for m in messages if _FAILED.match(m))
            rows.append({"opt_id": oid, "type": meta.get("type"), "evaluations": n,
                         "failed": failed, "best_fx": best_fx, "best_call_id": best_call,
                         "end_cond": meta.get("end_cond"), "t_start": meta.get("t_start"),
                         "t_end": meta.get("t_end"), "messages": len(messages)})
        return metadata, rows

    metadata, rows = read_with(path, read)
    rows.sort(key=lambda r: r["opt_id"])
    scored = [r for r in rows if r["best_fx"] is not None]
    best = min(scored, key=lambda r: (r["best_fx"], r["opt_id"])) if scored else None
    return {"path": str(path), "checksum": metadata.get("checksum"),
            "evaluations": sum(r["evaluations"] for r in rows),
            "failed": sum(r["failed"] for r in rows),
            "best": None if best is None else {"opt_id": best["opt_id"],
                                               "call_id": best["best_call_id"],
                                               "fx": best["best_fx"]},
            "optimizers": rows}
