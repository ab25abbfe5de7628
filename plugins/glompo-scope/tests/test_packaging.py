"""glompo-scope as a plugin: its entry point, and a light ``hooks.py``."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

from glompo_core.plugins import PluginManager


def test_hooks_and_package_import_no_matplotlib() -> None:
    code = ("import json, sys, glompo_scope, glompo_scope.hooks\n"
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('matplotlib', 'imageio_ffmpeg'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(proc.stdout) == []


def test_the_entry_point_provides_the_visualisation() -> None:
    eps = [ep for ep in importlib.metadata.entry_points(group="glompo") if ep.name == "scope"]
    assert [ep.value for ep in eps] == ["glompo_scope.hooks"]
    pm = PluginManager(load_entrypoints=False, plugins=[("scope", eps[0].load())])
    assert pm.has_visualisation()
    scope = pm.create_visualisation(None, {"x_range": 50})
    assert type(scope).__name__ == "GloMPOScope" and scope.truncated == 50
    scope.close_fig()


def test_hooks_module_holds_only_the_hookimpl() -> None:
    import glompo_scope.hooks as hooks

    assert hooks.__all__ == ["glompo_create_visualisation"]
    assert importlib.metadata.version("glompo-scope") == "0.1.0"


def test_the_docstring_examples_run() -> None:
    import doctest

    import glompo_scope.scope

    failed, attempted = doctest.testmod(glompo_scope.scope, optionflags=doctest.ELLIPSIS)
    assert attempted > 0 and failed == 0
