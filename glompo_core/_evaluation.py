"""The evaluation path of a run: the function an optimizer minimises, and failed evaluations.

Every evaluation is *admitted* by the manager before it starts (the run's budget is
counted there, and an evaluation the run no longer needs is refused with
:class:`~glompo_core.errors.EvaluationRefused`), runs on the run's backend, and is
*recorded* when it ends: a value, or a failure (the task raised, or ran past
``force_terminations_after``) recorded as ``fx = NaN`` with its error. Recorded
evaluations are buffered and handed to the manager a batch at a time.
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core.errors import EvaluationRefused

if TYPE_CHECKING:
    from glompo_core._slot import SlotHost

__all__ = ["TASK_ERROR_MODES", "EvaluationError", "FailureTally", "FunctionWrapper", "Scaler"]

FLUSH_EVERY = 64  # evaluations buffered at most before a batch is handed over

#: Values of the ``task_errors`` setting: ``'record'`` (a task that raises gives a failed
#: evaluation, the optimizer goes on) or ``'crash'`` (it ends its optimizer as crashed).
TASK_ERROR_MODES = ("record", "crash")

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class EvaluationError:
    """A failed evaluation: the task raised (or timed out) for ``x``."""

    call_id: int  # 0 until the manager numbers the batch
    x: np.ndarray
    type: str
    message: str
    site: str
    traceback: str
    attempts: int = 1
    row: int = 0  # position in its batch

    @classmethod
    def from_exception(cls, exc: BaseException, x: np.ndarray, attempts: int = 1
                       ) -> EvaluationError:
        """Describe ``exc`` (with a worker's traceback when it came from one)."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(0, x, type(exc).__name__, str(exc).strip().splitlines()[0]
                   if str(exc).strip() else "", _site(exc, text), text, attempts)

    @property
    def key(self) -> tuple[str, str]:
        """What groups failures: the exception type and where it was raised."""
        return self.type, self.site

    def line(self) -> str:
        """``Type at file:line: message`` on one line."""
        text = f"{self.type} at {self.site}" if self.site else self.type
        return f"{text}: {self.message}" if self.message else text


def _site(exc: BaseException, text: str) -> str:
    """``file:line`` where ``exc`` was raised (a worker's frame if it came from one)."""
    cause = exc.__cause__
    remote = getattr(cause, "args", None)
    if type(cause).__name__ == "RemoteTaskError" and remote:
        frames = _FRAME.findall(str(remote[0]))
        if frames:
            name, line = frames[-1]
            return f"{name.rsplit('/', 1)[-1]}:{line}"
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is not None:
        code = last.tb_frame.f_code
        if code.co_filename.startswith("<"):  # code with no file: '<dynamic-code>' of a
            # task pickled by value (cloudpickle >= 3.1.3, to dask workers), '<string>'...
            return f"{getattr(code, 'co_qualname', code.co_name)}:{last.tb_lineno}"
        return f"{code.co_filename.rsplit('/', 1)[-1]}:{last.tb_lineno}"
    frames = _FRAME.findall(text)
    return f"{frames[-1][0].rsplit('/', 1)[-1]}:{frames[-1][1]}" if frames else ""


@dataclass
class _Kind:
    first: EvaluationError
    opt_id: int
    count: int = 0


@dataclass
class FailureTally:
    """Failed evaluations of a run, grouped by exception type and site."""

    kinds: dict[tuple[str, str], _Kind] = field(default_factory=dict)
    total: int = 0
    in_a_row: int = 0  # failures since the last successful evaluation
    successes: int = 0

    def add(self, opt_id: int, error: EvaluationError) -> bool:
        """Count ``error``; True when it is the first of its kind."""
        self.total += 1
        self.in_a_row += 1
        kind = self.kinds.get(error.key)
        if kind is None:
            self.kinds[error.key] = _Kind(error, opt_id, 1)
            return True
        kind.count += 1
        return False

    def success(self, n: int) -> None:
        """``n`` evaluations ended with a value."""
        if n:
            self.successes += n
            self.in_a_row = 0

    def first(self) -> EvaluationError | None:
        """The first failure of the run."""
        if not self.kinds:
            return None
        return min((k.first for k in self.kinds.values()), key=lambda e: e.call_id)

    def as_dict(self) -> dict[str, Any]:
        """Counts for the summary file and the Result."""
        return {"total": self.total,
                "kinds": [{"error": k.first.line(), "count": k.count,
                           "first_call_id": k.first.call_id, "first_opt_id": k.opt_id,
                           "traceback": k.first.traceback}
                          for k in sorted(self.kinds.values(), key=lambda k: -k.count)]}

    def lines(self) -> list[str]:
        """One line per kind of failure, most frequent first."""
        return [f"{k.count} x {k.first.line()} (first: evaluation {k.first.call_id}, "
                f"optimizer {k.opt_id})"
                for k in sorted(self.kinds.values(), key=lambda k: -k.count)]


