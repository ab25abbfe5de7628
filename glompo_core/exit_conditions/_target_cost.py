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

    Examples
    --------
    ``TargetCost(target=0, atol=1e-8) | MaxFuncCalls(fmax=100_000)``
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
