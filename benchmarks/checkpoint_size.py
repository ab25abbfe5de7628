"""Size and time of a checkpoint of a run with 8 CMA-ES optimizers in 50-D.

    python -m benchmarks.checkpoint_size [--dims 50] [--optimizers 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from glompo_core import GloMPOManager, hookimpl
from glompo_core.benchmarks import Rastrigin
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import get_plugin_manager
from glompo_core.selectors import CycleSelector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, default=50)
    parser.add_argument("--optimizers", type=int, default=8)
    parser.add_argument("--evals", type=int, default=40_000)
    parser.add_argument("--summary-files", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    times: list[float] = []

    class Timer:
        @hookimpl
        def glompo_checkpoint_written(self, path: str) -> None:
            times.append(time.perf_counter())

    pm = get_plugin_manager()
    pm.add_observer(Timer(), "checkpoint-timer")
    with tempfile.TemporaryDirectory() as tmp:
        manager = GloMPOManager.new_manager(
            task=Rastrigin(dims=args.dims), bounds=None,
            opt_selector=CycleSelector(("CMAOptimizer", {"sigma0": 1.0, "verbose": False})),
            working_dir=Path(tmp), max_jobs=args.optimizers, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=args.evals), split_printstreams=False, seed=1,
            summary_files=args.summary_files,
            checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=args.evals // 2,
                                                    naming_format="c_%(count)"))
        original = manager.checkpoint
        durations: list[float] = []

        def timed() -> Any:
            t0 = time.perf_counter()
            out = original()
            durations.append(time.perf_counter() - t0)
            return out

        manager.checkpoint = timed  # type: ignore[method-assign]
        manager.start_manager()
        files = sorted((Path(tmp) / "checkpoints").glob("*.tar.gz"))
        sizes = [f.stat().st_size for f in files]
    pm.remove_observer("checkpoint-timer")
    row = {"dims": args.dims, "optimizers": args.optimizers, "checkpoints": len(files),
           "size_bytes": sizes, "seconds": durations}
    print(f"{'dims':>5}{'optimizers':>11}{'checkpoint':>11}{'size kB':>10}{'time s':>8}")
    for i, (size, dt) in enumerate(zip(sizes, durations), 1):
        print(f"{args.dims:>5}{args.optimizers:>11}{i:>11}{size / 1024:>10.1f}{dt:>8.3f}")
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
