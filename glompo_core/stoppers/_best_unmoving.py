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
    Stop optimizers whose best improved by less than 1 % over their last 100
    evaluations: ``BestUnmoving(calls=100, tol=0.01)``.
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
