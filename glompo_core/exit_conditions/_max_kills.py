"""The :class:`MaxKills` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

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
    themselves or crashed do not count. :meth:`progress` is
    ``len(manager.stopped_opts) / kills_max`` (at most 1).

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = MaxKills(kills_max=4) | MaxFuncCalls(fmax=100_000)
    >>> view = FakeManagerView(stopped_opts={2: 10.5, 5: 31.0}, f_counter=1_000)
    >>> cond(view), cond.progress(view)   # 2 of 4 stopped; 1 % of the evaluations
    (False, 0.5)
    """

    kills_max: int

    def __init__(self, kills_max: int) -> None:
        super().__init__()
        self.kills_max = positive_int(kills_max, "kills_max")

    def __call__(self, manager: ManagerView) -> bool:
        return len(manager.stopped_opts) >= self.kills_max

    def progress(self, manager: ManagerView) -> float:
        """The share of the stops allowed made: ``len(stopped_opts) / kills_max``."""
        return fraction_of(len(manager.stopped_opts), self.kills_max)
