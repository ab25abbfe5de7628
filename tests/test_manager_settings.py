"""One table of run settings (glompo_core.settings) behind setup(), checkpoints, resume
overrides, run files and the summary."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from glompo_core import GloMPOManager, runfile
from glompo_core.benchmarks import Rastrigin
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import CycleSelector
from glompo_core.settings import (
    RunSettings,
    resume_overrides,
    run_file_settings,
    setting_infos,
    summary_entries,
)


def make(tmp_path: Path, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=Rastrigin(dims=3), bounds=None,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 4})),
        working_dir=tmp_path / "run", max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=300), split_printstreams=False, seed=3,
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=200))
    settings.update(kw)
    return GloMPOManager.new_manager(**settings)


def test_the_table_is_setups_signature() -> None:
    params = [p for p in inspect.signature(GloMPOManager.setup).parameters.values()
              if p.name not in ("self", "plugin_manager")]
    infos = list(setting_infos())
    assert [p.name for p in params] == [i.name for i in infos]
    for param, info in zip(params, infos):
        expected = dataclasses.MISSING if param.default is inspect.Parameter.empty \
            else param.default
        assert info.default == expected, info.name
        assert info.doc and info.annotation
    fields = {f.name for f in dataclasses.fields(RunSettings)}
    assert fields == {i.name for i in infos}


def test_checkpoints_run_files_and_resume_derive_from_the_table() -> None:
    infos = list(setting_infos())
    saved = set(GloMPOManager._STATE_ATTRS)
    assert {i.attr for i in infos if i.name != "task"} <= saved
    assert "task" not in saved  # saved apart (dill, or the task's own files)
    assert run_file_settings() == runfile._SETTINGS
    assert set(run_file_settings()) <= runfile.CORE_KEYS
    assert set(resume_overrides()) == {i.name for i in infos} - {"task", "bounds", "seed"}


def test_setup_sets_every_setting_checked(tmp_path: Path) -> None:
    with make(tmp_path, end_timeout=None, stopcheck_interval=7) as manager:
        for info in setting_infos():
            assert hasattr(manager, info.attr), info.name
        assert manager.end_timeout == float("inf")  # threads: no timeout at the end
        assert manager.stopcheck_interval == 7
        assert manager.working_dir == (tmp_path / "run").resolve()
        assert manager._backend_kwargs == {} and manager.visualisation_args == {}
    with pytest.raises(ValueError, match="stopcheck_interval"):
        make(tmp_path / "b", stopcheck_interval=0)


def test_the_summarys_settings_come_from_the_table(tmp_path: Path) -> None:
    manager = make(tmp_path, summary_files=1)
    manager.start_manager()
    data = yaml.safe_load((tmp_path / "run" / "glompo_manager_log.yml").read_text())
    settings = data["Settings"]
    assert list(settings) == [
        "x0 Generator", "Exit Conditions", "Stoppers", "Optimizer Selector",
        "Default Portfolio", "Max Jobs", "Backend", "Seed", "Share Best Solutions",
        "Stopcheck Interval", "Apply Stoppers to Best", "Is Log Detailed",
        "Force Terminations After", "End Timeout", "Summary Files", "Split Printstreams",
        "Bounds", "Checksum", "GloMPO Version"]
    values = {i.name: getattr(manager, i.attr) for i in setting_infos()}
    for _, label, value in summary_entries(values):
        assert settings[label] == value, label
    assert settings["Max Jobs"] == 1 and settings["Seed"] == 3


def test_resume_overrides_are_checked_by_the_same_rules(tmp_path: Path) -> None:
    manager = make(tmp_path)
    manager.start_manager()
    checkpoint = sorted(manager.checkpoint_history)[-1]
    with pytest.raises(ValueError, match="'seed' cannot be set"):
        GloMPOManager.load_manager(checkpoint, seed=4)
    with pytest.raises(ValueError, match="'hunt_counter' cannot be set"):
        GloMPOManager.load_manager(checkpoint, hunt_counter=0)  # state, not a setting
    with pytest.raises(ValueError, match="stopcheck_interval"):
        GloMPOManager.load_manager(checkpoint, stopcheck_interval=0)
    resumed = GloMPOManager.load_manager(
        checkpoint, working_dir=tmp_path / "more", exit_conditions="MaxFuncCalls(fmax=400)",
        force_terminations_after=30, x0_generator="RandomGenerator")
    with resumed:
        assert resumed.working_dir == (tmp_path / "more").resolve()
        assert resumed.allow_forced_terminations  # follows force_terminations_after
        assert type(resumed.x0_generator).__name__ == "RandomGenerator"
        assert resumed.exit_conditions is not None
        assert resumed.seed == 3 and resumed.max_jobs == 1  # kept
