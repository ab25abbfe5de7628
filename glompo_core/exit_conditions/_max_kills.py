"""The :class:`MaxKills` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["MaxKills"]


class MaxKills(BaseExitCondition):
    """End the run once the manager has stopped a number of optimizers.

    Parameters
    ----------
    kills_max
        Number of optimizers stopped by the stoppers after which the run ends (a
        positive integer).

    Notes
    -----
    Returns True once ``len(manager.stopped_opts)``, the number of optimizers the
    manager stopped, is at least ``kills_max``. Optimizers which converged by
    themselves or crashed do not count.

    Examples
    --------
    ``MaxKills(kills_max=10) | MaxFuncCalls(fmax=100_000)``
    """

    kills_max: int

    def __init__(self, kills_max: int) -> None:
        super().__init__()
        self.kills_max = positive_int(kills_max, "kills_max")

    def __call__(self, manager: ManagerView) -> bool:
        return len(manager.stopped_opts) >= self.kills_max
