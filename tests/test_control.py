"""RunControl: requests to a running manager from other threads, by plugins and by files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from glompo_core import GloMPOManager, hookimpl
from glompo_core.checkpointing import CheckpointingControl, read_manifest
from glompo_core.control import RunControl
from glompo_core.errors import EXIT_STATUS
from glompo_core.exit_conditions import MaxSeconds
from glompo_core.selectors import CycleSelector
from glompo_core.testing import HookRecorder
from tests.helpers import SleepySphere, plugin_manager


class FromAnotherThread:
    """A plugin that keeps the run's control and makes requests from threads of its own.

    ``on_start``/``on_stopped``/``on_checkpoint`` are called, in a new thread, with the
    control when an optimizer starts, is stopped, or a checkpoint is written; what they
    return is kept in ``answers``.
    """

    def __init__(self, on_start: Any = None, on_stopped: Any = None,
                 on_checkpoint: Any = None) -> None:
        self.control: RunControl | None = None
        self.on_start, self.on_stopped, self.on_checkpoint = on_start, on_stopped, on_checkpoint
        self.answers: list[Any] = []
        self.threads: list[threading.Thread] = []

    def _in_a_thread(self, action: Any, *args: Any) -> None:
        if action is None:
            return
        assert self.control is not None
        control = self.control

        def run() -> None:
            self.answers.append(action(control, *args))

        thread = threading.Thread(target=run)
        self.threads.append(thread)
        thread.start()

    @hookimpl
    def glompo_run_control(self, manager: Any, control: RunControl) -> None:
        self.control = control

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int) -> None:
        self._in_a_thread(self.on_start, opt_id)

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int, reason: str) -> None:
        self._in_a_thread(self.on_stopped, opt_id, reason)

    @hookimpl
    def glompo_checkpoint_written(self, path: str) -> None:
        self._in_a_thread(self.on_checkpoint, path)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()


def make(tmp_path: Path, plugin: Any, **kwargs: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=SleepySphere(0.001), bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=1, backend="threads",
        exit_conditions=MaxSeconds(session_max=120),  # a safety net: requests end the runs
        split_printstreams=False, seed=1, plugin_manager=plugin_manager(("test", plugin)))
    settings.update(kwargs)
    return GloMPOManager.new_manager(**settings)


def test_a_stop_from_another_thread_stops_the_optimizer_with_its_reason(
        tmp_path: Path) -> None:
    plugin = FromAnotherThread(
        on_start=lambda control, opt_id: control.stop_optimizer(opt_id, "dashboard: enough")
        if opt_id == 1 else None,
        on_stopped=lambda control, opt_id, reason: control.end_run("test over"))
    manager = make(tmp_path, plugin)
    result = manager.start_manager()
    plugin.join()
    assert plugin.answers[0] is True
    assert manager.optimizer_status()[1] == "stopped"
    assert 1 in manager.stopped_opts
    assert manager.opt_log.get_metadata(1, "end_cond") == "dashboard: enough"
    assert result.stats["exit_reason"] == "end of run requested (test over)"
    # ended optimizers and unknown IDs are refused
    assert manager.control.stop_optimizer(1) is False
    assert manager.control.stop_optimizer(999) is False


def test_stop_of_an_unknown_or_ended_optimizer_is_refused(tmp_path: Path) -> None:
    plugin = FromAnotherThread(
        on_start=lambda control, opt_id: (control.stop_optimizer(opt_id + 50),
                                          control.end_run("done")))
    manager = make(tmp_path, plugin)
    assert manager.control.stop_optimizer(1) is False  # nothing has started
    manager.start_manager()
    plugin.join()
    assert plugin.answers[0][0] is False
    assert manager.stopped_opts == {}
    with pytest.raises(TypeError, match="opt_id must be an int"):
        manager.control.stop_optimizer("1")  # type: ignore[arg-type]


def test_a_checkpoint_from_another_thread_is_written(tmp_path: Path) -> None:
    plugin = FromAnotherThread(
        on_start=lambda control, opt_id: control.checkpoint(),
        on_checkpoint=lambda control, path: control.end_run("checkpoint seen"))
    # no checkpoint_control: the defaults; the end of the run writes no checkpoint
    manager = make(tmp_path, plugin)
    manager.start_manager()
    plugin.join()
    written = sorted((tmp_path / "run" / "checkpoints").iterdir())
    assert len(written) == 1
    assert manager.checkpoint_history == {str(written[0])}
    assert read_manifest(written[0])["f_counter"] <= manager.f_counter


def test_end_run_ends_as_sigterm_with_a_final_checkpoint(tmp_path: Path) -> None:
    calls = threading.Event()

    class CountingSphere(SleepySphere):
        def __call__(self, x: Any) -> float:
            calls.set()
            return super().__call__(x)

    def end_when_evaluating(control: RunControl, opt_id: int) -> None:
        calls.wait()
        control.end_run("the dashboard's end button")

    plugin = FromAnotherThread(on_start=end_when_evaluating)
    manager = make(tmp_path, plugin, task=CountingSphere(0.001),
                   checkpoint_control=CheckpointingControl(naming_format="final"))
    result = manager.start_manager()
    plugin.join()
    assert result.stats["end_state"] == "SIGTERM"
    assert result.stats["exit_status"] == EXIT_STATUS["SIGTERM"] == 143
    assert manager.exit_reason == "end of run requested (the dashboard's end button)"
    manifest = read_manifest(tmp_path / "run" / "checkpoints" / "final.tar.gz")
    assert 0 < manifest["f_counter"] <= manager.f_counter
    assert [o["status"] for o in manifest["optimizers"]] == ["running"]  # kept for it
    assert manager.optimizer_status() == {1: "ended"}


def test_requests_do_not_wait_for_the_managers_lock(tmp_path: Path) -> None:
    plugin = FromAnotherThread()
    manager = make(tmp_path, plugin)
    done = threading.Event()

    def ask() -> None:
        manager.control.stop_optimizer(3)
        manager.control.checkpoint()
        manager.control.end_run()
        done.set()

    with manager._lock:  # held by this thread while another asks
        thread = threading.Thread(target=ask)
        thread.start()
        assert done.wait(30)
    thread.join()
    # queued before the run: carried out once it starts (the run ends at once)
    result = manager.start_manager()
    assert result.stats["end_state"] == "SIGTERM"
    assert manager.f_counter == 0


def test_a_plugin_receives_the_control_before_the_run_starts(tmp_path: Path) -> None:
    recorder = HookRecorder()
    ender = FromAnotherThread(on_start=lambda control, opt_id: control.end_run())
    manager = GloMPOManager.new_manager(
        task=SleepySphere(0.001), bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run",
        opt_selector=CycleSelector("RandomOptimizer"), max_jobs=1, backend="threads",
        exit_conditions=MaxSeconds(session_max=120), split_printstreams=False,
        plugin_manager=plugin_manager(("recorder", recorder), ("ender", ender)))
    manager.start_manager()
    ender.join()
    assert recorder.of("glompo_run_control") == [{"control": manager.control}]
    names = recorder.names()
    assert names.index("glompo_run_control") < names.index("glompo_run_started")
    assert isinstance(manager.control, RunControl)
    assert not hasattr(manager.view, "control")  # components stay read-only
