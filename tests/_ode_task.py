"""A failing simulation: a 6-parameter ODE fit whose solver fails for some parameter sets.

The task fits a driven, damped oscillator

    x'' + c x' + k x = F cos(w t),    x(0) = x0, x'(0) = v0

to 40 noisy samples of a reference solution, over the box ``BOUNDS``; ``fx`` is the mean
squared error. Like a real simulation code, it fails for some parameter sets: a point
*fails* for ~3% of parameter sets and *gives NaN* for ~2% more, decided by a hash of the
point's bytes (``blake2b(x.tobytes())``), so that the same points fail in every run and
in every process. A failure raises :class:`SimulationError` (``OscillatorFit``) or
returns NaN (``OscillatorFitNaN``, the same points), which lets a test compare a run
whose task raises with the same run whose task returns NaN instead.

The module is written beside a run file by the tests (``odefit.py``) and imported from
there by ``glompo run``; it needs only numpy and scipy.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

__all__ = ["BOUNDS", "TRUE_PARAMETERS", "OscillatorFit", "OscillatorFitNaN", "SimulationError",
           "outcome"]

#: Parameters of the reference solution: c, k, F, w, x0, v0.
TRUE_PARAMETERS = (0.35, 2.0, 1.0, 1.3, 1.0, 0.0)
#: Search box of each parameter, in the order of :data:`TRUE_PARAMETERS`.
BOUNDS = [(0.05, 1.5), (0.5, 4.0), (0.1, 2.0), (0.5, 2.5), (-2.0, 2.0), (-2.0, 2.0)]
#: Fraction of points that fail (raise, or NaN in the NaN variant).
FAIL_RATE = 0.03
#: Fraction of further points that give NaN in both variants.
NAN_RATE = 0.02

_T = np.linspace(0.0, 10.0, 40)


class SimulationError(RuntimeError):
    """The simulation did not run for this parameter set (a solver failure)."""


def outcome(x: Sequence[float] | np.ndarray) -> str:
    """``'fail'``, ``'nan'`` or ``'ok'``: what the task does at ``x``, from a hash of it.

    ``x`` is taken as float64, as the task receives it.
    """
    digest = hashlib.blake2b(np.asarray(x, dtype=float).tobytes(), digest_size=8).digest()
    u = int.from_bytes(digest, "little") / 2.0**64
    if u < FAIL_RATE:
        return "fail"
    if u < FAIL_RATE + NAN_RATE:
        return "nan"
    return "ok"


def _simulate(p: np.ndarray) -> np.ndarray:
    from scipy.integrate import solve_ivp

    c, k, force, w, x0, v0 = (float(v) for v in p)

    def rhs(t: float, y: np.ndarray) -> list[float]:
        return [y[1], force * math.cos(w * t) - c * y[1] - k * y[0]]

    sol = solve_ivp(rhs, (_T[0], _T[-1]), [x0, v0], t_eval=_T, method="LSODA", rtol=1e-6,
                    atol=1e-8)
    if not sol.success:
        raise SimulationError(f"the solver stopped: {sol.message}")
    return np.asarray(sol.y[0])


def _data() -> np.ndarray:
    noise = np.random.default_rng(7).normal(0.0, 0.02, len(_T))
    return _simulate(np.array(TRUE_PARAMETERS)) + noise


class OscillatorFit:
    """Mean squared error of the oscillator fit; raises :class:`SimulationError` at ~3% of
    points and returns NaN at ~2% (see :func:`outcome`).

    Attributes
    ----------
    bounds
        The search box (6 parameters).
    """

    dims = 6
    bounds = BOUNDS

    def __init__(self) -> None:
        self.data = _data()

    def failed(self, x: np.ndarray) -> float:
        """What a failing point does: raise."""
        raise SimulationError(f"the solver did not converge (step size underflow at "
                              f"t={1 + 8 * abs(float(x[0])) % 8:.3f})")

    def __call__(self, x: Sequence[float] | np.ndarray) -> float:
        p = np.asarray(x, dtype=float)
        kind = outcome(p)
        if kind == "fail":
            return self.failed(p)
        if kind == "nan":
            return float("nan")
        try:
            model = _simulate(p)
        except SimulationError:
            return self.failed(p)
        return float(np.mean((model - self.data) ** 2))


class OscillatorFitNaN(OscillatorFit):
    """:class:`OscillatorFit` returning NaN where it would raise (the same points)."""

    def failed(self, x: np.ndarray) -> float:
        """What a failing point does: NaN."""
        return float("nan")


if __name__ == "__main__":  # speed and failure rates of the fixture
    import time

    task = OscillatorFit()
    rng = np.random.default_rng(1)
    box = np.array(BOUNDS)
    points = rng.uniform(box[:, 0], box[:, 1], size=(400, 6))
    kinds = [outcome(p) for p in points]
    t0 = time.perf_counter()
    for p in points:
        try:
            task(p)
        except SimulationError:
            pass
    per_call = (time.perf_counter() - t0) / len(points)
    print(f"{per_call * 1e3:.2f} ms per call; fail {kinds.count('fail')}, "
          f"nan {kinds.count('nan')} of {len(points)}; fx(true) = "
          f"{task(np.array(TRUE_PARAMETERS)):.3g}")
