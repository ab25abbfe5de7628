"""The :class:`MaxOptsStarted` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["MaxOptsStarted"]


class MaxOptsStarted(BaseExitCondition):
    """End the run once a number of optimizers have been started.

    Parameters
    ----------
    max_opts
        Number of optimizers started after which the run ends (a positive integer).

    Notes
    -----
    Returns True once the manager's count of started optimizers ``o_counter`` is at
    least ``max_opts``. The run then ends at once, without waiting for the running
    optimizers to finish. :meth:`progress` is ``o_counter / max_opts`` (at most 1).

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxSeconds
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = MaxOptsStarted(max_opts=20) | MaxSeconds(overall_max=3600)
    >>> view = FakeManagerView(o_counter=5, t_used=1800.0)   # t_start None: not running
    >>> cond(view), cond.progress(view)   # the larger of 5/20 and 1800 s/3600 s
    (False, 0.5)
    >>> cond(FakeManagerView(o_counter=20))
    True
    """

    max_opts: int

    def __init__(self, max_opts: int) -> None:
        super().__init__()
        self.max_opts = positive_int(max_opts, "max_opts")

    def __call__(self, manager: ManagerView) -> bool:
        return manager.o_counter >= self.max_opts

    def progress(self, manager: ManagerView) -> float:
        """The share of the optimizers allowed started: ``o_counter / max_opts``."""
        return fraction_of(manager.o_counter, self.max_opts)
