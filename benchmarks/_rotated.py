"""Rotated benchmark tasks and a budgeted evaluation counter, for ``benchmarks.quality``.

The plain benchmarks of :mod:`glompo_core.benchmarks` are mostly *separable*: optimizers
that search coordinate by coordinate (dual annealing, differential evolution) have an
edge there that vanishes on real problems. :class:`RotatedTask` removes it: the point is
turned by a fixed, seeded, random orthogonal matrix about the global minimiser before
the function sees it, as in the BBOB suite [HFRA09]_::

    z = c + R (x - c)                      c: the centre of rotation, R: orthogonal
    f_rot(x) = f(clip(z)) + boundary_penalty(z)

* ``c`` is the task's known minimiser ``min_x``; for a task without one (Rana for
  ``dims != 2``) it is the centre of the domain, and the minimum of the rotated task is
  not known either (its ``min_fx`` is ``None``).
* The rotated point can leave the domain (the rotated box pokes out of the box). The
  function is then evaluated at the nearest point of the domain, ``clip(z)``, and a
  penalty is added (:func:`boundary_penalty`): ``100 * sum(((z - clip(z)) / width)**2)``.
  This is BBOB's ``f_pen = sum(max(0, |u_i| - 5)**2)`` with the domain mapped onto
  BBOB's box [-5, 5] (``u = 10 (z - mid) / width``), so it does not depend on the units
  of the task: one coordinate 10 % of the width outside costs 1, 50 % costs 25. It is
  weak next to the spread of most of the functions (for a random point of the domain of
  the 20-D Rastrigin the median penalty is about 1.6, against an inter-quartile range of
  f of about 60), so the landscape outside the box is the function's values on its faces,
  tilted towards the box, and not a bowl that leads every optimizer home. BBOB evaluates
  ``f(z)`` outside the domain; several of our functions are better outside their domain
  than inside (Schwefel is unbounded below), so we clip.
* ``f(clip(z)) >= min_fx`` everywhere and the penalty is >= 0, zero only inside, so the
  rotated task keeps the minimum value ``min_fx`` and, since ``z = c`` at ``x = c``, the
  minimiser ``min_x``: ``f_rot(min_x) == f(min_x)`` exactly.

The search domain of the rotated task (its ``bounds``) is the plain task's.

References
----------
.. [HFRA09] Hansen, N., Finck, S., Ros, R. & Auger, A. (2009). Real-parameter black-box
   optimization benchmarking 2009: noiseless functions definitions. INRIA RR-6829.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from glompo_core.benchmarks import TASKS, BenchmarkTask

__all__ = [
    "PENALTY_WEIGHT",
    "ROTATION_SEED",
    "BudgetExhausted",
    "EvaluationCounter",
    "RotatedTask",
    "boundary_penalty",
    "make_task",
    "random_rotation",
]

FloatArray = NDArray[np.float64]

#: Weight of the boundary penalty, per squared box width outside the domain: BBOB's f_pen
#: on its box [-5, 5] (width 10), so 10**2.
PENALTY_WEIGHT = 100.0
#: Seed of the rotation used by ``benchmarks.quality`` (the same for every run).
ROTATION_SEED = 1


def random_rotation(dims: int, seed: int) -> FloatArray:
    """A random orthogonal matrix, uniformly (Haar) distributed, drawn from ``seed``.

    Parameters
    ----------
    dims
        Size of the matrix.
    seed
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same matrix.

    Returns
    -------
    numpy.ndarray
        ``(dims, dims)`` array ``Q`` with ``Q @ Q.T == I`` (to rounding).

    Notes
    -----
    The Q factor of a QR decomposition of a standard normal matrix, with its columns'
    signs fixed by the signs of R's diagonal (which makes the decomposition unique and the
    distribution uniform, Mezzadri 2007). ``det(Q)`` may be -1: a reflection is as good
    as a rotation at breaking separability.
    """
    if dims < 1:
        raise ValueError(f"dims must be >= 1, got {dims}")
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dims, dims)))
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return np.asarray(q * signs, dtype=np.float64)


def boundary_penalty(z: ArrayLike, lower: ArrayLike, upper: ArrayLike,
                     weight: float = PENALTY_WEIGHT) -> float:
    """Quadratic penalty on the part of ``z`` outside the box ``[lower, upper]``.

    Parameters
    ----------
    z
        A point.
    lower, upper
        The box.
    weight
        Penalty per squared box width outside.

    Returns
    -------
    float
        ``weight * sum(((z - clip(z, lower, upper)) / (upper - lower))**2)``: 0 inside
        the box (its faces included), > 0 outside.
    """
    z_arr = np.asarray(z, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    excess = (z_arr - np.clip(z_arr, lo, hi)) / (hi - lo)
    return float(weight * np.sum(excess * excess))


class RotatedTask:
    """A benchmark task seen through a fixed random rotation, with a boundary penalty.

    ``f_rot(x) = f(clip(z)) + boundary_penalty(z)`` with ``z = c + R (x - c)``; see the
    module docstring. Picklable (a plain class holding arrays), so it can be sent to
    worker processes.

    Parameters
    ----------
    task
        The plain task (a :class:`~glompo_core.benchmarks.BenchmarkTask`).
    seed
        Seed of the rotation matrix (:func:`random_rotation`).
    weight
        Weight of the boundary penalty (:func:`boundary_penalty`).

    Attributes
    ----------
    task : BenchmarkTask
        The plain task.
    rotation : numpy.ndarray
        The orthogonal matrix ``R``.
    centre : numpy.ndarray
        The centre of rotation ``c``: ``task.min_x``, or the centre of the domain.
    """

    def __init__(self, task: BenchmarkTask, seed: int = ROTATION_SEED,
                 weight: float = PENALTY_WEIGHT) -> None:
        self.task = task
        self.seed = int(seed)
        self.weight = float(weight)
        bounds = np.asarray(task.bounds, dtype=np.float64)
        self._lower = bounds[:, 0].copy()
        self._upper = bounds[:, 1].copy()
        self.rotation = random_rotation(task.dims, self.seed)
        min_x = task.min_x
        self.about_minimiser = min_x is not None
        self.centre = (np.asarray(min_x, dtype=np.float64) if min_x is not None
                       else (self._lower + self._upper) / 2.0)

    @property
    def dims(self) -> int:
        """Number of decision variables (the plain task's)."""
        return self.task.dims

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """The search domain (the plain task's)."""
        return list(self.task.bounds)

    @property
    def min_fx(self) -> float | None:
        """The plain task's minimum, if the rotation is about its minimiser; else None."""
        return self.task.min_fx if self.about_minimiser else None

    @property
    def min_x(self) -> FloatArray | None:
        """The plain task's minimiser (the centre of rotation), or None."""
        return np.copy(self.centre) if self.about_minimiser else None

    def rotate(self, x: ArrayLike) -> FloatArray:
        """``z = c + R (x - c)``: the point the plain function is evaluated near."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape != (self.dims,):
            raise ValueError(f"{self!r} expects x of shape ({self.dims},), got {arr.shape}")
        return np.asarray(self.centre + self.rotation @ (arr - self.centre))

    def __call__(self, x: ArrayLike) -> float:
        """``f(clip(z)) + boundary_penalty(z)``."""
        z = self.rotate(x)
        inside = np.clip(z, self._lower, self._upper)
        return float(self.task(inside)) + boundary_penalty(z, self._lower, self._upper,
                                                           self.weight)

    def __repr__(self) -> str:
        return f"RotatedTask({self.task!r}, seed={self.seed})"


def make_task(name: str, dims: int, rotated: bool = False,
              rotation_seed: int = ROTATION_SEED) -> BenchmarkTask | RotatedTask:
    """Build a benchmark task by class name, plain or rotated.

    Usable from a run file: ``task: "benchmarks._rotated:make_task"`` with
    ``task_kwargs: {name: Rastrigin, dims: 20, rotated: true}``.

    Parameters
    ----------
    name
        Class name in :mod:`glompo_core.benchmarks` (case-insensitive).
    dims
        Number of decision variables.
    rotated
        Wrap the task in a :class:`RotatedTask`.
    rotation_seed
        Seed of the rotation.

    Returns
    -------
    BenchmarkTask or RotatedTask
    """
    classes = {cls.__name__.lower(): cls for cls in TASKS}
    cls = classes.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown benchmark task {name!r}; known: "
                         f"{', '.join(c.__name__ for c in TASKS)}")
    task = cls(dims=dims)
    return RotatedTask(task, seed=rotation_seed) if rotated else task


class BudgetExhausted(RuntimeError):
    """Raised by an :class:`EvaluationCounter` (``stop=True``) called past its budget."""


class EvaluationCounter:
    """Count the evaluations of a function and keep the best value within a budget.

    Thread-safe: an evaluation's number is taken, under a lock, when the call starts, so
    with several threads the first ``budget`` calls to start are the credited ones.

    Parameters
    ----------
    func
        The function (task) to count.
    budget
        Evaluations credited: the best value is taken over the first ``budget`` calls only.
    stop
        True: a call past the budget raises :class:`BudgetExhausted` without evaluating
        (for optimizers that cannot be told a budget exactly). False: it is evaluated and
        returned but not credited (for a GloMPO run, which stops itself at the budget but
        finishes the batches in flight).

    Attributes
    ----------
    calls : int
        Every call, credited or not (refused calls included).
    best_fx : float
        Best finite value among the credited calls (``inf`` before any).
    best_x : numpy.ndarray or None
        Its point.
    """

    def __init__(self, func: Callable[[Any], float], budget: int, *, stop: bool = True) -> None:
        if budget < 1:
            raise ValueError(f"budget must be >= 1, got {budget}")
        self.func = func
        self.budget = int(budget)
        self.stop = bool(stop)
        self.calls = 0
        self.best_fx = math.inf
        self.best_x: FloatArray | None = None
        self._lock = threading.Lock()

    @property
    def credited(self) -> int:
        """Evaluations that count: ``min(calls, budget)``."""
        return min(self.calls, self.budget)

    @property
    def bounds(self) -> Any:
        """The wrapped task's ``bounds`` (None if it has none)."""
        return getattr(self.func, "bounds", None)

    @property
    def dims(self) -> Any:
        """The wrapped task's ``dims`` (None if it has none)."""
        return getattr(self.func, "dims", None)

    def __call__(self, x: ArrayLike) -> float:
        """Evaluate ``func(x)``; credit the value if within the budget."""
        with self._lock:
            self.calls += 1
            number = self.calls
        if number > self.budget and self.stop:
            raise BudgetExhausted(f"budget of {self.budget} evaluations used")
        fx = float(self.func(x))
        if number <= self.budget and fx < self.best_fx:  # NaN never compares smaller
            with self._lock:
                if fx < self.best_fx:
                    self.best_fx = fx
                    self.best_x = np.array(x, dtype=np.float64)
        return fx

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
