"""The :class:`BestUnmoving` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import fraction, positive_int
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["BestUnmoving"]


class BestUnmoving(BaseStopper):
    """Stop an optimizer whose best value has not improved significantly over its last evaluations.

    Parameters
    ----------
    calls
        Number of the optimizer's evaluations between the two compared points (a
        positive integer).
    tol
        Relative tolerance, a fraction between 0 and 1: an improvement smaller than
        ``tol`` times the old best value (in absolute value) is not significant.

    Notes
    -----
    Let :math:`b_{now}` be the optimizer's best value now and :math:`b_{then}` its
    best value ``calls`` evaluations ago. The stopper returns True when

    .. math:: |b_{now} - b_{then}| \\le tol \\cdot |b_{then}|

    With ``tol=0`` it returns True only if the best value did not change at all.
    It returns False while the optimizer has made ``calls`` evaluations or fewer
    (there is no best value ``calls`` evaluations ago), and while it has no finite
    value ``calls`` evaluations ago (non-finite values never count as a best).
    It reads the last ``calls + 1`` evaluations.

    Examples
    --------
    Stop optimizers whose best improved by less than 1 % over their last 2 evaluations:

    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=1)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> fx = np.array([9.0, 4.0, 3.0, 2.99, 2.985])   # the best stalls near 3
    >>> log.put_iteration(1, np.arange(1, 6), np.zeros((5, 1)), fx)
    >>> stopper = BestUnmoving(calls=2, tol=0.01)
    >>> stopper(log, best_opt_id=1, tested_opt_id=1)   # 3.0 -> 2.985: under 1 %
    True
    >>> BestUnmoving(calls=3, tol=0.01)(log, 1, 1)     # 4.0 -> 2.985: more
    False

    Give optimizers a fair chance first, with :class:`MinFuncCalls`:

    >>> from glompo_core.stoppers import MinFuncCalls
    >>> stopper = MinFuncCalls(min_pts=100) & BestUnmoving(calls=2, tol=0.01)
    >>> stopper(log, 1, 1), str(stopper)
    (False, 'MinFuncCalls(min_pts=100) & BestUnmoving(calls=2, tol=0.01)')
    """

    calls: int
    tol: float

    def __init__(self, calls: int, tol: float = 0) -> None:
        super().__init__()
        self.calls = positive_int(calls, "calls")
        self.tol = fraction(tol, "tol")

    @property
    def history_needed(self) -> int:
        """The last ``calls + 1`` evaluations (the best values now and ``calls`` ago)."""
        return self.calls + 1

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        best = log.get_history(tested_opt_id, "fx_best")
        if len(best) <= self.calls:
            return False
        then = float(best[-self.calls - 1])
        now = float(best[-1])
        if not np.isfinite(then):
            return False
        return abs(now - then) <= self.tol * abs(then)
