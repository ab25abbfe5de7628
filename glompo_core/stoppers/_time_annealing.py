"""The :class:`TimeAnnealing` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._seeding import Seeded
from glompo_core._validation import positive_number
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["TimeAnnealing"]


class TimeAnnealing(BaseStopper, Seeded):
    """Randomly stop optimizers, the more likely the longer they have run compared to the best one.

    Used with ``&`` to temper strict stoppers: young optimizers are likely to
    survive them.

    Parameters
    ----------
    crit_ratio
        Critical ratio (a positive number) of the evaluation counts of the best
        optimizer and the tested one above which the tested one always survives.
        Values below 1 are looser (an optimizer may survive although it has run
        longer than the best one); values above 1 are stricter (it may be stopped
        although it has run less than the best one).

    Notes
    -----
    Let :math:`n_b` and :math:`n_t` be the numbers of evaluations of the best and the
    tested optimizer, and :math:`r = n_b / n_t`. A number :math:`u` is drawn
    uniformly from :math:`[0, crit\\_ratio)`; the stopper returns True when
    :math:`u > r`, i.e. with probability :math:`\\max(0, 1 - r / crit\\_ratio)`.
    It returns False (without drawing) while the tested optimizer has made no
    evaluation. Draws come from the component's seeded generator
    (:meth:`set_seed`), so a seeded run is reproducible.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=2)
    >>> for opt_id in (1, 2):
    ...     log.add_optimizer(opt_id, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.arange(1, 11), np.zeros((10, 2)), np.ones(10))  # the best
    >>> log.put_iteration(2, np.arange(11, 41), np.zeros((30, 2)), np.full(30, 2.0))
    >>> stopper = TimeAnnealing(crit_ratio=1)
    >>> stopper.set_seed(1)   # the manager seeds it from the run's seed
    >>> answers = [stopper(log, best_opt_id=1, tested_opt_id=2) for _ in range(1000)]
    >>> 0.6 < sum(answers) / 1000 < 0.73   # probability 1 - (10 / 30) / 1
    True
    >>> stopper(log, best_opt_id=2, tested_opt_id=1)   # ran less than the best: never
    False

    Used with ``&`` to temper a strict stopper:

    >>> from glompo_core.stoppers import BestUnmoving
    >>> print(TimeAnnealing(crit_ratio=2) & BestUnmoving(calls=100, tol=0.01))
    TimeAnnealing(crit_ratio=2) & BestUnmoving(calls=100, tol=0.01)
    """

    crit_ratio: float

    def __init__(self, crit_ratio: float = 1) -> None:
        super().__init__()
        self.crit_ratio = positive_number(crit_ratio, "crit_ratio")

    @property
    def history_needed(self) -> int:
        """None of the evaluations: only their counts are read."""
        return 0

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        n_tested = log.len(tested_opt_id)
        if n_tested == 0:
            return False
        n_best = log.len(best_opt_id) if best_opt_id in log.opt_ids else 0
        ratio = n_best / n_tested
        return float(self.rng.uniform(0, self.crit_ratio)) > ratio
