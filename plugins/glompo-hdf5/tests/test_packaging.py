"""Registration, packaging and import weight of glompo-hdf5 (no file is written)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import glompo_hdf5
import glompo_hdf5.hooks
import pytest
from glompo_hdf5.filelogger import FileLogger

from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent("""
    import json, sys
    {code}
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("tables", "h5py",
                                                                         "matplotlib"))))
    """)


def _heavy_after(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "GLOMPO_DISABLE_PLUGINS"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_probe_sees_tables() -> None:
    assert "tables" in _heavy_after("import tables")


@pytest.mark.parametrize("code", [
    "import glompo_hdf5.hooks",
    "import glompo_hdf5",
    "import glompo_hdf5.filelogger",
    # registering (what every plugin manager does) imports the class, not PyTables
    "import glompo_hdf5.hooks\nfrom glompo_core.plugins import PluginManager\n"
    "PluginManager(load_entrypoints=False, plugins=[('hdf5', glompo_hdf5.hooks)])",
    "from glompo_hdf5.filelogger import FileLogger\nFileLogger(3, 100, False)",
    # the glompo command's parser, with glompo log (what every glompo invocation builds)
    "import glompo_hdf5.hooks\nfrom glompo_core.plugins import PluginManager\n"
    "from glompo_core.cli import build_parser\n"
    "build_parser(PluginManager(load_entrypoints=False, plugins=[('hdf5', glompo_hdf5.hooks)]))",
])
def test_importing_does_not_import_tables(code: str) -> None:
    assert _heavy_after(code) == []


def test_registered_as_filelogger_and_hdf5() -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("hdf5", glompo_hdf5.hooks)])
    assert pm.get("logger", "FileLogger") is FileLogger
    assert pm.get("logger", "hdf5") is FileLogger
    assert issubclass(FileLogger, BaseLogger)
    info = next(p for p in pm.plugins() if p.name == "hdf5")
    assert info.status == "active" and info.components == {"logger": ["FileLogger"]}


def test_hooks_module_holds_only_hookimpls() -> None:
    public = [n for n in vars(glompo_hdf5.hooks) if n.startswith("glompo_")]
    assert public == ["glompo_register_loggers", "glompo_register_commands"]
    assert glompo_hdf5.hooks.__all__ == ["glompo_register_commands", "glompo_register_loggers"]


def test_lazy_names_of_the_package() -> None:
    assert glompo_hdf5.FileLogger is FileLogger
    assert callable(glompo_hdf5.read_log) and callable(glompo_hdf5.summarize_log)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = glompo_hdf5.nope


def test_pyproject_declares_the_entry_point_and_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "glompo-hdf5"
    assert project["version"] == glompo_hdf5.__version__ == "0.1.0"
    assert project["entry-points"]["glompo"] == {"hdf5": "glompo_hdf5.hooks"}
    deps = project["dependencies"]
    assert "glompo-core>=0.1,<0.2" in deps
    assert any(d.startswith("tables>=3.8") for d in deps)
    assert any(d.startswith("numpy>=1.24") for d in deps)
    assert (ROOT / "glompo_hdf5" / "py.typed").exists()
    assert (ROOT / "README.md").exists()


def test_installed_entry_point_points_at_the_hooks() -> None:
    try:
        dist = importlib.metadata.distribution("glompo-hdf5")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("glompo-hdf5 is not installed (pip install -e plugins/glompo-hdf5)")
    eps = [ep for ep in dist.entry_points if ep.group == "glompo"]
    assert [(ep.name, ep.value) for ep in eps] == [("hdf5", "glompo_hdf5.hooks")]
