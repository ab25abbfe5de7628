"""The :class:`NOptConverged` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

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
    at least ``nconv``. :meth:`progress` is ``converged / nconv`` (at most 1).

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = NOptConverged(nconv=4) & MaxFuncCalls(fmax=1_000)   # both must hold
    >>> view = FakeManagerView(converged=4, f_counter=600)
    >>> cond(view), cond.progress(view)   # the smaller of 4/4 and 600/1000
    (False, 0.6)
    >>> cond(FakeManagerView(converged=4, f_counter=1_000))
    True
    """

    nconv: int

    def __init__(self, nconv: int) -> None:
        super().__init__()
        self.nconv = positive_int(nconv, "nconv")

    def __call__(self, manager: ManagerView) -> bool:
        return manager.converged >= self.nconv

    def progress(self, manager: ManagerView) -> float:
        """The share of the convergences needed seen: ``converged / nconv``."""
        return fraction_of(manager.converged, self.nconv)
