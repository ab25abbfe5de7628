"""Return types: :class:`MinimizeResult` of one optimizer and :class:`Result` of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MinimizeResult", "Result"]


@dataclass
class MinimizeResult:
    """The return value of :meth:`BaseOptimizer.minimize`.

    Parameters
    ----------
    success
        Whether the optimization was successful.
    x
        The optimized parameters.
    fx
        The function value at ``x``.
    stats
        Statistics of the optimization (evaluations, iterations, ...).
    origin
        Configuration details of the optimizer which produced the result.
    """

    success: bool = False
    x: np.ndarray | None = None
    fx: float = float("inf")
    stats: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None


@dataclass
class Result:
    """The result of a GloMPO run, returned by :meth:`GloMPOManager.start_manager`.

    Attributes
    ----------
    x
        Best parameter vector found by any optimizer (None before any evaluation).
    fx
        Its function value.
    stats
        Run statistics: evaluations, optimizers started / stopped / converged / crashed,
        time used, exit reason.
    origin
        Where ``x`` came from: ``opt_id``, optimizer ``type`` and the ``call_id`` of the
        evaluation.
    """

    x: np.ndarray | None = None
    fx: float = float("inf")
    stats: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        x = None if self.x is None else np.array2string(np.asarray(self.x), precision=6)
        return f"Result(fx={self.fx!r}, x={x}, origin={self.origin!r})"
