"""RandomOptimizer: uniform random search, the simplest optimizer that honours the contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glompo_core.optimizers.baseoptimizer import BaseOptimizer, evaluate_population
from glompo_core.result import MinimizeResult

__all__ = ["RandomOptimizer"]


class RandomOptimizer(BaseOptimizer):
    """Uniform random search within the bounds.

    Each iteration draws ``popsize`` points uniformly within the bounds and evaluates
    them at once (through the run's backend when ``workers`` > 1). The first point
    evaluated is ``x0``. It stops after ``iters`` iterations (reporting convergence)
    or when the manager stops it. It draws its points from :attr:`rng`, so the same
    ``seed`` (or :meth:`set_seed`) gives the same points.

    Parameters
    ----------
    popsize
        Points per iteration; defaults to ``workers``.
    iters
        Number of iterations before it reports convergence; None runs until stopped.
    **kwargs
        Handed to :class:`~glompo_core.optimizers.BaseOptimizer`: ``workers``, ``seed``
        and the manager's runtime arguments.

    Examples
    --------
    >>> opt = RandomOptimizer(iters=50, seed=1)
    >>> res = opt.minimize(lambda x: sum(v * v for v in x), [0.5, 0.5], [(-1, 1), (-1, 1)])
    >>> res.fx <= 0.5
    True
    """

    def __init__(self, popsize: int | None = None, iters: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if popsize is not None and (not isinstance(popsize, int) or popsize < 1):
            raise ValueError(f"popsize must be a positive integer, got {popsize!r}")
        if iters is not None and (not isinstance(iters, int) or iters < 1):
            raise ValueError(f"iters must be a positive integer or None, got {iters!r}")
        self.popsize = popsize or self.workers
        self.iters = iters
        self.set_seed(self.seed)  # validates the seed and starts rng from it
        self._stop = False
        self._in_progress = False
        self.n_iter = 0

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Run the random search (see the class docstring)."""
        b = np.asarray(bounds, dtype=float)
        self._stop = False
        first = True
        if self.is_restart and self._in_progress:
            first = False  # resumed from a checkpoint: continue the same search
            self._FROM_CHECKPOINT = False
        else:
            self.n_iter = 0
        self._in_progress = True
        while not self._stop and (self.iters is None or self.n_iter < self.iters):
            xs = self.rng.uniform(b[:, 0], b[:, 1], size=(self.popsize, len(b)))
            if first:
                xs[0] = np.asarray(x0, dtype=float)
                first = False
            fxs = evaluate_population(function, xs, self.workers)
            for x, fx in zip(xs, fxs):
                self._update_incumbent(x, fx)
            self.n_iter += 1
            self.check_messages()
            self._pause_signal.wait()
        self._in_progress = False
        converged = not self._stop
        if converged:
            self.message_manager(0, f"RandomOptimizer finished its {self.iters} iterations")
        return MinimizeResult(success=converged, x=self.incumbent["x"], fx=self.incumbent["fx"],
                              stats={"iterations": self.n_iter},
                              origin={"opt_id": self.opt_id, "type": type(self).__name__})

    def callstop(self, reason: str = "") -> None:
        """Stop at the end of the current iteration."""
        self._stop = True
