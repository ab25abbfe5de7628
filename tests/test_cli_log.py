"""``glompo log summary FILE.h5``: the per-optimizer table of an HDF5 log.

``glompo log`` is glompo-hdf5's command, added through ``glompo_register_commands``; the
tests register the plugin's hooks in a registry of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import glompo_core.plugins
from glompo_core.cli import build_parser, main
from glompo_core.plugins import PluginManager


@pytest.fixture(autouse=True)
def with_hdf5(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """The CLI's registry: the built-ins and glompo-hdf5's hooks, no other entry point."""
    hooks = pytest.importorskip("glompo_hdf5.hooks")
    registry = PluginManager(load_entrypoints=False, plugins=[("hdf5", hooks)])
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    return registry


def write_log(path: Path) -> None:
    """A small log: optimizer 1 (3 rows, converged), optimizer 2 (1 row, NaN only)."""
    filelogger = pytest.importorskip("glompo_hdf5.filelogger")
    log = filelogger.FileLogger(2, 100, False, window=2)
    log.open(path, "w", "c0ffee")
    log.add_optimizer(1, "RandomOptimizer", 0.0)
    log.add_optimizer(2, "CMAOptimizer", 0.0)
    log.put_iteration(1, np.array([1, 2, 4]), np.zeros((3, 2)), np.array([5.0, 0.25, 3.0]))
    log.put_iteration(2, np.array([3]), np.zeros((1, 2)), np.array([np.nan]))
    log.put_metadata(1, "end_cond", "converged: [done]")
    log.close()


def test_summary_table(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    path = tmp_path / "glompo_log.h5"
    write_log(path)
    assert main(["log", "summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 evaluations" in out and "c0ffee" in out
    lines = [line for line in out.splitlines() if "Optimizer" in line]
    assert len(lines) == 2
    first, second = lines
    for cell in ("1", "RandomOptimizer", "3", "0.25", "2", "converged: [done]"):
        assert cell in first
    for cell in ("2", "CMAOptimizer", "1", "--"):
        assert cell in second
    assert "best: fx=0.25 (optimizer 1, call 2)" in out


def test_summary_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "glompo_log.h5"
    write_log(path)
    assert main(["log", "summary", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["evaluations"] == 4 and data["checksum"] == "c0ffee"
    assert data["best"] == {"opt_id": 1, "call_id": 2, "fx": 0.25}
    assert [(o["opt_id"], o["type"], o["evaluations"], o["best_fx"], o["end_cond"])
            for o in data["optimizers"]] == [(1, "RandomOptimizer", 3, 0.25, "converged: [done]"),
                                            (2, "CMAOptimizer", 1, None, None)]


def test_the_command_comes_from_the_plugin(with_hdf5: PluginManager) -> None:
    (log,) = [c for c in with_hdf5.commands() if c.name == "log"]
    assert (log.plugin, log.run.__module__) == ("hdf5", "glompo_hdf5.cli")
    assert {p.name: p.commands for p in with_hdf5.plugins()}["hdf5"] == ["log"]
    assert "log" in build_parser(with_hdf5).format_help()


def test_missing_plugin_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bare = PluginManager(load_entrypoints=False)  # glompo-hdf5 not installed
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: bare)
    assert "log" not in build_parser(bare).format_help()
    for argv in (["log", "summary", str(tmp_path / "glompo_log.h5")], ["log", "--help"],
                 ["log"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "'glompo log' is provided by the plugin glompo-hdf5, which is not installed" \
            in " ".join(err.split())
        assert "pip install glompo-hdf5" in err
        assert "pip install ./plugins/glompo-hdf5" in err


def test_disabled_plugin_says_so(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    registry = PluginManager(load_entrypoints=False)
    registry._plugins["hdf5"] = glompo_core.plugins.PluginInfo(
        "hdf5", "glompo-hdf5", "0.1.0", "disabled", "GLOMPO_DISABLE_PLUGINS")
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    assert main(["log", "summary", "x.h5"]) == 2
    assert ("'glompo log' is provided by glompo-hdf5, which is disabled: "
            "GLOMPO_DISABLE_PLUGINS") in " ".join(capsys.readouterr().err.split())


def test_missing_and_foreign_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("glompo_hdf5.reader")
    assert main(["log", "summary", str(tmp_path / "nope.h5")]) == 2
    assert "no log file" in capsys.readouterr().err
    other = tmp_path / "notes.h5"
    other.write_text("hello")
    assert main(["log", "summary", str(other)]) == 2
    assert "cannot be read as a GloMPO log" in capsys.readouterr().err


def test_log_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["log"])
    assert "glompo log" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["log", "--help"])
    assert "summary" in capsys.readouterr().out
