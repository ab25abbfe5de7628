"""The :class:`ParameterDistance` stopper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array, positive_number
from glompo_core.stoppers._common import box_diagonal
from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["ParameterDistance"]


class ParameterDistance(BaseStopper):
    """Stop an optimizer whose latest point is close, in parameter space, to another optimizer.

    Use it only where the parameters are scaled alike (dimensionless, of the same
    order of magnitude), since it measures plain Euclidean distance.

    Parameters
    ----------
    bounds
        ``(min, max)`` of each parameter: a sequence (or array) of shape (n, 2).
    relative_distance
        Fraction of the diagonal of the bounds box (the distance from the point of all
        lower bounds to the point of all upper bounds) below which two optimizers are
        too close; a positive number.
    test_all
        If True, compare the tested optimizer with every other optimizer in the log;
        if False, only with the optimizer holding the best value.

    Notes
    -----
    Let :math:`x_v` be the latest point of the tested optimizer, :math:`x_o` the
    latest point of another optimizer and :math:`D` the diagonal of the bounds box.
    The stopper returns True when, for some compared optimizer,

    .. math:: \\lVert x_v - x_o \\rVert_2 \\le relative\\_distance \\cdot D

    The tested optimizer is never compared with itself (so without ``test_all`` the
    best optimizer is never stopped by this condition), and optimizers without any
    retained evaluation are skipped. It reads the last evaluation of each optimizer.

    Examples
    --------
    Two optimizers whose latest points are 0.1 apart in a box of diagonal 2.83:

    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=2)
    >>> for opt_id in (1, 2):
    ...     log.add_optimizer(opt_id, "RandomOptimizer", t_start=0.0)
    >>> log.put_iteration(1, np.array([1]), np.array([[0.5, 0.5]]), np.array([0.5]))
    >>> log.put_iteration(2, np.array([2]), np.array([[0.5, 0.6]]), np.array([0.61]))
    >>> bounds = [(-1.0, 1.0), (-1.0, 1.0)]
    >>> ParameterDistance(bounds, relative_distance=0.05)(log, best_opt_id=1, tested_opt_id=2)
    True
    >>> ParameterDistance(bounds, relative_distance=0.01)(log, 1, 2)   # 0.1 > 0.0283
    False

    Compare with every optimizer, but only once the tested one has had 100 evaluations:

    >>> from glompo_core.stoppers import MinFuncCalls
    >>> stopper = MinFuncCalls(min_pts=100) & ParameterDistance(bounds, 0.05, test_all=True)
    >>> stopper(log, 1, 2)
    False
    >>> print(stopper)
    MinFuncCalls(min_pts=100) & ParameterDistance(bounds, relative_distance=0.05, test_all=True)
    """

    bounds: np.ndarray
    relative_distance: float
    test_all: bool
    _diagonal: float

    def __init__(self, bounds: Sequence[Sequence[float]] | np.ndarray, relative_distance: float,
                 test_all: bool = False) -> None:
        super().__init__()
        self.bounds = bounds_array(bounds)
        self.relative_distance = positive_number(relative_distance, "relative_distance")
        if not isinstance(test_all, (bool, np.bool_)):
            raise ValueError(f"test_all must be True or False, got {test_all!r}")
        self.test_all = bool(test_all)
        self._diagonal = box_diagonal(self.bounds)

    @property
    def history_needed(self) -> int:
        """The last evaluation of each optimizer."""
        return 1

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        victim = log.get_history(tested_opt_id, "x")
        if len(victim) == 0:
            return False
        known = log.opt_ids
        others = known if self.test_all else [best_opt_id] if best_opt_id in known else []
        last_points = []
        for opt_id in others:
            if opt_id == tested_opt_id:
                continue
            x = log.get_history(opt_id, "x")
            if len(x):
                last_points.append(x[-1])
        if not last_points:
            return False
        dists = np.linalg.norm(np.asarray(last_points) - victim[-1], axis=1)
        closest = float(np.min(dists))
        result = closest <= self.relative_distance * self._diagonal
        if result:
            self.logger.debug("ParameterDistance: optimizer %d is %.4g from another optimizer "
                              "(limit %.4g)", tested_opt_id, closest,
                              self.relative_distance * self._diagonal)
        return result
