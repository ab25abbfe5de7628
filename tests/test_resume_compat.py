"""Checkpoints written by earlier versions of the core still resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from glompo_core import GloMPOManager
from glompo_core.checkpointing import read_manifest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def old_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint written before the manager was split into modules (commit 9fa5775).

    Rastrigin(dims=3), CycleSelector(RandomOptimizer(popsize=5, iters=40)), threads,
    max_jobs=1, MaxFuncCalls(fmax=400), seed=11: saved at 300 evaluations with the
    second optimizer paused mid-run.
    """
    target = tmp_path / "run" / "checkpoints"
    target.mkdir(parents=True)
    return Path(shutil.copy(DATA / "checkpoint_before_runsettings.tar.gz", target))


def test_a_checkpoint_of_the_unsplit_manager_resumes(old_checkpoint: Path) -> None:
    manifest = read_manifest(old_checkpoint)
    assert manifest["f_counter"] == 300
    run_dir = old_checkpoint.parent.parent
    manager = GloMPOManager.load_manager(old_checkpoint, working_dir=run_dir)
    assert manager.f_counter == 300 and manager.o_counter == 2
    assert manager.max_jobs == 1 and manager.backend == "threads" and manager.seed == 11
    assert str(manager.exit_conditions) == "MaxFuncCalls(fmax=400)"
    saved_t_used, saved_best = manager.t_used, manager.result.fx
    assert saved_t_used > 0 and saved_best < float("inf")
    result = manager.start_manager()
    assert result.stats["f_counter"] == 400
    assert result.stats["end_state"] == "normal"
    statuses = manager.optimizer_status()
    assert statuses[1] == "converged"  # ended before the checkpoint: its record came back
    assert set(statuses) >= {1, 2}
    assert result.stats["t_used"] >= saved_t_used
    assert result.fx <= saved_best  # the first session's best is kept


def _seconds(text: str) -> float:
    """Seconds of a ``str(timedelta)`` (``H:MM:SS[.ffffff]``) as the summary writes them."""
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_a_resumed_run_reports_one_elapsed_time(old_checkpoint: Path) -> None:
    """Result, status message / live table, summary file and log agree: t_used + session."""
    import yaml

    from glompo_core.status import status_dict

    run_dir = old_checkpoint.parent.parent
    manager = GloMPOManager.load_manager(old_checkpoint, working_dir=run_dir)
    before = manager.t_used
    assert status_dict(manager)["elapsed"] == before  # not started: the sessions before
    result = manager.start_manager()
    elapsed = result.stats["t_used"]
    assert elapsed == pytest.approx(before + result.stats["t_session"], abs=1e-9)
    assert result.stats["t_session"] > 0
    # the live table (status_dict) after the run: the same figure, not one still growing
    assert status_dict(manager)["elapsed"] == elapsed
    summary = yaml.safe_load((run_dir / "glompo_manager_log.yml").read_text())
    assert _seconds(summary["Assignment"]["Time"]["Total"]) == pytest.approx(elapsed, abs=1e-5)
    assert _seconds(summary["Assignment"]["Time"]["Session"]) == pytest.approx(
        result.stats["t_session"], abs=1e-5)
