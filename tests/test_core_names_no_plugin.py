"""The core names no plugin: ``glompo_core`` imports no plugin module and, outside an
explicit allow-list, spells no plugin-specific name.

Every module of ``glompo_core`` is parsed (``ast``; nothing is imported) and searched for

- imports of a first-party plugin package (``glompo_cma``, ``glompo_hdf5``, ...);
- string constants (docstrings excepted: documentation may point to plugins) holding a
  plugin package or distribution name, a plugin component's class name, or a file name a
  plugin writes (``glompo_log.h5``, the scope's movie);
- identifiers equal to a plugin component's class name;
- probes of a component for a plugin's methods by name (``getattr(x, "open")``).

What remains is in :data:`ALLOWED`, each with why. The test fails on any finding not
listed there, so the list never grows unnoticed; a listed one that is gone is a warning
(remove it from the list), so that the list shrinks as the manager's split lands.
"""

from __future__ import annotations

import ast
import importlib.util
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import glompo_core

CORE = Path(glompo_core.__file__).parent

#: Packages of the first-party plugin distributions.
PLUGIN_PACKAGES = ("glompo_cma", "glompo_hdf5", "glompo_scope", "glompo_dask", "glompo_scipy",
                   "glompo_nevergrad", "glompo_dashboard")
#: Distribution names (``glompo-hdf5``), for install hints and messages.
PLUGIN_DISTRIBUTIONS = tuple(p.replace("_", "-") for p in PLUGIN_PACKAGES)
#: Class names of components the first-party plugins register (checked against their
#: hooks by test_the_component_names_are_complete).
PLUGIN_CLASSES = ("CMAOptimizer", "CMAPopulationSelector", "FileLogger", "GloMPOScope",
                  "DaskBackend", "ScipyOptimizer", "DifferentialEvolution", "DualAnnealing",
                  "NevergradOptimizer", "NGOpt", "NelderMead", "Powell", "COBYLA", "COBYQA",
                  "LBFGSB", "SLSQP", "TNC", "TrustConstr")
#: Files that plugins write into a run's directory.
PLUGIN_FILES = ("glompo_log.h5", "glompo_optimizer_scope.mp4")
#: Methods of a plugin's component that the core must not probe for by name.
PLUGIN_METHODS = ("open", "truncate_after")

SUBSTRINGS = (*PLUGIN_PACKAGES, *PLUGIN_DISTRIBUTIONS, *PLUGIN_CLASSES, *PLUGIN_FILES)

