"""One CMA-ES run: glompo-cma's ``CMAOptimizer`` against pycma's own ask-and-tell loop.

A check that the wrapper does not change the algorithm: on bbob problems (``cocoex``),
from the same starting points, with the same ``sigma0``, population and bounds, each
starting point is solved once by pycma's loop (``CMAEvolutionStrategy``, ``ask``/``tell``
until ``stop()``) and once by ``CMAOptimizer.minimize`` (stand-alone, no manager). Both run
to pycma's own termination criteria. The two use different random numbers (pycma seeds
numpy's global generator; ``CMAOptimizer`` gives pycma a generator of its own), so single
runs differ: compare the means over many starting points.

The table gives, per problem and implementation, the mean and median of
``log10(f_best - f_opt + 1e-8)``, the runs that reached a gap below 1e-4, and the mean
evaluations used. ``f_opt`` is read from COCO's own data file, as in :mod:`benchmarks.bbob`.

    python -m benchmarks.cma_single_run --functions 16 17 18 --dim 10 --instance 2 \\
        --starts 30 --popsize 10 [--box 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bbob import LOWER, UPPER, parse_functions, read_fopt

SIGMA0 = 2.0


def _problem(function: int, dim: int, instance: int) -> tuple[Any, float]:
    """The bbob problem and its ``f_opt`` (from the header COCO's observer writes)."""
    import cocoex

    suite = cocoex.Suite("bbob", f"instances: {instance}",
                         f"dimensions:{dim} function_indices:{function}")
    with tempfile.TemporaryDirectory(prefix="bbob-fopt-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            observed = suite.get_problem_by_function_dimension_instance(function, dim,
                                                                        instance)
            observed.observe_with(cocoex.Observer("bbob", "result_folder: fopt"))
            observed(np.zeros(dim))
            observed.free()
            f_opt = read_fopt(Path(tmp) / "exdata" / "fopt")
        finally:
            os.chdir(cwd)
    problem = suite.get_problem_by_function_dimension_instance(function, dim, instance)
    return problem, f_opt


def run_pycma(func: Callable[[Any], float], x0: np.ndarray, popsize: int,
              seed: int) -> tuple[float, int]:
    """pycma's own loop until ``stop()``: (best value, evaluations)."""
    import cma

    es = cma.CMAEvolutionStrategy(x0.tolist(), SIGMA0, {
        "bounds": [LOWER, UPPER], "popsize": popsize, "seed": seed, "verbose": -9,
        "verb_log": 0, "verb_disp": 0})
    evals = 0
    while not es.stop():
        X = es.ask()
        es.tell(X, [func(x) for x in X])
        evals += len(X)
    return float(es.result.fbest), evals


def run_glompo(func: Callable[[Any], float], x0: np.ndarray, popsize: int,
               seed: int) -> tuple[float, int]:
    """``CMAOptimizer.minimize`` stand-alone: (best value, evaluations)."""
    from glompo_cma import CMAOptimizer

    opt = CMAOptimizer(sigma0=SIGMA0, verbose=False, seed=seed, popsize=popsize)
    result = opt.minimize(func, x0.tolist(), [(LOWER, UPPER)] * len(x0))
    stats = result.stats or {}
    return float(result.fx), int(stats["evaluations"])


def compare(function: int, dim: int, instance: int, starts: int, popsize: int,
            box: float) -> list[dict[str, Any]]:
    """Both implementations from the same ``starts`` points; one row per implementation."""
    problem, f_opt = _problem(function, dim, instance)

    def func(x: Any) -> float:
        return float(problem(np.asarray(x, dtype=np.float64)))

    rows = []
    for name, runner in (("pycma", run_pycma), ("CMAOptimizer", run_glompo)):
        gaps, evals = [], []
        for start in range(1, starts + 1):
            x0 = np.random.default_rng(1000 + start).uniform(-box, box, dim)
            fx, n = runner(func, x0, popsize, start)
            gaps.append(float(np.log10(max(fx - f_opt, 0.0) + 1e-8)))
            evals.append(n)
        rows.append({"function": function, "dim": dim, "instance": instance,
                     "popsize": popsize, "implementation": name, "starts": starts,
                     "mean": float(np.mean(gaps)), "median": float(np.median(gaps)),
                     "below_1e-4": int(np.sum(np.array(gaps) < -4)),
                     "mean_evals": float(np.mean(evals)), "gaps": gaps})
    problem.free()
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table; write JSON if asked."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cma_single_run",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--functions", nargs="+", default=["16", "17", "18"])
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--instance", type=int, default=2)
    parser.add_argument("--starts", type=int, default=30, help="starting points (default 30)")
    parser.add_argument("--popsize", type=int, default=None,
                        help="default pycma's 4 + int(3 ln D)")
    parser.add_argument("--box", type=float, default=4.0,
                        help="starting points uniform in [-box, box]^D (default 4)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.starts < 1 or args.dim < 2 or not 0 < args.box <= UPPER:
        parser.error("--starts must be >= 1, --dim >= 2 and 0 < --box <= 5")
    popsize = args.popsize or 4 + int(3 * np.log(args.dim))
    warnings.simplefilter("ignore")
    rows: list[dict[str, Any]] = []
    print(f"{'f':>3} {'D':>3} {'inst':>4} {'pop':>4} {'implementation':<14} {'mean':>7} "
          f"{'median':>7} {'<1e-4':>6} {'evals':>7}")
    for function in parse_functions(args.functions):
        for row in compare(function, args.dim, args.instance, args.starts, popsize, args.box):
            rows.append(row)
            print(f"{row['function']:>3} {row['dim']:>3} {row['instance']:>4} "
                  f"{row['popsize']:>4} {row['implementation']:<14} {row['mean']:>7.2f} "
                  f"{row['median']:>7.2f} {row['below_1e-4']:>6} {row['mean_evals']:>7.0f}")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": vars(args) | {"json": str(args.json),
                                                                   "popsize": popsize},
                                         "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
