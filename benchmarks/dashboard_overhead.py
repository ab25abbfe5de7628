"""What the live dashboard (glompo-dashboard) costs a run: evaluations/s with and without.

The same seeded run (threads backend, a task sleeping about 1 ms, RandomOptimizer with
one evaluation per iteration, so one lifecycle event per evaluation: the worst case) is
run without a dashboard, with a dashboard nobody watches, and with a dashboard and a
client that does what the page does (loads ``/api/state``, then reads the
server-sent events stream until the run ends). Runs are interleaved so that drifts of
the machine hit every case; the ratio is the median of the per-repeat ratios of
evaluations/s (with / without). The issue's target: at least 0.95 with the client.

Two rates per run: ``evals/s`` over the run's own clock (``t_start`` to ``t_end``, what
the run's summary reports), and ``wall evals/s`` over the whole ``start_manager()``
call, which also holds the dashboard's server start (about 20 ms) and its clean stop
when the run has ended (about 0.2 s: uvicorn's shutdown polls every 0.1 s); that fixed
cost weighs on a run of seconds, not on one of hours.

    python -m benchmarks.dashboard_overhead [--evals N] [--repeats R] [--delay S]
                                            [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector

DIMS = 5
BOUNDS = [(-1.0, 1.0)] * DIMS


DELAY = [0.001]  # seconds per evaluation (--delay)


def sleepy(x: Any) -> float:
    """Sleeps ``DELAY`` (1 ms by default: an external program waited on)."""
    time.sleep(DELAY[0])
    return float(sum(v * v for v in x))


class StreamingClient:
    """Reads the dashboard's events as the page does, in a thread, until the stream ends."""

    def __init__(self, dashboard: Any) -> None:
        self.dashboard = dashboard
        self.events = 0
        self.bytes = 0
        self.thread = threading.Thread(target=self._read, name="bench-client", daemon=True)

    def _read(self) -> None:
        while not self.dashboard.url:  # the server starts with the run
            time.sleep(0.005)
        base, token = self.dashboard.url.split("/?token=")
        params = {"token": token}
        try:
            with httpx.Client(timeout=30) as client:
                state = client.get(f"{base}/api/state", params=params).json()
                params["since"] = str(state["version"])
                with client.stream("GET", f"{base}/api/events", params=params) as stream:
                    for line in stream.iter_lines():
                        self.bytes += len(line) + 1
                        if line.startswith("data:"):
                            self.events += 1
        except httpx.HTTPError:  # the server closed the stream as the run ended
            pass


def timed(evals: int, max_jobs: int, case: str) -> dict[str, Any]:
    """One run: its evaluations/s and, with a client, the events it received."""
    pm = PluginManager()
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=sleepy, bounds=BOUNDS,
            opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1}), plugin_manager=pm),
            working_dir=Path(tmp), max_jobs=max_jobs, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=evals), summary_files=0,
            split_printstreams=False, seed=1, plugin_manager=pm)
        client = None
        if case != "no dashboard":
            from glompo_dashboard import Dashboard

            dashboard = Dashboard(port=0, quiet=True)
            pm.add_observer(dashboard, "live-dashboard")
            if case == "dashboard + streaming client":
                client = StreamingClient(dashboard)
                client.thread.start()
        t0 = time.perf_counter()
        manager.start_manager()
        wall = time.perf_counter() - t0
        if client is not None:
            client.thread.join(30)
        assert manager.t_end is not None and manager.t_start is not None
        run_s = manager.t_end - manager.t_start
        return {"evals_per_s": manager.f_counter / run_s, "wall_s": wall,
                "wall_evals_per_s": manager.f_counter / wall,
                "evaluations": manager.f_counter,
                "events": client.events if client else 0,
                "kbytes": client.bytes / 1024 if client else 0.0}


def _quartiles(values: list[float]) -> tuple[float, float]:
    """First and third quartiles (both the value itself for one value)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evals", type=int, default=6000)
    parser.add_argument("--max-jobs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.001,
                        help="seconds per evaluation (default 0.001)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    DELAY[0] = args.delay
    try:
        import glompo_dashboard  # noqa: F401
    except ImportError:
        print("glompo-dashboard is not installed: pip install -e plugins/glompo-dashboard",
              file=sys.stderr)
        return 1
    cases = ("no dashboard", "dashboard, no client", "dashboard + streaming client")
    for case in cases:  # warm-up: imports, thread and server start-up
        timed(200, args.max_jobs, case)
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    for _ in range(args.repeats):
        for case in cases:
            runs[case].append(timed(args.evals, args.max_jobs, case))
    base = runs["no dashboard"]
    rows = []
    for case in cases:
        ratios = [r["evals_per_s"] / b["evals_per_s"] for r, b in zip(runs[case], base)]
        wall = [r["wall_evals_per_s"] / b["wall_evals_per_s"]
                for r, b in zip(runs[case], base)]
        rows.append({"case": case,
                     "evals_per_s": statistics.median(r["evals_per_s"] for r in runs[case]),
                     "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                     "ratio_q1_q3": _quartiles(ratios),
                     "wall_evals_per_s": statistics.median(r["wall_evals_per_s"]
                                                           for r in runs[case]),
                     "wall_ratio": statistics.median(wall),
                     "events": statistics.median(r["events"] for r in runs[case]),
                     "kbytes": statistics.median(r["kbytes"] for r in runs[case]),
                     "evaluations": runs[case][0]["evaluations"]})
    print(f"{rows[0]['evaluations']} evaluations of a {args.delay * 1e3:g} ms task, "
          f"max_jobs={args.max_jobs}, "
          f"threads, one event per evaluation; median of {args.repeats} interleaved runs")
    print(f"{'case':<32}{'evals/s':>10}{'ratio':>8}{'q1-q3':>14}{'worst':>8}"
          f"{'wall evals/s':>14}{'ratio':>8}{'events':>8}{'KiB':>8}")
    for row in rows:
        q1, q3 = row["ratio_q1_q3"]
        print(f"{row['case']:<32}{row['evals_per_s']:>10.1f}{row['ratio']:>8.3f}"
              f"{f'{q1:.3f}-{q3:.3f}':>14}{row['ratio_min']:>8.3f}"
              f"{row['wall_evals_per_s']:>14.1f}"
              f"{row['wall_ratio']:>8.3f}{row['events']:>8.0f}{row['kbytes']:>8.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
