"""DifferentialEvolution: :func:`scipy.optimize.differential_evolution` as a child optimizer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from glompo_scipy._base import ScipyBase, _Objective

__all__ = ["DifferentialEvolution"]

#: Arguments of differential_evolution that the optimizer sets itself.
_SET_HERE = ("func", "bounds", "args", "callback", "x0", "workers", "seed", "rng",
             "vectorized")


class DifferentialEvolution(ScipyBase):
    """scipy's differential evolution as a GloMPO child optimizer.

    Each generation is evaluated at once: scipy is given ``updating='deferred'`` and, as
    ``workers``, a map-like callable that sends the whole population through
    :func:`~glompo_core.optimizers.evaluate_population`, i.e. through the run's backend
    (threads, processes, Dask) with up to ``workers`` evaluations at a time. ``x0``
    replaces one member of the first population. Points never leave the bounds.

    The manager's requests are served between generations and before every evaluation;
    a stop request ends the run at once and :meth:`minimize` returns the best point
    seen. When scipy ends by itself (population converged, ``maxiter`` reached, and the
    final polish with L-BFGS-B done) the optimizer reports it with scipy's message.

    It cannot be checkpointed mid-run (``can_checkpoint = False``): a checkpoint of the
    run does not wait for it, and a resumed run restarts it from its best point.

    Parameters
    ----------
    workers
        Evaluations at a time (the optimizer's slots in the run).
    seed
        Seed of scipy's random generator (``rng``, or ``seed`` on scipy < 1.15): a
        seeded optimizer repeats exactly. ``set_seed(seed)`` before :meth:`minimize`
        does the same (see :class:`~glompo_core.optimizers.BaseOptimizer`).
    **options
        The manager's runtime arguments (``_opt_id``, ...) go to
        :class:`~glompo_core.optimizers.BaseOptimizer`; the rest are scipy's.
        Any argument of :func:`scipy.optimize.differential_evolution` but those set
        here (``bounds``, ``x0``, ``callback``, ``args``, ``workers``, ``seed``/``rng``,
        ``vectorized``): ``popsize``, ``maxiter``, ``tol``, ``atol``, ``strategy``,
        ``mutation``, ``recombination``, ``init``, ``polish``, ``constraints``,
        ``integrality``, ``updating``... ``updating='immediate'`` evaluates one member
        at a time (scipy's own default; no population batches).

    Raises
    ------
    ValueError
        An unknown option (with the closest name) or one set by the optimizer.

    Examples
    --------
    >>> opt = DifferentialEvolution(seed=1, popsize=10, tol=1e-8)
    >>> res = opt.minimize(lambda x: float(np.sum((np.asarray(x) - 0.5) ** 2)), [0.0, 0.0],
    ...                    [(-1.0, 1.0), (-1.0, 1.0)])
    >>> bool(res.success), res.fx < 1e-12
    (True, True)
    """

    @property
    def label(self) -> str:
        """``'scipy differential_evolution'``."""
        return "scipy differential_evolution"

    @classmethod
    def _option_names(cls, init_kwargs: Mapping[str, Any]) -> Sequence[str] | None:
        from scipy.optimize import differential_evolution

        return cls._signature_options(differential_evolution, exclude=_SET_HERE)

    def _run(self, objective: _Objective, x0: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> Mapping[str, Any]:
        from scipy.optimize import differential_evolution

        options = dict(self.options)
        options.setdefault("updating", "deferred")
        if options["updating"] == "deferred":
            options["workers"] = objective.map
        options.update(self._seed_keyword(differential_evolution))
        return differential_evolution(
            objective, list(zip(lower, upper)), x0=x0, callback=self._iteration_end,
            **options)
