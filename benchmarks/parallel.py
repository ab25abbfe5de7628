"""Parallel efficiency of the evaluation backends.

Wall time of a run against the ideal ``evaluations x cost / max_jobs``:

- a task that sleeps 10 ms, ``max_jobs=4``, threads backend (target: within 10%);
- a CPU-bound task of about 10 ms, ``max_jobs=2``, processes backend (target: within 25%);
- with glompo-dask installed, a task sleeping 20 ms on a LocalCluster of 4 single-thread
  workers, ``max_jobs=4``, with ``dispatch='actors'`` (``dask-20ms-actors``, target:
  within 20%) and with the default ``dispatch='tasks'`` (``dask-20ms``, no target: each
  evaluation costs a scheduler round trip of about 10 ms on a small machine, which is
  what the actors avoid); ``dask-warm`` is the 10 ms task on the same cluster, started
  before the clock (its start time is printed below), and ``dask`` the same with the
  cluster's start included. Cases without a target are for information.

    python -m benchmarks.parallel [--evals N] [--json out.json] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import get_plugin_manager
from glompo_core.selectors import CycleSelector

DIMS = 5
BOUNDS = [(-1.0, 1.0)] * DIMS


def sleepy(x: Any) -> float:
    """Sleeps 10 ms (an external program waited on)."""
    time.sleep(0.010)
    return float(sum(v * v for v in x))


def sleepy20(x: Any) -> float:
    """Sleeps 20 ms."""
    time.sleep(0.020)
    return float(sum(v * v for v in x))


def start_dask_cluster(n_workers: int) -> tuple[Any, float]:
    """A LocalCluster of single-thread worker processes, and the seconds its start took."""
    from distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return cluster, time.perf_counter() - t0


def _spin(n: int) -> float:
    acc = 0.0
    for i in range(n):
        acc += (i % 7) * 1e-9
    return acc


_SPIN_N = 1


def calibrate(seconds: float = 0.010) -> int:
    """Loop count of :func:`_spin` that takes ``seconds`` on this machine."""
    n = 20_000
    while True:
        t0 = time.perf_counter()
        _spin(n)
        dt = time.perf_counter() - t0
        if dt > 0.02:
            return max(1, int(n * seconds / dt))
        n *= 2


def cpu_bound(x: Any) -> float:
    """About 10 ms of pure-Python arithmetic (holds the GIL: needs processes)."""
    return float(sum(v * v for v in x)) + _spin(_SPIN_N)


def run(task: Any, backend: str, max_jobs: int, evals: int, **kw: Any) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=task, bounds=BOUNDS,
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1})),
            working_dir=Path(tmp), max_jobs=max_jobs, backend=backend,
            exit_conditions=MaxFuncCalls(fmax=evals), split_printstreams=False, seed=1, **kw)
        t0 = time.perf_counter()
        manager.start_manager()
        return time.perf_counter() - t0, manager.f_counter


def main(argv: list[str] | None = None) -> int:
    global _SPIN_N
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evals", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--only", default=None, help="run only this case (threads, processes, "
                        "dask, dask-warm, dask-20ms)")
    args = parser.parse_args(argv)
    _SPIN_N = calibrate()
    t0 = time.perf_counter()
    cpu_bound([0.0] * DIMS)
    cpu_cost = time.perf_counter() - t0
    cases: list[tuple[str, Any, str, int, float, float | None, dict[str, Any]]] = [
        ("threads", sleepy, "threads", 4, 0.010, 0.10, {}),
        ("processes", cpu_bound, "processes", 2, cpu_cost, 0.25, {}),
    ]
    warm: dict[str, Any] = {}  # backend_kwargs of the cases on an already running cluster
    warm_actors: dict[str, Any] = {}  # the same with dispatch='actors'
    if "dask" in get_plugin_manager().names("backend"):
        cases.append(("dask", sleepy, "dask", 4, 0.010, None,
                      {"backend_kwargs": {"n_workers": 4, "threads_per_worker": 1}}))
        cases.append(("dask-warm", sleepy, "dask", 4, 0.010, None, warm))
        cases.append(("dask-20ms", sleepy20, "dask", 4, 0.020, None, warm))
        cases.append(("dask-20ms-actors", sleepy20, "dask", 4, 0.020, 0.20, warm_actors))
    rows = []
    cluster: Any = None
    cluster_start = 0.0
    print(f"{'case':<17}{'task':>12}{'max_jobs':>9}{'evals':>7}{'wall s':>9}{'ideal s':>9}"
          f"{'overhead':>10}{'target':>8}{'ok':>4}")
    for name, task, backend, jobs, cost, target, kw in cases:
        if args.only and name != args.only:
            continue
        if (kw is warm or kw is warm_actors) and cluster is None:
            cluster, cluster_start = start_dask_cluster(jobs)
            warm["backend_kwargs"] = {"address": cluster.scheduler_address}
            warm_actors["backend_kwargs"] = {"address": cluster.scheduler_address,
                                             "dispatch": "actors"}
        wall, n = run(task, backend, jobs, args.evals, **kw)
        ideal = n * cost / jobs
        over = wall / ideal - 1.0
        ok = None if target is None else over <= target
        rows.append({"case": name, "task": task.__name__, "max_jobs": jobs, "evals": n,
                     "wall_s": wall, "ideal_s": ideal, "overhead": over, "target": target,
                     "ok": ok, "eval_cost_s": cost})
        print(f"{name:<17}{task.__name__:>12}{jobs:>9}{n:>7}{wall:>9.2f}{ideal:>9.2f}"
              f"{over:>9.1%}{'—' if target is None else f'{target:.0%}':>8}"
              f"{'—' if ok is None else 'yes' if ok else 'NO':>4}")
    if cluster is not None:
        cluster.close()
        print(f"dask-warm, dask-20ms: their LocalCluster of 4 workers took {cluster_start:.2f} s "
              "to start (not timed)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
