"""DualAnnealing: :func:`scipy.optimize.dual_annealing` as a GloMPO child optimizer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from glompo_scipy._base import ScipyBase, _Objective

__all__ = ["DualAnnealing"]

#: Arguments of dual_annealing that the optimizer sets itself.
_SET_HERE = ("func", "bounds", "args", "callback", "x0", "seed", "rng")


class DualAnnealing(ScipyBase):
    """scipy's dual annealing (generalized simulated annealing with local searches).

    The annealing evaluates one point at a time. With ``workers`` > 1 (and scipy >=
    1.16) the finite-difference gradients of its default local searches (L-BFGS-B) are
    evaluated at once through the run's backend. The visiting distribution wraps points
    back into the bounds and the local searches are bounded, so the task is never
    evaluated outside them.

    The manager's requests are served before every evaluation and whenever scipy
    reports a new minimum; a stop request ends the run at once and :meth:`minimize`
    returns the best point seen. When scipy ends by itself (``maxiter`` or ``maxfun``
    reached) the optimizer reports it with scipy's message.

    ``maxfun`` is its budget (:attr:`budget_argument`): a run that does not give it
    gives the optimizer its share of the run's ``MaxFuncCalls`` (the rule of
    :mod:`glompo_core.budget`); scipy's own default (10,000,000) applies only to a run
    without such a budget.

    It cannot be checkpointed mid-run (``can_checkpoint = False``): a checkpoint of the
    run does not wait for it, and a resumed run restarts it from its best point.

    Parameters
    ----------
    workers
        The optimizer's slots in the run: evaluations at a time of the local searches'
        gradients (scipy >= 1.16, default local search only).
    seed
        Seed of scipy's random generator (``rng``, or ``seed`` on scipy < 1.15): a
        seeded optimizer repeats exactly. ``set_seed(seed)`` before :meth:`minimize`
        does the same (see :class:`~glompo_core.optimizers.BaseOptimizer`).
    **options
        The manager's runtime arguments (``_opt_id``, ...) go to
        :class:`~glompo_core.optimizers.BaseOptimizer`; the rest are scipy's.
        Any argument of :func:`scipy.optimize.dual_annealing` but those set here
        (``bounds``, ``x0``, ``callback``, ``args``, ``seed``/``rng``): ``maxiter``,
        ``maxfun``, ``initial_temp``, ``restart_temp_ratio``, ``visit``, ``accept``,
        ``no_local_search``, ``minimizer_kwargs``.

    Raises
    ------
    ValueError
        An unknown option (with the closest name) or one set by the optimizer.

    Examples
    --------
    >>> opt = DualAnnealing(seed=1, maxiter=50)
    >>> res = opt.minimize(lambda x: float(np.sum((np.asarray(x) - 0.5) ** 2)), [0.0, 0.0],
    ...                    [(-1.0, 1.0), (-1.0, 1.0)])
    >>> res.fx < 1e-10
    True
    """

    #: ``maxfun`` takes the optimizer's share of the run's budget when not given.
    budget_argument: ClassVar[str | None] = "maxfun"

    @property
    def label(self) -> str:
        """``'scipy dual_annealing'``."""
        return "scipy dual_annealing"

    @classmethod
    def _option_names(cls, init_kwargs: Mapping[str, Any]) -> Sequence[str] | None:
        from scipy.optimize import dual_annealing

        return cls._signature_options(dual_annealing, exclude=_SET_HERE)

    def _run(self, objective: _Objective, x0: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> Mapping[str, Any]:
        from scipy.optimize import dual_annealing

        options = dict(self.options)
        options.update(self._seed_keyword(dual_annealing))
        if self.workers > 1 and not options.get("minimizer_kwargs"):
            options["minimizer_kwargs"] = self._local_search(objective, lower, upper)
        return dual_annealing(
            objective, list(zip(lower, upper)), x0=x0, callback=self._iteration_end,
            **options)

    @staticmethod
    def _local_search(objective: _Objective, lower: np.ndarray,
                      upper: np.ndarray) -> dict[str, Any] | None:
        """scipy's default local search (L-BFGS-B) with batched finite differences.

        The settings are those dual_annealing uses when given no ``minimizer_kwargs``,
        plus ``workers=objective.map``; None if L-BFGS-B has no ``workers`` option
        (scipy < 1.16).
        """
        import inspect

        from scipy.optimize import _minimize

        impl = getattr(_minimize, "_minimize_lbfgsb", None)
        if impl is None or "workers" not in inspect.signature(impl).parameters:
            return None
        n = len(lower)
        return {"method": "L-BFGS-B", "bounds": list(zip(lower, upper)),
                "options": {"maxiter": min(max(6 * n, 100), 1000), "workers": objective.map}}
