"""SinglePointGenerator: every optimizer starts at the same point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array, call_text
from glompo_core.generators._common import BoundsLike, resolve_bounds, uniform
from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["SinglePointGenerator"]


def _outside(x: np.ndarray, bounds: np.ndarray) -> list[int]:
    return np.flatnonzero((x < bounds[:, 0]) | (x > bounds[:, 1])).tolist()


class SinglePointGenerator(BaseGenerator):
    """Start every optimizer at the same point: ``x`` if given, else one random point.

    Parameters
    ----------
    bounds
        Sequence of (min, max) pairs, one per parameter. None (default) uses the run's
        bounds (``manager.bounds``).
    x
        The starting point. None (default) draws one point uniformly inside the bounds
        at the first call of :meth:`generate` (with :attr:`rng`, so a seeded run repeats)
        and returns it ever after.

    Notes
    -----
    The point is never clipped or moved: an ``x`` outside the bounds, or of the wrong
    length, is an error (a ValueError at construction when ``bounds`` is given,
    otherwise at the first :meth:`generate`). Every returned point is therefore inside
    the bounds. A copy is returned, so optimizers cannot alter the stored point.

    Examples
    --------
    >>> from glompo_core.testing import FakeManagerView
    >>> view = FakeManagerView(bounds=[(-1.0, 1.0), (-1.0, 1.0)])
    >>> SinglePointGenerator(x=[0.5, 0.0]).generate(view).tolist()
    [0.5, 0.0]
    >>> gen = SinglePointGenerator()   # one random point, then always the same
    >>> bool((gen.generate(view) == gen.generate(view)).all())
    True
    >>> SinglePointGenerator(bounds=[(-1, 1), (-1, 1)], x=[2.0, 0.0])
    Traceback (most recent call last):
    ...
    ValueError: x must lie inside the bounds; coordinates [0] are outside
    """

    def __init__(self, bounds: BoundsLike | None = None,
                 x: Sequence[float] | np.ndarray | None = None) -> None:
        super().__init__()
        self.bounds = None if bounds is None else bounds_array(bounds)
        self.x: np.ndarray | None = None
        if x is not None:
            try:
                vec = np.array(x, dtype=float)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"x must be a sequence of numbers (or None), got {x!r}") from exc
            if vec.ndim != 1 or vec.size == 0 or not np.all(np.isfinite(vec)):
                raise ValueError(f"x must be a non-empty 1-D sequence of finite numbers "
                                 f"(or None), got {x!r}")
            if self.bounds is not None:
                self._check_x(vec, self.bounds)
            self.x = vec
        self._given = x is not None

    @staticmethod
    def _check_x(x: np.ndarray, bounds: np.ndarray) -> None:
        if len(x) != len(bounds):
            raise ValueError(f"x has {len(x)} values but the bounds have {len(bounds)} rows")
        out = _outside(x, bounds)
        if out:
            raise ValueError(f"x must lie inside the bounds; coordinates {out} are outside")

    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return the fixed point (drawing it on the first call if ``x`` was not given)."""
        bounds = resolve_bounds(self.bounds, manager)
        if self.x is None:
            self.x = uniform(self.rng, bounds)
        else:
            self._check_x(self.x, bounds)
        return self.x.copy()

    def __str__(self) -> str:
        return call_text(self, bounds=self.bounds, x=self.x if self._given else None)
