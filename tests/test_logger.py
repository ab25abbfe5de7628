"""The in-memory evaluation history (BaseLogger)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glompo_core.optimizerlogger import METADATA_KEYS, BaseLogger, UnknownMetadataError


def put(log: BaseLogger, opt_id: int, start: int, fx: list[float]) -> None:
    k = len(fx)
    ids = np.arange(start, start + k)
    x = np.column_stack([ids, -ids]).astype(float)
    log.put_iteration(opt_id, ids, x, np.array(fx, dtype=float))


def test_history_best_and_counts() -> None:
    log = BaseLogger(2)
    log.add_optimizer(1, "A", 0.0)
    log.add_optimizer(2, "B", 0.0)
    put(log, 1, 1, [5.0, 3.0, float("nan"), 4.0])
    put(log, 2, 5, [7.0, 2.5])
    put(log, 1, 7, [1.0])
    assert len(log) == 7 and log.len(1) == 5 and log.len(2) == 2 and log.n_optimizers == 2
    np.testing.assert_array_equal(log.get_history(1, "call_id"), [1, 2, 3, 4, 7])
    np.testing.assert_array_equal(log.get_history(1, "fx_best"), [5, 3, 3, 3, 1])
    np.testing.assert_array_equal(log.get_history(1, "x")[1], [2.0, -2.0])
    best = log.get_best_iter()
    assert best["opt_id"] == 1 and best["fx"] == 1.0 and best["call_id"] == 7
    assert best["type"] == "A"
    np.testing.assert_array_equal(best["x"], [7.0, -7.0])
    assert log.best_iters[2]["fx"] == 2.5 and log.best_iters[2]["call_id"] == 6
    assert log.largest_eval == 7.0
    assert log.best_fx == 1.0


def test_non_finite_values_never_become_the_best() -> None:
    log = BaseLogger(2)
    log.add_optimizer(1, "A", 0.0)
    put(log, 1, 1, [float("inf"), float("nan")])
    assert log.get_best_iter(1)["fx"] == float("inf") and log.get_best_iter(1)["x"] is None
    assert log.largest_eval == -float("inf")
    put(log, 1, 3, [2.0])
    assert log.get_best_iter()["fx"] == 2.0


def test_window_keeps_memory_bounded_but_counts_everything() -> None:
    log = BaseLogger(2, window=50)
    log.add_optimizer(1, "A", 0.0)
    for i in range(1000):
        put(log, 1, 1 + 10 * i, list(np.linspace(100 - i * 0.01, 100 - i * 0.01, 10)))
    fx = log.get_history(1, "fx")
    assert len(fx) == 50 and log.len(1) == 10_000
    np.testing.assert_array_equal(log.get_history(1, "call_id"), np.arange(9951, 10_001))
    capacity = len(log._hist[1]._cols["fx"])
    assert capacity <= 4 * 50 + 10  # storage never grows with the evaluation count
    assert log.get_best_iter(1)["fx"] == pytest.approx(100 - 999 * 0.01)


def test_history_is_read_only() -> None:
    log = BaseLogger(2)
    log.add_optimizer(1, "A", 0.0)
    put(log, 1, 1, [1.0])
    with pytest.raises(ValueError):
        log.get_history(1, "fx")[0] = 5


def test_clear_cache_unless_plots_are_wanted() -> None:
    for plots, expected in ((False, 0), (True, 3)):
        log = BaseLogger(2, build_traj_plot=plots, window=1)
        log.add_optimizer(1, "A", 0.0)
        put(log, 1, 1, [1.0, 2.0, 3.0])
        log.clear_cache(1)
        assert len(log.get_history(1, "fx")) == expected
        assert log.len(1) == 3


def test_metadata_messages_errors() -> None:
    log = BaseLogger(2)
    log.add_optimizer(4, "A", 12.5)
    log.put_metadata(4, "end_cond", "converged")
    log.put_message(4, "hello")
    assert log.get_metadata(4, "t_start") == 12.5 and log.get_metadata(4, "end_cond") == "converged"
    assert log.get_messages(4) == ["hello"]
    assert log.get_history(4, "fx").shape == (0,)
    assert log.get_history(4, "x").shape == (0, 2)
    with pytest.raises(KeyError, match="no optimizer 9"):
        log.get_history(9, "fx")
    put(log, 4, 1, [1.0])
    with pytest.raises(KeyError, match="no column 'fy'"):
        log.get_history(4, "fy")


def test_metadata_keys_are_documented_and_a_wrong_key_names_them() -> None:
    log = BaseLogger(2)
    log.add_optimizer(1, "RandomOptimizer", 3.0)
    assert log.get_metadata(1, "type") == "RandomOptimizer"
    # the spec's argument is opt_type, the key is type: the error says so
    with pytest.raises(KeyError, match=r"no metadata 'opt_type'; did you mean 'type'\? "
                                        r"The keys the manager sets are 'opt_id', 'type', "
                                        r"'t_start', 'init_kwargs', 'x0', 'end_cond', 't_end', "
                                        r"'n_failed'") as info:
        log.get_metadata(1, "opt_type")
    assert isinstance(info.value, UnknownMetadataError)
    assert not str(info.value).startswith('"')  # read as written, not quoted as KeyError does
    with pytest.raises(UnknownMetadataError, match=r"no metadata 't_end' yet \(t_end: when it "
                                                   r"ended.*set when it ends\)"):
        log.get_metadata(1, "t_end")  # still running
    with pytest.raises(UnknownMetadataError, match=r"no optimizer 5 in the log; the log has "
                                                   r"optimizers \[1\]"):
        log.get_metadata(5, "type")
    log.put_metadata(1, "note", "added by a plugin")  # plugins may add keys of their own
    assert log.get_metadata(1, "note") == "added by a plugin"
    assert set(METADATA_KEYS) >= {"opt_id", "type", "t_start", "end_cond", "t_end"}


def test_the_manager_sets_every_documented_metadata_key(tmp_path: Path) -> None:
    from glompo_core import GloMPOManager
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector
    from tests.helpers import StepOptimizer, sphere

    manager = GloMPOManager.new_manager(
        task=sphere, bounds=[(-1.0, 1.0)] * 2, working_dir=tmp_path / "run", summary_files=0,
        opt_selector=CycleSelector((StepOptimizer, {"iters": 3})),
        exit_conditions=MaxFuncCalls(fmax=20), seed=1)
    manager.start_manager()
    for key in METADATA_KEYS:
        manager.opt_log.get_metadata(1, key)  # raises if the manager did not set it
    assert manager.opt_log.get_metadata(1, "type") == "StepOptimizer"


def test_extras_columns() -> None:
    log = BaseLogger(1)
    log.add_optimizer(1, "A", 0.0)
    log.add_iter_history(1, ["energy", "label"])
    log.put_iteration(1, np.array([1, 2]), np.array([[0.0], [1.0]]), np.array([0.0, 1.0]),
                      [[10.0, 11.0], ["a", "b"]])
    assert list(log.get_history(1, "label")) == ["a", "b"]
    assert log.extra_headers(1) == ["energy", "label"]


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    log = BaseLogger(2, window=10)
    log.add_optimizer(1, "A", 0.0)
    put(log, 1, 1, [3.0, 2.0])
    log.checkpoint_save(tmp_path)
    loaded = BaseLogger.checkpoint_load(tmp_path)
    assert loaded.len(1) == 2 and loaded.get_best_iter()["fx"] == 2.0
    put(loaded, 1, 3, [1.0])
    np.testing.assert_array_equal(loaded.get_history(1, "fx"), [3.0, 2.0, 1.0])
