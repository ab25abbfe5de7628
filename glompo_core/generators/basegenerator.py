"""The base class of generators: where new optimizers start."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from glompo_core._seeding import Seeded

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["BaseGenerator"]


class BaseGenerator(Seeded, ABC):
    """Base of every generator: :meth:`generate` returns the starting point of a new optimizer.

    Every point returned lies inside the run's bounds. Random choices use :attr:`rng`,
    which the manager seeds from the run's ``seed``.
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger("glompo.generator")

    @abstractmethod
    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return a starting point (1-D array of ``manager.n_parms`` values within bounds)."""

    def __str__(self) -> str:
        return type(self).__name__
