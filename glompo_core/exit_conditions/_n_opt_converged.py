"""The :class:`NOptConverged` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["NOptConverged"]


class NOptConverged(BaseExitCondition):
    """End the run once a number of optimizers have converged by themselves.

    Parameters
    ----------
    nconv
        Number of optimizers which must have ended by their own convergence criteria
        (not stopped by the manager, not crashed); a positive integer.

    Notes
    -----
    Returns True once the manager's count of converged optimizers ``converged`` is
    at least ``nconv``.

    Examples
    --------
    ``NOptConverged(nconv=3) | MaxFuncCalls(fmax=100_000)``
    """

    nconv: int

    def __init__(self, nconv: int) -> None:
        super().__init__()
        self.nconv = positive_int(nconv, "nconv")

    def __call__(self, manager: ManagerView) -> bool:
        return manager.converged >= self.nconv
