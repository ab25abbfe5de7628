"""Conformance checks of loggers (see :mod:`glompo_core.testing`).

Each check takes the logger *class* and extra keyword arguments; it is built as the
manager builds it, ``cls(n_parms, expected_rows, build_traj_plot, **init_kwargs)``, and,
if it has the spec's ``open(path, mode, checksum)``, opened on a file in a temporary
directory (and closed at the end). Rows are put as the manager puts them: batches of
two optimizers, interleaved, failed evaluations (NaN, +inf) among them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core.testing._common import name_of

__all__ = [
    "LOGGER_CHECKS",
    "check_logger_checkpoint",
    "check_logger_extras",
    "check_logger_messages_and_metadata",
    "check_logger_rows",
]

_N = 3
_CHECKSUM = "glompo-conformance"


def _batches() -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(opt_id, call_ids, x, fx) as the manager puts them: interleaved, with NaN and inf."""
    rng = np.random.default_rng(5)
    out = []
    call_id = 0
    for k, (opt_id, size) in enumerate([(1, 4), (2, 3), (1, 1), (2, 5), (1, 6), (2, 2)]):
        x = rng.uniform(-1, 1, (size, _N))
        fx = np.sum(x ** 2, axis=1) + 0.1 * k
        if k == 1:
            fx[0] = np.nan
        if k == 3:
            fx[2] = np.inf
        out.append((opt_id, np.arange(call_id + 1, call_id + size + 1), x, fx))
        call_id += size
    return out


@contextmanager
def _opened(cls: type, init_kwargs: Mapping[str, Any] | None,
            build_traj_plot: bool = False) -> Iterator[tuple[Any, Path]]:
    with tempfile.TemporaryDirectory(prefix="glompo-conformance-") as tmp:
        try:
            log = cls(_N, 32, build_traj_plot, **dict(init_kwargs or {}))
        except Exception as exc:
            raise AssertionError(f"{name_of(cls)}(n_parms, expected_rows, build_traj_plot, "
                                 f"**{dict(init_kwargs or {})!r}) failed: "
                                 f"{type(exc).__name__}: {exc}; the manager builds loggers "
                                 "that way") from exc
        opener = getattr(log, "open", None)
        if callable(opener):
            opener(Path(tmp) / "conformance_log.h5", "w", _CHECKSUM)
        try:
            yield log, Path(tmp)
        finally:
            log.close()


def _put_all(log: Any) -> None:
    for opt_id in (1, 2):
        log.add_optimizer(opt_id, f"Opt{opt_id}", float(opt_id))
    for opt_id, ids, x, fx in _batches():
        log.put_iteration(opt_id, ids, x, fx)


def _expected(opt_id: int) -> dict[str, np.ndarray]:
    rows = [b for b in _batches() if b[0] == opt_id]
    fx = np.concatenate([b[3] for b in rows])
    return {"call_id": np.concatenate([b[1] for b in rows]),
            "x": np.concatenate([b[2] for b in rows]), "fx": fx,
            "fx_best": np.minimum.accumulate(np.where(np.isfinite(fx), fx, np.inf))}


def _compare(log: Any, read: Callable[[int, str], Any], how: str,
             window: int | None = None) -> None:
    """Fail unless ``read`` gives every row put (with ``window``: at least the ``window``
    most recent rows, and only the most recent ones)."""
    name = name_of(log)
    for opt_id in (1, 2):
        for track, want in _expected(opt_id).items():
            try:
                got = np.asarray(read(opt_id, track))
            except Exception as exc:
                raise AssertionError(f"{name}.{how}({opt_id}, {track!r}) raised "
                                     f"{type(exc).__name__}: {exc}") from exc
            if window is not None and min(window, len(want)) <= len(got) <= len(want):
                want = want[len(want) - len(got):]
            if got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
                kept = "" if window is None else f" (window={window}: the most recent rows)"
                raise AssertionError(f"{name}.{how}({opt_id}, {track!r}) returned {got.tolist()}"
                                     f", but the rows put were {want.tolist()}{kept}")


