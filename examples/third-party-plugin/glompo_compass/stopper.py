"""StallSeconds: stop an optimizer whose best value has not improved for some wall time."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from glompo_core.stoppers import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["StallSeconds"]


def _number(value: Any, name: str, what: str, ok: Callable[[float], bool]) -> Any:
    """``value`` if it is a real number (not a bool) for which ``ok`` holds; else a ValueError.

    The value is returned as given (``10`` stays an int), so that ``str()`` of the
    stopper shows it as it was written.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not ok(float(value)):  # NaN fails every comparison
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return value


def _now() -> float:
    """The clock of :class:`StallSeconds` (monotonic seconds); tests replace it."""
    return time.monotonic()


class StallSeconds(BaseStopper):
    """Stop an optimizer whose best value has not improved for ``seconds`` of wall time.

    The core stoppers count evaluations (:class:`~glompo_core.stoppers.BestUnmoving`
    stops after ``calls`` evaluations without improvement). When evaluations are
    expensive, or their cost varies, a budget of time is often the natural one: "give up
    on an optimizer that found nothing better in the last ten minutes".

    Parameters
    ----------
    seconds
        Wall time (a positive number of seconds) an optimizer may go without improving
        its best value.
    tol
        Relative tolerance, a fraction between 0 and 1: an improvement of less than
        ``tol`` times the best value (in absolute value) does not reset the clock. With
        ``tol=0`` any improvement does.

    Notes
    -----
    The stopper keeps, for each optimizer it tests, the optimizer's best value and the
    time at which it first saw that value. It returns True when, at a check, at least
    ``seconds`` have passed since then and the best value :math:`b_{now}` has not
    improved on the recorded one :math:`b_{then}` by more than the tolerance:

    .. math:: b_{now} \\ge b_{then} - tol \\cdot |b_{then}|

    A significant improvement records the new best value and restarts the clock. It
    returns False the first time it sees an optimizer (the clock starts then), so an
    optimizer is never stopped less than ``seconds`` after the stopper first tested it.
    An optimizer with no finite value yet is stalled like any other: it is stopped
    after ``seconds`` without a finite value.

    Timing details:

    - The manager runs the stoppers every ``stopcheck_interval`` evaluations of the
      whole run, so a stall is detected at the first check after ``seconds`` have
      passed. With expensive evaluations set ``stopcheck_interval`` low (e.g. 1).
    - In ``a & StallSeconds(...)`` the stopper is only called when ``a`` is True; an
      improvement made meanwhile is seen late, which only delays a stop. Put it first
      (``StallSeconds(...) & a``) to follow the optimizers at every check.
    - Only a time difference on one monotonic clock is used. The clocks are not
      written into checkpoints: in a resumed run every optimizer gets ``seconds``
      afresh, so the time between the checkpoint and the resumption never counts
      as a stall.
    - It reads no evaluation history (only each optimizer's best value), so it does
      not make the manager keep evaluations in memory.

    Examples
    --------
    Stop optimizers that found nothing better in 10 minutes, once they have made 50
    evaluations: ``MinFuncCalls(min_pts=50) & StallSeconds(seconds=600)``; in a run
    file, ``stoppers: "StallSeconds(seconds=600, tol=0.001)"``.
    """

    seconds: float
    tol: float

    def __init__(self, seconds: float, tol: float = 0) -> None:
        super().__init__()
        self.seconds = _number(seconds, "seconds", "a positive finite number",
                               lambda x: 0 < x < math.inf)
        self.tol = _number(tol, "tol", "a number between 0 and 1", lambda x: 0 <= x <= 1)
        #: opt_id -> (best value when the clock started, clock time then)
        self._since: dict[int, tuple[float, float]] = {}

    @property
    def history_needed(self) -> int:
        """None of the evaluations: only each optimizer's best value is read."""
        return 0

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        now = _now()
        best = float(log.get_best_iter(tested_opt_id)["fx"])
        seen = self._since.get(tested_opt_id)
        if seen is None or self._improved(best, seen[0]):
            self._since[tested_opt_id] = (best, now)
            return False
        return now - seen[1] >= self.seconds

    def _improved(self, now: float, then: float) -> bool:
        """Whether ``now`` improves significantly on ``then``."""
        if not math.isfinite(then):
            return now < then
        return now < then - self.tol * abs(then)

    def stalled_for(self, opt_id: int) -> float | None:
        """Seconds since the stopper last saw optimizer ``opt_id`` improve (or first saw it).

        None if the stopper has not tested ``opt_id`` yet.
        """
        seen = self._since.get(opt_id)
        return None if seen is None else _now() - seen[1]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the clocks (see the Notes): a resumed run starts them afresh."""
        state = dict(self.__dict__)
        state["_since"] = {}
        return state
