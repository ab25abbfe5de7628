"""The base class of exit conditions: when the whole run ends."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from glompo_core._combinable import Combinable

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["BaseExitCondition", "fraction_of"]


def fraction_of(done: float, limit: float) -> float:
    """``done / limit`` clipped to [0, 1]: the share of a limit reached.

    Examples
    --------
    >>> fraction_of(30, 120), fraction_of(150, 120)
    (0.25, 1.0)
    """
    return min(max(float(done) / float(limit), 0.0), 1.0)


class BaseExitCondition(Combinable):
    """Base of every exit condition. Combine them with ``&`` and ``|``.

    The manager evaluates the exit condition after every batch of results; the run
    ends when it is True.

    Subclasses implement ``__call__(manager) -> bool``; the result is recorded in
    :attr:`last_result` automatically. They may also implement :meth:`progress`, how
    close the condition is to being met (the base answers None: "cannot tell").

    Examples
    --------
    A condition of one's own (here the rule of :class:`NOptConverged`), with its
    progress:

    >>> from glompo_core.exit_conditions.baseexitcondition import fraction_of
    >>> from glompo_core.testing import FakeManagerView
    >>> class AllDone(BaseExitCondition):
    ...     def __init__(self, n: int) -> None:
    ...         super().__init__()
    ...         self.n = n
    ...     def __call__(self, manager):
    ...         return manager.converged >= self.n
    ...     def progress(self, manager):
    ...         return fraction_of(manager.converged, self.n)
    >>> cond = AllDone(n=4)
    >>> view = FakeManagerView(converged=1)
    >>> cond(view), cond.progress(view), str(cond)
    (False, 0.25, 'AllDone(n=4)')

    A condition without :meth:`progress` still works; it cannot tell how close it is:

    >>> class Never(BaseExitCondition):
    ...     def __call__(self, manager):
    ...         return False
    >>> print(Never().progress(view))
    None
    """

    kind = "exit_condition"
    _logger_name = "glompo.exit_conditions"

    @abstractmethod
    def __call__(self, manager: ManagerView) -> bool:
        """Return True when the run should end.

        Parameters
        ----------
        manager
            Read-only view of the running manager (f_counter, t_used, converged, ...).
        """

    def progress(self, manager: ManagerView) -> float | None:
        """How close the condition is to being met: a fraction in [0, 1], or None.

        Optional: the base class answers None ("cannot tell"). A condition that
        implements it returns 0 for "nowhere near", 1 once it is met (and only values
        in [0, 1]), and reads the manager without changing the condition's state, so
        that calling it never changes what :meth:`__call__` answers. Combinations
        answer for their parts: ``a | b`` the largest, ``a & b`` the smallest of the
        parts that can tell.

        Parameters
        ----------
        manager
            Read-only view of the running manager, as given to :meth:`__call__`.

        Returns
        -------
        float or None
            The fraction of the way to the condition being met, None when it cannot
            tell.
        """
        return None
