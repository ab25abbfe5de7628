"""BasinHoppingGenerator: the Monte-Carlo outer loop of basin hopping."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core._validation import (
    bounds_array,
    call_text,
    fraction,
    number,
    positive_int,
    positive_number,
)
from glompo_core.generators._common import BoundsLike, resolve_bounds, uniform
from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["BasinHoppingGenerator"]

_OPEN_UNIT = "a number in the open interval (0, 1)"


class BasinHoppingGenerator(BaseGenerator):
    """Start a random hop away from the incumbent, with an adaptive step (basin hopping).

    Parameters
    ----------
    temperature
        Temperature (>= 0) of the Metropolis choice between the incumbent and another
        optimizer's best point: higher values make worse points more likely to be used.
        0 only ever uses points as good as the incumbent.
    max_step_size
        Initial and largest step size (> 0), in the units of the parameters: each
        coordinate moves by at most this much from the chosen point.
    target_accept_rate
        Target acceptance rate, in (0, 1): the fraction of calls at which a *different*
        optimizer than before has become the best (found a value at least as good as the
        previous incumbent).
    interval
        Number of :meth:`generate` calls (an integer >= 1) between step-size adjustments.
    factor
        Step-size adjustment factor, in (0, 1): the step is multiplied by it when the
        acceptance rate is below target and divided by it (up to ``max_step_size``)
        when above.
    bounds
        Sequence of (min, max) pairs, one per parameter. None (default) uses the run's
        bounds (``manager.bounds``).

    Notes
    -----
    Before any evaluation, a point is drawn uniformly inside the bounds. Afterwards:

    #. The run's best point (from ``manager.opt_log``) is the basin to hop from; if it
       now belongs to a different optimizer than at the previous call and is at least as
       good, the hop counts as accepted.
    #. One other optimizer with a finite best is picked uniformly at random; with the
       Metropolis probability ``exp(-(fx_other - fx_best) / temperature)`` its best point
       is used instead, which keeps some diversity.
    #. Every ``interval`` calls the step size is shrunk or grown towards the target
       acceptance rate.
    #. Each coordinate is moved by a uniform random amount in ``[-step, step]``.

    Points stay inside the bounds by *resampling*: a coordinate falling outside is
    redrawn, which amounts to drawing it uniformly from the step window intersected with
    the bounds (done in one draw). A starting point on a bound therefore moves inward,
    rather than piling up on the bound as clipping would. Random choices use
    :attr:`rng`.

    Adapted from the sampling strategy of :func:`scipy.optimize.basinhopping`, adjusted
    for GloMPO's parallel optimizers.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> from glompo_core.testing import FakeManagerView
    >>> log = BaseLogger(n_parms=2)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.array([1]), np.array([[0.5, 0.5]]), np.array([0.1]))
    >>> gen = BasinHoppingGenerator(max_step_size=0.2)
    >>> gen.set_seed(1)
    >>> x = gen.generate(FakeManagerView(opt_log=log))   # a hop of at most 0.2 from the best
    >>> bool(np.all(np.abs(x - [0.5, 0.5]) <= 0.2))
    True
    """

    def __init__(self, temperature: float = 1.0, max_step_size: float = 0.5,
                 target_accept_rate: float = 0.5, interval: int = 5, factor: float = 0.9,
                 bounds: BoundsLike | None = None) -> None:
        super().__init__()
        self.temperature = number(temperature, "temperature", minimum=0,
                                  what="a finite number >= 0")
        self.max_step_size = positive_number(max_step_size, "max_step_size",
                                             what="a finite number > 0")
        self.target_accept_rate = fraction(target_accept_rate, "target_accept_rate",
                                           strict=True, what=_OPEN_UNIT)
        self.interval = positive_int(interval, "interval", what="an integer >= 1")
        self.factor = fraction(factor, "factor", strict=True, what=_OPEN_UNIT)
        self.bounds = None if bounds is None else bounds_array(bounds)
        self.step_size = self.max_step_size
        self.n_accept = 0
        self.n_trials = 0
        self._state: dict[str, Any] | None = None  # best seen at the previous call

    def _metropolis(self, dfx: float) -> float:
        """Probability of using a point ``dfx`` worse than the incumbent."""
        if dfx <= 0:
            return 1.0
        if self.temperature == 0:
            return 0.0
        return math.exp(-dfx / self.temperature)

    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return a random hop from the incumbent (or another optimizer's best point)."""
        bounds = resolve_bounds(self.bounds, manager)
        lo, hi = bounds[:, 0], bounds[:, 1]
        best = manager.opt_log.get_best_iter()
        if best.get("x") is None or not math.isfinite(best.get("fx", math.inf)):
            result = manager.result
            if result.x is None or not math.isfinite(result.fx):
                self.logger.debug("No incumbent yet: returning a random point")
                return uniform(self.rng, bounds)
            best = {"opt_id": None, "x": result.x, "fx": float(result.fx)}

        self.n_trials += 1
        if self._state is None:
            self._state = {"opt_id": best["opt_id"], "fx": best["fx"]}
        elif best["fx"] <= self._state["fx"] and best["opt_id"] != self._state["opt_id"]:
            self.n_accept += 1
            self._state = {"opt_id": best["opt_id"], "fx": best["fx"]}
            self.logger.debug("Optimizer %s holds the new best; %d accepted hops",
                              best["opt_id"], self.n_accept)

        others = [it for oid, it in manager.opt_log.best_iters.items()
                  if oid != best["opt_id"] and it.get("x") is not None
                  and math.isfinite(it.get("fx", math.inf))]
        origin = best
        if others:
            other = others[int(self.rng.integers(len(others)))]
            if self.rng.random() < self._metropolis(other["fx"] - best["fx"]):
                self.logger.debug("Hopping from optimizer %s (fx=%g) instead of the best",
                                  other.get("opt_id"), other["fx"])
                origin = other

        if self.n_trials % self.interval == 0:
            rate = self.n_accept / self.n_trials
            old = self.step_size
            if rate > self.target_accept_rate:
                self.step_size = min(self.step_size / self.factor, self.max_step_size)
            elif rate < self.target_accept_rate:
                self.step_size *= self.factor
            self.logger.debug("Acceptance rate %.3f: step size %g -> %g", rate, old,
                              self.step_size)

        x = np.clip(np.array(origin["x"], dtype=float), lo, hi)
        low = np.maximum(lo, x - self.step_size)
        high = np.minimum(hi, x + self.step_size)
        return np.clip(low + self.rng.random(x.size) * (high - low), lo, hi)

    def __str__(self) -> str:
        return call_text(self, temperature=self.temperature, max_step_size=self.max_step_size,
                         target_accept_rate=self.target_accept_rate, interval=self.interval,
                         factor=self.factor, bounds=self.bounds)

