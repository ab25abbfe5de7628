"""RandomGenerator, plus the bounds helpers shared by the other generators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core.generators.basegenerator import BaseGenerator

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

__all__ = ["RandomGenerator"]

BoundsLike = Sequence[Sequence[float]] | np.ndarray


def _check_bounds(bounds: Any, name: str = "bounds") -> np.ndarray:
    """Return ``bounds`` as a float array of shape (n, 2), or raise a ValueError saying why."""
    try:
        arr = np.array(bounds, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a sequence of (min, max) pairs of numbers, "
                         f"got {bounds!r}") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty sequence of (min, max) pairs, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got non-finite values in rows "
                         f"{np.flatnonzero(~np.all(np.isfinite(arr), axis=1)).tolist()}")
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if bad.size:
        raise ValueError(f"{name} must satisfy min < max in every row; rows {bad.tolist()} "
                         "do not")
    return arr


def _resolve_bounds(own: np.ndarray | None, manager: ManagerView) -> np.ndarray:
    """The generator's own bounds if it has them (checked against the run), else the run's."""
    if own is None:
        return _check_bounds(manager.bounds, "manager.bounds")
    n_parms = int(manager.n_parms)
    if len(own) != n_parms:
        raise ValueError(f"the generator's bounds have {len(own)} rows but the run has "
                         f"{n_parms} parameters; give matching bounds or bounds=None to use "
                         "the run's")
    return own


def _uniform(rng: np.random.Generator, bounds: np.ndarray) -> np.ndarray:
    """A point drawn uniformly inside ``bounds`` (clipped against rounding at the top bound)."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    return np.clip(rng.uniform(lo, hi), lo, hi)


def _fmt(value: Any) -> str:
    """Short readable form of a setting for ``__str__``."""
    if isinstance(value, np.ndarray):
        return repr(value.tolist())
    return repr(value)


def _describe(obj: object, **settings: Any) -> str:
    """``ClassName(key=value, ...)``."""
    args = ", ".join(f"{key}={_fmt(val)}" for key, val in settings.items())
    return f"{type(obj).__name__}({args})"


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
        self.bounds = None if bounds is None else _check_bounds(bounds)

    def generate(self, manager: ManagerView) -> np.ndarray:
        """Return a uniformly random point inside the bounds."""
        return _uniform(self.rng, _resolve_bounds(self.bounds, manager))

    def __str__(self) -> str:
        return _describe(self, bounds=self.bounds)
