"""GloMPO hook implementations of glompo-nevergrad (entry point ``nevergrad``, group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
:mod:`nevergrad` nor :mod:`glompo_nevergrad.optimizer`: the optimizer class is imported
when the registration hook runs, and :mod:`nevergrad` when an optimizer is built.
"""

from __future__ import annotations

from collections.abc import Callable

from glompo_core import hookimpl

__all__ = ["glompo_register_optimizers"]


@hookimpl
def glompo_register_optimizers(register: Callable[..., None]) -> None:
    """Register :class:`~glompo_nevergrad.optimizer.NevergradOptimizer`, alias nevergrad and NGOpt.

    ``NGOpt`` names the class because NGOpt is its default algorithm; any other nevergrad
    algorithm is chosen with the ``optimizer`` argument.
    """
    from glompo_nevergrad.optimizer import NevergradOptimizer

    register("NevergradOptimizer", NevergradOptimizer, aliases=("nevergrad", "NGOpt"))
