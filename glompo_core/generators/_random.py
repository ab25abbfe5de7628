"""RandomGenerator: uniform random starting points inside the bounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array, call_text
from glompo_core.generators._common import BoundsLike, resolve_bounds, uniform
from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["RandomGenerator"]

class RandomGenerator(BaseGenerator):
    """Start each optimizer at a point drawn uniformly at random inside the bounds.

    Parameters
    ----------
    bounds
        Sequence of (min, max) pairs, one per parameter. None (default) uses the run's
        bounds (``manager.bounds``).

    Notes
    -----
    Each coordinate is drawn independently from a uniform distribution over its
    interval with :attr:`rng` (seeded by the manager), so a seeded run repeats exactly.
    Points always lie inside the bounds: the draw is confined to them and clipped
    against floating-point rounding at the upper bound.

    Examples
    --------
    >>> from glompo_core.testing import FakeManagerView
    >>> view = FakeManagerView(bounds=[(0.0, 1.0), (10.0, 20.0)])
    >>> gen = RandomGenerator()
    >>> gen.set_seed(1)   # the manager seeds it from the run's seed
    >>> x = gen.generate(view)
    >>> x.shape, bool(0 <= x[0] <= 1 and 10 <= x[1] <= 20)
    ((2,), True)
    >>> gen.set_seed(1)   # the same seed, the same points
    >>> bool((gen.generate(view) == x).all())
    True

    With bounds of its own, narrower than the run's:

    >>> x = RandomGenerator(bounds=[(0.0, 0.1), (10.0, 10.1)]).generate(view)
    >>> bool(0 <= x[0] <= 0.1 and 10 <= x[1] <= 10.1)
    True
    """

    def __init__(self, bounds: BoundsLike | None = None) -> None:
        super().__init__()
        self.bounds = None if bounds is None else bounds_array(bounds)

    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return a uniformly random point inside the bounds."""
        return uniform(self.rng, resolve_bounds(self.bounds, manager))

    def __str__(self) -> str:
        return call_text(self, bounds=self.bounds)
