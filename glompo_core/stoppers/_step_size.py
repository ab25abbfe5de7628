"""The :class:`StepSize` stopper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array, fraction, integer
from glompo_core.stoppers._common import box_diagonal
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["StepSize"]


class StepSize(BaseStopper):
    """Stop an optimizer whose recent steps in parameter space are small.

    It stops an optimizer which has focused on a small area of the space.

    Parameters
    ----------
    bounds
        ``(min, max)`` of each parameter: a sequence (or array) of shape (n, 2).
    calls
        Number of the optimizer's most recent evaluations over which steps are
        averaged (an integer of at least 2: ``calls`` points make ``calls - 1`` steps).
    relative_tol
        Fraction, between 0 and 1, of the diagonal of the bounds box (the distance
        from the point of all lower bounds to the point of all upper bounds).

    Notes
    -----
    Let :math:`x_1, \\dots, x_n` be the optimizer's last ``n = calls`` evaluated
    points and :math:`D` the diagonal of the bounds box. The stopper returns True
    when the mean step length is small:

    .. math:: \\frac{1}{n-1} \\sum_{i=2}^{n} \\lVert x_i - x_{i-1} \\rVert_2
              \\le relative\\_tol \\cdot D

    It returns False while the optimizer has made fewer than ``calls`` evaluations.
    Points count whatever their function value (finite or not).

    Examples
    --------
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=1)
    >>> log.add_optimizer(1, "RandomOptimizer", t_start=0.0)
    >>> x = np.array([[0.50], [0.51], [0.50], [0.51]])   # steps of 0.01
    >>> log.put_iteration(1, np.arange(1, 5), x, np.ones(4))
    >>> bounds = [(-1.0, 1.0)]                          # diagonal 2
    >>> StepSize(bounds, calls=4, relative_tol=0.01)(log, best_opt_id=1, tested_opt_id=1)
    True
    >>> StepSize(bounds, calls=4, relative_tol=0.001)(log, 1, 1)   # 0.01 > 0.002
    False
    """

    bounds: np.ndarray
    calls: int
    relative_tol: float
    _diagonal: float

    def __init__(self, bounds: Sequence[Sequence[float]] | np.ndarray, calls: int,
                 relative_tol: float = 0.05) -> None:
        super().__init__()
        self.bounds = bounds_array(bounds)
        self.calls = integer(calls, "calls", minimum=2)
        self.relative_tol = fraction(relative_tol, "relative_tol")
        self._diagonal = box_diagonal(self.bounds)

    @property
    def history_needed(self) -> int:
        """The last ``calls`` evaluations."""
        return self.calls

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        x = log.get_history(tested_opt_id, "x")
        if len(x) < self.calls:
            return False
        pts = x[-self.calls:]
        mean_step = float(np.mean(np.linalg.norm(np.diff(pts, axis=0), axis=1)))
        return mean_step <= self.relative_tol * self._diagonal
