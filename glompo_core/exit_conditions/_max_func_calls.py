"""The :class:`MaxFuncCalls` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["MaxFuncCalls"]


class MaxFuncCalls(BaseExitCondition):
    """End the run after a number of function evaluations.

    Parameters
    ----------
    fmax
        Maximum number of evaluations of the task, by all optimizers together (a
        positive integer).

    Notes
    -----
    Returns True once the manager's evaluation count ``f_counter`` is at least
    ``fmax``. Evaluations of a checkpointed run's earlier sessions count.
    :meth:`progress` is ``f_counter / fmax`` (at most 1).

    Examples
    --------
    >>> from glompo_core.exit_conditions import TargetCost
    >>> from glompo_core.result import Result
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = MaxFuncCalls(fmax=10_000) | TargetCost(target=0)
    >>> view = FakeManagerView(f_counter=2_500, result=Result(fx=3.2))
    >>> cond(view), cond.progress(view)
    (False, 0.25)
    >>> cond(FakeManagerView(f_counter=10_000))
    True
    >>> print(cond.str_with_result())
    MaxFuncCalls(fmax=10000) = True |
    TargetCost(target=0, atol=1e-06) = None
    """

    fmax: int

    def __init__(self, fmax: int) -> None:
        super().__init__()
        self.fmax = positive_int(fmax, "fmax", integral_float=True)  # 1e5 is fine

    def __call__(self, manager: ManagerView) -> bool:
        return manager.f_counter >= self.fmax

    def progress(self, manager: ManagerView) -> float:
        """The share of the evaluation budget used: ``f_counter / fmax`` (at most 1)."""
        return fraction_of(manager.f_counter, self.fmax)
