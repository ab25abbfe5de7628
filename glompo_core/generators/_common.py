"""What the built-in generators share: the run's bounds, and uniform draws inside them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from glompo_core._validation import bounds_array

if TYPE_CHECKING:
    from glompo_core.protocols import ManagerView

#: What a generator's ``bounds`` argument may be: (min, max) pairs, one per parameter.
BoundsLike = Sequence[Sequence[float]] | np.ndarray


def resolve_bounds(own: np.ndarray | None, manager: ManagerView) -> np.ndarray:
    """The generator's own bounds if it has them (checked against the run), else the run's."""
    if own is None:
        return bounds_array(manager.bounds, "manager.bounds")
    n_parms = int(manager.n_parms)
    if len(own) != n_parms:
        raise ValueError(f"the generator's bounds have {len(own)} rows but the run has "
                         f"{n_parms} parameters; give matching bounds or bounds=None to use "
                         "the run's")
    return own


def uniform(rng: np.random.Generator, bounds: np.ndarray) -> np.ndarray:
    """A point drawn uniformly inside ``bounds`` (clipped against rounding at the top bound)."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    return np.clip(rng.uniform(lo, hi), lo, hi)
