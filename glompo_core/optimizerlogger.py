"""The in-memory evaluation history of a run: :class:`BaseLogger`.

The manager records every evaluation here (a batch at a time); stoppers,
generators and selectors read it. It holds only what they need: per optimizer
the last ``window`` evaluations (all of them when ``window`` is None or a
trajectory plot was asked for), plus each optimizer's best point and counters,
so a run of a million evaluations does not grow memory with the evaluation count.
File loggers (``FileLogger`` of glompo-hdf5) subclass it and also write every
row to disk.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import dill
import numpy as np

__all__ = ["METADATA_KEYS", "BaseLogger", "UnknownMetadataError"]

_TRACKS = ("call_id", "x", "fx", "fx_best")

#: The metadata the manager records for every optimizer, and when each key is set.
#: Read them with :meth:`BaseLogger.get_metadata`; a plugin may add its own keys with
#: :meth:`BaseLogger.put_metadata`.
METADATA_KEYS: dict[str, str] = {
    "opt_id": "the optimizer's id (set when it starts)",
    "type": "its class name, e.g. 'RandomOptimizer' (set when it starts)",
    "t_start": "when it started, in time.time() seconds (set when it starts)",
    "init_kwargs": "the arguments it was built with, workers included (set when it starts)",
    "x0": "its starting point, a list of floats (set when it starts)",
    "end_cond": "why it ended: 'converged', 'crashed' or the stopper's reason (set when "
                "it ends)",
    "t_end": "when it ended, in time.time() seconds (set when it ends)",
    "n_failed": "its failed evaluations (set when it ends)",
}


class UnknownMetadataError(KeyError):
    """A metadata key that an optimizer of the log does not have.

    A :class:`KeyError` (so ``except KeyError`` still catches it) whose message reads
    plainly: it names the valid keys and the closest one.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _History:
    """Growable (optionally windowed) columns of one optimizer's evaluations."""

    __slots__ = ("_cols", "_n", "_start", "extra_names", "n_parms", "total", "window")

    def __init__(self, n_parms: int, window: int | None, extra_names: Sequence[str] = ()) -> None:
        self.n_parms = n_parms
        self.window = window
        self.extra_names = list(extra_names)
        cap = 64
        self._cols: dict[str, np.ndarray] = {
            "call_id": np.empty(cap, dtype=np.int64),
            "x": np.empty((cap, n_parms), dtype=float),
            "fx": np.empty(cap, dtype=float),
            "fx_best": np.empty(cap, dtype=float),
        }
        for name in self.extra_names:
            self._cols[name] = np.empty(cap, dtype=object)
        self._start = 0  # first live row
        self._n = 0  # one past the last live row
        self.total = 0  # every row ever added

    def __len__(self) -> int:
        return self._n - self._start

    def _make_room(self, k: int) -> None:
        cap = len(self._cols["fx"])
        if self._n + k <= cap:
            return
        live = self._n - self._start
        if self.window is not None and live + k > self.window:
            keep = min(live, max(self.window - k, 0))
        else:
            keep = live
        new_cap = max(cap, 64)
        while new_cap < keep + k:
            new_cap *= 2
        if self.window is not None and new_cap > 4 * max(self.window, 16) + k:
            new_cap = 4 * max(self.window, 16) + k
        first = self._n - keep
        for name, col in self._cols.items():
            new = np.empty((new_cap, *col.shape[1:]), dtype=col.dtype)
            new[:keep] = col[first:self._n]
            self._cols[name] = new
        self._start, self._n = 0, keep

    def append(self, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray, best_before: float,
               extras: Sequence[Sequence[Any]] | None) -> np.ndarray:
        k = len(fx)
        self._make_room(k)
        s, e = self._n, self._n + k
        self._cols["call_id"][s:e] = call_ids
        self._cols["x"][s:e] = x
        self._cols["fx"][s:e] = fx
        if k == 0:
            best = np.empty(0)
        elif k == 1:
            v = float(fx[0])
            best = np.array([v if v < best_before else best_before])
        else:
            finite = np.where(np.isfinite(fx), fx, np.inf)
            finite[0] = min(finite[0], best_before)
            best = np.minimum.accumulate(finite)
        self._cols["fx_best"][s:e] = best
        if extras is not None:
            for name, values in zip(self.extra_names, extras):
                self._cols[name][s:e] = list(values)
        self._n = e
        self.total += k
        if self.window is not None and len(self) > self.window:
            self._start = self._n - self.window
        return best

    def column(self, track: str) -> np.ndarray:
        col = self._cols[track][self._start:self._n]
        col = col.view()
        col.flags.writeable = False
        return col

    def clear(self) -> None:
        self._start = self._n


