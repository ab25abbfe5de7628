"""The docstring examples of glompo-core and the first-party plugins run, and every public
component has one.

Every module of ``glompo_core`` and of each package in ``plugins/*/`` is found with
:func:`pkgutil.walk_packages` (private modules too: the public classes live in modules
such as ``glompo_core.stoppers._best_unmoving``), so a new module is included without
editing this file; its doctests run as a test of their own. A plugin that is not
installed is skipped, saying how to install it.

The components a user composes (every optimizer, stopper, exit condition, generator,
selector, spawn control, backend and logger registered by glompo-core or a first-party
plugin) must have a numpydoc ``Examples`` section with at least one ``>>>`` line, which
the doctests above then run. Benchmark tasks are left out: the catalogue documents
each function by its formula.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The kinds of component that must show an example (tasks: see the module docstring).
KINDS_WITH_EXAMPLES = ("optimizer", "stopper", "exit_condition", "generator", "selector",
                       "backend", "logger")

#: Components whose plugin is being split in another change; their examples come with it.
#: The test fails once one has an example, so that it is taken off this list.
PENDING: dict[tuple[str, str], str] = {
    ("logger", "FileLogger"): "glompo-hdf5 is being split into smaller modules",
}


def _plugin_packages() -> list[tuple[str, str]]:
    """(distribution folder, package name) of every first-party plugin in ``plugins/``."""
    found = []
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        for init in sorted(pyproject.parent.glob("*/__init__.py")):
            if init.parent.name != "tests":
                found.append((pyproject.parent.name, init.parent.name))
    return found


PACKAGES: list[tuple[str, str]] = [("glompo-core", "glompo_core"), *_plugin_packages()]


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _module_names() -> list[Any]:
    """One pytest parameter per module; a plugin not installed gives one skipped entry."""
    params: list[Any] = []
    for dist, package in PACKAGES:
        if not _installed(package):
            params.append(pytest.param(
                package, marks=pytest.mark.skip(
                    reason=f"{dist} is not installed (pip install -e ./plugins/{dist}); "
                           "its docstring examples are not run"),
                id=package))
            continue
        pkg = importlib.import_module(package)
        params.append(pytest.param(package, id=package))
        for info in pkgutil.walk_packages(pkg.__path__, package + "."):
            params.append(pytest.param(info.name, id=info.name))
    return params


def test_every_package_is_found() -> None:
    names = {package for _, package in PACKAGES}
    assert {"glompo_core", "glompo_cma", "glompo_scipy", "glompo_nevergrad"} <= names


@pytest.mark.parametrize("module_name", _module_names())
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    for test in finder.find(module, module_name):
        runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)


# --------------------------------------------------------------- every component has one

_EXAMPLES = re.compile(r"^Examples\n-{8,}\n(?P<body>.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)",
                       flags=re.M | re.S)


def has_runnable_example(obj: Any) -> bool:
    """Whether ``obj``'s own docstring has a numpydoc Examples section with a ``>>>`` line
    that runs (not marked ``doctest: +SKIP``)."""
    own = vars(obj).get("__doc__") if isinstance(obj, type) else None
    if not isinstance(own, str):
        return False
    doc = inspect.cleandoc(own)
    match = _EXAMPLES.search(doc)
    if match is None:
        return False
    return any(line.lstrip().startswith(">>>") and "+SKIP" not in line
               for line in match.group("body").splitlines())


def test_the_examples_check_tells_a_section_from_prose() -> None:
    class Runnable:
        """A thing.

        Examples
        --------
        >>> 1 + 1
        2
        """

    class Prose:
        """A thing.

        Examples
        --------
        ``Prose() | Other()`` combines them.
        """

    class Skipped:
        """A thing.

        Examples
        --------
        >>> launch()  # doctest: +SKIP
        """

    class Inherits(Runnable):
        pass

    assert has_runnable_example(Runnable)
    assert not has_runnable_example(Prose)
    assert not has_runnable_example(Skipped)
    assert not has_runnable_example(Inherits)  # its own docstring, not its parent's


def _components() -> list[tuple[str, str, Any]]:
    from glompo_core.plugins import PluginManager

    pm = PluginManager()  # with the installed plugins' entry points
    first_party = tuple(package for _, package in PACKAGES)
    found = []
    for kind in KINDS_WITH_EXAMPLES:
        for name in pm.names(kind):
            component = pm.get(kind, name)
            module = getattr(component, "__module__", "") or ""
            if module.split(".")[0] in first_party:
                found.append((kind, name, component))
    return found


def test_every_public_component_has_a_runnable_example() -> None:
    components = _components()
    kinds = {kind for kind, _, _ in components}
    assert {"optimizer", "stopper", "exit_condition", "generator", "selector",
            "backend"} <= kinds
    missing = sorted(f"{kind} {name} ({component.__module__})"
                     for kind, name, component in components
                     if (kind, name) not in PENDING and not has_runnable_example(component))
    assert missing == [], ("add a numpydoc 'Examples' section with a runnable example "
                           "(>>> lines: build it, combine it, call it on "
                           f"glompo_core.testing.FakeManagerView) to: {missing}")
    done = sorted(f"{kind} {name}" for kind, name, component in components
                  if (kind, name) in PENDING and has_runnable_example(component))
    assert done == [], f"{done} now have examples: take them off PENDING"


def test_the_base_classes_have_runnable_examples() -> None:
    from glompo_core.exit_conditions import BaseExitCondition
    from glompo_core.generators.basegenerator import BaseGenerator
    from glompo_core.selectors.baseselector import BaseSelector, SpawnControl
    from glompo_core.stoppers import BaseStopper

    missing = [cls.__name__ for cls in (BaseStopper, BaseExitCondition, BaseGenerator,
                                        BaseSelector, SpawnControl)
               if not has_runnable_example(cls)]
    assert missing == []
