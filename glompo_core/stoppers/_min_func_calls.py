"""The :class:`MinFuncCalls` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["MinFuncCalls"]


class MinFuncCalls(BaseStopper):
    """Allow stopping an optimizer only once it has made a minimum number of evaluations.

    Combine it with ``&`` so that other stoppers only act on optimizers which had a
    fair chance.

    Parameters
    ----------
    min_pts
        Minimum number of evaluations of an optimizer (a positive integer).

    Notes
    -----
    Returns True once the optimizer has made at least ``min_pts`` evaluations
    (counting all of them, not only those kept in memory), False before.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=1)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.arange(1, 4), np.zeros((3, 1)), np.ones(3))
    >>> MinFuncCalls(min_pts=3)(log, best_opt_id=1, tested_opt_id=1)
    True

    Combined with ``&``, the other stopper only acts after ``min_pts`` evaluations:

    >>> from glompo_core.stoppers import BestUnmoving
    >>> stopper = MinFuncCalls(min_pts=500) & BestUnmoving(calls=2)
    >>> stopper(log, 1, 1)   # the best has not moved, but only 3 evaluations were made
    False
    >>> print(stopper.str_with_result())
    MinFuncCalls(min_pts=500) = False &
    BestUnmoving(calls=2, tol=0) = None
    """

    min_pts: int

    def __init__(self, min_pts: int) -> None:
        super().__init__()
        self.min_pts = positive_int(min_pts, "min_pts")

    @property
    def history_needed(self) -> int:
        """None of the evaluations: only their count is read."""
        return 0

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        return log.len(tested_opt_id) >= self.min_pts
