"""IterSpawnStop: no new optimizers once a number of evaluations is reached."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glompo_core._validation import positive_int
from glompo_core.selectors.baseselector import SpawnControl

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["IterSpawnStop"]


def _positive_int(value: Any, name: str) -> int:
    """``int(value)`` for an integer >= 1 (an integral float is accepted), else a ValueError."""
    return positive_int(value, name, what="an integer >= 1", integral_float=True)


class IterSpawnStop(SpawnControl):
    """Allow new optimizers only while fewer than ``max_calls`` evaluations have been made.

    Parameters
    ----------
    max_calls
        Number of function evaluations (an integer >= 1) from which no more optimizers
        are started.

    Notes
    -----
    Spawning is allowed while ``manager.f_counter < max_calls``. Once refused it stays
    refused (the selector remembers it): the optimizers already running continue, and
    the run ends when the last of them finishes.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.selectors import CycleSelector
    >>> from glompo_core.testing import FakeManagerView
    >>> control = IterSpawnStop(max_calls=1000)
    >>> control(FakeManagerView(f_counter=999)), control(FakeManagerView(f_counter=1000))
    (True, False)
    >>> sel = CycleSelector(RandomOptimizer, allow_spawn=control)
    >>> view = FakeManagerView(f_counter=1000)
    >>> sel.select_optimizer(view, view.opt_log, slots_available=1)
    False
    """

    def __init__(self, max_calls: int) -> None:
        self.max_calls = _positive_int(max_calls, "max_calls")

    def __call__(self, manager: ManagerView) -> bool:
        """True while the run has used fewer than ``max_calls`` evaluations."""
        return manager.f_counter < self.max_calls
