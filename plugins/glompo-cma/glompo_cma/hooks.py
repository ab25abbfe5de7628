"""GloMPO hook implementations of glompo-cma (the ``cma`` entry point of group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
:mod:`cma` nor :mod:`glompo_cma.optimizer`: the classes are imported when the
registration hooks run (and they do not import :mod:`cma` either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glompo_core import hookimpl

__all__ = ["glompo_default_portfolio", "glompo_register_optimizers",
           "glompo_register_selectors"]


@hookimpl
def glompo_register_optimizers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_cma.optimizer.CMAOptimizer` as ``CMAOptimizer`` (alias ``cma``)."""
    from glompo_cma.optimizer import CMAOptimizer

    register("CMAOptimizer", CMAOptimizer, aliases=("cma",))


@hookimpl
def glompo_register_selectors(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_cma.selector.CMAPopulationSelector` (alias ``bipop``)."""
    from glompo_cma.selector import CMAPopulationSelector

    register("CMAPopulationSelector", CMAPopulationSelector, aliases=("bipop",))


@hookimpl(trylast=True)
def glompo_default_portfolio(n_parms: int | None, budget: int | None,
                             available: Callable[[str, str], bool]) -> dict[str, Any]:
    """GloMPO's default portfolio (:data:`glompo_cma.portfolio.PORTFOLIO`).

    ``trylast``: a plugin giving its own default portfolio answers before this one.
    """
    from glompo_cma.portfolio import default_portfolio

    return default_portfolio(n_parms, budget, available)
