"""The :class:`TargetCost` exit condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import number
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["TargetCost"]


class TargetCost(BaseExitCondition):
    """End the run once the best function value reaches a target.

    Parameters
    ----------
    target
        The function value sought (a finite number).
    atol
        Absolute tolerance (a non-negative number): values within ``atol`` above
        ``target`` count as reaching it.

    Notes
    -----
    Returns True once the best value found, ``manager.result.fx``, satisfies

    .. math:: f_{best} \\le target + atol

    so a value below the target also ends the run. False while no finite value has
    been found (``fx`` is ``inf``, NaN or None).

    :meth:`progress` is 1 once the target is reached and None ("cannot tell") before:
    the gap between the best value and the target does not say how far the run is
    from closing it (function values have no common scale, and a search approaches a
    minimum far from linearly), so no fraction is made up. Combined with ``|``, the
    other conditions' progress shows.

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> from glompo_core.result import Result
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = TargetCost(target=0, atol=1e-8) | MaxFuncCalls(fmax=100_000)
    >>> view = FakeManagerView(f_counter=20_000, result=Result(fx=0.3))
    >>> cond(view), cond.progress(view)   # TargetCost cannot tell: 20 % of the evaluations
    (False, 0.2)
    >>> view = FakeManagerView(f_counter=20_000, result=Result(fx=5e-9))
    >>> cond(view), cond.progress(view)
    (True, 1.0)
    """

    target: float
    atol: float

    def __init__(self, target: float, atol: float = 1e-6) -> None:
        super().__init__()
        self.target = number(target, "target")
        self.atol = number(atol, "atol", minimum=0)

    def __call__(self, manager: ManagerView) -> bool:
        fx = manager.result.fx
        if fx is None or not np.isfinite(fx):
            return False
        return float(fx) <= self.target + self.atol

    def progress(self, manager: ManagerView) -> float | None:
        """1.0 once the target is reached, else None (see the class's Notes)."""
        fx = manager.result.fx
        if fx is None or not np.isfinite(fx) or float(fx) > self.target + self.atol:
            return None
        return 1.0
