"""LatinHypercubeGenerator: start optimizers spread over the box, a Latin hypercube at a time."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from glompo_core.generators import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["LatinHypercubeGenerator"]


class LatinHypercubeGenerator(BaseGenerator):
    """Start each optimizer at the next point of a Latin hypercube design over the bounds.

    Uniform random starts may fall close together while parts of the box get none. A
    Latin hypercube of ``size`` points cuts every axis into ``size`` equal strata and
    puts exactly one point in each stratum of each axis, so the first ``size``
    optimizers start spread over the whole range of every parameter. When a design is
    used up, the next one is drawn.

    Parameters
    ----------
    size
        Points per design (an integer >= 1); a good value is the number of optimizers
        the run is expected to start.

    Notes
    -----
    Random choices use :attr:`rng`, which the manager seeds from the run's ``seed``;
    the design under way is pickled with the generator, so a resumed run continues it.

    Examples
    --------
    >>> from glompo_core.testing import FakeManagerView
    >>> gen = LatinHypercubeGenerator(size=4)
    >>> gen.set_seed(1)
    >>> view = FakeManagerView(bounds=[(0.0, 4.0), (10.0, 14.0)])
    >>> points = np.array([gen.generate(view) for _ in range(4)])
    >>> sorted(np.floor(points[:, 0]).astype(int).tolist())   # one start per stratum
    [0, 1, 2, 3]
    >>> sorted(np.floor(points[:, 1] - 10).astype(int).tolist())
    [0, 1, 2, 3]
    """

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        given: object = size  # run files may hold anything: check it
        if isinstance(given, bool) or not isinstance(given, numbers.Integral) or given < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        self.size: int = int(given)
        self._design: list[np.ndarray] = []
        self._bounds: np.ndarray | None = None

    def generate(self, manager: ManagerView) -> np.ndarray:
        """The next point of the current design (a new design when it is used up)."""
        bounds = np.asarray(manager.bounds, dtype=float)
        if self._bounds is None or not np.array_equal(bounds, self._bounds):
            self._design = []  # bounds changed (e.g. another run): start afresh
            self._bounds = bounds.copy()
        if not self._design:
            self._design = list(self._draw(bounds))
        return self._design.pop(0)

    def _draw(self, bounds: np.ndarray) -> np.ndarray:
        n, dims = self.size, len(bounds)
        strata = np.array([self.rng.permutation(n) for _ in range(dims)]).T  # (n, dims)
        unit = (strata + self.rng.random((n, dims))) / n
        lo, hi = bounds[:, 0], bounds[:, 1]
        return np.clip(lo + unit * (hi - lo), lo, hi)

    def __str__(self) -> str:
        return f"LatinHypercubeGenerator(size={self.size})"

    def __repr__(self) -> str:
        return str(self)
