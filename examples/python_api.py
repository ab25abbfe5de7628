"""GloMPO from Python: several random searches on the 5-D Schwefel function.

Run:  python examples/python_api.py
"""

from __future__ import annotations

import logging

from glompo_core import GloMPOManager
from glompo_core.benchmarks import Schwefel
from glompo_core.exit_conditions import MaxFuncCalls, TargetCost
from glompo_core.generators import RandomGenerator
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving, MinFuncCalls


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    task = Schwefel(dims=5)
    manager = GloMPOManager.new_manager(
        task=task,
        bounds=task.bounds,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 8})),
        working_dir="runs/python_api",
        overwrite_existing=True,
        max_jobs=2,
        backend="threads",
        x0_generator=RandomGenerator(),
        stoppers=MinFuncCalls(min_pts=500) & BestUnmoving(calls=400, tol=0.001),
        exit_conditions=MaxFuncCalls(fmax=20_000) | TargetCost(target=task.min_fx, atol=1e-3),
        summary_files=1,
        seed=1,
        status_interval=5,
    )
    result = manager.start_manager()
    print(f"best fx = {result.fx:.4f} (global minimum {task.min_fx:.4f})")
    print(f"x = {result.x}")
    print(f"found by optimizer {result.origin['opt_id']} ({result.origin['type']})")


if __name__ == "__main__":
    main()
