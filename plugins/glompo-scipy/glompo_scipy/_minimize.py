"""ScipyOptimizer: :func:`scipy.optimize.minimize` as a GloMPO child optimizer.

One class per method (:class:`NelderMead`, :class:`Powell`, ...) fixes the method, so
that the registered name of a method (``nelder-mead``) builds that method: a registry
name resolves to a class, and the class is what knows the method.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from glompo_scipy._base import ScipyBase, _Objective

__all__ = [
    "COBYLA",
    "COBYQA",
    "LBFGSB",
    "METHODS",
    "METHOD_CLASSES",
    "SLSQP",
    "TNC",
    "NelderMead",
    "Powell",
    "ScipyOptimizer",
    "TrustConstr",
]

_log = logging.getLogger("glompo.optimizers.scipy")

#: The methods of :func:`scipy.optimize.minimize` offered, by lower-case name:
#: (scipy's spelling, scipy's private implementation used to check option names,
#: first scipy version that has it).
METHODS: dict[str, tuple[str, str, tuple[int, int]]] = {
    "nelder-mead": ("Nelder-Mead", "_minimize_neldermead", (1, 0)),
    "powell": ("Powell", "_minimize_powell", (1, 0)),
    "cobyla": ("COBYLA", "_minimize_cobyla", (1, 0)),
    "cobyqa": ("COBYQA", "_minimize_cobyqa", (1, 14)),
    "l-bfgs-b": ("L-BFGS-B", "_minimize_lbfgsb", (1, 0)),
    "slsqp": ("SLSQP", "_minimize_slsqp", (1, 0)),
    "tnc": ("TNC", "_minimize_tnc", (1, 0)),
    "trust-constr": ("trust-constr", "_minimize_trustregion_constr", (1, 0)),
}

#: Arguments of :func:`scipy.optimize.minimize` itself (not of ``options=``) that may be
#: given to :class:`ScipyOptimizer`.
_TOP_LEVEL = ("jac", "hess", "hessp", "constraints", "tol")
#: Arguments of the private implementations that are not options.
_NOT_OPTIONS = ("fun", "x0", "args", "jac", "hess", "hessp", "bounds", "constraints",
                "callback")
#: Finite-difference schemes accepted for ``jac`` (a black-box task has no gradient).
_JAC_SCHEMES = (None, "2-point", "3-point")


def _scipy_version() -> tuple[int, int]:
    import scipy

    major, minor = scipy.__version__.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _implementation_of(method: Any) -> Any:
    """scipy's private implementation of ``method`` (for its option names), or None.

    Raises ValueError for a method that is not offered (see :func:`_resolve_method`).
    """
    key = _resolve_method(method)
    try:
        from scipy.optimize import _minimize
    except ImportError:  # pragma: no cover - scipy reorganised its modules
        return None
    return getattr(_minimize, METHODS[key][1], None)


def _resolve_method(method: Any) -> str:
    """The lower-case key of ``method`` in :data:`METHODS`, or a ValueError."""
    if not isinstance(method, str) or method.lower() not in METHODS:
        names = [spelling for spelling, _, _ in METHODS.values()]
        close = difflib.get_close_matches(str(method).lower(), list(METHODS), n=1, cutoff=0.5)
        hint = f"; did you mean {METHODS[close[0]][0]!r}?" if close else ""
        raise ValueError(f"unknown scipy.optimize.minimize method {method!r}{hint} "
                         f"Methods offered (gradient-free by default): {', '.join(names)}")
    return method.lower()


class ScipyOptimizer(ScipyBase):
    """A method of :func:`scipy.optimize.minimize` as a GloMPO child optimizer.

    Offered are the methods that work without a gradient: ``Nelder-Mead``,
    ``Powell``, ``COBYLA``, ``COBYQA`` (scipy >= 1.14), and ``L-BFGS-B``, ``SLSQP``,
    ``TNC`` and ``trust-constr`` with finite-difference gradients. The bounds go to
    scipy (every method offered accepts them); a method that may still step outside
    them (COBYLA, trust-constr) has its points clipped into the bounds before the task
    sees them, with a penalty on the value it is told, so the task is never evaluated
    outside the bounds.

    Inside a run, the manager's requests are served from within scipy's loop: before
    every evaluation and at scipy's callback. A stop request ends the loop at the next
    evaluation and :meth:`minimize` returns the best point seen. When scipy ends by
    itself (converged, or ``maxiter``/``maxfev`` reached) the optimizer reports it to
    the manager (message key 0) with scipy's message.

    It cannot be checkpointed mid-run (``can_checkpoint = False``): a checkpoint of the
    run does not wait for it, and a resumed run restarts it from its best point.

    Each method is also its own class (:class:`NelderMead`, :class:`Powell`,
    :class:`COBYLA`, :class:`COBYQA`, :class:`LBFGSB`, :class:`SLSQP`, :class:`TNC`,
    :class:`TrustConstr`), registered under the class name and scipy's method name
    (``nelder-mead``, ``l-bfgs-b``, ...).

    Parameters
    ----------
    method
        The scipy method (case-insensitive); default ``'Nelder-Mead'``.
    workers
        Concurrent evaluations. With scipy >= 1.16, L-BFGS-B, SLSQP and TNC evaluate
        their finite-difference gradients at once through the run's backend; the other
        methods evaluate one point at a time, so ``workers`` > 1 only reserves slots.
    seed
        Accepted for uniformity: these methods are deterministic.
    **options
        The manager's runtime arguments (``_opt_id``, ...) go to
        :class:`~glompo_core.optimizers.BaseOptimizer`; the rest are scipy's.
        ``jac`` (``'2-point'``, ``'3-point'`` or a callable), ``hess``, ``hessp``,
        ``constraints`` and ``tol`` go to :func:`scipy.optimize.minimize` itself; every
        other name goes to its ``options=`` and must be an option of the method
        (``scipy.optimize.show_options('minimize', method)`` lists them), e.g.
        ``maxiter``, ``maxfev``, ``xatol``, ``fatol``, ``adaptive`` for Nelder-Mead.

    Raises
    ------
    ValueError
        An unknown method (with the closest name), COBYQA on a scipy older than 1.14,
        an option the method does not know, ``jac='cs'`` or ``True``, or an argument
        that the optimizer sets itself (``bounds``, ``x0``, ``callback``, ``args``).

    Examples
    --------
    >>> opt = ScipyOptimizer(method="Powell", xtol=1e-8, ftol=1e-10)
    >>> res = opt.minimize(lambda x: (x[0] - 0.3) ** 2 + x[1] ** 2, [1.0, 1.0],
    ...                    [(-2.0, 2.0), (-2.0, 2.0)])
    >>> bool(res.success), round(float(res.x[0]), 4), res.fx < 1e-12
    (True, 0.3, True)
    """

    #: The method of a per-method subclass (None: chosen with ``method=``).
    fixed_method: ClassVar[str | None] = None

    def __init__(self, method: str | None = None, **options: Any) -> None:
        fixed = type(self).fixed_method
        if fixed is not None:
            if method is not None and str(method).lower() != fixed.lower():
                raise ValueError(f"{type(self).__name__} always uses method {fixed!r}; got "
                                 f"method={method!r} (use ScipyOptimizer to choose the method)")
            method = fixed
        key = _resolve_method("Nelder-Mead" if method is None else method)
        self.method = METHODS[key][0]
        needed = METHODS[key][2]
        if _scipy_version() < needed:
            import scipy

            raise ValueError(f"method {self.method!r} needs scipy >= {needed[0]}.{needed[1]}; "
                             f"scipy {scipy.__version__} is installed: pip install "
                             f"'scipy>={needed[0]}.{needed[1]}'")
        super().__init__(**options)
        jac = self.options.get("jac")
        if not (callable(jac) or jac in _JAC_SCHEMES):
            raise ValueError(f"jac must be '2-point', '3-point', a callable or None, got "
                             f"jac={jac!r}: a black-box task has no gradient of its own")
        if self.workers > 1 and not self._batches_gradients():
            _log.warning("%s evaluates one point at a time: workers=%d reserves slots it "
                         "cannot use", self.method, self.workers)

    @property
    def label(self) -> str:
        """``'scipy <method>'``, used in messages."""
        return f"scipy {self.method}"

    def _implementation(self) -> Any:
        """scipy's private implementation of the method (for its option names), or None."""
        return _implementation_of(self.method)

    def _known_options(self) -> Sequence[str] | None:
        return self._option_names({"method": self.method})

    @classmethod
    def _option_names(cls, init_kwargs: Mapping[str, Any]) -> Sequence[str] | None:
        """The options of the method ``init_kwargs`` (or the class) chooses; None if unknown."""
        method = cls.fixed_method or init_kwargs.get("method") or "Nelder-Mead"
        try:
            impl = _implementation_of(method)
        except ValueError:  # an unknown method: building the optimizer says so
            return None
        if impl is None:  # pragma: no cover - scipy reorganised its modules
            return None
        return [*_TOP_LEVEL, *cls._signature_options(impl, exclude=(*_NOT_OPTIONS,
                                                                     "workers"))]

    def _batches_gradients(self) -> bool:
        """True if the method takes scipy's ``workers`` option (finite differences)."""
        impl = self._implementation()
        return impl is not None and "workers" in self._signature_options(impl)

    def _run(self, objective: _Objective, x0: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> Mapping[str, Any]:
        from scipy.optimize import Bounds, minimize

        top = {k: v for k, v in self.options.items() if k in _TOP_LEVEL}
        options = {k: v for k, v in self.options.items() if k not in _TOP_LEVEL}
        if self.workers > 1 and self._batches_gradients():
            options["workers"] = objective.map
        # trust-constr keeps its iterates within bounds only if asked to
        bounds = Bounds(lower, upper, keep_feasible=self.method == "trust-constr")
        return minimize(objective, x0, method=self.method, bounds=bounds,
                        callback=self._iteration_end, options=options, **top)


class NelderMead(ScipyOptimizer):
    """scipy's Nelder-Mead simplex: ``ScipyOptimizer(method='Nelder-Mead')``.

    Examples
    --------
    >>> opt = NelderMead(xatol=1e-8, fatol=1e-12)
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "Nelder-Mead"


class Powell(ScipyOptimizer):
    """scipy's Powell conjugate-direction method: ``ScipyOptimizer(method='Powell')``.

    Examples
    --------
    >>> opt = Powell(xtol=1e-8, ftol=1e-12)
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "Powell"


class COBYLA(ScipyOptimizer):
    """scipy's COBYLA (linear approximations): ``ScipyOptimizer(method='COBYLA')``.

    Examples
    --------
    >>> opt = COBYLA(rhobeg=0.5, tol=1e-10)
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "COBYLA"


class COBYQA(ScipyOptimizer):
    """scipy's COBYQA (quadratic models; scipy >= 1.14): ``ScipyOptimizer(method='COBYQA')``.

    Examples
    --------
    >>> opt = COBYQA()
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "COBYQA"


class LBFGSB(ScipyOptimizer):
    """scipy's L-BFGS-B with finite differences: ``ScipyOptimizer(method='L-BFGS-B')``.

    Examples
    --------
    >>> opt = LBFGSB()
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "L-BFGS-B"


class SLSQP(ScipyOptimizer):
    """scipy's SLSQP with finite differences: ``ScipyOptimizer(method='SLSQP')``.

    Examples
    --------
    >>> opt = SLSQP()
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "SLSQP"


class TNC(ScipyOptimizer):
    """scipy's truncated Newton (TNC) with finite differences: ``method='TNC'``.

    Examples
    --------
    >>> opt = TNC()
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "TNC"


class TrustConstr(ScipyOptimizer):
    """scipy's trust-constr with finite differences: ``method='trust-constr'``.

    Examples
    --------
    >>> opt = TrustConstr()
    >>> f = lambda x: (x[0] - 0.3) ** 2 + (x[1] + 0.2) ** 2
    >>> res = opt.minimize(f, [1.0, 1.0], [(-2.0, 2.0), (-2.0, 2.0)])
    >>> [round(float(v), 3) for v in res.x], bool(res.fx < 1e-5)
    ([0.3, -0.2], True)
    """

    fixed_method = "trust-constr"


#: The per-method classes, in the order of :data:`METHODS`.
METHOD_CLASSES: tuple[type[ScipyOptimizer], ...] = (
    NelderMead, Powell, COBYLA, COBYQA, LBFGSB, SLSQP, TNC, TrustConstr)
