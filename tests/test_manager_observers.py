"""GloMPOManager.add_observer: a run-scoped observer, registered at once, removed at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glompo_core import GloMPOManager, hookimpl
from glompo_core.errors import GloMPOError
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from tests.helpers import Recorder, plugin_manager, sphere


def make(tmp_path: Path, pm: PluginManager, fmax: int = 200) -> GloMPOManager:
    return GloMPOManager.new_manager(
        task=sphere, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=fmax), split_printstreams=False, seed=1,
        plugin_manager=pm)


def observed(tmp_path: Path) -> tuple[PluginManager, GloMPOManager, Recorder]:
    """A long run's plugin manager and manager, with a Recorder observing it."""
    pm = plugin_manager()
    manager = make(tmp_path, pm, fmax=10**6)
    recorder = Recorder()
    manager.add_observer(recorder, "recorder")
    return pm, manager, recorder


class Batches:
    """Counts the batches it hears of (the one hook the Recorder-free tests listen to)."""

    def __init__(self) -> None:
        self.batches = 0

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: Any, x: Any, fx: Any) -> None:
        self.batches += 1


def test_an_observer_hears_the_whole_run_and_is_removed_after_it(tmp_path: Path) -> None:
    pm = plugin_manager()
    assert not pm.has_listeners("glompo_run_finished")
    manager = make(tmp_path, pm)
    recorder = Recorder()
    manager.add_observer(recorder, "recorder")
    assert pm.has_listeners("glompo_run_finished")  # at once, before start_manager
    manager.start_manager()
    names = recorder.names()
    assert names[0] == "run_started" and names[-1] == "run_finished" and "batch" in names
    assert not pm.has_listeners("glompo_run_finished")
    pm.add_observer(recorder, "recorder")  # the name is free again
    pm.remove_observer("recorder")


def test_the_default_name_and_two_observers(tmp_path: Path) -> None:
    pm = plugin_manager()
    manager = make(tmp_path, pm)
    first, second = Batches(), Batches()
    manager.add_observer(first)
    manager.add_observer(second)  # each object has a name of its own
    manager.start_manager()
    assert first.batches > 0 and first.batches == second.batches
    assert not pm.has_listeners("glompo_iteration_batch")


def test_removed_after_an_error_in_the_manager(tmp_path: Path) -> None:
    pm, manager, recorder = observed(tmp_path)
    steps = 0
    real_step = manager._loop_step

    def failing_step() -> bool:
        nonlocal steps
        steps += 1
        if steps == 3:
            raise RuntimeError("broken loop")
        return real_step()

    manager._loop_step = failing_step  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="broken loop"):
        manager.start_manager()
    assert recorder.names()[-1] == "run_finished"  # told of the end, then removed
    assert not pm.has_listeners("glompo_run_finished")


def test_removed_after_an_interrupt(tmp_path: Path) -> None:
    pm, manager, recorder = observed(tmp_path)

    def interrupted() -> bool:
        raise KeyboardInterrupt

    manager._loop_step = interrupted  # type: ignore[method-assign]
    result = manager.start_manager()
    assert result.stats["end_state"] == "SIGINT"
    assert recorder.names()[-1] == "run_finished"
    assert not pm.has_listeners("glompo_run_finished")


def test_bad_uses_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GloMPOError, match=r"call setup\(\) .* before add_observer\(\)"):
        GloMPOManager().add_observer(Recorder())
    pm = plugin_manager()
    manager = make(tmp_path, pm)
    manager.add_observer(Recorder(), "recorder")
    with pytest.raises(ValueError, match=r"'recorder' .* already registered"):
        manager.add_observer(Recorder(), "recorder")
    manager.start_manager()
    with pytest.raises(GloMPOError, match="run has started"):
        manager.add_observer(Recorder(), "late")
    assert not pm.has_listeners("glompo_run_started")  # the refused one is not registered
