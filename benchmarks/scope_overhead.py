"""What the live scope (glompo-scope) costs a run, as a ratio of wall times.

The same seeded run (threads backend, a task sleeping about 1 ms, RandomOptimizer with
one evaluation per iteration, so one scope event per evaluation: the worst case) is
timed without the scope and with ``visualisation=True``; runs are interleaved so that
drifts of the machine hit both. A ratio of 1.05 means the scope adds 5% to the wall time.

    python -m benchmarks.scope_overhead [--evals N] [--repeats R] [--movie] [--json out.json]

Rows:

- ``scope``: ``events_per_flush=10``, ``record_movie=False`` (headless: the plot is kept
  up to date but nothing is rendered, as nobody looks at it);
- ``scope, x_range=None``: the same, every evaluation kept (no window);
- ``scope + movie`` (``--movie``): also records the movie, one frame per 10 events.
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

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import get_plugin_manager
from glompo_core.selectors import CycleSelector

DIMS = 5
BOUNDS = [(-1.0, 1.0)] * DIMS


def sleepy(x: Any) -> float:
    """Sleeps 1 ms (an external program waited on)."""
    time.sleep(0.001)
    return float(sum(v * v for v in x))


def timed(evals: int, max_jobs: int, vis: dict[str, Any] | None) -> tuple[float, int, int]:
    """Wall time of one run, its number of evaluations and of movie frames."""
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=sleepy, bounds=BOUNDS,
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1})),
            working_dir=Path(tmp), max_jobs=max_jobs, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=evals), summary_files=0,
            split_printstreams=False, seed=1, visualisation=vis is not None,
            visualisation_args=vis)
        t0 = time.perf_counter()
        manager.start_manager()
        wall = time.perf_counter() - t0
        frames = getattr(manager.scope, "n_frames", 0) if vis and vis.get("record_movie") else 0
        return wall, manager.f_counter, frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evals", type=int, default=3000)
    parser.add_argument("--max-jobs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--movie", action="store_true", help="also time record_movie=True")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    if not get_plugin_manager().has_visualisation():
        print("glompo-scope is not installed: pip install -e plugins/glompo-scope",
              file=sys.stderr)
        return 1
    cases: dict[str, dict[str, Any]] = {
        "scope": {"events_per_flush": 10, "record_movie": False},
        "scope, x_range=None": {"events_per_flush": 10, "record_movie": False,
                                "x_range": None},
    }
    if args.movie:
        cases["scope + movie"] = {"events_per_flush": 10, "record_movie": True}
    timed(200, args.max_jobs, None)  # warm-up: imports, thread start-up
    timed(200, args.max_jobs, cases["scope"])
    base: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in cases}
    ratios: dict[str, list[float]] = {name: [] for name in cases}
    frames: dict[str, int] = {name: 0 for name in cases}
    n_evals = 0
    for _ in range(args.repeats):
        t_base, n_evals, _f = timed(args.evals, args.max_jobs, None)
        base.append(t_base)
        for name, vis in cases.items():
            t, _n, frames[name] = timed(args.evals, args.max_jobs, vis)
            times[name].append(t)
            ratios[name].append(t / t_base)
    t_base = statistics.median(base)
    rows: list[dict[str, Any]] = [{"case": "no scope", "wall_s": t_base, "ratio": 1.0,
                                   "us_per_eval_added": 0.0, "evaluations": n_evals,
                                   "frames": 0}]
    for name in cases:
        t = statistics.median(times[name])
        ratio = statistics.median(ratios[name])
        rows.append({"case": name, "wall_s": t, "ratio": ratio,
                     "us_per_eval_added": (t - t_base) / n_evals * 1e6,
                     "evaluations": n_evals, "frames": frames[name]})
    print(f"{n_evals} evaluations of a 1 ms task, max_jobs={args.max_jobs}, threads, "
          f"median of {args.repeats} interleaved runs")
    print(f"{'case':<24}{'wall s':>10}{'ratio':>9}{'us/eval added':>16}{'frames':>8}"
          f"{'ms/frame':>10}")
    for row in rows:
        per_frame = ((row["wall_s"] - t_base) / row["frames"] * 1e3 if row["frames"]
                     else float("nan"))
        print(f"{row['case']:<24}{row['wall_s']:>10.3f}{row['ratio']:>9.3f}"
              f"{row['us_per_eval_added']:>16.1f}{row['frames']:>8d}{per_frame:>10.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
