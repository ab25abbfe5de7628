"""AnnealingGenerator: the Markov chain of generalized simulated (dual) annealing."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core._validation import bounds_array, call_text, fraction, number, positive_number
from glompo_core.generators._common import BoundsLike, resolve_bounds, uniform
from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["AnnealingGenerator"]

_TAIL_LIMIT = 1e8  # largest single jump of the visiting distribution
_MAX_REINIT = 100  # random points tried to find a finite starting energy
_MAX_REPEATS = 5  # chain runs without moving before the temperature is reset


class AnnealingGenerator(BaseGenerator):
    """Choose each start point with the annealing chain of dual annealing (evaluates the task).

    Parameters
    ----------
    bounds
        Sequence of (min, max) pairs, one per parameter. None (default) uses the run's
        bounds (``manager.bounds``).
    task
        The function to minimise, called as ``task(x)``. None (default) uses the run's
        task (``manager.task``).
    qa
        Acceptance distribution parameter (must be < 1; dual annealing uses values in
        (-1e4, -5]). Lower values make uphill moves less likely.
    qv
        Visiting distribution parameter, in the open interval (1, 3). Higher values give
        a heavier-tailed jump distribution.
    initial_temp
        Initial temperature (> 0). Higher values give larger jumps.
    restart_temp_ratio
        When the temperature falls below ``initial_temp * restart_temp_ratio`` (a ratio in
        (0, 1)), the annealing restarts from a random point at ``initial_temp``.
    seed
        Seed of :attr:`rng` when the generator is used on its own. The manager reseeds
        every generator from the run's seed, which replaces this one.

    Notes
    -----
    The generator keeps an annealing state (a current location and its energy). At
    each call of :meth:`generate`:

    #. If the run's incumbent (``manager.result``) is better than the current energy,
       the state moves there.
    #. The temperature follows the dual-annealing schedule
       ``T = initial_temp * (2**(qv-1) - 1) / ((k+2)**(qv-1) - 1)`` for the k-th call,
       and is reset to ``initial_temp`` (from a new random location) when it falls
       below the restart temperature.
    #. One annealing chain runs: ``2 * n_parms`` trial points drawn from the Tsallis
       visiting distribution (first moving every coordinate, then one coordinate at a
       time), each evaluated and accepted by the generalized Metropolis criterion.
    #. If the current location has not moved since the previous call, the chain is run
       again, up to 5 times; then the temperature is reset and up to 5 more chains are
       run. The current location is returned either way.

    .. warning::
       This generator **evaluates the task itself**, ``2 * n_parms`` times per chain (a
       few chains per call), plus once per random restart. These evaluations are made
       in the manager's thread and are **not counted** in the run's log,
       ``manager.f_counter``, or any evaluation budget; :attr:`n_evals` counts them.
       With slow tasks this delays every optimizer start.

    Trial points are wrapped periodically into the bounds (as dual annealing does) and
    then clipped against floating-point rounding, so every returned point lies inside
    the bounds. Non-finite task values are treated as ``+inf``; exceptions raised by the
    task propagate.

    The algorithm follows :func:`scipy.optimize.dual_annealing` (Xiang et al., 1997)
    without its local search; scipy is not required.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.testing import FakeManagerView
    >>> def sphere(x):
    ...     return float(np.sum(np.asarray(x) ** 2))
    >>> gen = AnnealingGenerator(task=sphere, seed=1)
    >>> view = FakeManagerView(bounds=[(-5.0, 5.0)] * 2)
    >>> x = gen.generate(view)
    >>> bool(np.all(np.abs(x) <= 5)), gen.n_evals > 0   # inside the bounds; it evaluated
    (True, True)
    """

    def __init__(self, bounds: BoundsLike | None = None, task: Callable[..., Any] | None = None,
                 qa: float = -5.0, qv: float = 2.62, initial_temp: float = 5230.0,
                 restart_temp_ratio: float = 2e-5, seed: int | None = None) -> None:
        super().__init__()
        self.bounds = None if bounds is None else bounds_array(bounds)
        if task is not None and not callable(task):
            raise ValueError(f"task must be callable (or None for the run's task), got {task!r}")
        self.task = task
        self.qa = number(qa, "qa", maximum=1, max_inclusive=False,
                         what="a finite number < 1 (typically in (-1e4, -5])")
        self.qv = number(qv, "qv", minimum=1, maximum=3, min_inclusive=False,
                         max_inclusive=False, what="in the open interval (1, 3)")
        self.initial_temp = positive_number(initial_temp, "initial_temp",
                                            what="a finite number > 0")
        self.restart_temp_ratio = fraction(restart_temp_ratio, "restart_temp_ratio",
                                           strict=True, what="in the open interval (0, 1)")
        self.seed = seed
        if seed is not None:
            self.set_seed(seed)

        # Constants of the Tsallis visiting distribution
        q = self.qv
        self._t1 = math.exp((q - 1) * math.log(2)) - 1
        f2 = math.exp((4 - q) * math.log(q - 1))
        f3 = math.exp((2 - q) * math.log(2) / (q - 1))
        self._f4p = math.sqrt(math.pi) * f2 / (f3 * (3 - q))
        f5 = 1 / (q - 1) - 0.5
        self._f6 = (math.pi * (1 - f5) / math.sin(math.pi * (1 - f5))
                    / math.exp(math.lgamma(2 - f5)))

        self.temperature = self.initial_temp
        self.n_evals = 0
        self._iter = -1
        self._x: np.ndarray | None = None  # current location
        self._fx = math.inf
        self._best_fx = math.inf
        self._last: np.ndarray | None = None
        self._bounds: np.ndarray | None = None
        self._task: Callable[..., Any] | None = None

    # -- internals ------------------------------------------------------------------------
    def _evaluate(self, x: np.ndarray) -> float:
        assert self._task is not None
        self.n_evals += 1
        fx = float(self._task(x))
        return fx if math.isfinite(fx) else math.inf

    def _wrap(self, x: np.ndarray, lo: np.ndarray, width: np.ndarray) -> np.ndarray:
        return np.clip(lo + np.mod(x - lo, width), lo, lo + width)

    def _visit_steps(self, temperature: float, size: int) -> np.ndarray:
        x, y = self.rng.standard_normal((2, size))
        f4 = self._f4p * math.exp(math.log(temperature) / (self.qv - 1))
        x *= math.exp(-(self.qv - 1) * math.log(self._f6 / f4) / (3 - self.qv))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            den = np.exp((self.qv - 1) * np.log(np.abs(y)) / (3 - self.qv))
            steps = x / den
        steps = np.nan_to_num(steps, nan=0.0, posinf=np.inf, neginf=-np.inf)
        big = np.abs(steps) > _TAIL_LIMIT
        if big.any():
            steps[big] = np.sign(steps[big]) * _TAIL_LIMIT * self.rng.random(int(big.sum()))
        return steps

    def _restart(self) -> None:
        """Move to a random location with finite energy and reset the schedule."""
        assert self._bounds is not None
        for _ in range(_MAX_REINIT):
            self._x = uniform(self.rng, self._bounds)
            self._fx = self._evaluate(self._x)
            if math.isfinite(self._fx):
                break
        self._best_fx = min(self._best_fx, self._fx)
        self._iter = 0
        self.temperature = self.initial_temp

    def _run_chain(self, temperature: float) -> None:
        assert self._bounds is not None and self._x is not None
        lo = self._bounds[:, 0]
        width = self._bounds[:, 1] - lo
        n = len(lo)
        t_step = temperature / (self._iter + 1)
        for j in range(2 * n):
            if j < n:
                trial = self._wrap(self._x + self._visit_steps(temperature, n), lo, width)
            else:
                i = j - n
                trial = self._x.copy()
                moved = trial[i:i + 1] + self._visit_steps(temperature, 1)
                trial[i:i + 1] = self._wrap(moved, lo[i:i + 1], width[i:i + 1])
            fx = self._evaluate(trial)
            if fx < self._fx:
                self._x, self._fx = trial, fx
                self._best_fx = min(self._best_fx, fx)
                continue
            r = self.rng.random()
            with np.errstate(invalid="ignore"):
                p_temp = 1 - (1 - self.qa) * (fx - self._fx) / t_step
            accept = 0.0
            if p_temp > 0:  # False for nan (both energies infinite)
                accept = math.exp(math.log(p_temp) / (1 - self.qa))
            if r <= accept:
                self._x, self._fx = trial, fx

    # -- interface ------------------------------------------------------------------------
    def generate(self, manager: ManagerView) -> np.ndarray:
        """Run the annealing chain (evaluating the task) and return its current location."""
        bounds = resolve_bounds(self.bounds, manager)
        task = self.task if self.task is not None else manager.task
        if task is None or not callable(task):
            raise ValueError("AnnealingGenerator needs a task: give task= or run it under a "
                             "manager whose task is set")
        self._task = task
        if self._bounds is None or self._bounds.shape != bounds.shape or \
                not np.array_equal(self._bounds, bounds):
            self._bounds = bounds
            self._x = None
        if self._x is None:
            self._restart()
            self._iter = -1
        assert self._x is not None

        best = manager.result
        if best.x is not None and best.fx < self._fx:
            self._x = np.clip(np.array(best.x, dtype=float), bounds[:, 0], bounds[:, 1])
            self._fx = float(best.fx)
            self._best_fx = min(self._best_fx, self._fx)
            self.logger.debug("Annealing state moved to the run's incumbent (fx=%g)", self._fx)

        self._iter += 1
        restarted = False
        repeats = 0
        while True:
            repeats += 1
            t2 = math.exp((self.qv - 1) * math.log(self._iter + 2)) - 1
            self.temperature = self.initial_temp * self._t1 / t2
            if self.temperature < self.initial_temp * self.restart_temp_ratio:
                self.logger.debug("Temperature below the restart temperature; restarting")
                self._restart()
            self._run_chain(self.temperature)
            if self._last is None or not np.allclose(self._x, self._last):
                break
            if repeats >= _MAX_REPEATS:
                if restarted:
                    self.logger.debug("Annealing location did not move; returning it anyway")
                    break
                self.logger.debug("Annealing location did not move; restarting")
                self._restart()
                restarted = True
                repeats = 0
        self._last = self._x.copy()
        return np.clip(self._x.copy(), bounds[:, 0], bounds[:, 1])

    def __str__(self) -> str:
        return call_text(self, bounds=self.bounds,
                         task=None if self.task is None else getattr(
                             self.task, "__name__", type(self.task).__name__),
                         qa=self.qa, qv=self.qv, initial_temp=self.initial_temp,
                         restart_temp_ratio=self.restart_temp_ratio)
