"""GloMPO hook implementations of glompo-scipy (the ``scipy`` entry point of group ``glompo``).

Only ``@hookimpl`` functions live here. Importing this module imports neither
:mod:`scipy` nor the optimizer modules; the registration hook imports the optimizer
classes, and :mod:`scipy` is imported only when an optimizer is built.
"""

from __future__ import annotations

from collections.abc import Callable

from glompo_core import hookimpl

__all__ = ["glompo_register_optimizers"]


@hookimpl
def glompo_register_optimizers(register: Callable[..., None]) -> None:
    """Register ScipyOptimizer, a class per method, DifferentialEvolution and DualAnnealing.

    Each per-method class is registered under its class name and, where it differs,
    scipy's method name (``NelderMead`` and ``nelder-mead``, ``LBFGSB`` and ``l-bfgs-b``,
    ``TrustConstr`` and ``trust-constr``; ``Powell``, ``COBYLA``, ``COBYQA``, ``SLSQP`` and
    ``TNC`` are both: names are case-insensitive).
    """
    from glompo_scipy._differential_evolution import DifferentialEvolution
    from glompo_scipy._dual_annealing import DualAnnealing
    from glompo_scipy._minimize import METHOD_CLASSES, ScipyOptimizer

    register("ScipyOptimizer", ScipyOptimizer)
    for cls in METHOD_CLASSES:
        method = str(cls.fixed_method).lower()
        aliases = () if method == cls.__name__.lower() else (method,)
        register(cls.__name__, cls, aliases=aliases)
    register("DifferentialEvolution", DifferentialEvolution, aliases=("differential-evolution",))
    register("DualAnnealing", DualAnnealing, aliases=("dual-annealing",))