class Scaler:
    """Maps between the task's units and an optimizer's declared scaling."""

    def __init__(self, bounds: np.ndarray, scaling: str | None) -> None:
        self.lo = bounds[:, 0]
        self.span = bounds[:, 1] - bounds[:, 0]
        self.scaling = scaling if scaling in ("linear", "std") else None
        if self.scaling == "linear":
            self.bounds = np.tile([0.0, 1.0], (len(bounds), 1))
        elif self.scaling == "std":
            self.bounds = np.tile([-1.0, 1.0], (len(bounds), 1))
        else:
            self.bounds = bounds

    def to_task(self, x: np.ndarray) -> np.ndarray:
        """Optimizer units to task units."""
        if self.scaling == "linear":
            return self.lo + x * self.span
        if self.scaling == "std":
            return self.lo + (x + 1.0) * 0.5 * self.span
        return x

    def from_task(self, x: np.ndarray) -> np.ndarray:
        """Task units to optimizer units."""
        if self.scaling == "linear":
            return (x - self.lo) / self.span
        if self.scaling == "std":
            return 2.0 * (x - self.lo) / self.span - 1.0
        return x


class FunctionWrapper:
    """The function an optimizer minimises.

    Each call is admitted by the manager (which may refuse it with
    :class:`EvaluationRefused`), evaluated on the backend (``retries`` more times if the
    task raises), and recorded: the value, or a failure (NaN) with its error. The
    optimizer gets the value, +inf for NaN and failures; with ``crash=True`` a task
    error is re-raised after it is recorded (the ``task_errors: crash`` setting).
    """

    def __init__(self, manager: SlotHost, opt_id: int, scaler: Scaler, backend: Any, *,
                 workers: int = 1, detailed: bool = False,
                 retries: int = 0, crash: bool = False, n_extras: int | None = None) -> None:
        self._manager = manager
        self._opt_id = opt_id
        self.scaler = scaler
        self._backend = backend
        self._workers = max(1, int(workers))
        self._detailed = detailed
        self._retries = max(0, int(retries))
        self._crash = crash
        self._n_extras = n_extras
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        # evaluations under way, by their order key: (x, time.monotonic() at the start)
        self._inflight: dict[int, tuple[np.ndarray, float]] = {}
        # recorded rows, keyed by their order of request: (key, x, fx, extras, error)
        self._rows: list[tuple[int, np.ndarray, float, Sequence[Any] | None,
                               EvaluationError | None]] = []
        self._next_key = 0
        self.n_values = 0  # evaluations that gave a value (not failed)
        self.closed = False

    # ---------------------------------------------------------------- one evaluation
    def _keys(self, n: int) -> int:
        """Reserve ``n`` consecutive order keys; the first."""
        with self._lock:
            first = self._next_key
            self._next_key += n
            return first

    def _evaluate(self, x: np.ndarray, key: int) -> float:
        """Admit, evaluate and record one point (task units); the optimizer's value.

        ``key`` orders the rows of a batch as the optimizer asked for them, whatever
        the order the evaluations of a population end in.
        """
        self._manager.admit(self._opt_id)
        with self._lock:
            self._inflight[key] = (x, time.monotonic())
        error: BaseException | None = None
        out: Any = None
        attempts = 0
        while True:
            attempts += 1
            try:
                out = self._backend.evaluate(x)
                error = None
                break
            except Exception as exc:  # a failed evaluation is a result
                error = exc
                if attempts > self._retries:
                    break
        fx, extras = float("nan"), None
        if error is None:
            try:
                fx, extras = self._split(out)
            except Exception as exc:  # the task returned something that is not a number
                error = TypeError(f"the task returned {out!r}, which is not a number: {exc}")
        with self._lock:
            if self._inflight.pop(key, None) is None:  # abandoned meanwhile: recorded
                return float("inf")
            record = None
            if error is not None:
                record = EvaluationError.from_exception(error, x, attempts)
            else:
                self.n_values += 1
            self._rows.append((key, x, fx, extras, record))
            full = len(self._rows) >= FLUSH_EVERY
        if full or (error is not None and self._crash):
            self.flush()
        if error is not None and self._crash:
            raise error
        return fx if fx == fx else float("inf")

    def _split(self, out: Any) -> tuple[float, Sequence[Any] | None]:
        if self._detailed:
            seq = list(out)
            if self._n_extras is None:
                self._n_extras = len(seq) - 1
            return float(seq[0]), seq[1:]
        return float(out), None

    def __call__(self, x: Sequence[float]) -> float:
        return self._evaluate(self.scaler.to_task(np.asarray(x, dtype=float).ravel()),
                              self._keys(1))

    def evaluate_population(self, xs: Sequence[Sequence[float]]) -> list[float]:
        """Evaluate a population, up to the optimizer's ``workers`` at once.

        Each point is admitted on its own, so a population is cut between evaluations
        when the run or the optimizer ends (:class:`EvaluationRefused` is raised after
        the evaluations already started have finished and been recorded).
        """
        x_task = self.scaler.to_task(np.atleast_2d(np.asarray(xs, dtype=float)))
        first = self._keys(len(x_task))
        if self._workers == 1 or len(x_task) == 1:
            return [self._evaluate(x, first + i) for i, x in enumerate(x_task)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers,
                                            thread_name_prefix=f"glompo-opt{self._opt_id}-eval")
        futures = [self._pool.submit(self._evaluate, x, first + i)
                   for i, x in enumerate(x_task)]
        values: list[float] = []
        refused: list[BaseException] = []
        errors: list[BaseException] = []
        for future in futures:  # every started evaluation ends (and is recorded) first
            try:
                values.append(future.result())
            except EvaluationRefused as exc:
                refused.append(exc)
            except BaseException as exc:  # a task error with task_errors='crash'
                errors.append(exc)
        if errors or refused:
            self.flush()
            raise (errors or refused)[0]
        return values

    # ------------------------------------------------------------------- bookkeeping
    @property
    def n_inflight(self) -> int:
        """Evaluations under way: started, not yet recorded (read without the lock)."""
        return len(self._inflight)

    def oldest_inflight(self) -> float | None:
        """``time.monotonic()`` at the start of the oldest evaluation under way."""
        with self._lock:
            return min((t for _, t in self._inflight.values()), default=None)

    def abandon(self, error: BaseException) -> int:
        """Record every evaluation under way as failed with ``error``; return how many.

        Used when a hung evaluation cannot be killed (threads backend) and at the end of
        a run for evaluations still running: their results, if they come, are not
        recorded a second time.
        """
        with self._lock:
            inflight, self._inflight = self._inflight, {}
            for key, (x, _) in inflight.items():
                record = EvaluationError.from_exception(error, x)
                self._rows.append((key, x, float("nan"), None, record))
        self.flush()
        return len(inflight)

    def flush(self) -> None:
        """Hand the buffered evaluations to the manager as one batch."""
        with self._lock:
            if not self._rows:
                return
            rows = sorted(self._rows, key=lambda row: row[0])
            self._rows = []
            xs = np.array([row[1] for row in rows], dtype=float)
            fxs = np.array([row[2] for row in rows], dtype=float)
            extras = None
            if self._detailed and self._n_extras:
                fill = [float("nan")] * self._n_extras
                extras = [list(col) for col in
                          zip(*(row[3] if row[3] is not None else fill for row in rows))]
            errors = []
            for i, row in enumerate(rows):
                if row[4] is not None:
                    row[4].row = i
                    errors.append(row[4])
            # under the wrapper's lock: batches of one optimizer reach the manager in order
            self._manager.process_batch(self._opt_id, xs, fxs, extras, errors)

    def close(self) -> None:
        """Release the population thread pool (the optimizer has ended)."""
        self.closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
