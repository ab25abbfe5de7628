"""A killed run with CMA-ES and the HDF5 log resumes into the very run it would have been."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("glompo_cma")
pytest.importorskip("glompo_hdf5")
tables = pytest.importorskip("tables")

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from glompo_core import GloMPOManager, hookimpl
    from glompo_core.benchmarks import Rastrigin
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector
    from glompo_core.stoppers import BestUnmoving

    mode, workdir = sys.argv[1], sys.argv[2]
    N = 4000
    if mode == "resume":
        manager = GloMPOManager.load_manager(sys.argv[3])
    else:
        control = (CheckpointingControl(checkpoint_iter_frequency=N // 2,
                                        naming_format="half") if mode == "kill" else None)
        manager = GloMPOManager.new_manager(
            task=Rastrigin(dims=6), bounds=None,
            opt_selector=CycleSelector(("CMAOptimizer", {"sigma0": 1.5, "verbose": False,
                                                         "popsize": 10})),
            working_dir=workdir, max_jobs=1, backend="threads",
            stoppers=BestUnmoving(calls=300, tol=0.001), stopcheck_interval=50,
            exit_conditions=MaxFuncCalls(fmax=N), checkpoint_control=control, seed=21,
            summary_files=3)
        if mode == "kill":
            class Killer:
                @hookimpl
                def glompo_checkpoint_written(self, path):
                    os.kill(os.getpid(), signal.SIGKILL)

            manager._pm.add_observer(Killer(), "killer")
    result = manager.start_manager()
    print("RESULT", manager.f_counter, manager.o_counter, repr(result.fx),
          list(result.x), flush=True)
""")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})


def call_ids(path: Path) -> np.ndarray:
    with tables.open_file(str(path)) as h5:
        ids = [g.iter_history.col("call_id") for g in h5.root
               if g._v_name.startswith("optimizer_") and "iter_history" in g]
    return np.sort(np.concatenate(ids))


def test_sigkill_after_checkpoint_then_resume_equals_an_uninterrupted_run(tmp_path: Path
                                                                          ) -> None:
    plain = run(tmp_path, "plain", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    killed = run(tmp_path, "kill", str(tmp_path / "killed"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    checkpoint = tmp_path / "killed" / "checkpoints" / "half.tar.gz"
    assert checkpoint.exists()
    resumed = run(tmp_path, "resume", str(tmp_path / "killed"), str(checkpoint))
    assert resumed.returncode == 0, resumed.stderr
    expected = [ln for ln in plain.stdout.splitlines() if ln.startswith("RESULT")]
    got = [ln for ln in resumed.stdout.splitlines() if ln.startswith("RESULT")]
    assert expected and got == expected  # same f_counter, o_counter, fx and x
    f_counter = int(expected[0].split()[1])
    ids = call_ids(tmp_path / "killed" / "glompo_log.h5")
    np.testing.assert_array_equal(ids, np.arange(1, f_counter + 1))  # each once, no gap
    np.testing.assert_array_equal(call_ids(tmp_path / "plain" / "glompo_log.h5"), ids)
