"""Repository-wide checks: lint, types, one version for every distribution."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import glompo_core

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]')")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_is_clean() -> None:
    proc = _run("ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    """The core, every first-party plugin, the third-party example and the benchmarks."""
    packages = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/glompo_*")
                      if p.is_dir() and (p / "__init__.py").exists())
    assert len(packages) >= 6, packages
    example = "examples/third-party-plugin/glompo_compass"
    proc = _run("mypy", "glompo_core", *packages, example, "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_distribution_shares_one_version() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    version = root["project"]["version"]
    assert version == glompo_core.__version__
    major, minor = version.split(".")[:2]
    for path in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        project = tomllib.loads(path.read_text())["project"]
        assert project["version"] == version, path
        core = [d for d in project["dependencies"] if re.match(r"glompo-core\b", d)]
        assert core == [f"glompo-core>={major}.{minor},<{major}.{int(minor) + 1}"], path
        assert "glompo" in project.get("entry-points", {}), f"{path}: no 'glompo' entry point"
