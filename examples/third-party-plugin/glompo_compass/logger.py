"""JSONLinesLogger: every evaluation of a run as one line of JSON, readable by any tool."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from glompo_core.optimizerlogger import BaseLogger

__all__ = ["JSONLinesLogger"]


def _plain(value: Any) -> Any:
    """A JSON-ready value: numpy scalars and arrays as Python numbers and lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class JSONLinesLogger(BaseLogger):
    """The in-memory log of :class:`~glompo_core.optimizerlogger.BaseLogger`, plus every
    evaluation appended to a JSON Lines file.

    Each evaluation is one line, ``{"opt_id": 1, "call_id": 7, "x": [...], "fx": 0.25}``
    (with the extra columns of a detailed call by their headers), written as it is
    recorded, so a run killed at any moment leaves every row recorded before it, and
    ``pandas.read_json(path, lines=True)`` or ``jq`` read the file. The first line holds
    the run's checksum: ``{"glompo_checksum": "..."}``. Failed evaluations are written as
    ``NaN``/``Infinity``, which Python's :mod:`json` reads back.

    Parameters
    ----------
    n_parms, expected_rows, build_traj_plot, window
        As for :class:`~glompo_core.optimizerlogger.BaseLogger` (the manager's arguments).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = JSONLinesLogger(2)
    >>> folder = tempfile.mkdtemp()
    >>> log.open(pathlib.Path(folder, "log.jsonl"), "w", "run-1")
    >>> log.add_optimizer(1, "CompassSearch", 0.0)
    >>> log.put_iteration(1, np.array([1, 2]), np.zeros((2, 2)), np.array([3.0, 1.0]))
    >>> log.close()
    >>> log.full_history(1, "fx").tolist()
    [3.0, 1.0]
    """

    def __init__(self, n_parms: int, expected_rows: int = 0, build_traj_plot: bool = False,
                 *, window: int | None = None) -> None:
        super().__init__(n_parms, expected_rows, build_traj_plot, window=window)
        self.path: Path | None = None
        self.checksum: str | None = None
        self._file: IO[str] | None = None

    def open(self, path: str | Path, mode: str, checksum: str) -> None:
        """Open the file: ``'w'`` starts it anew, ``'a'`` continues the file of a resumed
        run, whose checksum must equal ``checksum``.

        Raises
        ------
        ValueError
            An unknown mode, or ``'a'`` on a file of another run (both checksums named).
        """
        path = Path(path)
        if mode not in ("w", "a"):
            raise ValueError(f"mode must be 'w' or 'a', got {mode!r}")
        if mode == "a" and path.exists():
            with path.open() as file:
                first = json.loads(file.readline() or "{}")
            if first.get("glompo_checksum") != checksum:
                raise ValueError(f"{path} belongs to another run (checksum "
                                 f"{first.get('glompo_checksum')!r}, this run {checksum!r}); "
                                 "move it away or start a new run")
        new = mode == "w" or not path.exists()
        self._file = path.open("w" if new else "a", encoding="utf-8")
        if new:
            self._file.write(json.dumps({"glompo_checksum": checksum}) + "\n")
            self._file.flush()
        self.path, self.checksum = path, checksum

    def put_iteration(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                      extras: Sequence[Sequence[Any]] | None = None) -> None:
        """Record a batch in memory and append its rows to the file (if open)."""
        super().put_iteration(opt_id, call_ids, x, fx, extras)
        if self._file is None:
            return
        headers = self.extra_headers(opt_id)
        lines = []
        for i in range(len(fx)):
            row: dict[str, Any] = {"opt_id": int(opt_id), "call_id": int(call_ids[i]),
                                   "x": _plain(np.asarray(x[i], dtype=float)),
                                   "fx": float(fx[i])}
            for header, column in zip(headers, extras or (), strict=False):
                row[header] = _plain(column[i])
            lines.append(json.dumps(row) + "\n")
        self._file.write("".join(lines))
        self._file.flush()

    def full_history(self, opt_id: int, track: str) -> np.ndarray:
        """Every row of a column of ``opt_id``'s history, read back from the file (from
        memory when no file was opened)."""
        if self.path is None:
            return super().full_history(opt_id, track)
        if self._file is not None:
            self._file.flush()
        rows = [row for row in self._rows() if row.get("opt_id") == opt_id]
        if not rows and opt_id not in self.opt_ids:
            raise KeyError(f"no optimizer {opt_id} in the log")
        if track == "fx_best":
            fx = np.array([row["fx"] for row in rows], dtype=float)
            return np.minimum.accumulate(np.where(np.isfinite(fx), fx, math.inf)) \
                if fx.size else fx
        if track == "x":
            return np.array([row["x"] for row in rows], dtype=float).reshape(-1, self.n_parms)
        if rows and track not in rows[0]:
            raise KeyError(f"no column {track!r}; columns are {list(rows[0])[1:]}")
        values = [row[track] for row in rows]
        if all(isinstance(v, (int, float)) for v in values):
            return np.array(values, dtype=int if track == "call_id" else float)
        return np.array(values, dtype=object)

    def _rows(self) -> list[dict[str, Any]]:
        assert self.path is not None
        with self.path.open(encoding="utf-8") as file:
            return [json.loads(line) for line in file.readlines()[1:] if line.strip()]

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def checkpoint_save(self, path: str | Path = "", block: Sequence[str] | None = None) -> None:
        """Save the in-memory state with the file's path and checksum (not the open file)."""
        if self._file is not None:
            self._file.flush()
        super().checkpoint_save(path, (*(block or ()), "_file"))

    @classmethod
    def checkpoint_load(cls, path: str | Path) -> JSONLinesLogger:
        """Rebuild the logger from :meth:`checkpoint_save`'s directory; no file is open
        (the manager opens it again with mode ``'a'``)."""
        log = super().checkpoint_load(path)
        if not isinstance(log, JSONLinesLogger):
            raise TypeError(f"{path} holds a {type(log).__name__}, not a JSONLinesLogger")
        log._file = None
        return log
