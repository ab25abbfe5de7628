"""The per-optimizer slot talks to the manager only through its four callbacks."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from glompo_core._evaluation import EvaluationError
from glompo_core._slot import SlotHost, build_slot, run_minimize
from glompo_core.backends import ThreadsBackend
from glompo_core.errors import EvaluationRefused
from glompo_core.optimizers import RandomOptimizer
from glompo_core.optimizers.baseoptimizer import ManagerMessage

BOUNDS = np.array([[-2.0, 2.0], [0.0, 4.0]])


def failing_sphere(x: Sequence[float]) -> float:
    a = np.asarray(x, dtype=float)
    if a[0] > 1.5:
        raise ValueError("out of the task's domain")
    return float(a @ a)


class Host:
    """A stand-in manager: counts, records and refuses after ``budget`` evaluations."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.admitted = 0
        self.rows: list[tuple[np.ndarray, float]] = []
        self.errors: list[EvaluationError] = []
        self.messages: list[ManagerMessage] = []
        self.iterations = 0

    def admit(self, opt_id: int) -> None:
        if self.admitted >= self.budget:
            raise EvaluationRefused("budget spent")
        self.admitted += 1

    def process_batch(self, opt_id: int, x: np.ndarray, fx: np.ndarray,
                      extras: list[list[Any]] | None,
                      errors: Sequence[EvaluationError]) -> None:
        self.rows.extend(zip(x, fx.tolist()))
        self.errors.extend(errors)

    def process_message(self, msg: ManagerMessage) -> None:
        self.messages.append(msg)

    def note_iteration(self, opt_id: int) -> None:
        self.iterations += 1


def run(host: Host, cls: type = RandomOptimizer, **init: Any) -> tuple[str, str]:
    checked: SlotHost = host  # the stand-in satisfies the protocol (mypy checks this line)
    backend = ThreadsBackend()
    backend.start(failing_sphere, 1, detailed=False, timeout=None)
    try:
        rec = build_slot(checked, 7, cls, init, {}, np.array([0.5, 1.0]),
                         bounds=BOUNDS, backend=backend, backend_name="threads", workers=1,
                         detailed=False, retries=0, crash=False, n_extras=None, seed=3)
        return run_minimize(rec, None)
    finally:
        backend.shutdown()


def test_every_admitted_evaluation_is_recorded_once_and_the_refusal_cuts_the_run() -> None:
    host = Host(budget=57)
    status, message = run(host, popsize=4, iters=1000)
    assert (status, message) == ("refused", "")
    assert host.admitted == 57 == len(host.rows)
    assert host.iterations > 0  # iteration boundaries with values were reported
    for x, fx in host.rows:  # rows are in task units, whatever the optimizer's scaling
        assert np.all(x >= BOUNDS[:, 0]) and np.all(x <= BOUNDS[:, 1])
        assert np.isnan(fx) == (x[0] > 1.5)
    assert len(host.errors) == sum(np.isnan(fx) for _, fx in host.rows)
    assert all(e.type == "ValueError" and "domain" in e.message for e in host.errors)


def test_an_optimizer_that_ends_by_itself_finishes_and_says_so() -> None:
    host = Host(budget=10_000)
    status, _ = run(host, popsize=3, iters=5)
    assert status == "finished"
    assert host.admitted == len(host.rows) == 15


def _raised(code: str, filename: str) -> BaseException:
    namespace: dict[str, Any] = {}
    exec(compile(code, filename, "exec"), namespace)
    try:
        namespace["Task"]()(np.zeros(2))
    except ArithmeticError as exc:
        return exc
    raise AssertionError("the task did not raise")


TASK = "class Task:\n    def __call__(self, x):\n        raise ArithmeticError('no solution')\n"


def test_a_failure_names_the_file_and_line_where_it_was_raised() -> None:
    error = EvaluationError.from_exception(_raised(TASK, "/work/sim/model.py"), np.zeros(2))
    assert (error.type, error.site, error.message) == ("ArithmeticError", "model.py:3",
                                                       "no solution")


def test_code_with_no_file_is_named_by_its_function() -> None:
    """A task pickled by value (cloudpickle >= 3.1.3 sends its code to dask workers as
    '<dynamic-code>') is named by its qualified name, not by a file nobody can open."""
    error = EvaluationError.from_exception(_raised(TASK, "<dynamic-code>"), np.zeros(2))
    expected = "Task.__call__:3" if sys.version_info >= (3, 11) else "__call__:3"
    assert error.site == expected
    assert error.line() == f"ArithmeticError at {expected}: no solution"
