"""Tests of the selectors (which optimizer starts next) and the spawn controls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import pytest

from glompo_core.errors import UnknownComponentError
from glompo_core.hookspecs import hookimpl
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager
from glompo_core.protocols import ManagerView
from glompo_core.selectors import (
    BaseSelector,
    ChainSelector,
    CycleSelector,
    IterSpawnStop,
    NOptimizersSpawnStop,
    OptimizerSpec,
    RandomSelector,
    SpawnControl,
)
from glompo_core.testing import FakeManagerView
from tests.helpers import DummyA, DummyB, DummyC


class NotAnOptimizer:
    def minimize(self) -> None:
        return None


class _DummyPlugin:
    @hookimpl
    def glompo_register_optimizers(self, register: Callable[..., None]) -> None:
        register("DummyA", DummyA)
        register("DummyB", DummyB, aliases=("dummy-b",))


@pytest.fixture
def plugin_manager() -> PluginManager:
    return PluginManager(load_entrypoints=False, plugins=[("test-dummies", _DummyPlugin())])


def as_view(fake: FakeManagerView) -> ManagerView:
    """Type the fake as the protocol (its ``opt_log`` is typed ``BaseLogger | None``)."""
    return cast("ManagerView", fake)


def select(selector: BaseSelector, manager: FakeManagerView | None = None,
           slots: int = 100) -> OptimizerSpec | bool | None:
    manager = manager or FakeManagerView()
    log = manager.opt_log
    assert isinstance(log, BaseLogger)
    return selector.select_optimizer(as_view(manager), log, slots)


def cls_of(choice: OptimizerSpec | bool | None) -> type:
    assert isinstance(choice, tuple), f"expected an optimizer spec, got {choice!r}"
    return choice[0]


# -- CycleSelector ------------------------------------------------------------------------

def test_cycle_order() -> None:
    sel = CycleSelector(DummyA, DummyB, DummyC)
    assert [cls_of(select(sel)) for _ in range(7)] == [DummyA, DummyB, DummyC, DummyA,
                                                       DummyB, DummyC, DummyA]


def test_cycle_waits_for_slots_without_advancing() -> None:
    sel = CycleSelector(DummyA, (DummyB, {"workers": 3}, {}), DummyC)
    assert cls_of(select(sel, slots=2)) is DummyA
    assert select(sel, slots=2) is None
    assert select(sel, slots=1) is None  # still DummyB's turn
    choice = select(sel, slots=3)
    assert choice == (DummyB, {"workers": 3}, {})
    assert cls_of(select(sel, slots=1)) is DummyC
    assert cls_of(select(sel, slots=1)) is DummyA


def test_returned_kwargs_are_copies() -> None:
    sel = CycleSelector((DummyA, {"workers": 1}, {"maxiter": 3}))
    first = select(sel)
    assert isinstance(first, tuple)
    first[1]["workers"] = 99
    first[2].clear()
    assert select(sel) == (DummyA, {"workers": 1}, {"maxiter": 3})


# -- RandomSelector -----------------------------------------------------------------------

def test_random_selector_is_uniform_and_seeded() -> None:
    def draws(seed: int) -> list[type]:
        sel = RandomSelector(DummyA, DummyB, DummyC)
        sel.set_seed(seed)
        return [cls_of(select(sel)) for _ in range(3000)]

    first = draws(1)
    assert first == draws(1)
    assert first != draws(2)
    counts = Counter(first)
    assert set(counts) == {DummyA, DummyB, DummyC}
    assert all(850 < n < 1150 for n in counts.values()), counts


def test_random_selector_keeps_refused_proposal() -> None:
    sel = RandomSelector((DummyA, {"workers": 4}, {}), DummyB)
    sel.set_seed(0)
    refused = 0
    for _ in range(200):
        choice = select(sel, slots=1)
        if choice is None:
            refused += 1
            assert select(sel, slots=1) is None  # proposed again, not redrawn
            assert cls_of(select(sel, slots=4)) is DummyA
        else:
            assert cls_of(choice) is DummyB
    assert refused > 50


# -- ChainSelector ------------------------------------------------------------------------

@pytest.mark.parametrize(("f_counter", "expected"), [
    (0, DummyA), (9, DummyA), (10, DummyB), (19, DummyB), (20, DummyC), (10**6, DummyC),
])
def test_chain_switches_at_thresholds(f_counter: int, expected: type) -> None:
    sel = ChainSelector(DummyA, DummyB, DummyC, fcall_thresholds=[10, 20])
    assert cls_of(select(sel, FakeManagerView(f_counter=f_counter))) is expected


def test_chain_sequence_and_slots() -> None:
    sel = ChainSelector(DummyA, (DummyB, {"workers": 2}, {}), fcall_thresholds=[5])
    seen = [cls_of(select(sel, FakeManagerView(f_counter=f), slots=2)) for f in range(10)]
    assert seen == [DummyA] * 5 + [DummyB] * 5
    assert select(sel, FakeManagerView(f_counter=6), slots=1) is None


@pytest.mark.parametrize(("thresholds", "match"), [
    ([10], "one value fewer"),
    ([10, 20, 30], "one value fewer"),
    ([20, 10], "strictly increasing"),
    ([10, 10], "strictly increasing"),
    ([-1, 10], "finite numbers >= 0"),
    ([10, float("nan")], "finite numbers >= 0"),
    ([True, 10], "finite numbers >= 0"),
    ("10", "list of evaluation counts"),
])
def test_chain_validates_thresholds(thresholds: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        ChainSelector(DummyA, DummyB, DummyC, fcall_thresholds=thresholds)
    assert "fcall_thresholds" in str(info.value)


def test_chain_single_optimizer_needs_no_threshold() -> None:
    sel = ChainSelector(DummyA, fcall_thresholds=[])
    assert cls_of(select(sel, FakeManagerView(f_counter=10**9))) is DummyA


# -- spawn controls -----------------------------------------------------------------------

def test_iter_spawn_stop_ends_spawning_for_good() -> None:
    sel = CycleSelector(DummyA, allow_spawn=IterSpawnStop(max_calls=10))
    manager = FakeManagerView(f_counter=9)
    assert cls_of(select(sel, manager)) is DummyA
    manager.f_counter = 10
    assert select(sel, manager) is False
    manager.f_counter = 0  # even if the control would allow again
    assert select(sel, manager) is False
    assert select(sel, manager, slots=1000) is False


def test_n_optimizers_spawn_stop_ends_spawning_for_good() -> None:
    sel = RandomSelector(DummyA, DummyB, allow_spawn=[NOptimizersSpawnStop(max_opts=3)])
    manager = FakeManagerView()
    started = 0
    while (choice := select(sel, manager)) is not False:
        assert isinstance(choice, tuple)
        started += 1
        manager.o_counter += 1
        assert started <= 3
    assert started == 3
    manager.o_counter = 0
    assert select(sel, manager) is False


def test_all_spawn_controls_must_allow() -> None:
    sel = CycleSelector(DummyA, allow_spawn=[IterSpawnStop(100), NOptimizersSpawnStop(2)])
    assert cls_of(select(sel, FakeManagerView(f_counter=5, o_counter=1))) is DummyA
    assert select(sel, FakeManagerView(f_counter=5, o_counter=2)) is False


def test_spawn_controls_directly() -> None:
    stop = IterSpawnStop(max_calls=5)
    assert stop(as_view(FakeManagerView(f_counter=4))) is True
    assert stop(as_view(FakeManagerView(f_counter=5))) is False
    nstop = NOptimizersSpawnStop(max_opts=2)
    assert nstop(as_view(FakeManagerView(o_counter=1))) is True
    assert nstop(as_view(FakeManagerView(o_counter=2))) is False
    assert isinstance(stop, SpawnControl) and isinstance(nstop, SpawnControl)
    assert str(stop) == "IterSpawnStop(max_calls=5)"
    assert str(nstop) == "NOptimizersSpawnStop(max_opts=2)"


@pytest.mark.parametrize("value", [0, -3, 2.5, "10", True, None])
def test_spawn_controls_validate(value: Any) -> None:
    with pytest.raises(ValueError, match="max_calls must be an integer >= 1"):
        IterSpawnStop(value)
    with pytest.raises(ValueError, match="max_opts must be an integer >= 1"):
        NOptimizersSpawnStop(value)


# -- forms of the available optimizers ----------------------------------------------------

def test_run_file_and_tuple_forms() -> None:
    sel = CycleSelector(
        {DummyA: {"init": {"workers": 2}, "call": {"maxiter": 5}}},  # type: ignore[dict-item]
        (DummyB, {"workers": 1}, {"tol": 0.1}),
        (DummyC,),
        {DummyA: None},  # type: ignore[dict-item]
    )
    assert select(sel) == (DummyA, {"workers": 2}, {"maxiter": 5})
    assert select(sel) == (DummyB, {"workers": 1}, {"tol": 0.1})
    assert select(sel) == (DummyC, {}, {})
    assert select(sel) == (DummyA, {}, {})


def test_names_are_looked_up_in_the_registry(plugin_manager: PluginManager) -> None:
    sel = ChainSelector({"DummyA": {"init": {"workers": 2}}}, "dummy-b",
                        fcall_thresholds=[3], plugin_manager=plugin_manager)
    assert select(sel, FakeManagerView(f_counter=0)) == (DummyA, {"workers": 2}, {})
    assert select(sel, FakeManagerView(f_counter=3)) == (DummyB, {}, {})


def test_unknown_name_raises(plugin_manager: PluginManager) -> None:
    with pytest.raises(UnknownComponentError, match="NoSuchOptimizer"):
        CycleSelector("NoSuchOptimizer", plugin_manager=plugin_manager)
    with pytest.raises(UnknownComponentError, match="Did you mean 'DummyA'"):
        RandomSelector({"dumyA": {"init": {}}}, plugin_manager=plugin_manager)


def test_bad_optimizer_specifications() -> None:
    with pytest.raises(ValueError, match="at least one optimizer"):
        CycleSelector()
    with pytest.raises(TypeError, match="not an optimizer"):
        CycleSelector(NotAnOptimizer)
    with pytest.raises(ValueError, match="unknown key"):
        CycleSelector({DummyA: {"init": {}, "kwargs": {}}})  # type: ignore[dict-item]


def test_str_describes_settings() -> None:
    sel = CycleSelector(DummyA, (DummyB, {"workers": 2}, {}),
                        allow_spawn=IterSpawnStop(max_calls=10))
    assert str(sel) == ("CycleSelector(DummyA, DummyB(init={'workers': 2}), "
                        "allow_spawn=[IterSpawnStop(max_calls=10)])")
    assert str(RandomSelector(DummyA, DummyB)) == "RandomSelector(DummyA, DummyB)"
    chain = ChainSelector(DummyA, (DummyB, {}, {"tol": 1}), fcall_thresholds=[50])
    assert str(chain) == "ChainSelector(DummyA, DummyB(call={'tol': 1}), fcall_thresholds=[50])"


def test_all_lists_bases_then_components() -> None:
    import glompo_core.selectors as sels

    assert sels.__all__ == ["BaseSelector", "SpawnControl", "OptimizerSpec", "CycleSelector",
                            "RandomSelector", "ChainSelector", "AdaptiveSelector",
                            "IterSpawnStop", "NOptimizersSpawnStop"]