class BaseLogger:
    """Holds the iteration results in memory for the run's decision making.

    Parameters
    ----------
    n_parms
        Number of parameters of the optimization problem.
    expected_rows
        Estimate of the number of rows per optimizer (used by file loggers to size
        their tables).
    build_traj_plot
        Keep every evaluation in memory for the trajectory plots made at the end.
    window
        Keep at most this many of each optimizer's most recent evaluations in memory
        (None: all). The manager sets it from what its stoppers declare they read.

    Notes
    -----
    ``get_history(opt_id, track)`` returns the retained rows; the tracks are
    ``'call_id'``, ``'x'``, ``'fx'``, ``'fx_best'`` (the optimizer's best value so far at
    each evaluation) and the extra columns of a detailed call. ``len(opt_id)`` and
    ``best_iters`` always cover the whole run. ``get_metadata(opt_id, key)`` reads what
    the manager records about each optimizer: the keys of :data:`METADATA_KEYS`
    (``'type'``, ``'t_start'``, ``'end_cond'``, ...).

    Examples
    --------
    What the manager writes and stoppers, generators and selectors read:

    >>> import numpy as np
    >>> log = BaseLogger(n_parms=2, window=3)   # keep each optimizer's last 3 rows
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> x = np.array([[0.0, 0.0], [0.5, 0.5], [0.1, 0.0], [0.2, 0.2]])
    >>> log.put_iteration(1, np.arange(1, 5), x, np.array([4.0, np.nan, 1.0, 2.0]))
    >>> log.get_history(1, "fx_best").tolist()   # the last 3 rows
    [4.0, 1.0, 1.0]
    >>> log.len(1), log.best_fx, log.get_best_iter()["x"].tolist()   # the whole run
    (4, 1.0, [0.1, 0.0])
    """

    #: The file this logger writes, named in the run's working directory: the manager
    #: opens ``working_dir / filename`` with :meth:`open` (``'w'`` for a new run, ``'a'``
    #: then :meth:`truncate_after` for a resumed one) and counts it among the run's outputs.
    #: None for a logger that keeps its history in memory only (this class).
    filename: ClassVar[str | None] = None

    def __init__(self, n_parms: int, expected_rows: int = 0, build_traj_plot: bool = False,
                 *, window: int | None = None) -> None:
        self.n_parms = int(n_parms)
        self.expected_rows = int(expected_rows)
        self.build_traj_plot = bool(build_traj_plot)
        self.window = None if build_traj_plot else window
        self.logger = logging.getLogger("glompo.logger")
        self._hist: dict[int, _History] = {}
        self._meta: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, list[str]] = {}
        self._best: dict[int, dict[str, Any]] = {}
        self._overall_best: dict[str, Any] = {"opt_id": 0, "x": None, "fx": float("inf"),
                                             "call_id": 0, "type": None}
        self._largest = -float("inf")
        self._f_counter = 0

    # -- writing --------------------------------------------------------------------------
    def add_optimizer(self, opt_id: int, opt_type: str, t_start: float) -> None:
        """Create space for a new optimizer."""
        self._meta[opt_id] = {"opt_id": opt_id, "type": opt_type, "t_start": t_start}
        self._messages[opt_id] = []
        self._best[opt_id] = {"opt_id": opt_id, "x": None, "fx": float("inf"), "call_id": 0,
                              "type": opt_type}

    def add_iter_history(self, opt_id: int, extra_headers: Sequence[str] | None = None) -> None:
        """Create the iteration history of ``opt_id``, with extra columns of a detailed call."""
        if opt_id not in self._meta:
            raise KeyError(f"optimizer {opt_id} was not added to the log")
        if opt_id not in self._hist:
            self._hist[opt_id] = _History(self.n_parms, self.window,
                                          self.safe_headers(extra_headers or ()))

    @staticmethod
    def safe_headers(headers: Sequence[str]) -> list[str]:
        """Extra column names that do not clash with the built-in ones (``x`` becomes ``x_2``)."""
        taken = set(_TRACKS)
        out = []
        for name in headers:
            name = str(name)
            new, n = name, 1
            while new in taken:
                n += 1
                new = f"{name}_{n}"
            taken.add(new)
            out.append(new)
        return out

    def has_iter_history(self, opt_id: int) -> bool:
        """True if an iteration history exists for ``opt_id``."""
        return opt_id in self._hist

    def put_iteration(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray, fx: np.ndarray,
                      extras: Sequence[Sequence[Any]] | None = None) -> None:
        """Record a batch of evaluations of ``opt_id``.

        Parameters
        ----------
        opt_id
            The optimizer which made the evaluations.
        call_ids
            Universal evaluation numbers, shape (k,).
        x
            Evaluated points, shape (k, n_parms).
        fx
            Function values, shape (k,); non-finite values are kept as they are.
        extras
            One sequence of length k per extra column of a detailed call.
        """
        hist = self._hist.get(opt_id)
        if hist is None:
            self.add_iter_history(opt_id)
            hist = self._hist[opt_id]
        cur = self._best[opt_id]
        best = hist.append(call_ids, x, fx, cur["fx"], extras)
        k = len(fx)
        self._f_counter += k
        if k and best[-1] < cur["fx"]:
            i = int(np.argmin(np.where(np.isfinite(fx), fx, np.inf)))
            cur.update(x=np.array(x[i], dtype=float), fx=float(fx[i]), call_id=int(call_ids[i]))
            if cur["fx"] < self._overall_best["fx"]:
                self._overall_best = dict(cur)
        if k:
            top = float(np.max(fx, where=np.isfinite(fx), initial=-np.inf))
            if top > self._largest:
                self._largest = top

    @property
    def best_fx(self) -> float:
        """The best (lowest finite) value recorded so far (inf if none)."""
        return float(self._overall_best["fx"])

    def put_message(self, opt_id: int, message: str) -> None:
        """Store a message an optimizer sent to the manager."""
        self._messages.setdefault(opt_id, []).append(str(message))

    def put_metadata(self, opt_id: int, key: str, value: Any) -> None:
        """Set metadata ``key`` of optimizer ``opt_id`` (see :data:`METADATA_KEYS`)."""
        self._meta.setdefault(opt_id, {"opt_id": opt_id})[key] = value

    def put_manager_metadata(self, key: str, value: Any) -> None:
        """Record run settings (file loggers write them; the in-memory logger ignores them)."""

    # -- reading --------------------------------------------------------------------------
    def get_history(self, opt_id: int, track: str) -> np.ndarray:
        """Return a column of the (retained) evaluation history of an optimizer.

        Parameters
        ----------
        opt_id
            Unique optimizer identifier.
        track
            ``'call_id'``, ``'x'``, ``'fx'``, ``'fx_best'`` or an extra column name.
        """
        hist = self._hist.get(opt_id)
        if hist is None:
            if opt_id in self._meta:
                return np.empty((0, self.n_parms)) if track == "x" else np.empty(0)
            raise KeyError(f"no optimizer {opt_id} in the log")
        if track not in hist._cols:
            raise KeyError(f"no column {track!r}; columns are {list(hist._cols)}")
        return hist.column(track)

    def full_history(self, opt_id: int, track: str) -> np.ndarray:
        """Every row of a column of ``opt_id``'s history (for plots and analysis).

        The in-memory logger has every row only with ``build_traj_plot=True`` (else it
        raises); file loggers read them back from their file.
        """
        hist = self._hist.get(opt_id)
        if hist is not None and len(hist) < hist.total:
            raise RuntimeError("the in-memory log keeps only the most recent evaluations; "
                               "build it with build_traj_plot=True (summary_files >= 2) or use a "
                               "file logger (summary_files=3) to read the whole history")
        return self.get_history(opt_id, track)

    def get_metadata(self, opt_id: int, key: str) -> Any:
        """Return metadata ``key`` of optimizer ``opt_id``.

        Parameters
        ----------
        opt_id
            Unique optimizer identifier.
        key
            One of :data:`METADATA_KEYS`: ``'opt_id'``, ``'type'``, ``'t_start'``,
            ``'init_kwargs'``, ``'x0'`` (set when the optimizer starts), ``'end_cond'``,
            ``'t_end'``, ``'n_failed'`` (set when it ends), or a key a plugin added with
            :meth:`put_metadata`.

        Raises
        ------
        UnknownMetadataError
            (a :class:`KeyError`) ``opt_id`` is not in the log, or ``key`` is not set
            for it; the message names the valid keys and the closest one.

        Examples
        --------
        >>> log = BaseLogger(n_parms=2)
        >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
        >>> log.get_metadata(1, "type")
        'RandomOptimizer'
        >>> try:
        ...     log.get_metadata(1, "opt_type")
        ... except KeyError as err:
        ...     print(err)  # doctest: +ELLIPSIS
        optimizer 1 has no metadata 'opt_type'; did you mean 'type'? The keys the manager sets ...
        """
        meta = self._meta.get(opt_id)
        if meta is None:
            raise UnknownMetadataError(f"no optimizer {opt_id} in the log; the log has "
                                       f"optimizers {sorted(self._meta)}")
        try:
            return meta[key]
        except KeyError:
            raise UnknownMetadataError(self._unknown_key_message(opt_id, key)) from None

    def _unknown_key_message(self, opt_id: int, key: str) -> str:
        meta = self._meta[opt_id]
        known = list(dict.fromkeys([*METADATA_KEYS, *meta]))
        if key in METADATA_KEYS:  # valid, but not set yet
            return (f"optimizer {opt_id} has no metadata {key!r} yet ({key}: "
                    f"{METADATA_KEYS[key]}); optimizer {opt_id} has "
                    f"{', '.join(map(repr, meta))}")
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        return (f"optimizer {opt_id} has no metadata {key!r}{hint} The keys the manager sets "
                f"are {', '.join(map(repr, METADATA_KEYS))} (see "
                f"glompo_core.optimizerlogger.METADATA_KEYS); optimizer {opt_id} has "
                f"{', '.join(map(repr, meta))}")

    def get_messages(self, opt_id: int) -> list[str]:
        """Messages sent by ``opt_id``."""
        return list(self._messages.get(opt_id, []))

    def get_best_iter(self, opt_id: int | None = None) -> dict[str, Any]:
        """Best record overall, or of ``opt_id``: keys opt_id, x, fx, call_id, type."""
        if opt_id is None:
            return dict(self._overall_best)
        return dict(self._best[opt_id])

    @property
    def best_iters(self) -> dict[int, dict[str, Any]]:
        """The best iteration of each optimizer."""
        return {k: dict(v) for k, v in self._best.items()}

    @property
    def largest_eval(self) -> float:
        """The largest finite function value seen so far (-inf if none)."""
        return self._largest

    @property
    def opt_ids(self) -> list[int]:
        """IDs of every optimizer in the log."""
        return list(self._meta)

    @property
    def n_optimizers(self) -> int:
        """Number of optimizers in the log."""
        return len(self._meta)

    def len(self, opt_id: int) -> int:
        """Number of evaluations made by ``opt_id`` (all of them, not only those retained)."""
        hist = self._hist.get(opt_id)
        return 0 if hist is None else hist.total

    def __len__(self) -> int:
        """Total number of evaluations recorded."""
        return self._f_counter

    def extra_headers(self, opt_id: int) -> list[str]:
        """Names of the detailed-call columns of ``opt_id``."""
        hist = self._hist.get(opt_id)
        return [] if hist is None else list(hist.extra_names)

    # -- memory ---------------------------------------------------------------------------
    def clear_cache(self, opt_id: int | None = None) -> None:
        """Drop the retained history of ``opt_id`` (all if None); kept for trajectory plots."""
        if self.build_traj_plot:
            return
        for oid in [opt_id] if opt_id is not None else list(self._hist):
            if oid in self._hist:
                self._hist[oid].clear()

    def open(self, path: str | Path, mode: str, checksum: str) -> None:
        """Open the log's file ``path`` (file loggers): ``mode`` ``'w'`` (a new run) or
        ``'a'`` (a resumed run, whose ``checksum`` the file must carry). In memory: nothing
        to open."""

    def truncate_after(self, call_id: int) -> int:
        """Drop the rows after evaluation ``call_id`` from the file (a resumed run goes on
        from its checkpoint's count); return how many were dropped. In memory: none (the
        checkpoint holds exactly the rows up to it)."""
        return 0

    def flush(self, opt_id: int | None = None) -> None:
        """Write pending rows to disk (file loggers); nothing to do in memory."""

    def close(self) -> None:
        """Release resources (file loggers close their file)."""

    # -- checkpointing --------------------------------------------------------------------
    def checkpoint_save(self, path: str | Path = "", block: Sequence[str] | None = None) -> None:
        """Save the state of the log into directory ``path`` (file ``opt_log``)."""
        blocked = set(block or ())
        state = {k: v for k, v in self.__dict__.items() if k not in blocked and k != "logger"}
        with open(Path(path) / "opt_log", "wb") as file:
            dill.dump({"class": type(self), "state": state}, file)

    @classmethod
    def checkpoint_load(cls, path: str | Path) -> BaseLogger:
        """Rebuild a logger from the directory written by :meth:`checkpoint_save`."""
        with open(Path(path) / "opt_log", "rb") as file:
            data = dill.load(file)
        log = cls.__new__(cls)
        log.__dict__.update(data["state"])
        log.logger = logging.getLogger("glompo.logger")
        return log
