"""glompo-nevergrad: any nevergrad optimizer, by its registry name, as a GloMPO child optimizer.

>>> from glompo_nevergrad import NevergradOptimizer  # doctest: +SKIP

Run files and selectors name it ``NevergradOptimizer`` (aliases ``nevergrad`` and
``NGOpt``) once the distribution is installed (entry point ``nevergrad =
"glompo_nevergrad.hooks"`` in group ``glompo``); the nevergrad algorithm is its
``optimizer`` argument.

:class:`NevergradOptimizer` is imported lazily, so ``import glompo_nevergrad`` does not
import :mod:`nevergrad`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The distribution's version: always the same as glompo-core's (checked by the tests).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from glompo_nevergrad.optimizer import NevergradOptimizer, available_optimizers

__all__ = ["NevergradOptimizer", "__version__", "available_optimizers"]


def __getattr__(name: str) -> Any:
    if name in ("NevergradOptimizer", "available_optimizers"):
        from glompo_nevergrad import optimizer

        return getattr(optimizer, name)
    raise AttributeError(f"module 'glompo_nevergrad' has no attribute {name!r}")