#: (module, what) -> why it is still there. Remove an entry when its reason goes.
ALLOWED: dict[tuple[str, str], str] = {
    # -- install hints: which distribution provides a name that is not installed, and the
    #    command that installs it from a clone. Tables of names, never imports.
    **{("_install.py", dist): "install_hint: the path of each distribution in a clone"
       for dist in PLUGIN_DISTRIBUTIONS},
    **{("plugins.py", name): "_FIRST_PARTY_COMPONENTS / FIRST_PARTY_COMMANDS: the plugin "
                             "to install for a name that is not registered"
       for name in ("CMAOptimizer", "ScipyOptimizer", "DifferentialEvolution", "DualAnnealing",
                    "NevergradOptimizer", "NGOpt", "FileLogger", "GloMPOScope", "glompo-cma",
                    "glompo-scipy", "glompo-nevergrad", "glompo-hdf5", "glompo-scope",
                    "glompo-dask", "glompo-dashboard")},
    ("runfile.py", "glompo-scope"): "'visualisation:' in a run file without a plugin that "
                                    "draws: the install hint",
    **{("_portfolio.py", dist): "a run file without opt_selector when no plugin gives a "
                                "default portfolio: the command installing the plugins of "
                                "the first-party default"
       for dist in ("glompo-cma", "glompo-scipy")},
    ("selectors/baseselector.py", "CMAOptimizer"): "an example in the error message of a "
                                                   "malformed optimizer entry",
    ("testing/_loggers.py", "getattr:open"): "the logger conformance kit checks open() of "
                                             "loggers that have one (the spec's "
                                             "open(path, mode, checksum))",
    # -- install hints of the visualisation and of the HDF5 log (the manager opens the
    #    file its logger names, and summary_files=3 finds the logger that names one)
    ("settings.py", "glompo-scope"): "visualisation=True without a plugin that draws: the "
                                     "install hint",
    ("_setup_checks.py", "glompo-hdf5"): "summary_files=3 without glompo-hdf5: the install "
                                         "hint",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def findings(source: str) -> Iterator[str]:
    """What in ``source`` names a plugin (one item per kind and name, per occurrence)."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PLUGIN_PACKAGES:
                    yield f"import:{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PLUGIN_PACKAGES:
                yield f"import:{node.module}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docs:
            yield from (token for token in SUBSTRINGS if token in node.value)
        elif isinstance(node, (ast.Name, ast.Attribute, ast.ClassDef, ast.FunctionDef,
                               ast.alias, ast.keyword)):
            name = (node.id if isinstance(node, ast.Name) else
                    node.attr if isinstance(node, ast.Attribute) else
                    node.arg if isinstance(node, ast.keyword) else
                    (node.asname or node.name) if isinstance(node, ast.alias) else node.name)
            if name in PLUGIN_CLASSES:
                yield f"name:{name}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2 \
                and isinstance(node.args[1], ast.Constant) and node.args[1].value in PLUGIN_METHODS:
            yield f"getattr:{node.args[1].value}"


def core_findings() -> dict[tuple[str, str], int]:
    """(module path relative to glompo_core, what) -> occurrences, over every module."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted(CORE.rglob("*.py")):
        module = path.relative_to(CORE).as_posix()
        for item in findings(path.read_text(encoding="utf-8")):
            key = (module, item.removeprefix("name:"))
            found[key] = found.get(key, 0) + 1
    return found


def test_the_scanner_sees_each_kind_of_finding() -> None:
    source = '''
"""Docstrings may say FileLogger and glompo_log.h5."""
import glompo_hdf5.reader
from glompo_scope import GloMPOScope
from glompo_core import plugins
name = "the FileLogger writes glompo_log.h5"
opener = getattr(log, "open", None)
hint = f"pip install glompo-dask for {backend}"
'''
    assert sorted(findings(source)) == sorted([
        "import:glompo_hdf5.reader", "import:glompo_scope", "name:GloMPOScope", "FileLogger",
        "glompo_log.h5", "getattr:open", "glompo-dask"])


def test_glompo_core_imports_no_plugin_module() -> None:
    imports = sorted(f"{module}: {what}" for (module, what), _ in core_findings().items()
                     if what.startswith("import:"))
    assert imports == [], "glompo_core imports plugin modules:\n" + "\n".join(imports)


def test_plugin_names_in_the_core_are_only_the_allowed_ones() -> None:
    found = {key for key in core_findings() if not key[1].startswith("import:")}
    new = sorted(found - set(ALLOWED))
    assert not new, ("glompo_core names a plugin (give the plugin a hook or the protocol an "
                     "attribute instead; if it must stay, add it to ALLOWED with why):\n"
                     + "\n".join(f"  {m}: {w}" for m, w in new))
    gone = sorted(set(ALLOWED) - found)
    if gone:  # not an error: others may be moving these right now; the list should shrink
        warnings.warn("no longer in glompo_core, remove from ALLOWED in "
                      f"{Path(__file__).name}: " + "; ".join(f"{m}: {w}" for m, w in gone),
                      UserWarning, stacklevel=1)


def test_the_component_names_are_complete() -> None:
    """Every class a first-party plugin registers (where installed) is in PLUGIN_CLASSES."""
    from glompo_core.plugins import KINDS, PluginManager

    hooks = [(package, f"{package}.hooks") for package in PLUGIN_PACKAGES
             if importlib.util.find_spec(package) is not None]
    if not hooks:
        pytest.skip("no first-party plugin is installed")
    pm = PluginManager(load_entrypoints=False, plugins=[(p.removeprefix("glompo_"), m)
                                                        for p, m in hooks])
    registered = {getattr(pm.get(kind, name), "__name__", name)
                  for info in pm.plugins() if info.name != "builtin"
                  for kind in KINDS for name in info.components.get(kind, [])}
    missing = sorted(name for name in registered if name not in PLUGIN_CLASSES
                     and name[0].isupper())
    assert not missing, f"add to PLUGIN_CLASSES: {missing}"
