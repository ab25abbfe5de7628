"""How many evaluations per second NGOpt manages, by budget and dimension.

The task is a sphere (microseconds per call), so the figures are nevergrad's own cost
per ask and tell, i.e. the most evaluations per second NGOpt can drive. Run with:

    python plugins/glompo-nevergrad/benchmarks/ngopt_rate.py [evaluations]
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

import numpy as np
from glompo_nevergrad import NevergradOptimizer


def rate(dims: int, budget: int, evaluations: int, workers: int = 1) -> tuple[float, str]:
    """Evaluations per second over ``evaluations`` calls of NGOpt with ``budget``."""
    opt = NevergradOptimizer(optimizer="NGOpt", budget=budget, seed=1, workers=workers)
    calls = 0

    def sphere(x: Any) -> float:
        nonlocal calls
        calls += 1
        if calls == evaluations:
            opt.callstop("measured")
        return float(np.sum((np.asarray(x) - 0.3) ** 2))

    t0 = time.perf_counter()
    opt.minimize(sphere, [1.0] * dims, [(-2.0, 2.0)] * dims)
    elapsed = time.perf_counter() - t0
    chosen = getattr(opt.ng_optimizer, "optim", opt.ng_optimizer)
    return opt.n_evals / elapsed, type(chosen).__name__


def main() -> None:
    warnings.filterwarnings("ignore")
    evaluations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"NGOpt, {evaluations} evaluations of a sphere (nevergrad's cost only)")
    print(f"{'dims':>5} {'budget':>8} {'workers':>7} {'evals/s':>9}  algorithm chosen")
    for dims, budget, workers in ((5, 2_000, 1), (5, 100_000, 1), (5, 100_000, 8),
                                  (20, 2_000, 1), (20, 100_000, 1)):
        per_s, chosen = rate(dims, budget, min(evaluations, budget), workers)
        print(f"{dims:>5} {budget:>8} {workers:>7} {per_s:>9.0f}  {chosen}", flush=True)


if __name__ == "__main__":
    main()
