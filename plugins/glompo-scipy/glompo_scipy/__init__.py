"""glompo-scipy: :mod:`scipy.optimize` as GloMPO child optimizers.

>>> from glompo_scipy import ScipyOptimizer, DifferentialEvolution  # doctest: +SKIP

* :class:`ScipyOptimizer` (``method=`` Nelder-Mead, Powell, COBYLA, COBYQA, L-BFGS-B,
  SLSQP, TNC, trust-constr) and one class per method (:class:`NelderMead`, ...),
  registered as ``ScipyOptimizer``, ``NelderMead``/``nelder-mead``, ``Powell``,
  ``COBYLA``, ``COBYQA``, ``LBFGSB``/``l-bfgs-b``, ``SLSQP``, ``TNC``,
  ``TrustConstr``/``trust-constr``;
* :class:`DifferentialEvolution` (``differential-evolution``) and
  :class:`DualAnnealing` (``dual-annealing``).

Run files name them once the distribution is installed (entry point
``scipy = "glompo_scipy.hooks"`` in group ``glompo``). The classes are imported
lazily, and :mod:`scipy` only when an optimizer is built, so ``import glompo_scipy``
imports neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: The distribution's version: always the same as glompo-core's (checked by the tests).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from glompo_scipy._differential_evolution import DifferentialEvolution
    from glompo_scipy._dual_annealing import DualAnnealing
    from glompo_scipy._minimize import (
        COBYLA,
        COBYQA,
        LBFGSB,
        METHOD_CLASSES,
        METHODS,
        SLSQP,
        TNC,
        NelderMead,
        Powell,
        ScipyOptimizer,
        TrustConstr,
    )

__all__ = [
    "COBYLA",
    "COBYQA",
    "LBFGSB",
    "METHODS",
    "METHOD_CLASSES",
    "SLSQP",
    "TNC",
    "DifferentialEvolution",
    "DualAnnealing",
    "NelderMead",
    "Powell",
    "ScipyOptimizer",
    "TrustConstr",
    "__version__",
]

_MODULES = {
    "DifferentialEvolution": "glompo_scipy._differential_evolution",
    "DualAnnealing": "glompo_scipy._dual_annealing",
}


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import importlib

        module = importlib.import_module(_MODULES.get(name, "glompo_scipy._minimize"))
        return getattr(module, name)
    raise AttributeError(f"module 'glompo_scipy' has no attribute {name!r}")
