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
