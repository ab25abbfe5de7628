"""The :class:`ValueAnnealing` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._seeding import Seeded
from glompo_core._validation import fraction
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["ValueAnnealing"]


class ValueAnnealing(BaseStopper, Seeded):
    """Randomly stop optimizers, the more likely the further their best is above the overall best.

    An optimizer close to the best one is unlikely to be stopped; the chance grows
    with the gap. Combine it with ``&`` to spare competitive optimizers from other
    stoppers while still stopping poor ones.

    Parameters
    ----------
    crit_stop_chance
        Probability (strictly between 0 and 1) of stopping an optimizer whose best
        value is twice the best optimizer's value (a relative gap of 1).

    Notes
    -----
    Let :math:`f_b` be the best value of the best optimizer and :math:`f_t` the best
    value of the tested one, and :math:`d = |f_t - f_b| / |f_b|` their relative gap.
    The stopper returns True with probability

    .. math:: p = 1 - (1 - crit\\_stop\\_chance)^{d}

    (0 for equal values, ``crit_stop_chance`` for :math:`d = 1`, tending to 1 as
    :math:`d` grows): a number :math:`u` is drawn uniformly from :math:`[0, 1)` and
    the result is :math:`u < p`. It returns False (without drawing) when the tested
    optimizer is not worse than the best (:math:`f_t \\le f_b`), when :math:`f_b = 0`
    (no relative scale), or when either has no finite value yet. Draws come from the
    component's seeded generator (:meth:`set_seed`), so a seeded run is reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=2)
    >>> for opt_id in (1, 2):
    ...     log.add_optimizer(opt_id, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.array([1]), np.zeros((1, 2)), np.array([1.0]))   # the best
    >>> log.put_iteration(2, np.array([2]), np.zeros((1, 2)), np.array([2.0]))   # twice it
    >>> stopper = ValueAnnealing(crit_stop_chance=0.2)
    >>> stopper.set_seed(1)   # the manager seeds it from the run's seed
    >>> answers = [stopper(log, best_opt_id=1, tested_opt_id=2) for _ in range(1000)]
    >>> 0.16 < sum(answers) / 1000 < 0.24   # a relative gap of 1: crit_stop_chance
    True
    >>> stopper(log, best_opt_id=1, tested_opt_id=1)   # not worse than the best: never
    False

    Combined with ``&``, competitive optimizers are spared by the other stopper:

    >>> from glompo_core.stoppers import StepSize
    >>> print(ValueAnnealing(crit_stop_chance=0.2) & StepSize([(-1, 1)] * 2, calls=50))
    ValueAnnealing(crit_stop_chance=0.2) & StepSize(bounds, calls=50, relative_tol=0.05)
    """

    crit_stop_chance: float

    def __init__(self, crit_stop_chance: float = 0.5) -> None:
        super().__init__()
        self.crit_stop_chance = fraction(crit_stop_chance, "crit_stop_chance", strict=True)

    @property
    def history_needed(self) -> int:
        """None of the evaluations: only each optimizer's best value is read."""
        return 0

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        if best_opt_id not in log.opt_ids:
            return False
        f_best = float(log.get_best_iter(best_opt_id)["fx"])
        f_tested = float(log.get_best_iter(tested_opt_id)["fx"])
        if not (np.isfinite(f_best) and np.isfinite(f_tested)) or f_best == 0:
            return False
        if f_tested <= f_best:
            return False
        gap = abs(f_tested - f_best) / abs(f_best)
        p_stop = 1.0 - (1.0 - self.crit_stop_chance) ** gap
        return float(self.rng.random()) < p_stop
