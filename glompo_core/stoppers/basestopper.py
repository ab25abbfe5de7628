"""The base class of stoppers: conditions under which the manager stops an optimizer."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from glompo_core._combinable import Combinable

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["BaseStopper"]


class BaseStopper(Combinable):
    """Base of every stopper. Combine stoppers with ``&`` and ``|``.

    The manager calls each stopper every ``stopcheck_interval`` evaluations for every
    live optimizer (except the best one unless ``apply_stoppers_to_best``); when the
    expression is True the optimizer is stopped.

    Subclasses implement ``__call__(log, best_opt_id, tested_opt_id) -> bool``; the
    result is recorded in :attr:`last_result` automatically.

    Examples
    --------
    A stopper of one's own: stop an optimizer whose best is ``factor`` times worse than
    the best optimizer's. It combines with the built-ins and prints as an expression:

    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> from glompo_core.stoppers import MinFuncCalls
    >>> class FarBehind(BaseStopper):
    ...     def __init__(self, factor: float) -> None:
    ...         super().__init__()
    ...         self.factor = factor
    ...     @property
    ...     def history_needed(self) -> int:
    ...         return 0   # reads each optimizer's best only
    ...     def __call__(self, log, best_opt_id, tested_opt_id):
    ...         best = log.get_best_iter(best_opt_id)["fx"]
    ...         return log.get_best_iter(tested_opt_id)["fx"] > self.factor * best
    >>> log = BaseLogger(n_parms=1)
    >>> for opt_id, fx in ((1, 1.0), (2, 5.0)):
    ...     log.add_optimizer(opt_id, "RandomOptimizer", t_start=0.0)
    ...     log.put_iteration(opt_id, np.array([opt_id]), np.zeros((1, 1)), np.array([fx]))
    >>> stopper = MinFuncCalls(min_pts=1) & FarBehind(factor=3)
    >>> stopper(log, best_opt_id=1, tested_opt_id=2), str(stopper)
    (True, 'MinFuncCalls(min_pts=1) & FarBehind(factor=3)')
    """

    kind = "stopper"
    _logger_name = "glompo.stoppers"

    @property
    def history_needed(self) -> int | None:
        """How many of an optimizer's most recent evaluations this stopper reads.

        The manager keeps only that many rows per optimizer in memory (the largest
        need of all its stoppers). None (the default) means "all of them": override it
        in a stopper that reads a bounded window, so long runs use bounded memory.
        """
        return None

    @abstractmethod
    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        """Return True if optimizer ``tested_opt_id`` should be stopped.

        Parameters
        ----------
        log
            The run's evaluation history (:class:`~glompo_core.optimizerlogger.BaseLogger`).
        best_opt_id
            ID of the optimizer which holds the best value found so far.
        tested_opt_id
            ID of the optimizer under test.
        """
