"""What the HDF5 log (summary_files=3, glompo-hdf5's FileLogger) costs a run.

A million evaluations of a cheap 10-D function through the real manager (threads
backend, RandomOptimizer with popsize 100, MaxFuncCalls), once with summary_files=3 and
once with summary_files=0 (the same run without any log file), in one process:

- rows written per second (evaluations / time until the last evaluation), with the log
  and without it, and the logger's own write rate (rows / time spent in flush());
- peak RSS of the process at a quarter of the evaluations and at the end (sampled with
  psutil from a thread every 20 ms), to show memory stays flat;
- size of glompo_log.h5 per million rows.

    python -m benchmarks.logging [--evals N] [--jobs J] [--json out.json]

Targets: >= 100,000 rows/s and a peak RSS < 400 MB, flat between 25% and 100%.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is called logging.py: drop its directory from sys.path before anything
# imports the standard library's logging module.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from glompo_core import GloMPOManager, hookimpl  # noqa: E402
from glompo_core.exit_conditions import MaxFuncCalls  # noqa: E402
from glompo_core.plugins import PluginManager  # noqa: E402
from glompo_core.selectors import CycleSelector  # noqa: E402

DIMS = 10
BOUNDS = [(-5.0, 5.0)] * DIMS


def cheap(x: Any) -> float:
    """A cheap 10-D function (shifted sphere): a few microseconds per call."""
    a = np.asarray(x)
    return float(a @ a - 2.0 * a[0])


def timed_logger_plugin() -> Any:
    """A plugin registering a FileLogger whose flush() is timed, under the name FileLogger."""
    from glompo_hdf5.filelogger import FileLogger

    class TimedFileLogger(FileLogger):
        """FileLogger adding up the time spent in flush() and the calls that wrote."""

        flush_seconds = 0.0
        flush_cpu_seconds = 0.0
        flush_calls = 0
        flush_max = 0.0
        close_seconds = 0.0

        def flush(self, opt_id: int | None = None) -> None:
            t0, c0 = time.perf_counter(), time.thread_time()
            super().flush(opt_id)
            dt = time.perf_counter() - t0
            cls = type(self)
            cls.flush_seconds += dt
            cls.flush_cpu_seconds += time.thread_time() - c0
            cls.flush_calls += 1
            cls.flush_max = max(cls.flush_max, dt)

        def close(self) -> None:
            t0 = time.perf_counter()
            super().close()
            type(self).close_seconds += time.perf_counter() - t0

    class Plugin:
        logger_cls = TimedFileLogger

        @hookimpl
        def glompo_register_loggers(self, register: Any) -> None:
            register("FileLogger", TimedFileLogger)

    return Plugin()


class Finished:
    """Records when the last evaluation was made (the run_finished hook)."""

    def __init__(self) -> None:
        self.t: float | None = None
        self.sampler: RssSampler | None = None
        self.logger_cls: Any = None
        self.flush_seconds = 0.0
        self.flush_cpu_seconds = 0.0

    @hookimpl
    def glompo_run_finished(self) -> None:
        self.t = time.perf_counter()
        if self.sampler is not None:
            self.sampler.ended.set()
        cls = self.logger_cls
        if cls is not None:  # flush time up to the last evaluation
            self.flush_seconds, self.flush_cpu_seconds = cls.flush_seconds, \
                cls.flush_cpu_seconds


class RssSampler(threading.Thread):
    """Samples (evaluations so far, RSS) every ``period`` seconds."""

    def __init__(self, manager: GloMPOManager, period: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.manager = manager
        self.period = period
        self.samples: list[tuple[int, int, bool]] = []
        self.stop = threading.Event()
        self.ended = threading.Event()  # set when the last evaluation was made
        self.proc = psutil.Process()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((int(self.manager.f_counter), self.proc.memory_info().rss,
                                 self.ended.is_set()))
            time.sleep(self.period)

    def peak_upto(self, evals: int, *, after_end: bool = False) -> float:
        """Peak RSS in MB while at most ``evals`` evaluations were made (during the
        evaluations only, or also after them: summary, plots, close)."""
        vals = [rss for n, rss, end in self.samples if n <= evals and (after_end or not end)]
        return max(vals, default=0) / 2**20


def one_run(evals: int, jobs: int, summary_files: int, workdir: Path) -> dict[str, Any]:
    """Run once; return timings, memory and file size."""
    finished = Finished()
    plugins: list[tuple[str, Any]] = [("finished", finished)]
    timed = None
    if summary_files >= 3:
        timed = timed_logger_plugin()
        finished.logger_cls = timed.logger_cls
        plugins.append(("timed-hdf5", timed))
    pm = PluginManager(load_entrypoints=False, plugins=plugins)
    manager = GloMPOManager.new_manager(
        task=cheap, bounds=BOUNDS,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 100})),
        working_dir=workdir, max_jobs=jobs, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=evals), summary_files=summary_files,
        split_printstreams=False, seed=1, plugin_manager=pm)
    sampler = RssSampler(manager)
    finished.sampler = sampler
    sampler.start()
    t0 = time.perf_counter()
    manager.start_manager()
    t_end = time.perf_counter()
    sampler.stop.set()
    sampler.join()
    t_last = finished.t or t_end
    out: dict[str, Any] = {
        "summary_files": summary_files,
        "evaluations": manager.f_counter,
        "seconds_to_last_eval": t_last - t0,
        "seconds_total": t_end - t0,
        "evals_per_second": manager.f_counter / (t_last - t0),
        "peak_rss_mb_quarter": sampler.peak_upto(evals // 4),
        "peak_rss_mb_end": sampler.peak_upto(10**18),
        "peak_rss_mb_with_plots": sampler.peak_upto(10**18, after_end=True),
    }
    if timed is not None:
        cls = timed.logger_cls
        h5 = workdir / "glompo_log.h5"
        out.update({
            "flush_seconds": finished.flush_seconds,
            "flush_cpu_seconds": finished.flush_cpu_seconds,
            "flush_calls": cls.flush_calls,
            "flush_max_ms": cls.flush_max * 1e3,
            "close_seconds": cls.close_seconds,
            "logger_rows_per_second": manager.f_counter / max(finished.flush_seconds, 1e-9),
            "logger_rows_per_cpu_second": manager.f_counter
            / max(finished.flush_cpu_seconds, 1e-9),
            "file_mb": h5.stat().st_size / 2**20,
            "file_mb_per_million_rows": h5.stat().st_size / 2**20 * 1e6 / manager.f_counter,
        })
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evals", type=int, default=1_000_000, help="evaluations per run")
    parser.add_argument("--jobs", type=int, default=4, help="optimizers at once (max_jobs)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run without a log file")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:  # one run in this process; JSON on the last line of stdout
        with tempfile.TemporaryDirectory(prefix="glompo-bench-log-") as tmp:
            print(json.dumps(one_run(args.evals, args.jobs, args.one, Path(tmp) / "run")))
        return 0
    results = []
    for summary_files in (3,) if args.no_baseline else (3, 0):
        # each run in a fresh process, so the RSS of one does not include the other's
        proc = subprocess.run([sys.executable, __file__, "--evals", str(args.evals), "--jobs",
                               str(args.jobs), "--one", str(summary_files)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    log = results[0]
    print(f"{args.evals:,} evaluations of a 10-D function, RandomOptimizer(popsize=100), "
          f"threads, max_jobs={args.jobs}")
    print(f"{'':34}{'summary_files=3':>18}{'summary_files=0':>18}")
    rows = [("evaluations / s (to last eval)", "evals_per_second", "{:,.0f}"),
            ("seconds to last evaluation", "seconds_to_last_eval", "{:.2f}"),
            ("seconds incl. plots and close", "seconds_total", "{:.2f}"),
            (f"peak RSS MB at {args.evals // 4:,} evals", "peak_rss_mb_quarter", "{:.0f}"),
            (f"peak RSS MB at {args.evals:,} evals", "peak_rss_mb_end", "{:.0f}"),
            ("peak RSS MB incl. plots", "peak_rss_mb_with_plots", "{:.0f}")]
    for label, key, form in rows:
        cells = [form.format(r[key]) for r in results]
        print(f"{label:34}" + "".join(f"{c:>18}" for c in cells))
    print(f"logger's own write rate: {log['logger_rows_per_second']:,.0f} rows/s of flush() "
          f"wall time, {log['logger_rows_per_cpu_second']:,.0f} rows/s of its CPU time "
          f"({log['flush_seconds']:.2f} s wall, {log['flush_cpu_seconds']:.2f} s CPU in flush() "
          f"up to the last evaluation; {log['flush_calls']} calls, longest "
          f"{log['flush_max_ms']:.1f} ms)")
    print(f"file: {log['file_mb']:.1f} MB, {log['file_mb_per_million_rows']:.1f} MB per "
          f"million rows; close() (flush + compression) took {log['close_seconds']:.2f} s")
    if len(results) > 1:
        share = 1 - results[0]["evals_per_second"] / results[1]["evals_per_second"]
        print(f"throughput lost to the log: {share:.1%}")
    if args.json is not None:
        args.json.write_text(json.dumps({"evals": args.evals, "jobs": args.jobs,
                                         "runs": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
