"""The :class:`EvaluationsUnmoving` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import fraction, integer
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["EvaluationsUnmoving"]


class EvaluationsUnmoving(BaseStopper):
    """Stop an optimizer whose recent function values hardly vary.

    Best combined with a stopper on the step size (:class:`StepSize`) so that an
    optimizer exploring widely over a flat region is not stopped.

    Parameters
    ----------
    calls
        Number of the optimizer's most recent evaluations examined (an integer of at
        least 2).
    tol
        Relative tolerance, a fraction between 0 and 1 of the latest value.

    Notes
    -----
    Let :math:`f_1, \\dots, f_n` be the finite values among the optimizer's last
    ``calls`` evaluations (non-finite values are left out) and :math:`f_n` the
    latest of them. The stopper returns True when

    .. math:: \\operatorname{std}(f_1, \\dots, f_n) \\le tol \\cdot |f_n|

    where std is the population standard deviation. It returns False while the
    optimizer has made fewer than ``calls`` evaluations, or when fewer than two of
    the last ``calls`` values are finite. With ``tol=0`` it returns True only if all
    those values are equal.

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=1)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> fx = np.array([5.0, 2.0, 1.001, 1.0, 0.999])
    >>> log.put_iteration(1, np.arange(1, 6), np.zeros((5, 1)), fx)
    >>> EvaluationsUnmoving(calls=3, tol=0.01)(log, best_opt_id=1, tested_opt_id=1)
    True
    >>> EvaluationsUnmoving(calls=5, tol=0.01)(log, 1, 1)   # 5.0 and 2.0 are in the window
    False

    Spare an optimizer exploring widely over a flat region, with :class:`StepSize`:

    >>> from glompo_core.stoppers import StepSize
    >>> bounds = [(-1.0, 1.0)]
    >>> print(EvaluationsUnmoving(calls=50, tol=0.001) & StepSize(bounds, calls=50))
    EvaluationsUnmoving(calls=50, tol=0.001) & StepSize(bounds, calls=50, relative_tol=0.05)
    """

    calls: int
    tol: float

    def __init__(self, calls: int, tol: float = 0) -> None:
        super().__init__()
        self.calls = integer(calls, "calls", minimum=2)
        self.tol = fraction(tol, "tol")

    @property
    def history_needed(self) -> int:
        """The last ``calls`` evaluations."""
        return self.calls

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        fx = log.get_history(tested_opt_id, "fx")
        if len(fx) < self.calls:
            return False
        window = fx[-self.calls:]
        window = window[np.isfinite(window)]
        if len(window) < 2:
            return False
        return float(np.std(window)) <= self.tol * abs(float(window[-1]))
