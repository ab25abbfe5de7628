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

    Examples
    --------
    A generator of one's own: the centre of the bounds, moved a little at random.

    >>> import numpy as np
    >>> from glompo_core.testing import FakeManagerView
    >>> class NearCentre(BaseGenerator):
    ...     def generate(self, manager):
    ...         lo, hi = manager.bounds[:, 0], manager.bounds[:, 1]
    ...         x = (lo + hi) / 2 + self.rng.normal(0, 0.01, len(lo)) * (hi - lo)
    ...         return np.clip(x, lo, hi)
    >>> gen = NearCentre()
    >>> gen.set_seed(3)
    >>> x = gen.generate(FakeManagerView(bounds=[(0, 10), (-1, 1)]))
    >>> bool(abs(x[0] - 5) < 0.5 and abs(x[1]) < 0.1)
    True
    """

    def __init__(self) -> None:
        self.logger = logging.getLogger("glompo.generator")

    @abstractmethod
    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return a starting point (1-D array of ``manager.n_parms`` values within bounds)."""

    def __str__(self) -> str:
        return type(self).__name__
