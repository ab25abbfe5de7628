"""IncumbentGenerator: start at the best point found so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array, call_text
from glompo_core.generators._common import BoundsLike, resolve_bounds, uniform
from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["IncumbentGenerator"]


class IncumbentGenerator(BaseGenerator):
    """Start each optimizer at the run's incumbent (best point so far), else at random.

    Parameters
    ----------
    bounds
        Sequence of (min, max) pairs, one per parameter. None (default) uses the run's
        bounds (``manager.bounds``).

    Notes
    -----
    Returns a copy of ``manager.result.x``. Before any evaluation (``result.x`` is None)
    a point is drawn uniformly inside the bounds with :attr:`rng`. The incumbent was
    evaluated inside the bounds, so it is returned as is; it is nevertheless clipped to
    the bounds, which only matters if the generator was given narrower bounds than the
    run's.

    Examples
    --------
    >>> from glompo_core.result import Result
    >>> from glompo_core.testing import FakeManagerView
    >>> gen = IncumbentGenerator()
    >>> gen.generate(FakeManagerView(result=Result(x=[0.25, -0.5], fx=1.0))).tolist()
    [0.25, -0.5]
    >>> x = gen.generate(FakeManagerView())   # nothing evaluated yet: a random point
    >>> bool(((-1 <= x) & (x <= 1)).all())
    True
    """

    def __init__(self, bounds: BoundsLike | None = None) -> None:
        super().__init__()
        self.bounds = None if bounds is None else bounds_array(bounds)

    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return the incumbent, or a uniformly random point if there is none yet."""
        bounds = resolve_bounds(self.bounds, manager)
        x = manager.result.x
        if x is None:
            return uniform(self.rng, bounds)
        return np.clip(np.array(x, dtype=float), bounds[:, 0], bounds[:, 1])

    def __str__(self) -> str:
        return call_text(self, bounds=self.bounds)
