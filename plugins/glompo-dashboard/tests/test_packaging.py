"""Registration, packaging and import weight of glompo-dashboard."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import glompo_dashboard.hooks
from glompo_dashboard.server import STATIC, plotly_js

from glompo_core.plugins import PluginManager

PROBE = textwrap.dedent("""
    import json, sys
    {code}
    print(json.dumps(sorted(m for m in sys.modules
                            if m.split(".")[0] in ("starlette", "uvicorn", "plotly"))))
    """)


def _heavy_after(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "GLOMPO_DISABLE_PLUGINS"}
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_entry_point_is_the_hooks_module() -> None:
    (ep,) = [ep for ep in importlib.metadata.entry_points(group="glompo")
             if ep.name == "dashboard"]
    assert ep.value == "glompo_dashboard.hooks"
    assert ep.dist is not None and ep.dist.metadata["Name"] == "glompo-dashboard"


def test_loading_the_plugins_imports_no_web_library() -> None:
    # every glompo command loads the plugins: the dashboard must not slow them down
    assert _heavy_after("from glompo_core.plugins import get_plugin_manager; "
                        "get_plugin_manager()") == []
    assert _heavy_after("import glompo_dashboard") == []


def test_it_registers_a_run_option_and_a_command() -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("dashboard", glompo_dashboard.hooks)])
    (option,) = pm.run_options()
    assert (option.key, option.flag, option.plugin) == ("dashboard", "--dashboard", "dashboard")
    assert "dashboard" in [c.name for c in pm.commands()]


def test_the_page_files_are_installed() -> None:
    for name in ("index.html", "dashboard.js", "dashboard.css"):
        assert (STATIC / name).is_file(), name
    assert plotly_js().stat().st_size > 1_000_000
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"static/*"' in pyproject  # package data: the page ships in the wheel
