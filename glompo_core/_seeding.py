"""Seeds for components that make random choices."""

from __future__ import annotations

import numpy as np

__all__ = ["Seeded"]


class Seeded:
    """Mixin of components with random choices (generators, selectors, random optimizers).

    The manager calls :meth:`set_seed` with a child of the run's ``seed`` before the run,
    so a seeded run is reproducible; without one, the component draws fresh entropy.
    """

    _rng: np.random.Generator | None = None

    @property
    def rng(self) -> np.random.Generator:
        """The component's random generator."""
        if self._rng is None:
            self._rng = np.random.default_rng()
        return self._rng

    def set_seed(self, seed: int | np.random.SeedSequence | np.random.Generator | None) -> None:
        """Reset the random generator from ``seed`` (an int, a SeedSequence or a Generator)."""
        if isinstance(seed, np.random.Generator):
            self._rng = seed
        else:
            self._rng = np.random.default_rng(seed)
