"""The manager's event queue: typed events, hooks fired in order and in bulk, wake-ups."""

from __future__ import annotations

import threading
from pathlib import Path

from glompo_core import GloMPOManager, hookimpl
from glompo_core._events import EventQueue, HookEvent, Wake
from glompo_core.benchmarks import Rastrigin
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector


def fired_by(events: EventQueue, **drain: float | None) -> list[HookEvent]:
    fired: list[HookEvent] = []
    events.drain(fired.append, **drain)  # type: ignore[arg-type]
    return fired


def test_hooks_are_fired_in_the_order_put_and_wake_ups_are_not_fired() -> None:
    events = EventQueue()
    events.hook("glompo_optimizer_started", opt_id=1)
    events.wake(Wake.OPTIMIZER_ENDED)
    events.hook("glompo_optimizer_stopped", opt_id=1, reason="why")
    fired = fired_by(events, timeout=0)
    assert fired == [HookEvent("glompo_optimizer_started", {"opt_id": 1}),
                     HookEvent("glompo_optimizer_stopped", {"opt_id": 1, "reason": "why"})]
    assert events.empty()


def test_an_empty_queue_fires_nothing() -> None:
    assert fired_by(EventQueue(), timeout=0) == []


def test_a_budget_leaves_the_rest_for_the_next_call() -> None:
    """Slow observers never hold the manager's thread past the budget: what is left is
    fired by the next call, in order."""
    events = EventQueue()
    for i in range(3):
        events.hook("glompo_iteration_batch", opt_id=i)
    first = fired_by(events, timeout=0, budget=-1.0)  # over budget after the first
    rest = fired_by(events, timeout=0, budget=None)
    assert [e.kwargs["opt_id"] for e in first] == [0]
    assert [e.kwargs["opt_id"] for e in rest] == [1, 2]


def test_a_waiting_drain_is_woken_by_a_wake_up_from_another_thread() -> None:
    events = EventQueue()
    taken: list[int] = []
    thread = threading.Thread(target=lambda: taken.append(
        events.drain(lambda e: None, timeout=3600.0)))
    thread.start()
    events.wake(Wake.OPTIMIZER_ENDED)
    thread.join(60)  # liveness only: without the wake-up this call would wait an hour
    assert taken == [1] and events.empty()


class CountingBatches:
    """Counts the batches it is told of."""

    def __init__(self) -> None:
        self.batches = 0

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int) -> None:
        self.batches += 1


def test_a_run_tells_a_listener_of_every_batch(tmp_path: Path) -> None:
    manager = GloMPOManager.new_manager(
        task=Rastrigin(dims=2), bounds=None, working_dir=str(tmp_path), backend="threads",
        max_jobs=2, plugin_manager=PluginManager(load_entrypoints=False),
        exit_conditions=MaxFuncCalls(fmax=600),
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1, "iters": 10_000})),
        split_printstreams=False, seed=1)
    listener = CountingBatches()
    manager.add_observer(listener, "counting")
    manager.start_manager()
    assert manager.f_counter == 600
    assert listener.batches == 600  # popsize 1: one batch per evaluation, none lost
