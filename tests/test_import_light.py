"""Importing glompo_core (and building the plugin registry) loads no heavy optional library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAVY = ("matplotlib", "tables", "cma", "scipy", "nevergrad", "dask", "distributed")

PROBE = textwrap.dedent("""
    import json, sys
    heavy = {heavy!r}
    {code}
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
    """)


def _loaded_after(code: str) -> list[str]:
    env = dict(os.environ)
    env.pop("GLOMPO_DISABLE_PLUGINS", None)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, code=code)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_probe_detects_a_heavy_import() -> None:
    """The check itself works: importing one of them is seen (skipped if none is installed)."""
    import importlib.util

    present = [m for m in HEAVY if importlib.util.find_spec(m) is not None]
    if not present:
        pytest.skip("none of the heavy libraries is installed")
    assert present[0] in _loaded_after(f"import {present[0]}")


@pytest.mark.parametrize("code", [
    "import glompo_core",
    "import glompo_core.plugins\nglompo_core.plugins.get_plugin_manager()",
    "from glompo_core.plugins import PluginManager\nPluginManager(load_entrypoints=False)",
    "import glompo_core.cli, glompo_core.runfile, glompo_core.expressions",
])
def test_import_is_light(code: str) -> None:
    assert _loaded_after(code) == []
