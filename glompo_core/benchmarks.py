"""Benchmark optimisation test functions with known global minima.

Every benchmark is a callable class whose instances map a 1-D point of length
:attr:`BenchmarkTask.dims` to a Python ``float``. The functions are the *plain*
literature versions: no shift, no rotation, no noise other than what the
definition itself contains.

All tasks share the :class:`BenchmarkTask` interface:

* ``dims``: the number of decision variables;
* ``bounds``: one ``(min, max)`` tuple per dimension (the standard search domain);
* ``min_fx``: the global minimum value (``None`` when the literature gives none);
* ``min_x``: one global minimiser (``None`` when none is known);
* ``delay``: seconds slept inside every evaluation, to mimic expensive functions.

References
----------
.. [JY13] Jamil, M. & Yang, X.-S. (2013). A literature survey of benchmark
   functions for global optimization problems. *International Journal of
   Mathematical Modelling and Numerical Optimisation*, 4(2), 150-194.
.. [SB] Surjanovic, S. & Bingham, D. Virtual Library of Simulation Experiments:
   Test Functions and Datasets. Simon Fraser University.
.. [MS05] Molga, M. & Smutnicki, C. (2005). Test functions for optimization needs.
.. [WD97] Wales, D. J. & Doye, J. P. K. (1997). Global optimization by
   basin-hopping and the lowest energy structures of Lennard-Jones clusters
   containing up to 110 atoms. *J. Phys. Chem. A*, 101, 5111-5116 (values as
   tabulated in the Cambridge Cluster Database).
.. [DS78] Dixon, L. C. W. & Szegö, G. P. (1978). The global optimization problem:
   an introduction. *Towards Global Optimisation 2*, 1-15.
.. [G] Gavana, A. Global optimization benchmarks (the collection also shipped in
   SciPy's ``benchmarks/go_benchmark_functions``).
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

__all__ = [
    "TASKS",
    "Ackley",
    "Alpine01",
    "Alpine02",
    "BenchmarkTask",
    "Deceptive",
    "Easom",
    "Griewank",
    "Langermann",
    "LennardJones",
    "Levy",
    "Michalewicz",
    "Qing",
    "Rana",
    "Rastrigin",
    "Rosenbrock",
    "Schwefel",
    "Shekel",
    "Shubert",
    "Stochastic",
    "StyblinskiTang",
    "Trigonometric",
    "Vincent",
    "ZeroSum",
]


def _validate_delay(delay: float) -> float:
    """Return ``delay`` as a float, raising if it is negative or not finite."""
    try:
        value = float(delay)
    except (TypeError, ValueError):
        raise TypeError(f"delay must be a number of seconds, got {delay!r}") from None
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"delay must be a finite number of seconds >= 0, got delay={delay!r}")
    return value


def _indices(dims: int) -> FloatArray:
    """Return the 1-based coordinate indices ``[1, 2, ..., dims]`` as floats."""
    return np.arange(1, dims + 1, dtype=np.float64)


class BenchmarkTask(ABC):
    """Base class of all benchmark test functions.

    Parameters
    ----------
    dims : int
        Number of decision variables.
    delay : float, default 0.0
        Seconds to :func:`time.sleep` inside every evaluation, to mimic an
        expensive black-box function.

    Raises
    ------
    TypeError
        If `dims` is not an integer.
    ValueError
        If `dims` is not allowed for this function (see :meth:`supports_dims`) or
        `delay` is negative.

    Notes
    -----
    Subclasses implement :meth:`_evaluate` on an already validated
    ``float64`` array of length ``dims`` and set ``_lower``/``_upper`` (the
    hyper-cube domain), ``_min_fx`` and ``_min_x``. Class attributes
    ``fixed_dims`` (the only allowed dimension, or ``None`` if the function
    scales) and ``min_dims`` (the smallest allowed dimension) describe which
    dimensions the function accepts.
    """

    fixed_dims: ClassVar[int | None] = None
    """The only dimension the function is defined for, or ``None`` if it scales."""
    min_dims: ClassVar[int] = 1
    """The smallest dimension the function is defined for."""

    _lower: ClassVar[float]
    _upper: ClassVar[float]

    def __init__(self, dims: int, *, delay: float = 0.0) -> None:
        self._dims = self._validate_dims(dims)
        self._delay = _validate_delay(delay)
        self._min_fx: float | None = None
        self._min_x: FloatArray | None = None

    # ------------------------------------------------------------------ dims
    @classmethod
    def _dims_error(cls, dims: int) -> str | None:
        """Return why `dims` is not allowed, or ``None`` if it is allowed."""
        if cls.fixed_dims is not None and dims != cls.fixed_dims:
            return f"{cls.__name__} is only defined for dims={cls.fixed_dims}, got dims={dims}"
        if dims < cls.min_dims:
            return f"{cls.__name__} requires dims >= {cls.min_dims}, got dims={dims}"
        return None

    @classmethod
    def _validate_dims(cls, dims: int) -> int:
        """Return `dims` as an ``int`` or raise if it is not allowed."""
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)):
            raise TypeError(f"dims must be an integer, got {dims!r}")
        value = int(dims)
        message = cls._dims_error(value)
        if message is not None:
            raise ValueError(message)
        return value

    @classmethod
    def supports_dims(cls, dims: int) -> bool:
        """Return whether the function can be constructed with `dims` variables.

        Parameters
        ----------
        dims : int
            Candidate number of decision variables.

        Returns
        -------
        bool
            ``True`` if ``cls(dims=dims)`` would not raise.
        """
        if isinstance(dims, bool) or not isinstance(dims, (int, np.integer)):
            return False
        return cls._dims_error(int(dims)) is None

    # ------------------------------------------------------------ properties
    @property
    def dims(self) -> int:
        """Number of decision variables."""
        return self._dims

    @property
    def delay(self) -> float:
        """Seconds slept inside every evaluation."""
        return self._delay

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """Standard search domain: one ``(min, max)`` tuple per dimension."""
        return [(float(self._lower), float(self._upper))] * self._dims

    @property
    def min_fx(self) -> float | None:
        """Global minimum value, or ``None`` if it is not known."""
        return self._min_fx

    @property
    def min_x(self) -> FloatArray | None:
        """A global minimiser (a fresh copy), or ``None`` if none is known."""
        return None if self._min_x is None else np.copy(self._min_x)

    # ----------------------------------------------------------- evaluation
    def _as_point(self, x: ArrayLike) -> FloatArray:
        """Convert `x` to a float array, checking that it is 1-D of length ``dims``."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim != 1 or arr.shape[0] != self._dims:
            raise ValueError(
                f"{type(self).__name__} expects x to be a 1-D sequence of length "
                f"dims={self._dims}, got an array of shape {arr.shape}"
            )
        return arr

    def _sleep(self) -> None:
        if self._delay > 0.0:
            time.sleep(self._delay)

    def __call__(self, x: ArrayLike) -> float:
        """Evaluate the function.

        Parameters
        ----------
        x : array_like
            A 1-D sequence of length :attr:`dims`.

        Returns
        -------
        float
            The function value.

        Raises
        ------
        ValueError
            If `x` is not 1-D or does not have length :attr:`dims`.
        """
        arr = self._as_point(x)
        self._sleep()
        return float(self._evaluate(arr))

    def detailed_call(self, x: ArrayLike) -> tuple[float, ...]:
        """Evaluate the function and return any extra information.

        Parameters
        ----------
        x : array_like
            A 1-D sequence of length :attr:`dims`.

        Returns
        -------
        tuple of float
            ``(fx, ...)``: the first element is always the function value. The
            default implementation returns only ``(fx,)``.

        Raises
        ------
        ValueError
            If `x` is not 1-D or does not have length :attr:`dims`.
        """
        arr = self._as_point(x)
        self._sleep()
        return self._detailed(arr)

    def _detailed(self, x: FloatArray) -> tuple[float, ...]:
        """Return ``(fx, extras...)`` for a validated point; override to add extras."""
        return (float(self._evaluate(x)),)

    @abstractmethod
    def _evaluate(self, x: FloatArray) -> float:
        """Return the function value at the validated point `x`."""

    # ------------------------------------------------------------------ repr
    def _repr_extras(self) -> list[str]:
        """Return extra ``name=value`` strings for :meth:`__repr__`."""
        return []

    def __repr__(self) -> str:
        parts = [f"dims={self._dims}", *self._repr_extras()]
        if self._delay:
            parts.append(f"delay={self._delay!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


# ============================================================================
# Scalable functions
# ============================================================================


class Ackley(BenchmarkTask):
    r"""Ackley function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -a \exp\left(-b\sqrt{\tfrac{1}{d}\sum_{i=1}^d x_i^2}\right)
               - \exp\left(\tfrac{1}{d}\sum_{i=1}^d \cos(c x_i)\right) + a + e

    with :math:`a = 20`, :math:`b = 0.2`, :math:`c = 2\pi`, on
    :math:`x_i \in [-32.768, 32.768]`. Global minimum :math:`f(0, \dots, 0) = 0`.

    Source: Surjanovic & Bingham [SB]_ ("Ackley Function"); Jamil & Yang [JY13]_ (Ackley 1).
    """

    _lower = -32.768
    _upper = 32.768

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.zeros(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        a, b, c = 20.0, 0.2, 2.0 * np.pi
        term1 = -a * np.exp(-b * np.sqrt(np.mean(x**2)))
        term2 = -np.exp(np.mean(np.cos(c * x)))
        return float(term1 + term2 + a + np.e)


class Alpine01(BenchmarkTask):
    r"""Alpine 1 function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \sum_{i=1}^d \left| x_i \sin(x_i) + 0.1 x_i \right|

    on :math:`x_i \in [-10, 10]`. Global minimum :math:`f(0, \dots, 0) = 0`.

    Source: Jamil & Yang [JY13]_ (Alpine 1).
    """

    _lower = -10.0
    _upper = 10.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.zeros(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        return float(np.sum(np.abs(x * np.sin(x) + 0.1 * x)))


#: Location of the per-coordinate maximum of :math:`\sqrt{x}\sin x` on [0, 10]: the root
#: of :math:`\sin x + 2x\cos x = 0` near 7.917 (the value 7.9170526982459462 quoted
#: in the literature differs from the exact root in the 8th decimal).
_ALPINE02_X = 7.917052684666207
_ALPINE02_PEAK = 2.8081311800070053


class Alpine02(BenchmarkTask):
    r"""Alpine 2 function, written as a minimisation problem.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    The literature states Alpine 2 as the *maximisation* of
    :math:`\prod_i \sqrt{x_i}\sin(x_i)`; here it is negated:

    .. math::

        f(x) = -\prod_{i=1}^d \sqrt{x_i} \sin(x_i)

    on :math:`x_i \in [0, 10]`. Global minimum :math:`f(x^*) = -2.8081311800070053^d`
    at :math:`x^*_i = 7.917052684666207` (root of :math:`\sin x + 2x\cos x = 0`).
    For negative :math:`x_i` (outside the domain) the value is ``nan``.

    Source: Jamil & Yang [JY13]_ (Alpine 2).
    """

    _lower = 0.0
    _upper = 10.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = -(_ALPINE02_PEAK**self.dims)
        self._min_x = np.full(self.dims, _ALPINE02_X)

    def _evaluate(self, x: FloatArray) -> float:
        with np.errstate(invalid="ignore"):
            return float(-np.prod(np.sqrt(x) * np.sin(x)))


class Deceptive(BenchmarkTask):
    r"""Deceptive function with randomly drawn optimum locations.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    seed : int or None, default None
        Seed for :func:`numpy.random.default_rng`, used once at construction to
        draw the optimum locations :math:`\alpha_i`. Equal seeds give equal
        functions.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\left[\frac{1}{d}\sum_{i=1}^d g_i(x_i)\right]^{\beta}

    with :math:`\beta = 2` and the piecewise-linear

    .. math::

        g_i(x) = \begin{cases}
            -x/\alpha_i + 4/5 & 0 \le x \le \tfrac45\alpha_i \\
            5x/\alpha_i - 4 & \tfrac45\alpha_i < x \le \alpha_i \\
            5(x - \alpha_i)/(\alpha_i - 1) + 1 & \alpha_i < x \le (1 + 4\alpha_i)/5 \\
            (x - 1)/(1 - \alpha_i) + 4/5 & (1 + 4\alpha_i)/5 < x \le 1
        \end{cases}

    on :math:`x_i \in [0, 1]`. Each :math:`g_i` has its global maximum 1 at
    :math:`\alpha_i` and deceptive local maxima 4/5 at 0 and 1. Global minimum
    :math:`f(\alpha) = -1`. The literature only requires distinct
    :math:`\alpha_i \in (0, 1)`; they are drawn here from
    :math:`\mathcal{U}(0.05, 0.95)` so that no piece degenerates. Outside
    :math:`[0, 1]` the outer linear pieces are extended, which is not
    meaningful: keep to the bounds.

    Source: Jamil & Yang [JY13]_ (Deceptive function).
    """

    _lower = 0.0
    _upper = 1.0
    _beta = 2.0

    def __init__(self, dims: int = 2, *, seed: int | None = None, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._seed = seed
        rng = np.random.default_rng(seed)
        self._alpha: FloatArray = rng.uniform(0.05, 0.95, self.dims)
        self._min_fx = -1.0
        self._min_x = np.copy(self._alpha)

    @property
    def alpha(self) -> FloatArray:
        """Location of the global optimum in each coordinate (a copy)."""
        return np.copy(self._alpha)

    @property
    def seed(self) -> int | None:
        """The seed the optimum locations were drawn with."""
        return self._seed

    def _evaluate(self, x: FloatArray) -> float:
        a = self._alpha
        g = np.select(
            [x <= 0.8 * a, x <= a, x <= (1.0 + 4.0 * a) / 5.0],
            [-x / a + 0.8, 5.0 * x / a - 4.0, 5.0 * (x - a) / (a - 1.0) + 1.0],
            default=(x - 1.0) / (1.0 - a) + 0.8,
        )
        return float(-(np.mean(g) ** self._beta))

    def _repr_extras(self) -> list[str]:
        return [f"seed={self._seed!r}"]


class Griewank(BenchmarkTask):
    r"""Griewank function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = 1 + \frac{1}{4000}\sum_{i=1}^d x_i^2 - \prod_{i=1}^d \cos\frac{x_i}{\sqrt{i}}

    on :math:`x_i \in [-600, 600]`. Global minimum :math:`f(0, \dots, 0) = 0`.

    Source: Surjanovic & Bingham [SB]_ ("Griewank Function"); Jamil & Yang [JY13]_.
    """

    _lower = -600.0
    _upper = 600.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.zeros(self.dims)
        self._sqrt_i = np.sqrt(_indices(self.dims))

    def _evaluate(self, x: FloatArray) -> float:
        return float(1.0 + np.sum(x**2) / 4000.0 - np.prod(np.cos(x / self._sqrt_i)))


#: Cambridge Cluster Database global minima of LJ_n (reduced units), n = 2..30, as
#: published by Wales & Doye (1997). Each was reproduced to 1e-6 by basin-hopping
#: (scipy.optimize.basinhopping) while this module was written.
_LJ_MINIMA: dict[int, float] = {
    2: -1.0,
    3: -3.0,
    4: -6.0,
    5: -9.103852,
    6: -12.712062,
    7: -16.505384,
    8: -19.821489,
    9: -24.113360,
    10: -28.422532,
    11: -32.765970,
    12: -37.967600,
    13: -44.326801,
    14: -47.845157,
    15: -52.322627,
    16: -56.815742,
    17: -61.317995,
    18: -66.530949,
    19: -72.659782,
    20: -77.177043,
    21: -81.684571,
    22: -86.809782,
    23: -92.844472,
    24: -97.348815,
    25: -102.372663,
    26: -108.315616,
    27: -112.873584,
    28: -117.822402,
    29: -123.587371,
    30: -128.286571,
}


class LennardJones(BenchmarkTask):
    r"""Potential energy of a cluster of atoms interacting via the Lennard-Jones potential.

    Parameters
    ----------
    dims : int, default 9
        Number of decision variables: ``3 * n_atoms`` (a multiple of 3, >= 6).
        ``x`` holds the Cartesian coordinates ``(x_1, y_1, z_1, x_2, ...)``.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    In reduced units (:math:`\epsilon = \sigma = 1`):

    .. math::

        E(x) = 4 \sum_{i < j} \left(r_{ij}^{-12} - r_{ij}^{-6}\right)

    where :math:`r_{ij}` is the distance between atoms :math:`i` and :math:`j`.
    The domain is :math:`x_i \in [-4, 4]` (as in Gavana's collection [G]_); it
    comfortably holds the optimal clusters tabulated here. Coincident atoms give
    ``inf``.

    ``min_fx`` is the putative global minimum from the Cambridge Cluster Database
    (Wales & Doye [WD97]_) for 2 to 30 atoms, e.g. -1 (2 atoms), -3 (3), -6 (4),
    -9.103852 (5), -44.326801 (13), -77.177043 (20), -128.286571 (30); ``None`` for
    larger clusters.
    ``min_x`` is always ``None``: the minimum is degenerate under translation,
    rotation and permutation of the atoms.
    """

    _lower = -4.0
    _upper = 4.0
    min_dims = 6

    def __init__(self, dims: int = 9, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._n_atoms = self.dims // 3
        self._min_fx = _LJ_MINIMA.get(self._n_atoms)
        self._pairs = np.triu_indices(self._n_atoms, k=1)

    @classmethod
    def _dims_error(cls, dims: int) -> str | None:
        if dims < cls.min_dims or dims % 3 != 0:
            return (
                f"{cls.__name__} requires dims = 3 * n_atoms with n_atoms >= 2 "
                f"(a multiple of 3, >= 6), got dims={dims}"
            )
        return None

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the cluster (``dims // 3``)."""
        return self._n_atoms

    def _evaluate(self, x: FloatArray) -> float:
        pos = x.reshape(self._n_atoms, 3)
        diff = pos[self._pairs[0]] - pos[self._pairs[1]]
        r2 = np.sum(diff**2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            inv6 = 1.0 / r2**3
            return float(4.0 * np.sum(inv6 * (inv6 - 1.0)))


class Levy(BenchmarkTask):
    r"""Levy function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    With :math:`w_i = 1 + (x_i - 1)/4`:

    .. math::

        f(x) = \sin^2(\pi w_1)
             + \sum_{i=1}^{d-1} (w_i - 1)^2 \left[1 + 10\sin^2(\pi w_i + 1)\right]
             + (w_d - 1)^2 \left[1 + \sin^2(2\pi w_d)\right]

    on :math:`x_i \in [-10, 10]`. Global minimum :math:`f(1, \dots, 1) = 0`.

    Source: Surjanovic & Bingham [SB]_ ("Levy Function").
    """

    _lower = -10.0
    _upper = 10.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.ones(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        w = 1.0 + (x - 1.0) / 4.0
        head = np.sin(np.pi * w[0]) ** 2
        wi = w[:-1]
        middle = np.sum((wi - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * wi + 1.0) ** 2))
        tail = (w[-1] - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * w[-1]) ** 2)
        return float(head + middle + tail)


#: Per-coordinate minimisers of -sin(x) sin^20(i x^2 / pi) for i = 1..10 (computed by
#: root-finding on the derivative; coordinates 2, 6 and 10 are exactly pi/2).
_MICHALEWICZ_X = np.array(
    [
        2.2029055201726093,
        np.pi / 2,
        1.2849915705529242,
        1.9230584698663629,
        1.7204697725658409,
        np.pi / 2,
        1.454413971362379,
        1.7560865209450263,
        1.655717416821029,
        np.pi / 2,
    ]
)
#: Published minima (-1.8013, -4.687658, -9.66015), to full double precision.
_MICHALEWICZ_MINIMA: dict[int, float] = {
    2: -1.8013034100985532,
    5: -4.687658179088148,
    10: -9.660151715641343,
}


class Michalewicz(BenchmarkTask):
    r"""Michalewicz function (steepness :math:`m = 10`).

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\sum_{i=1}^d \sin(x_i) \sin^{2m}\left(\frac{i x_i^2}{\pi}\right), \quad m = 10

    on :math:`x_i \in [0, \pi]`. ``min_fx`` and ``min_x`` are given only for the
    dimensions where the literature publishes the minimum: -1.8013 (d = 2,
    :math:`x^* \approx (2.20, 1.57)`), -4.687658 (d = 5) and -9.66015 (d = 10).
    The values stored here are those minima to double precision (the function is
    separable, so they were obtained by 1-D root-finding per coordinate, and
    round to the published figures); other dimensions give ``None``.

    Source: Surjanovic & Bingham [SB]_ ("Michalewicz Function"); Molga & Smutnicki [MS05]_.
    """

    _lower = 0.0
    _upper = float(np.pi)
    _m = 10

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._i = _indices(self.dims)
        self._min_fx = _MICHALEWICZ_MINIMA.get(self.dims)
        if self._min_fx is not None:
            self._min_x = np.copy(_MICHALEWICZ_X[: self.dims])

    def _evaluate(self, x: FloatArray) -> float:
        return float(-np.sum(np.sin(x) * np.sin(self._i * x**2 / np.pi) ** (2 * self._m)))


class Qing(BenchmarkTask):
    r"""Qing function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \sum_{i=1}^d \left(x_i^2 - i\right)^2

    on :math:`x_i \in [-500, 500]`. Global minimum 0 at :math:`x_i = \pm\sqrt{i}`
    (:math:`2^d` minimisers); ``min_x`` is the all-positive one.

    Source: Jamil & Yang [JY13]_ (Qing function).
    """

    _lower = -500.0
    _upper = 500.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._i = _indices(self.dims)
        self._min_fx = 0.0
        self._min_x = np.sqrt(self._i)

    def _evaluate(self, x: FloatArray) -> float:
        return float(np.sum((x**2 - self._i) ** 2))


class Rana(BenchmarkTask):
    r"""Rana function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 2).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    With :math:`t_1 = \sqrt{|x_{i+1} + x_i + 1|}` and
    :math:`t_2 = \sqrt{|x_{i+1} - x_i + 1|}`:

    .. math::

        f(x) = \sum_{i=1}^{d-1} \left[x_i \sin(t_2)\cos(t_1)
               + (x_{i+1} + 1)\cos(t_2)\sin(t_1)\right]

    on :math:`x_i \in [-512, 512]`. The global minimum is not known in closed
    form for general :math:`d` (``min_fx`` and ``min_x`` are ``None``). For
    :math:`d = 2` the commonly cited minimum -511.7328819 at
    :math:`(-488.6326, 512)` was verified numerically (dense grid plus local
    refinement) and is provided: -511.7328818866198 at
    :math:`(-488.6325772907148, 512)`.

    Source: Whitley, Mathias, Rana & Dzubera (1996), "Evaluating evolutionary
    algorithms", *Artificial Intelligence* 85; Jamil & Yang [JY13]_ (Rana function).
    """

    _lower = -512.0
    _upper = 512.0
    min_dims = 2

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        if self.dims == 2:
            self._min_fx = -511.7328818866198
            self._min_x = np.array([-488.6325772907148, 512.0])

    def _evaluate(self, x: FloatArray) -> float:
        xi, xj = x[:-1], x[1:]
        t1 = np.sqrt(np.abs(xj + xi + 1.0))
        t2 = np.sqrt(np.abs(xj - xi + 1.0))
        return float(np.sum(xi * np.sin(t2) * np.cos(t1) + (xj + 1.0) * np.cos(t2) * np.sin(t1)))


class Rastrigin(BenchmarkTask):
    r"""Rastrigin function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = 10 d + \sum_{i=1}^d \left[x_i^2 - 10\cos(2\pi x_i)\right]

    on :math:`x_i \in [-5.12, 5.12]`. Global minimum :math:`f(0, \dots, 0) = 0`.

    Source: Surjanovic & Bingham [SB]_ ("Rastrigin Function"); Molga & Smutnicki [MS05]_.
    """

    _lower = -5.12
    _upper = 5.12

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.zeros(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        return float(10.0 * x.size + np.sum(x**2 - 10.0 * np.cos(2.0 * np.pi * x)))


class Rosenbrock(BenchmarkTask):
    r"""Rosenbrock (valley) function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 2).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \sum_{i=1}^{d-1} \left[100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2\right]

    on :math:`x_i \in [-5, 10]` (the domain of Surjanovic & Bingham; the
    alternative :math:`[-2.048, 2.048]` is not used). Global minimum
    :math:`f(1, \dots, 1) = 0`.

    Source: Surjanovic & Bingham [SB]_ ("Rosenbrock Function"); Jamil & Yang [JY13]_.
    """

    _lower = -5.0
    _upper = 10.0
    min_dims = 2

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.ones(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


_SCHWEFEL_X = 420.9687463599821
_SCHWEFEL_F = -418.9828872724338


class Schwefel(BenchmarkTask):
    r"""Schwefel function (Schwefel 2.26, without the additive constant).

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\sum_{i=1}^d x_i \sin\left(\sqrt{|x_i|}\right)

    on :math:`x_i \in [-500, 500]`. Global minimum
    :math:`f(x^*) = -418.9828872724338\,d` at :math:`x^*_i = 420.9687463599821`.
    (Surjanovic & Bingham add :math:`418.9829\,d` so that the minimum is about 0.)

    Source: Jamil & Yang [JY13]_ (Schwefel 2.26); Surjanovic & Bingham [SB]_.
    """

    _lower = -500.0
    _upper = 500.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = _SCHWEFEL_F * self.dims
        self._min_x = np.full(self.dims, _SCHWEFEL_X)

    def _evaluate(self, x: FloatArray) -> float:
        return float(-np.sum(x * np.sin(np.sqrt(np.abs(x)))))


class Stochastic(BenchmarkTask):
    r"""Yang's stochastic function: new random weights at every evaluation.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    seed : int or None, default None
        Seed for the :func:`numpy.random.default_rng` generator that draws the
        weights. Two instances built with the same seed return the same
        sequence of values for the same sequence of points.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \sum_{i=1}^d \epsilon_i \left|x_i - \frac{1}{i}\right|,
        \qquad \epsilon_i \sim \mathcal{U}[0, 1)

    with fresh :math:`\epsilon` drawn at every call, on :math:`x_i \in [-5, 5]`.
    Global minimum 0 at :math:`x^*_i = 1/i` (whatever the draw). Because the
    generator advances with each call, a copy of the object (for instance one
    sent to another process) continues the same random stream as the original.

    Source: Yang, X.-S. (2010), "Test problems in optimization", in *Engineering
    Optimization: An Introduction with Metaheuristic Applications*, Wiley
    (arXiv:1008.0549); Gavana's collection [G]_ (Stochastic).
    """

    _lower = -5.0
    _upper = 5.0

    def __init__(self, dims: int = 2, *, seed: int | None = None, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._inv_i = 1.0 / _indices(self.dims)
        self._min_fx = 0.0
        self._min_x = np.copy(self._inv_i)

    @property
    def seed(self) -> int | None:
        """The seed of the random weight generator."""
        return self._seed

    def _evaluate(self, x: FloatArray) -> float:
        eps = self._rng.random(self.dims)
        return float(np.sum(eps * np.abs(x - self._inv_i)))

    def _repr_extras(self) -> list[str]:
        return [f"seed={self._seed!r}"]


#: Per-coordinate minimiser: the negative root of 4x^3 - 32x + 5 = 0.
_STYBLINSKI_TANG_X = -2.9035340277711783
_STYBLINSKI_TANG_F = -39.16616570377142


class StyblinskiTang(BenchmarkTask):
    r"""Styblinski-Tang function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \frac{1}{2}\sum_{i=1}^d \left(x_i^4 - 16 x_i^2 + 5 x_i\right)

    on :math:`x_i \in [-5, 5]`. Global minimum :math:`f(x^*) = -39.16616570377142\,d`
    at :math:`x^*_i = -2.9035340277711783` (root of :math:`4x^3 - 32x + 5 = 0`).

    Source: Surjanovic & Bingham [SB]_ ("Styblinski-Tang Function"); Jamil & Yang [JY13]_.
    """

    _lower = -5.0
    _upper = 5.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = _STYBLINSKI_TANG_F * self.dims
        self._min_x = np.full(self.dims, _STYBLINSKI_TANG_X)

    def _evaluate(self, x: FloatArray) -> float:
        return float(0.5 * np.sum(x**4 - 16.0 * x**2 + 5.0 * x))


class Trigonometric(BenchmarkTask):
    r"""Trigonometric 2 function (Jamil & Yang's *Trigonometric 02*).

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    With :math:`y_i = x_i - 0.9`:

    .. math::

        f(x) = 1 + \sum_{i=1}^d \left[8\sin^2(7 y_i^2) + 6\sin^2(14 y_i^2) + y_i^2\right]

    on :math:`x_i \in [-500, 500]`. Global minimum :math:`f(0.9, \dots, 0.9) = 1`.

    Source: Jamil & Yang [JY13]_ (Trigonometric 2).
    """

    _lower = -500.0
    _upper = 500.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 1.0
        self._min_x = np.full(self.dims, 0.9)

    def _evaluate(self, x: FloatArray) -> float:
        y2 = (x - 0.9) ** 2
        return float(1.0 + np.sum(8.0 * np.sin(7.0 * y2) ** 2 + 6.0 * np.sin(14.0 * y2) ** 2 + y2))


class Vincent(BenchmarkTask):
    r"""Vincent function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\sum_{i=1}^d \sin\left(10 \log x_i\right)

    on :math:`x_i \in [0.25, 10]`. Global minimum :math:`-d`, attained wherever
    :math:`10\log x_i = \pi/2 + 2k\pi`: six values per coordinate in the domain,
    so :math:`6^d` minimisers. ``min_x`` is the one quoted in the literature,
    :math:`x^*_i = e^{0.65\pi} = 7.706277256305775` (the literature's rounded
    7.70628098 is off in the 6th decimal). For :math:`x_i \le 0` the value is ``nan``.

    Source: Shir, O. M. & Bäck, T. (2006), "Niche radius adaptation in the CMA-ES
    niching algorithm", PPSN IX, LNCS 4193; Gavana's collection [G]_ (Vincent).
    """

    _lower = 0.25
    _upper = 10.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = -float(self.dims)
        self._min_x = np.full(self.dims, math.exp(0.65 * math.pi))

    def _evaluate(self, x: FloatArray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(-np.sum(np.sin(10.0 * np.log(x))))


class ZeroSum(BenchmarkTask):
    r"""ZeroSum function.

    Parameters
    ----------
    dims : int, default 2
        Number of decision variables (>= 1).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \begin{cases}
            0 & \text{if } \sum_i x_i = 0 \\
            1 + \sqrt{10^4 \left|\sum_i x_i\right|} & \text{otherwise}
        \end{cases}

    on :math:`x_i \in [-10, 10]`. Global minimum 0 on the whole hyperplane
    :math:`\sum_i x_i = 0` (tested exactly, in floating point); ``min_x`` is the origin.

    Source: Gavana's global optimization benchmarks [G]_ (ZeroSum).
    """

    _lower = -10.0
    _upper = 10.0

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = 0.0
        self._min_x = np.zeros(self.dims)

    def _evaluate(self, x: FloatArray) -> float:
        total = float(np.sum(x))
        if total == 0.0:
            return 0.0
        return 1.0 + math.sqrt(1.0e4 * abs(total))


# ============================================================================
# Fixed-dimension functions
# ============================================================================


class Easom(BenchmarkTask):
    r"""Easom function (2-D).

    Parameters
    ----------
    dims : int, default 2
        Must be 2.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\cos(x_1)\cos(x_2)\exp\left(-(x_1 - \pi)^2 - (x_2 - \pi)^2\right)

    on :math:`x_i \in [-100, 100]`. Global minimum :math:`f(\pi, \pi) = -1`.

    Source: Surjanovic & Bingham [SB]_ ("Easom Function"); Molga & Smutnicki [MS05]_.
    """

    _lower = -100.0
    _upper = 100.0
    fixed_dims = 2
    min_dims = 2

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = -1.0
        self._min_x = np.array([np.pi, np.pi])

    def _evaluate(self, x: FloatArray) -> float:
        return float(-np.prod(np.cos(x)) * np.exp(-np.sum((x - np.pi) ** 2)))


_LANGERMANN_A = np.array([[3.0, 5.0], [5.0, 2.0], [2.0, 1.0], [1.0, 4.0], [7.0, 9.0]])
_LANGERMANN_C = np.array([1.0, 2.0, 5.0, 2.0, 3.0])


class Langermann(BenchmarkTask):
    r"""Langermann function (2-D, :math:`m = 5`).

    Parameters
    ----------
    dims : int, default 2
        Must be 2.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\sum_{i=1}^{m} c_i
               \exp\left(-\frac{1}{\pi}\sum_{j=1}^2 (x_j - A_{ij})^2\right)
               \cos\left(\pi\sum_{j=1}^2 (x_j - A_{ij})^2\right)

    with :math:`m = 5`, :math:`c = (1, 2, 5, 2, 3)` and
    :math:`A = ((3, 5), (5, 2), (2, 1), (1, 4), (7, 9))`, on :math:`x_i \in [0, 10]`.
    This is the sign convention of Jamil & Yang and Gavana, for which the commonly
    cited minimum is -5.1621259 at :math:`(2.00299219, 1.006096)`; Surjanovic &
    Bingham use the opposite sign (a different minimum). Multistart local
    optimisation (L-BFGS-B and Nelder-Mead from a 801 x 801 grid's best points)
    gives -5.162126159963984 at :math:`(2.0029921199344654, 1.0060959402921885)`,
    which is the value stored (it agrees with the cited one to 3e-7).

    Source: Jamil & Yang [JY13]_ (Langermann function); Surjanovic & Bingham [SB]_.
    """

    _lower = 0.0
    _upper = 10.0
    fixed_dims = 2
    min_dims = 2

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = -5.162126159963984
        self._min_x = np.array([2.0029921199344654, 1.0060959402921885])

    def _evaluate(self, x: FloatArray) -> float:
        s = np.sum((x - _LANGERMANN_A) ** 2, axis=1)
        return float(-np.sum(_LANGERMANN_C * np.exp(-s / np.pi) * np.cos(np.pi * s)))


#: Dixon & Szegö (1978) Shekel data: rows are the centres a_i, beta_i = c_i.
_SHEKEL_A = np.array(
    [
        [4.0, 4.0, 4.0, 4.0],
        [1.0, 1.0, 1.0, 1.0],
        [8.0, 8.0, 8.0, 8.0],
        [6.0, 6.0, 6.0, 6.0],
        [3.0, 7.0, 3.0, 7.0],
        [2.0, 9.0, 2.0, 9.0],
        [5.0, 5.0, 3.0, 3.0],
        [8.0, 1.0, 8.0, 1.0],
        [6.0, 2.0, 6.0, 2.0],
        [7.0, 3.6, 7.0, 3.6],
    ]
)
_SHEKEL_C = 0.1 * np.array([1.0, 2.0, 2.0, 4.0, 4.0, 6.0, 3.0, 7.0, 5.0, 5.0])
_SHEKEL_MINIMA: dict[int, tuple[float, tuple[float, float, float, float]]] = {
    5: (
        -10.153199679058229,
        (4.000037153589371, 4.000133276487176, 4.0000371525567235, 4.000133277263945),
    ),
    7: (
        -10.402940566818662,
        (4.000572914080779, 4.000689367783832, 3.999489710644322, 3.9996061569542505),
    ),
    10: (
        -10.536409816692045,
        (4.000746530127486, 4.000592934087891, 3.999663399907308, 3.9995097980114727),
    ),
}


class Shekel(BenchmarkTask):
    r"""Shekel function (4-D) with :math:`m = 5`, 7 or 10 maxima.

    Parameters
    ----------
    dims : int, default 4
        Must be 4.
    m : {5, 7, 10}, default 10
        Number of terms (Shekel 5, Shekel 7, Shekel 10).
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = -\sum_{i=1}^{m} \frac{1}{\sum_{j=1}^4 (x_j - a_{ij})^2 + c_i}

    with the original data of Dixon & Szegö: :math:`c = 0.1\,(1, 2, 2, 4, 4, 6, 3, 7, 5, 5)`
    and centres :math:`a_i` = (4,4,4,4), (1,1,1,1), (8,8,8,8), (6,6,6,6), (3,7,3,7),
    (2,9,2,9), (5,5,3,3), (8,1,8,1), (6,2,6,2), (7,3.6,7,3.6), on :math:`x_i \in [0, 10]`.
    Global minima (published to four decimals): -10.1532 (m = 5), -10.4029 (m = 7),
    -10.5364 (m = 10), all near :math:`(4, 4, 4, 4)`. The stored values and
    minimisers were refined numerically to double precision. (Surjanovic & Bingham
    list the 7th centre as (5, 3, 5, 3), which moves the m = 7 and m = 10 minima
    in the 5th decimal.)

    Source: Dixon & Szegö [DS78]_; Molga & Smutnicki [MS05]_; Surjanovic & Bingham [SB]_.
    """

    _lower = 0.0
    _upper = 10.0
    fixed_dims = 4
    min_dims = 4

    def __init__(self, dims: int = 4, *, m: int = 10, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        if isinstance(m, bool) or m not in _SHEKEL_MINIMA:
            raise ValueError(f"Shekel requires m to be one of 5, 7 or 10, got m={m!r}")
        self._m = int(m)
        self._a = _SHEKEL_A[: self._m]
        self._c = _SHEKEL_C[: self._m]
        fx, xs = _SHEKEL_MINIMA[self._m]
        self._min_fx = fx
        self._min_x = np.array(xs)

    @property
    def m(self) -> int:
        """Number of terms in the sum."""
        return self._m

    def _evaluate(self, x: FloatArray) -> float:
        return float(-np.sum(1.0 / (np.sum((x - self._a) ** 2, axis=1) + self._c)))

    def _repr_extras(self) -> list[str]:
        return [f"m={self._m}"]


class Shubert(BenchmarkTask):
    r"""Shubert function (2-D).

    Parameters
    ----------
    dims : int, default 2
        Must be 2.
    delay : float, default 0.0
        Seconds slept inside every evaluation.

    Notes
    -----
    .. math::

        f(x) = \prod_{i=1}^{2} \sum_{j=1}^{5} j \cos\left((j + 1) x_i + j\right)

    on :math:`x_i \in [-10, 10]`. Global minimum -186.7309 (to double precision
    -186.7309088310239), attained at 18 points; ``min_x`` is one of them,
    :math:`(-7.0835064076515595, 4.858056878859825)`.

    Source: Surjanovic & Bingham [SB]_ ("Shubert Function"); Jamil & Yang [JY13]_.
    """

    _lower = -10.0
    _upper = 10.0
    fixed_dims = 2
    min_dims = 2
    _j = np.arange(1.0, 6.0)

    def __init__(self, dims: int = 2, *, delay: float = 0.0) -> None:
        super().__init__(dims, delay=delay)
        self._min_fx = -186.7309088310239
        self._min_x = np.array([-7.0835064076515595, 4.858056878859825])

    def _evaluate(self, x: FloatArray) -> float:
        j = self._j
        sums = np.sum(j * np.cos((j + 1.0) * x[:, None] + j), axis=1)
        return float(np.prod(sums))


TASKS: tuple[type[BenchmarkTask], ...] = (
    Ackley,
    Alpine01,
    Alpine02,
    Deceptive,
    Easom,
    Griewank,
    Langermann,
    LennardJones,
    Levy,
    Michalewicz,
    Qing,
    Rana,
    Rastrigin,
    Rosenbrock,
    Schwefel,
    Shekel,
    Shubert,
    Stochastic,
    StyblinskiTang,
    Trigonometric,
    Vincent,
    ZeroSum,
)
"""All benchmark classes in this module."""
