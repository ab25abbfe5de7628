"""glompo-cma: CMA-ES (pycma) as a GloMPO child optimizer.

>>> from glompo_cma import CMAOptimizer  # doctest: +SKIP

Run files and selectors name it ``CMAOptimizer`` or ``cma`` once the distribution is
installed (entry point ``cma = "glompo_cma.hooks"`` in group ``glompo``).

:class:`CMAPopulationSelector` (registered as ``CMAPopulationSelector`` and ``bipop``)
starts CMA-ES runs with growing populations, as IPOP/BIPOP-CMA-ES restart it.

Both are imported lazily, so ``import glompo_cma`` does not import :mod:`cma`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The distribution's version: always the same as glompo-core's (checked by the tests).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from glompo_cma.optimizer import CMAOptimizer, load_covariances, relative_step
    from glompo_cma.selector import CMAPopulationSelector

__all__ = ["CMAOptimizer", "CMAPopulationSelector", "__version__", "load_covariances",
           "relative_step"]


def __getattr__(name: str) -> Any:
    if name in ("CMAOptimizer", "load_covariances", "relative_step"):
        from glompo_cma import optimizer

        return getattr(optimizer, name)
    if name == "CMAPopulationSelector":
        from glompo_cma import selector

        return selector.CMAPopulationSelector
    raise AttributeError(f"module 'glompo_cma' has no attribute {name!r}")
