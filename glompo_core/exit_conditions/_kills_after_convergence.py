"""The :class:`KillsAfterConvergence` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import non_negative_int, positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["KillsAfterConvergence"]


class KillsAfterConvergence(BaseExitCondition):
    """End the run once optimizers have been stopped after some optimizers converged.

    Parameters
    ----------
    n_killed
        Number of optimizers the manager must stop after the convergence threshold is
        reached (a non-negative integer; 0 ends the run as soon as it is reached).
    n_converged
        Number of optimizers which must first have converged by themselves (a
        positive integer).

    Notes
    -----
    The first time the condition sees ``manager.converged >= n_converged`` it
    remembers the number of optimizers stopped so far, :math:`k_0 =`
    ``len(manager.stopped_opts)``. From then on it returns True when
    ``len(manager.stopped_opts)`` :math:`- k_0 \\ge` ``n_killed``; before, False.
    The remembered count survives :meth:`reset` (which only forgets the last result)
    and is saved with the condition when a run is checkpointed.

    Examples
    --------
    ``KillsAfterConvergence(n_killed=5, n_converged=1) | MaxFuncCalls(fmax=100_000)``
    """

    n_killed: int
    n_converged: int
    kills_at_convergence: int | None

    def __init__(self, n_killed: int = 1, n_converged: int = 1) -> None:
        super().__init__()
        self.n_killed = non_negative_int(n_killed, "n_killed")
        self.n_converged = positive_int(n_converged, "n_converged")
        #: Number of optimizers stopped when the convergence threshold was first seen
        #: (None until then).
        self.kills_at_convergence = None

    def __call__(self, manager: ManagerView) -> bool:
        n_stopped = len(manager.stopped_opts)
        if self.kills_at_convergence is None:
            if manager.converged < self.n_converged:
                return False
            self.kills_at_convergence = n_stopped
        return n_stopped - self.kills_at_convergence >= self.n_killed
