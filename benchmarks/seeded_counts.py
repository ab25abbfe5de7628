"""Seeded runs whose counts and best values must not change when the core is restructured.

Three seeded runs of the core alone (random search in a cycle of two population sizes,
two stoppers, the threads backend, one optimizer at a time, so every decision is
reproducible): the evaluations, optimizers started and stopped, and the best value,
with the wall time of each run (median of ``--repeats``). Run it from two checkouts
(e.g. ``git archive REV | tar -x -C /tmp/before`` and copy this file in) and compare:
the counts and values must be identical, the times close.

    python -m benchmarks.seeded_counts [--repeats R] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import glompo_core
from glompo_core import GloMPOManager
from glompo_core.benchmarks import Ackley, Rastrigin, Schwefel
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving, EvaluationsUnmoving

PROBLEMS = (("Rastrigin", Rastrigin, {"dims": 5}, 1), ("Schwefel", Schwefel, {"dims": 4}, 2),
            ("Ackley", Ackley, {"dims": 6}, 3))


def one_run(task: Any, seed: int) -> dict[str, Any]:
    """One seeded run; its counts, best value and wall time."""
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        manager = GloMPOManager.new_manager(
            task=task, bounds=None, working_dir=directory, backend="threads", max_jobs=1,
            plugin_manager=PluginManager(load_entrypoints=False),
            exit_conditions=MaxFuncCalls(fmax=20000),
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 8, "iters": 400}),
                                       ("RandomOptimizer", {"popsize": 3, "iters": 900})),
            stoppers=BestUnmoving(calls=600, tol=0.01)
            | EvaluationsUnmoving(calls=300, tol=0.001),
            split_printstreams=False, seed=seed, stopcheck_interval=50)
        result = manager.start_manager()
        seconds = time.perf_counter() - start
    return {"f_counter": manager.f_counter, "o_counter": manager.o_counter,
            "stopped": len(manager.stopped_opts), "fx": float(result.fx), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each problem (>= 1)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    print(f"glompo_core from {Path(glompo_core.__file__).parent}")
    print(f"{'problem':10s} {'seed':>4s} {'f_counter':>9s} {'o_counter':>9s} {'stopped':>7s} "
          f"{'best fx':>22s} {'median s':>8s}")
    rows = []
    for name, cls, kwargs, seed in PROBLEMS:
        runs = [one_run(cls(**kwargs), seed) for _ in range(args.repeats)]
        first = runs[0]
        if any({k: r[k] for k in first if k != "seconds"}
               != {k: first[k] for k in first if k != "seconds"} for r in runs):
            print(f"{name}: the repeats differ: the run is not reproducible")
            return 1
        row = {"problem": name, "seed": seed, **{k: v for k, v in first.items()
                                                 if k != "seconds"},
               "median_seconds": statistics.median(r["seconds"] for r in runs)}
        rows.append(row)
        print(f"{name:10s} {seed:4d} {row['f_counter']:9d} {row['o_counter']:9d} "
              f"{row['stopped']:7d} {row['fx']!r:>22s} {row['median_seconds']:8.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
