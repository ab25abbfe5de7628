"""The :class:`LastPointsInvalid` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import positive_int
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["LastPointsInvalid"]


class LastPointsInvalid(BaseStopper):
    """Stop an optimizer whose last evaluations all returned non-finite values.

    Useful on functions with undefined regions, where some parameter combinations
    give infinite or NaN results: an optimizer stuck in such a region is stopped.

    Parameters
    ----------
    n_iters
        Number of consecutive most recent evaluations which must all be non-finite
        (a positive integer).

    Notes
    -----
    Returns True when each of the optimizer's last ``n_iters`` function values is
    non-finite (``inf``, ``-inf`` or ``nan``); False while it has made fewer than
    ``n_iters`` evaluations.

    Examples
    --------
    Stop an optimizer after three invalid evaluations in a row:

    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=1)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> fx = np.array([1.0, np.nan, np.inf, np.nan])
    >>> log.put_iteration(1, np.arange(1, 5), np.zeros((4, 1)), fx)
    >>> LastPointsInvalid(n_iters=3)(log, best_opt_id=1, tested_opt_id=1)
    True
    >>> LastPointsInvalid(n_iters=4)(log, 1, 1)   # the first value was finite
    False
    >>> from glompo_core.stoppers import BestUnmoving
    >>> stopper = LastPointsInvalid(n_iters=3) | BestUnmoving(calls=100)   # either stops it
    >>> stopper(log, 1, 1)
    True
    """

    n_iters: int

    def __init__(self, n_iters: int = 1) -> None:
        super().__init__()
        self.n_iters = positive_int(n_iters, "n_iters")

    @property
    def history_needed(self) -> int:
        """The last ``n_iters`` evaluations."""
        return self.n_iters

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        fx = log.get_history(tested_opt_id, "fx")
        if len(fx) < self.n_iters:
            return False
        return not bool(np.isfinite(fx[-self.n_iters:]).any())
