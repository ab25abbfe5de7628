"""The installed distribution: entry point, registry, and the run file through the real CLI.

These tests need the plugin installed (``pip install ./examples/third-party-plugin``):
they check what a user gets, not the source tree.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import glompo_compass
import pytest
import yaml
from glompo_compass import CompassSearch, StallSeconds

from glompo_core.plugins import PluginManager, get_plugin_manager

tomllib = pytest.importorskip("tomllib")

HERE = Path(__file__).resolve().parents[1]
RUN_FILE = HERE / "compass.yml"
NOT_INSTALLED = ("glompo-compass is not installed: pip install ./examples/third-party-plugin "
                 "(from the repository root)")


def glompo_command() -> list[str]:
    """The ``glompo`` console script of this Python, as a user would type it."""
    script = shutil.which("glompo", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "glompo_core.cli"]


def test_the_distribution_declares_its_entry_point() -> None:
    try:
        dist = importlib.metadata.distribution("glompo-compass")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(NOT_INSTALLED)
    eps = {ep.name: ep.value for ep in dist.entry_points if ep.group == "glompo"}
    assert eps == {"compass": "glompo_compass.hooks"}
    project = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]
    assert project["version"] == dist.version == glompo_compass.__version__ == "0.1.0"
    assert project["entry-points"]["glompo"] == eps
    assert "glompo-core>=0.1,<0.2" in project["dependencies"]


#: What the plugin registers, by kind.
COMPONENTS = {"optimizer": ["CompassSearch"], "stopper": ["StallSeconds"],
              "generator": ["LatinHypercubeGenerator"], "logger": ["JSONLinesLogger"]}


def test_glompo_finds_the_plugin_and_its_components() -> None:
    # a fresh registry, as every new `glompo` process builds it; get_plugin_manager() is
    # the same thing, cached for the process (call get_plugin_manager.cache_clear() to see
    # a plugin installed after it was first built)
    for pm in (PluginManager(), get_plugin_manager()):
        info = {p.name: p for p in pm.plugins()}.get("compass")
        assert info is not None, NOT_INSTALLED
        assert (info.status, info.distribution, info.version) == ("active", "glompo-compass",
                                                                  "0.1.0")
        assert info.components == COMPONENTS
        assert pm.get("optimizer", "CompassSearch") is CompassSearch
        assert pm.get("optimizer", "compass") is CompassSearch  # the alias
        assert pm.get("stopper", "stallseconds") is StallSeconds  # names: any case
        summary = pm.info("stopper", "StallSeconds").summary or ""
        assert summary.startswith("Stop an optimizer whose best value has not improved")


def test_glompo_plugins_lists_it() -> None:
    proc = subprocess.run([*glompo_command(), "plugins", "--json"], capture_output=True,
                          text=True, timeout=120, check=True)
    plugins = {p["name"]: p for p in json.loads(proc.stdout)}
    assert plugins["compass"]["distribution"] == "glompo-compass"
    assert plugins["compass"]["components"] == COMPONENTS


def test_the_run_file_runs_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run([*glompo_command(), "run", str(RUN_FILE), "--no-progress",
                           "--set", f"working_dir={out}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "best fx:" in proc.stdout
    summary = yaml.safe_load((out / "glompo_manager_log.yml").read_text())
    settings = summary["Settings"]
    assert settings["Stoppers"] == "MinFuncCalls(min_pts=100) & StallSeconds(seconds=0.5, tol=0)"
    types = {opt["type"] for opt in settings["Optimizer Selector"]["Available Optimizers"]
             .values()}
    assert types == {"CompassSearch", "RandomOptimizer"}
    counters = summary["Counters"]
    assert counters["Function Evaluations"] >= 1000
    assert counters["Optimizers"]["Converged"] >= 1  # compass searches end by themselves
    assert counters["Optimizers"]["Crashed"] == 0
    # random searches never converge: StallSeconds (the only stopper) ends them
    assert counters["Optimizers"]["Stopped"] >= 1
    # the global minimum of Rastrigin is 0; restarted compass searches get close to it
    fx = summary["Solution"]["fx"]
    assert 0.0 <= fx < 5.0, fx
    assert all(-5.12 <= v <= 5.12 for v in summary["Solution"]["x"])
