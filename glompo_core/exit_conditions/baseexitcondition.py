"""The base class of exit conditions: when the whole run ends."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from glompo_core._combinable import Combinable

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["BaseExitCondition"]


class BaseExitCondition(Combinable):
    """Base of every exit condition. Combine them with ``&`` and ``|``.

    The manager evaluates the exit condition after every batch of results; the run
    ends when it is True.

    Subclasses implement ``__call__(manager) -> bool``; the result is recorded in
    :attr:`last_result` automatically.
    """

    kind = "exit_condition"
    _logger_name = "glompo.exit_conditions"

    @abstractmethod
    def __call__(self, manager: ManagerView) -> bool:
        """Return True when the run should end.

        Parameters
        ----------
        manager
            Read-only view of the running manager (f_counter, t_used, converged, ...).
        """
