"""CompassSearch: a compass (coordinate pattern) search as a GloMPO child optimizer."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from glompo_core.optimizers import BaseOptimizer, MinimizeResult, evaluate_population

__all__ = ["CompassSearch"]


def _fraction(value: Any, name: str, *, upper: float, upper_inclusive: bool,
              what: str) -> float:
    """``float(value)`` for a real number in (0, upper] (or (0, upper)); else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    x = float(value)
    if not (x > 0 and (x <= upper if upper_inclusive else x < upper)):  # NaN fails too
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return x


def _seed(value: Any) -> int | None:
    """``value`` if it is None or an integer >= 0; else a ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"seed must be None or an integer >= 0, got {value!r}")
    return int(value)


class CompassSearch(BaseOptimizer):
    """Compass search: poll the 2n points around the centre, move to the best, else shrink.

    A derivative-free local search with a simple convergence guarantee on smooth
    functions. Each iteration polls the points ``x ± step * width_i * d_i`` for the
    ``n`` poll directions ``d_i`` (the coordinate axes, or a random orthonormal basis
    with ``rotate=True``) and the width ``width_i`` of each parameter's range. All the
    points of an iteration are evaluated at once, so inside a GloMPO run they go through
    the run's backend together. The centre moves to the best polled point if it is
    better; otherwise the step is multiplied by ``shrink``. The search converges when the
    step falls below ``tol``.

    Parameters
    ----------
    step0
        Initial step, as a fraction of each parameter's range (``max - min``), in (0, 1].
    tol
        The search converges when the step (a fraction of the ranges) falls below
        ``tol``, in (0, ``step0``).
    shrink
        Factor applied to the step after an iteration without improvement, in (0, 1).
    rotate
        False: poll along the coordinate axes (classic compass search, no randomness).
        True: poll along a random orthonormal basis, drawn again after every iteration
        without improvement (helps on functions whose valleys are not aligned with the
        axes).
    workers
        Concurrent evaluations (slots) of the optimizer; see
        :class:`~glompo_core.optimizers.BaseOptimizer`.
    seed
        Seed (an integer >= 0) of the random bases of ``rotate=True``; None draws fresh
        entropy. The manager gives each optimizer a child seed of the run's ``seed``.
        Every :meth:`minimize` call restarts the generator from it, so a seeded search
        repeats exactly.
    **kwargs
        The manager's runtime arguments (``_opt_id``, ...), set by the manager and
        handed to :class:`~glompo_core.optimizers.BaseOptimizer` with ``workers`` and
        ``seed``.

    Raises
    ------
    ValueError
        An argument outside its range.

    Notes
    -----
    1. **Units.** GloMPO gives an optimizer the task's own bounds and points unless its
       class declares a ``scaling`` (``'linear'``: every parameter mapped to [0, 1];
       ``'std'``: to [-1, 1]). ``CompassSearch`` declares none, so it searches in the
       task's units; because ``step0`` and ``tol`` are fractions of each parameter's
       range, they mean the same whatever the units, and a subclass with
       ``scaling = "linear"`` would poll the same points.
    2. **Bounds.** Polled points are clipped to the bounds, and a point that clipping
       makes equal to the centre (or to another polled point) is not evaluated: no point
       outside the bounds is ever evaluated. The bounds must be finite.
    3. ``x0`` (clipped to the bounds) is evaluated first, alone.
    4. NaN values count as +inf; an iteration whose points are all +inf shrinks the step.
    5. **Injections** (``share_best_solutions=True``): a better point from the manager
       becomes the incumbent, and the search moves its centre there at the start of the
       next iteration, keeping its current step.
    6. **Messages.** Once per iteration it processes the manager's messages (stop,
       pause, inject, checkpoint) and honours a pause. On convergence it sends message
       key 0 with the final step.
    7. **Checkpoints.** The default :meth:`~glompo_core.optimizers.BaseOptimizer.checkpoint_save`
       writes the whole state (centre, step, basis, random generator); an optimizer
       loaded with ``checkpoint_load`` continues the same search: its ``minimize``
       ignores the ``x0`` and ``bounds`` it is given and polls what the saved optimizer
       would have polled next.

    Examples
    --------
    >>> opt = CompassSearch(step0=0.5, tol=1e-8)
    >>> res = opt.minimize(lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2,
    ...                    [0.9, 0.9], [(-1.0, 1.0), (-1.0, 1.0)])
    >>> bool(res.success and res.fx < 1e-12)
    True
    """

    scaling: ClassVar[str | None] = None

    def __init__(self, step0: float = 0.25, tol: float = 1e-6, shrink: float = 0.5,
                 rotate: bool = False, **kwargs: Any) -> None:
        # the manager's runtime arguments, workers and seed: BaseOptimizer takes them
        super().__init__(**kwargs)
        seed = _seed(self.seed)
        self.step0 = _fraction(step0, "step0", upper=1.0, upper_inclusive=True,
                               what="a number in (0, 1]: a fraction of each parameter's range")
        self.tol = _fraction(tol, "tol", upper=self.step0, upper_inclusive=False,
                             what=f"a number in (0, step0={self.step0:g})")
        self.shrink = _fraction(shrink, "shrink", upper=1.0, upper_inclusive=False,
                                what="a number in (0, 1)")
        if not isinstance(rotate, (bool, np.bool_)):
            raise ValueError(f"rotate must be true or false, got {rotate!r}")
        self.rotate = bool(rotate)

        # the state of the current (or last) search; all of it goes into a checkpoint
        self.x: np.ndarray | None = None  #: the centre of the search
        self.fx = math.inf  #: its value
        self.step = self.step0  #: the current step, a fraction of the ranges
        self.n_iter = 0
        self.n_evals = 0
        self._bounds: np.ndarray | None = None
        self._basis: np.ndarray | None = None
        self._rng = np.random.default_rng(seed)
        self._in_progress = False
        self._stop = False

    # -- the algorithm --------------------------------------------------------------------
    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Run the compass search until it converges or is stopped.

        Parameters
        ----------
        function
            Function to minimize (see :meth:`BaseOptimizer.minimize`).
        x0
            Starting point (clipped to the bounds), evaluated first.
        bounds
            ``(min, max)`` of each parameter, finite.

        Returns
        -------
        MinimizeResult
            The best point evaluated (or injected) and its value; ``success`` is True if
            the search converged (rather than being stopped). ``stats`` holds the
            iterations, the evaluations and the final step.
        """
        self._stop = False
        if not (self.is_restart and self._in_progress and self.x is not None):
            self._start(x0, bounds)
            assert self.x is not None
            self.fx = float(self._evaluate(function, self.x[None, :])[0])
            self._in_progress = True
            self.check_messages()
            self._pause_signal.wait()
        self._in_progress = True
        converged = False
        while not self._stop:
            self._follow_incumbent()
            if self.step < self.tol:
                converged = True
                break
            points = self._poll_points()
            improved = False
            if len(points):
                fxs = self._evaluate(function, points)
                best = int(np.argmin(fxs))
                if fxs[best] < self.fx:
                    self.x, self.fx = points[best].copy(), float(fxs[best])
                    improved = True
            if not improved:
                self.step *= self.shrink
                if self.rotate:
                    self._basis = self._new_basis(len(self._basis_or_fail()))
            self.n_iter += 1
            self.check_messages()
            self._pause_signal.wait()
        self._in_progress = False
        if converged:
            self.message_manager(0, f"CompassSearch converged: step {self.step:.3g} < tol "
                                    f"{self.tol:.3g} after {self.n_iter} iterations")
        x = self.incumbent["x"]
        return MinimizeResult(
            success=converged, x=None if x is None else np.array(x, dtype=float),
            fx=float(self.incumbent["fx"]),
            stats={"iterations": self.n_iter, "evaluations": self.n_evals, "step": self.step},
            origin={"opt_id": self.opt_id, "type": type(self).__name__})

    def callstop(self, reason: str = "") -> None:
        """Stop at the end of the current iteration."""
        self._stop = True

    # -- helpers --------------------------------------------------------------------------
    def _start(self, x0: Sequence[float], bounds: Sequence[tuple[float, float]]) -> None:
        """Validate the arguments of :meth:`minimize` and reset the search."""
        x = np.array(x0, dtype=float).ravel()
        b = np.array(bounds, dtype=float)
        if b.shape != (len(x), 2):
            raise ValueError(f"bounds must be one (min, max) pair per parameter of x0 "
                             f"({len(x)}), got {bounds!r}")
        if not np.all(np.isfinite(b)) or np.any(b[:, 0] > b[:, 1]):
            raise ValueError(f"bounds must be finite (min, max) pairs with min <= max, "
                             f"got {bounds!r}")
        self._bounds = b
        self._rng = np.random.default_rng(self.seed)
        self._basis = self._new_basis(len(x))
        self.x = np.clip(x, b[:, 0], b[:, 1])
        self.fx = math.inf
        self.step = self.step0
        self.n_iter = 0
        self.n_evals = 0
        self.incumbent: dict[str, Any] = {"x": None, "fx": math.inf}

    def _basis_or_fail(self) -> np.ndarray:
        assert self._basis is not None, "minimize() has not started"
        return self._basis

    def _new_basis(self, n: int) -> np.ndarray:
        """The poll directions as the columns of an orthonormal matrix."""
        if not self.rotate:
            return np.eye(n)
        q, r = np.linalg.qr(self.rng.standard_normal((n, n)))
        return q * np.where(np.diag(r) < 0, -1.0, 1.0)  # a uniformly random rotation

    def _poll_points(self) -> np.ndarray:
        """The distinct points ``x ± step * width * d_i`` within the bounds, not ``x``."""
        assert self.x is not None and self._bounds is not None
        lo, hi = self._bounds[:, 0], self._bounds[:, 1]
        offsets = (self.step * (hi - lo))[:, None] * self._basis_or_fail()  # column i: d_i
        points = np.empty((2 * len(self.x), len(self.x)))
        points[0::2] = self.x + offsets.T
        points[1::2] = self.x - offsets.T
        points = np.clip(points, lo, hi)
        points = points[np.any(points != self.x, axis=1)]
        if len(points) > 1:
            _, first = np.unique(points, axis=0, return_index=True)
            points = points[np.sort(first)]
        return points

    def _evaluate(self, function: Callable[[Sequence[float]], float],
                  points: np.ndarray) -> np.ndarray:
        """Evaluate ``points`` at once; update the incumbent; NaN becomes +inf."""
        fxs = np.array(evaluate_population(function, points, self.workers), dtype=float)
        fxs[np.isnan(fxs)] = np.inf
        self.n_evals += len(points)
        for x, fx in zip(points, fxs):
            self._update_incumbent(x, float(fx))
        return fxs

    def _follow_incumbent(self) -> None:
        """Move the centre to the incumbent if it is better (a point injected by the manager)."""
        x, fx = self.incumbent["x"], float(self.incumbent["fx"])
        if x is None or not fx < self.fx or self._bounds is None:
            return
        point = np.array(x, dtype=float).ravel()
        if point.shape != (len(self._bounds),):
            return
        self.x = np.clip(point, self._bounds[:, 0], self._bounds[:, 1])
        self.fx = fx
