"""Utilisation of a simulated cluster: many workers, evaluations of seconds.

A run on the threads backend whose task sleeps like an external simulation (a fixed
0.5 s, the target case, and a random 0.1-1 s drawn from a hash of the point and the
seed, for information), for ``max_jobs`` of 32, 128 and 256 and two layouts:

- ``1x16``: one optimizer per worker (``RandomOptimizer``, ``workers=1``, popsize 16);
- ``8x16``: optimizers with 8 workers each (``RandomOptimizer``, ``workers=8``, popsize
  16: each population is evaluated 8 at a time through the backend).

The random-time cases run at 128 workers only by default (``--random-at``), to keep the
default run near 5 minutes: a case lasts about evals-per-worker x 0.5 s whatever the
number of workers. ``--quick`` (about 30 s) runs the fixed-time cases at 32 workers with
20 evaluations per worker. The budget is ``MaxFuncCalls(fmax = evals-per-worker x
max_jobs)`` (50 per worker by default); no stoppers, no output files
(``summary_files=0``), ``seed=1``. Per case:

- evaluations admitted (``manager.f_counter``), logged (the rows of ``manager.opt_log``)
  and seen by the task (its own count of calls); the three must be equal;
- overshoot = task calls - fmax (issue 14: at most the evaluations in flight, ``max_jobs``);
- set-up seconds (``GloMPOManager.new_manager``, not in the utilisation) and wall seconds
  from the call of ``start_manager()`` to its return;
- busy seconds: the sum of the evaluations' own durations, each measured by the task
  with ``time.perf_counter`` around its sleep;
- utilisation = busy seconds / (max_jobs x wall); target: >= 0.95 at 128 workers with
  fixed-time evaluations of 0.5 s or more (both layouts);
- in-budget utilisation = utilisation x min(1, fmax / task calls): the share of the
  cluster's time spent on evaluations the budget asked for (exact for fixed-time
  evaluations, an estimate for random ones), since evaluations beyond fmax keep workers
  busy too.

The exit status is 1 when admitted, logged and task calls differ in any case.

Sleeping threads barely use the CPU, but 256 optimizer threads and the manager share
the interpreter: the machine's load average is printed with the results.

    python -m benchmarks.scale [--workers 32 128 256] [--layouts 1 8] [--evals-per-worker 50]
                               [--random-at 128] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import CycleSelector

DIMS = 5
BOUNDS = [(-1.0, 1.0)] * DIMS
POPSIZE = 16
TARGET_WORKERS = 128
TARGET_UTILISATION = 0.95


class SleepingTask:
    """A simulation stand-in: sleeps, counts its calls and sums its own busy time.

    Parameters
    ----------
    low, high
        Duration of a call in seconds: ``low`` when ``high`` is None (fixed), else uniform
        in ``[low, high]``, drawn from a hash of ``seed`` and the point (reproducible
        whatever the order in which the threads call).
    seed
        Seed of the random durations.
    """

    def __init__(self, low: float, high: float | None = None, seed: int = 1) -> None:
        self.low = float(low)
        self.high = None if high is None else float(high)
        self.seed = int(seed)
        self._lock = threading.Lock()
        self.calls = 0
        self.finished = 0
        self.busy_s = 0.0

    def duration(self, x: Any) -> float:
        """Seconds the call at ``x`` sleeps."""
        if self.high is None:
            return self.low
        key = f"{self.seed}:{np.asarray(x, dtype=float).tobytes().hex()}"
        return random.Random(key).uniform(self.low, self.high)

    def __call__(self, x: Any) -> float:
        with self._lock:
            self.calls += 1
        t0 = time.perf_counter()
        time.sleep(self.duration(x))
        dt = time.perf_counter() - t0
        with self._lock:
            self.finished += 1
            self.busy_s += dt
        return float(sum(v * v for v in x))

    def snapshot(self) -> tuple[int, int, float]:
        """(calls started, calls finished, busy seconds), read together."""
        with self._lock:
            return self.calls, self.finished, self.busy_s


def logged_rows(manager: GloMPOManager) -> int:
    """Rows in the run's log: every optimizer's evaluations."""
    log = manager.opt_log
    return sum(log.len(opt_id) for opt_id in log.opt_ids)


def run_case(max_jobs: int, opt_workers: int, task: SleepingTask, fmax: int,
             seed: int) -> dict[str, Any]:
    """One simulated cluster run; the measurements of one row of the table."""
    init = {"popsize": POPSIZE, "workers": opt_workers}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        manager = GloMPOManager.new_manager(
            task=task, bounds=BOUNDS,
            opt_selector=CycleSelector(("RandomOptimizer", init)),
            working_dir=Path(tmp), max_jobs=max_jobs, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=fmax), summary_files=0,
            split_printstreams=False, seed=seed)
        setup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        manager.start_manager()
        wall = time.perf_counter() - t0
        calls, finished, busy = task.snapshot()
        rows = logged_rows(manager)
        n_opts = manager.o_counter
        admitted = manager.f_counter
    return {"max_jobs": max_jobs, "opt_workers": opt_workers, "popsize": POPSIZE,
            "optimizers_started": n_opts, "fmax": fmax, "admitted": admitted,
            "logged": rows, "task_calls": calls, "finished_at_return": finished,
            "counts_equal": admitted == rows == calls,
            "overshoot": calls - fmax, "setup_s": setup_s, "wall_s": wall, "busy_s": busy,
            "utilisation": busy / (max_jobs * wall),
            "utilisation_in_budget": busy * min(1.0, fmax / max(calls, 1)) / (max_jobs * wall)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="max_jobs of the cases (default 32 128 256; --quick: 32)")
    parser.add_argument("--layouts", type=int, nargs="+", default=[1, 8],
                        help="workers of each optimizer, one layout each (default 1 8)")
    parser.add_argument("--evals-per-worker", type=int, default=None,
                        help="budget: fmax = this x max_jobs (default 50; --quick: 20)")
    parser.add_argument("--duration", type=float, default=0.5,
                        help="seconds of a fixed-time evaluation (default 0.5)")
    parser.add_argument("--random-range", type=float, nargs=2, default=[0.1, 1.0],
                        metavar=("LOW", "HIGH"),
                        help="seconds of a random-time evaluation (default 0.1 1.0)")
    parser.add_argument("--random-at", type=int, nargs="*", default=None,
                        help="max_jobs at which the random-time cases also run (default 128, "
                        "or the only one of --workers; none with --quick; give the option "
                        "without values for none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="about 30 s: 32 workers, 20 evaluations per worker, no "
                        "random-time cases")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    workers = args.workers or ([32] if args.quick else [32, 128, 256])
    per_worker = args.evals_per_worker or (20 if args.quick else 50)
    if args.random_at is not None:
        random_at = args.random_at
    elif args.quick:
        random_at = []
    elif len(workers) == 1:
        random_at = list(workers)
    else:
        random_at = [TARGET_WORKERS]
    for name, values in (("--workers", workers), ("--layouts", args.layouts)):
        if any(v < 1 for v in values):
            parser.error(f"{name} takes whole numbers >= 1, got {values}")
    for jobs in workers:
        for w in args.layouts:
            if w > jobs:
                parser.error(f"--layouts {w} needs at least {w} workers, but --workers has "
                             f"{jobs}: drop that layout or raise --workers")
    if per_worker < 1:
        parser.error(f"--evals-per-worker must be >= 1, got {per_worker}")
    low, high = args.random_range
    if not 0 <= low <= high:
        parser.error(f"--random-range needs 0 <= LOW <= HIGH, got {low} {high}")

    cases: list[tuple[int, int, str]] = []
    for jobs in workers:
        for w in args.layouts:
            cases.append((jobs, w, "fixed"))
            if jobs in random_at:
                cases.append((jobs, w, "random"))
    load_before = os.getloadavg()
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(),
               "platform": platform.platform(), "loadavg_before": load_before}
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average "
          f"(1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}")
    print(f"fixed: {args.duration:g} s per evaluation; random: {low:g}-{high:g} s; "
          f"fmax = {per_worker} x max_jobs; RandomOptimizer popsize {POPSIZE}; threads "
          f"backend, no stoppers, summary_files=0, seed={args.seed}")
    head = (f"{'jobs':>5}{'layout':>8}{'eval':>13}{'fmax':>7}{'admitted':>9}{'logged':>8}"
            f"{'calls':>7}{'equal':>6}{'over':>6}{'setup s':>8}{'wall s':>8}{'busy s':>9}"
            f"{'util':>6}{'in bdg':>7}{'target':>7}{'ok':>4}{'load1':>6}")
    print(head)
    rows = []
    for jobs, w, kind in cases:
        task = (SleepingTask(args.duration) if kind == "fixed"
                else SleepingTask(low, high, seed=args.seed))
        row = run_case(jobs, w, task, per_worker * jobs, args.seed)
        target = (TARGET_UTILISATION if kind == "fixed" and jobs == TARGET_WORKERS
                  and args.duration >= 0.5 else None)
        ok = None if target is None else row["utilisation"] >= target
        layout = f"{w}x{POPSIZE}"
        label = f"{args.duration:g}s" if kind == "fixed" else f"{low:g}-{high:g}s"
        load1 = os.getloadavg()[0]
        row.update({"layout": layout, "evaluation": kind, "evaluation_s": label,
                    "target": target, "ok": ok, "loadavg_1min_after": load1})
        rows.append(row)
        print(f"{jobs:>5}{layout:>8}{label:>13}{row['fmax']:>7}{row['admitted']:>9}"
              f"{row['logged']:>8}{row['task_calls']:>7}"
              f"{'yes' if row['counts_equal'] else 'NO':>6}{row['overshoot']:>6}"
              f"{row['setup_s']:>8.2f}{row['wall_s']:>8.2f}{row['busy_s']:>9.1f}"
              f"{row['utilisation']:>6.2f}{row['utilisation_in_budget']:>7.2f}"
              f"{'—' if target is None else f'{target:.2f}':>7}"
              f"{'—' if ok is None else 'yes' if ok else 'NO':>4}{load1:>6.2f}",
              flush=True)
    load_after = os.getloadavg()
    machine["loadavg_after"] = load_after
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if not all(r["counts_equal"] for r in rows):
        print("admitted, logged and task calls differ in the rows marked NO: evaluations "
              "were lost or counted twice")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "cases": rows}, indent=2))
    return 0 if all(r["counts_equal"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
