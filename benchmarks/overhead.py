"""How much time the manager adds per evaluation.

Evaluations per second of one optimizer driven through GloMPOManager (threads
backend, no output files) divided by the same optimizer driven directly, on a
cheap 10-D function, measured in one run (ratios, because the machines are noisy).

    python -m benchmarks.overhead [--evals N] [--repeats R] [--json out.json]

A ratio of 0.8 means the manager adds 25% to the cost of an evaluation of this
(very cheap) function; the "us/eval added" column is the absolute cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import get_plugin_manager
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop

DIMS = 10
BOUNDS = [(-5.0, 5.0)] * DIMS


def cheap(x: Any) -> float:
    """A cheap 10-D function (shifted sphere): a few microseconds per call."""
    a = np.asarray(x)
    return float(a @ a - 2.0 * a[0])


class Counted:
    """Counts evaluations (for the direct runs)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, x: Any) -> float:
        self.n += 1
        return cheap(x)


def direct(make: Callable[[], Any], evals: int) -> float:
    """Evaluations per second of the optimizer driven by hand, stopped after ``evals``."""
    opt = make()
    f = Counted()

    def stopping(x: Any) -> float:
        if f.n >= evals:
            opt.callstop("budget")
        return f(x)

    t0 = time.perf_counter()
    opt.minimize(stopping, np.zeros(DIMS) + 0.5, BOUNDS)
    return f.n / (time.perf_counter() - t0)


def managed(cls: type, init: dict[str, Any], evals: int) -> float:
    """Evaluations per second through the manager (threads, no output files)."""
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=cheap, bounds=BOUNDS,
            opt_selector=CycleSelector((cls, init), allow_spawn=NOptimizersSpawnStop(1)),
            working_dir=Path(tmp), max_jobs=1, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=evals), summary_files=0,
            split_printstreams=False, seed=1)
        t0 = time.perf_counter()
        manager.start_manager()
        return manager.f_counter / (time.perf_counter() - t0)


def cases() -> list[tuple[str, type, dict[str, Any], Callable[[], Any]]]:
    """The optimizers measured: RandomOptimizer, and CMAOptimizer when glompo-cma is installed."""
    from glompo_core.optimizers import RandomOptimizer

    out: list[tuple[str, type, dict[str, Any], Callable[[], Any]]] = [
        ("RandomOptimizer(popsize=1)", RandomOptimizer, {"popsize": 1},
         lambda: RandomOptimizer(popsize=1, seed=1)),
        ("RandomOptimizer(popsize=10)", RandomOptimizer, {"popsize": 10},
         lambda: RandomOptimizer(popsize=10, seed=1)),
    ]
    pm = get_plugin_manager()
    if "CMAOptimizer" in pm.names("optimizer"):
        cma_cls = pm.get("optimizer", "CMAOptimizer")
        init = {"sigma0": 1.0, "verbose": False}
        out.append(("CMAOptimizer", cma_cls, init, lambda: cma_cls(**init, seed=1)))
        out.append(("CMAOptimizer vs bare pycma", cma_cls, init, BarePycma))
    return out


class BarePycma:
    """pycma's own ask/tell loop, no GloMPO at all (the baseline of the CMA row)."""

    def minimize(self, function: Callable[[Any], float], x0: Any, bounds: Any) -> None:
        import cma

        lo, hi = zip(*bounds)
        es = cma.CMAEvolutionStrategy(list(x0), 1.0, {"bounds": [list(lo), list(hi)],
                                                      "verbose": -9, "seed": 1})
        self._stop = False
        while not self._stop and not es.stop():
            xs = es.ask()
            es.tell(xs, [function(x) for x in xs])

    def callstop(self, reason: str = "") -> None:
        self._stop = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evals", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--no-scope", dest="scope", action="store_false",
                        help="skip the cost of the scope (glompo-scope)")
    parser.add_argument("--scope-evals", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'optimizer':<30}{'direct ev/s':>14}{'managed ev/s':>14}{'ratio':>8}"
          f"{'us/eval added':>15}")
    for name, cls, init, make in cases():
        ratios, d_rates, m_rates = [], [], []
        for _ in range(args.repeats):  # interleaved, so drifts of the machine hit both
            d = direct(make, args.evals)
            m = managed(cls, init, args.evals)
            d_rates.append(d)
            m_rates.append(m)
            ratios.append(m / d)
        d, m = statistics.median(d_rates), statistics.median(m_rates)
        ratio = statistics.median(ratios)
        added = (1 / m - 1 / d) * 1e6
        rows.append({"optimizer": name, "direct_evals_per_s": d, "managed_evals_per_s": m,
                     "ratio": ratio, "us_per_eval_added": added})
        print(f"{name:<30}{d:>14,.0f}{m:>14,.0f}{ratio:>8.2f}{added:>15.1f}")
    if args.scope and get_plugin_manager().has_visualisation():
        from benchmarks.scope_overhead import timed

        ratios = []
        for _ in range(args.repeats):
            base = timed(args.scope_evals, 4, None)[0]
            with_scope = timed(args.scope_evals, 4, {"events_per_flush": 10,
                                                     "record_movie": False})[0]
            ratios.append(with_scope / base)
        ratio = statistics.median(ratios)
        rows.append({"optimizer": "scope (events_per_flush=10, no movie): wall time ratio",
                     "ratio": ratio})
        print(f"\nGloMPOScope, events_per_flush=10, record_movie=False: wall time "
              f"{ratio:.3f} x the same run without it (median of {args.repeats}; "
              f"{args.scope_evals} evaluations of a 1 ms task, 4 jobs)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
