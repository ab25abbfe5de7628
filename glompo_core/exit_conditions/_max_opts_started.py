"""The :class:`MaxOptsStarted` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

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
    optimizers to finish.

    Examples
    --------
    ``MaxOptsStarted(max_opts=20) | MaxSeconds(session_max=3600)``
    """

    max_opts: int

    def __init__(self, max_opts: int) -> None:
        super().__init__()
        self.max_opts = positive_int(max_opts, "max_opts")

    def __call__(self, manager: ManagerView) -> bool:
        return manager.o_counter >= self.max_opts
