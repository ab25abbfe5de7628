"""NOptimizersSpawnStop: no new optimizers once a number of them has been started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core.selectors._iterspawnstop import _positive_int
from glompo_core.selectors.baseselector import SpawnControl

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["NOptimizersSpawnStop"]


class NOptimizersSpawnStop(SpawnControl):
    """Allow new optimizers only while fewer than ``max_opts`` have been started.

    Parameters
    ----------
    max_opts
        Number of optimizers (an integer >= 1) after which no more are started.

    Notes
    -----
    Spawning is allowed while ``manager.o_counter < max_opts``. Once refused it stays
    refused (the selector remembers it): the optimizers already running continue, and
    the run ends when the last of them finishes.

    Examples
    --------
    >>> from glompo_core.testing import FakeManagerView
    >>> control = NOptimizersSpawnStop(max_opts=10)
    >>> control(FakeManagerView(o_counter=9)), control(FakeManagerView(o_counter=10))
    (True, False)
    >>> print(control)
    NOptimizersSpawnStop(max_opts=10)
    """

    def __init__(self, max_opts: int) -> None:
        self.max_opts = _positive_int(max_opts, "max_opts")

    def __call__(self, manager: ManagerView) -> bool:
        """True while fewer than ``max_opts`` optimizers have been started."""
        return manager.o_counter < self.max_opts