def _window(log: Any) -> int | None:
    window = getattr(log, "window", None)
    return None if window is None else int(window)


def _has_full_history(log: Any) -> bool:
    """Whether ``log.full_history`` must give every row: a method of its own, or no window
    (the in-memory log has every row only without one)."""
    from glompo_core.optimizerlogger import BaseLogger

    method = getattr(type(log), "full_history", None)
    if method is None:
        return False
    return _window(log) is None or method is not BaseLogger.full_history


def check_logger_rows(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """The rows read back are the rows put: per optimizer, in order, NaN and +inf kept.

    ``get_history`` (what stoppers read) and ``full_history`` (what plots read; after
    ``close()`` too, for loggers that keep a file), for the tracks ``call_id``, ``x``,
    ``fx`` and ``fx_best``; ``len(opt_id)``, ``len(log)`` and the best iterations
    (finite values only).

    Raises
    ------
    AssertionError
        A row lost, changed or reordered; wrong counts or best.
    """
    name = name_of(cls)
    with _opened(cls, init_kwargs) as (log, _):
        _put_all(log)
        _compare(log, log.get_history, "get_history", _window(log))
        if _has_full_history(log):
            _compare(log, log.full_history, "full_history")
        for opt_id in (1, 2):
            n = len(_expected(opt_id)["fx"])
            if log.len(opt_id) != n:
                raise AssertionError(f"{name}.len({opt_id}) is {log.len(opt_id)}; {n} rows "
                                     "were put")
            best = log.get_best_iter(opt_id)
            exp = _expected(opt_id)
            i = int(np.argmin(np.where(np.isfinite(exp["fx"]), exp["fx"], np.inf)))
            if best["fx"] != exp["fx"][i] or best["call_id"] != exp["call_id"][i]:
                raise AssertionError(f"{name}.get_best_iter({opt_id}) is {best}; the best row "
                                     f"put has call_id {exp['call_id'][i]}, fx {exp['fx'][i]}")
        total = sum(len(b[3]) for b in _batches())
        if len(log) != total:
            raise AssertionError(f"len({name}) is {len(log)}; {total} rows were put")
        log.close()
        if _has_full_history(log):
            _compare(log, log.full_history, "full_history (after close)")


def check_logger_extras(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """Extra columns of a detailed call (numbers and strings) are read back as put.

    Raises
    ------
    AssertionError
        An extra column missing or with other values.
    """
    name = name_of(cls)
    with _opened(cls, init_kwargs) as (log, _):
        log.add_optimizer(1, "Opt1", 0.0)
        log.add_iter_history(1, extra_headers=("norm", "label"))
        rng = np.random.default_rng(9)
        norms: list[float] = []
        labels: list[str] = []
        for k in range(3):
            x = rng.uniform(-1, 1, (2, _N))
            n = [float(v) for v in np.linalg.norm(x, axis=1)]
            lab = [f"batch {k} row {j}" for j in range(2)]
            log.put_iteration(1, np.arange(2 * k + 1, 2 * k + 3), x, np.sum(x ** 2, axis=1),
                              [n, lab])
            norms += n
            labels += lab
        if list(log.extra_headers(1)) != ["norm", "label"]:
            raise AssertionError(f"{name}.extra_headers(1) is {log.extra_headers(1)}; expected "
                                 "['norm', 'label']")
        for read in ("get_history", "full_history"):
            if read == "full_history" and not _has_full_history(log):
                continue
            got_n = [float(v) for v in getattr(log, read)(1, "norm")]
            got_l = [str(v) for v in getattr(log, read)(1, "label")]
            window = _window(log) if read == "get_history" else None
            keep = len(norms) if window is None else max(min(window, len(norms)), len(got_n))
            norms_, labels_ = norms[len(norms) - keep:], labels[len(labels) - keep:]
            if got_n != norms_ or got_l != labels_:
                raise AssertionError(f"{name}.{read}(1, 'norm'/'label') returned {got_n} / "
                                     f"{got_l}; put were {norms} / {labels}")


def check_logger_messages_and_metadata(cls: type,
                                       init_kwargs: Mapping[str, Any] | None = None) -> None:
    """Messages and metadata of each optimizer are kept (the summary reads them).

    Raises
    ------
    AssertionError
        A message or metadata value lost or changed; an unknown key not a KeyError.
    """
    name = name_of(cls)
    with _opened(cls, init_kwargs) as (log, _):
        _put_all(log)
        log.put_message(1, "converged: step budget used")
        log.put_message(2, "stopped by BestUnmoving")
        log.put_metadata(1, "end_cond", "converged")
        log.put_manager_metadata("seed", 7)
        if log.get_messages(1) != ["converged: step budget used"] or \
                log.get_messages(2) != ["stopped by BestUnmoving"]:
            raise AssertionError(f"{name}.get_messages returned {log.get_messages(1)} and "
                                 f"{log.get_messages(2)}; other messages were put")
        for key, want in (("end_cond", "converged"), ("type", "Opt1")):
            if log.get_metadata(1, key) != want:
                raise AssertionError(f"{name}.get_metadata(1, {key!r}) is "
                                     f"{log.get_metadata(1, key)!r}; expected {want!r}")
        try:
            log.get_metadata(1, "no_such_key")
        except KeyError:
            pass
        else:
            raise AssertionError(f"{name}.get_metadata(1, 'no_such_key') did not raise KeyError")


def check_logger_checkpoint(cls: type, init_kwargs: Mapping[str, Any] | None = None) -> None:
    """``checkpoint_save(dir)`` then ``cls.checkpoint_load(dir)`` gives the same log, which
    goes on taking rows.

    Raises
    ------
    AssertionError
        The loaded log is of another class, lost rows, best values or messages, or does
        not take rows.
    """
    name = name_of(cls)
    with _opened(cls, init_kwargs) as (log, tmp):
        _put_all(log)
        log.put_message(1, "hello")
        state = tmp / "checkpoint"
        state.mkdir()
        try:
            log.checkpoint_save(state)
            loaded: Any = cls.checkpoint_load(state)  # type: ignore[attr-defined]
        except Exception as exc:
            raise AssertionError(f"{name} checkpoint_save/checkpoint_load failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
        try:
            loaded_type: type = type(loaded)
            if loaded_type is not cls:
                raise AssertionError(f"{name}.checkpoint_load returned a "
                                     f"{type(loaded).__name__}")
            _compare(loaded, loaded.get_history, "get_history (after checkpoint_load)",
                     _window(loaded))
            if loaded.get_messages(1) != ["hello"] or len(loaded) != len(log):
                raise AssertionError(f"{name} loaded from a checkpoint has messages "
                                     f"{loaded.get_messages(1)} and {len(loaded)} rows; "
                                     f"expected ['hello'] and {len(log)}")
            if loaded.get_best_iter()["fx"] != log.get_best_iter()["fx"]:
                raise AssertionError(f"{name} loaded from a checkpoint has best "
                                     f"{loaded.get_best_iter()}, expected {log.get_best_iter()}")
            loaded.put_iteration(1, np.array([100]), np.zeros((1, _N)), np.array([0.0]))
            if loaded.len(1) != log.len(1) + 1 or loaded.get_best_iter()["fx"] != 0.0:
                raise AssertionError(f"{name} loaded from a checkpoint does not take new rows")
        finally:
            loaded.close()


LOGGER_CHECKS: tuple[Callable[..., None], ...] = (
    check_logger_rows,
    check_logger_extras,
    check_logger_messages_and_metadata,
    check_logger_checkpoint,
)
