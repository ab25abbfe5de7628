"""The :class:`MaxFuncCalls` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

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

    Examples
    --------
    ``MaxFuncCalls(fmax=10_000) | TargetCost(target=0)``
    """

    fmax: int

    def __init__(self, fmax: int) -> None:
        super().__init__()
        self.fmax = positive_int(fmax, "fmax", integral_float=True)  # 1e5 is fine

    def __call__(self, manager: ManagerView) -> bool:
        return manager.f_counter >= self.fmax
