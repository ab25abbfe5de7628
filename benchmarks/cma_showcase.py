"""Four managed CMA-ES runs against one restarting CMA-ES, on 20-D Schwefel.

GloMPO with 4 CMAOptimizers (CycleSelector, threads, max_jobs=4, the reference's
stoppers) against plain pycma with IPOP restarts (``cma.fmin2(..., restarts=9)``), both
with 121,200 evaluations, over several seeds. The reference GloMPO's published
showcase reached -7371.40; the global minimum is -8379.66.

    python -m benchmarks.cma_showcase [--seeds 1 2 3 4 5] [--budget N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core import GloMPOManager
from glompo_core.benchmarks import Schwefel
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving, EvaluationsUnmoving, ParameterDistance

SHOWCASE = -7371.403964491363


def glompo(seed: int, budget: int) -> tuple[float, int, float]:
    task = Schwefel(dims=20)
    stoppers = ((EvaluationsUnmoving(calls=500, tol=0.01) & BestUnmoving(calls=8074, tol=0.2))
                | ParameterDistance(task.bounds, relative_distance=0.05, test_all=False))
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=task, bounds=None,
            opt_selector=CycleSelector(("CMAOptimizer", {"sigma0": 300.0, "popsize": 100,
                                                         "verbose": False})),
            working_dir=Path(tmp), max_jobs=4, backend="threads", stoppers=stoppers,
            exit_conditions=MaxFuncCalls(fmax=budget), split_printstreams=False, seed=seed)
        t0 = time.perf_counter()
        result = manager.start_manager()
        return result.fx, manager.f_counter, time.perf_counter() - t0


def ipop(seed: int, budget: int) -> tuple[float, int, float]:
    import cma

    task = Schwefel(dims=20)
    seen = {"n": 0, "best": float("inf")}

    def counted(x: Any) -> float:
        seen["n"] += 1
        fx = task(x)
        if seen["n"] <= budget:  # only what the budget allows counts
            seen["best"] = min(seen["best"], fx)
        return fx

    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-500, 500, 20)
    t0 = time.perf_counter()
    cma.fmin2(counted, x0, 250.0, {"bounds": [-500, 500], "maxfevals": budget, "seed": seed,
                                   "verbose": -9}, restarts=9)
    return float(seen["best"]), int(min(seen["n"], budget)), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--budget", type=int, default=121_200)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    print(f"{'method':<28}{'seed':>5}{'fx':>12}{'evals':>9}{'wall s':>8}")
    for seed in args.seeds:
        for name, run in (("GloMPO 4 x CMAOptimizer", glompo), ("pycma IPOP (restarts=9)", ipop)):
            fx, n, wall = run(seed, args.budget)
            rows.append({"method": name, "seed": seed, "fx": fx, "evals": n, "wall_s": wall})
            print(f"{name:<28}{seed:>5}{fx:>12.2f}{n:>9}{wall:>8.1f}")
    print()
    for name in ("GloMPO 4 x CMAOptimizer", "pycma IPOP (restarts=9)"):
        fxs = [r["fx"] for r in rows if r["method"] == name]
        print(f"{name:<28} median {statistics.median(fxs):.2f}  best {min(fxs):.2f}  "
              f"beats showcase {sum(f < SHOWCASE for f in fxs)}/{len(fxs)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
