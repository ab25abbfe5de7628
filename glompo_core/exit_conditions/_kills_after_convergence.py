"""The :class:`KillsAfterConvergence` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core._validation import non_negative_int, positive_int
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

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

    :meth:`progress` counts the events the condition waits for: ``n_converged``
    convergences, then ``n_killed`` stops,

    .. math:: \\frac{\\min(converged, n\\_converged) + (k - k_0)}{n\\_converged + n\\_killed}

    with :math:`k - k_0` = 0 until the threshold is reached (stops before it do not
    count). It does not change the remembered count.

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = KillsAfterConvergence(n_killed=2, n_converged=1) | MaxFuncCalls(fmax=100_000)
    >>> before = FakeManagerView(converged=0, stopped_opts={3: 8.0})  # a stop: not yet counted
    >>> cond(before), cond.progress(before)
    (False, 0.0)
    >>> converged = FakeManagerView(converged=1, stopped_opts={3: 8.0})
    >>> cond(converged), round(cond.progress(converged), 3)   # 1 of 3 events
    (False, 0.333)
    >>> later = FakeManagerView(converged=1, stopped_opts={3: 8.0, 4: 9.5, 6: 12.0})
    >>> cond(later), cond.progress(later)   # 2 stops since the convergence
    (True, 1.0)
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

    def progress(self, manager: ManagerView) -> float:
        """The share of the events waited for seen: convergences, then stops after them."""
        converged = min(manager.converged, self.n_converged)
        kills = 0
        if self.kills_at_convergence is not None:
            kills = min(len(manager.stopped_opts) - self.kills_at_convergence, self.n_killed)
        return fraction_of(converged + kills, self.n_converged + self.n_killed)
