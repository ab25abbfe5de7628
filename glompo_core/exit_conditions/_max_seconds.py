"""The :class:`MaxSeconds` exit condition."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from glompo_core._validation import positive_number
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition, fraction_of

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["MaxSeconds"]


def _check_seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    return positive_number(value, name, what="a positive finite number of seconds or None")


class MaxSeconds(BaseExitCondition):
    """End the run after a wall-clock time, per session or over all sessions.

    The two limits differ only for a checkpointed run resumed over several
    sessions; without checkpoints they are the same.

    Parameters
    ----------
    session_max
        Maximum seconds since the start of this session (the manager's ``t_start``),
        a positive number, or None for no limit.
    overall_max
        Maximum seconds over all sessions: the time used by previous sessions
        (``t_used``) plus this session's, a positive number, or None for no limit.
        At least one of the two limits is required.

    Notes
    -----
    With :math:`t_s` = ``time.time() - manager.t_start`` (0 before the session
    starts, ``t_start`` None) and :math:`t_u` = ``manager.t_used``, the condition is
    True when :math:`t_s \\ge session\\_max` or :math:`t_u + t_s \\ge overall\\_max`
    (a limit given as None is never reached). :meth:`progress` is the larger of
    :math:`t_s / session\\_max` and :math:`(t_u + t_s) / overall\\_max` (at most 1).

    Examples
    --------
    A run resumed after 20 hours, in a session not yet started (``t_start`` None):

    >>> from glompo_core.testing import FakeManagerView
    >>> cond = MaxSeconds(session_max=3600, overall_max=86400)
    >>> view = FakeManagerView(t_used=72_000.0)
    >>> cond(view), round(cond.progress(view), 3)   # 20 h of the 24 h
    (False, 0.833)
    >>> cond(FakeManagerView(t_used=86_400.0))
    True
    """

    session_max: float | None
    overall_max: float | None

    def __init__(self, session_max: float | None = None,
                 overall_max: float | None = None) -> None:
        super().__init__()
        self.session_max = _check_seconds("session_max", session_max)
        self.overall_max = _check_seconds("overall_max", overall_max)
        if self.session_max is None and self.overall_max is None:
            raise ValueError("MaxSeconds needs session_max or overall_max (or both), got neither")

    def __call__(self, manager: ManagerView) -> bool:
        t_session = self._session_seconds(manager)
        if self.session_max is not None and t_session >= self.session_max:
            return True
        return self.overall_max is not None and manager.t_used + t_session >= self.overall_max

    @staticmethod
    def _session_seconds(manager: ManagerView) -> float:
        return 0.0 if manager.t_start is None else time.time() - manager.t_start

    def progress(self, manager: ManagerView) -> float:
        """The share of the time limit used: the larger of the two limits' shares."""
        t_session = self._session_seconds(manager)
        shares = [0.0]
        if self.session_max is not None:
            shares.append(fraction_of(t_session, self.session_max))
        if self.overall_max is not None:
            shares.append(fraction_of(manager.t_used + t_session, self.overall_max))
        return max(shares)
