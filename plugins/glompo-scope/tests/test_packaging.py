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


def test_the_error_and_the_movie_name_import_no_matplotlib() -> None:
    code = ("import json, sys\n"
            "from glompo_scope import MOVIE_NAME, ScopeError\n"
            "print(json.dumps([MOVIE_NAME, sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'matplotlib')]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(proc.stdout) == ["glompo_optimizer_scope.mp4", []]
    import glompo_scope
    import glompo_scope.scope

    assert glompo_scope.ScopeError is glompo_scope.scope.ScopeError
    assert glompo_scope.GloMPOScope is glompo_scope.scope.GloMPOScope


def test_modules_are_small_and_import_no_circle() -> None:
    """Each module of the package stays readable (< 500 lines), no module-level cycle."""
    import ast
    from pathlib import Path

    import glompo_scope

    package = Path(glompo_scope.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in sorted(package.glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) < 500, f"{path.name} has grown past 500 lines: split it"
        name = "glompo_scope" if path.stem == "__init__" else f"glompo_scope.{path.stem}"
        deps: set[str] = set()
        for node in ast.parse(text).body:  # module level (TYPE_CHECKING blocks excluded)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("glompo_scope"):
                if node.module == "glompo_scope":
                    deps |= {f"glompo_scope.{a.name}" for a in node.names}
                else:
                    deps.add(str(node.module))
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("glompo_scope")}
        graph[name] = deps - {name}
    assert len(graph) >= 8  # the split is in place

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and reaches(dep, goal, seen | {dep})):
                return True
        return False

    cycles = [m for m in graph if reaches(m, m, set())]
    assert not cycles, f"module-level import cycle through {cycles}"
