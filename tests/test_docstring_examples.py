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
PENDING: dict[tuple[str, str], str] = {}


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


# --------------------------------------------- the reference, for readers of the repository

DOCS = ROOT / "docs"
INDEX = DOCS / "reference" / "README.md"
#: The pages a reader of the repository reads: their links must lead somewhere there.
DOC_PAGES = [*sorted((DOCS / "concepts").glob("*.md")), *sorted((DOCS / "guides").glob("*.md")),
             DOCS / "index.md", DOCS / "getting-started.md", INDEX]
_LINK = re.compile(r"\]\((?!https?://|mailto:)([^)\s]+)\)")
_FENCE = re.compile(r"^(\s*)```.*?^\1```", flags=re.M | re.S)


def _make_readme() -> Any:
    """``docs/reference/make_readme.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_readme", DOCS / "reference" /
                                                  "make_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_the_docs_links_resolve_in_the_repository(page: Path) -> None:
    sections = _make_readme().site_pages(INDEX.read_text(encoding="utf-8"))
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file: generated pages exist only on the site; "
                          "link to reference/README.md#<section> instead)")
        elif resolved == INDEX and page != INDEX and anchor and anchor not in sections:
            broken.append(f"{target} (no such section of docs/reference/README.md; it has "
                          f"{sorted(sections)})")
    assert broken == []


@pytest.mark.parametrize("page", DOC_PAGES[:-1], ids=lambda p: p.relative_to(DOCS).as_posix())
def test_the_docs_api_links_lead_somewhere_in_the_repository(page: Path) -> None:
    """``[name][glompo_core.x.Y]`` (mkdocs-autorefs on the site) needs a definition for
    GitHub: the block make_readme.py writes at the end of the page, up to date."""
    make_readme = _make_readme()
    text = page.read_text(encoding="utf-8")
    up = "../" * len(page.relative_to(DOCS).parts[:-1])
    assert make_readme.with_link_block(text, f"{up}reference/") == text, (
        "the page's link definitions are not up to date: run python "
        "docs/reference/make_readme.py")
    sections = make_readme.site_pages(INDEX.read_text(encoding="utf-8"))
    for identifier, section in re.findall(r"^\[(glompo_[\w.]+)\]: \S+README\.md#([\w-]+)$",
                                          text, flags=re.M):
        assert section in sections, identifier


def test_the_link_block_is_rewritten_not_appended_twice() -> None:
    make_readme = _make_readme()
    page = "See [`Result`][glompo_core.result.Result].\n"
    once = make_readme.with_link_block(page, "../reference/")
    assert once.endswith("[glompo_core.result.Result]: "
                         "../reference/README.md#minimizeresult-and-result\n")
    assert make_readme.with_link_block(once, "../reference/") == once
    assert make_readme.with_link_block("No API link.\n", "../reference/") == "No API link.\n"
    with pytest.raises(ValueError, match=re.escape("no section of docs/reference/README.md "
                                                   "for glompo_core.nowhere.Thing")):
        make_readme.with_link_block("[x][glompo_core.nowhere.Thing]\n", "")


def test_the_repository_index_covers_every_reference_page_and_component() -> None:
    make_readme = _make_readme()
    text = INDEX.read_text(encoding="utf-8")
    covered = set(make_readme.site_pages(text).values())
    pages = {page for _, page in make_readme.reference_nav()}
    assert len(pages) >= 15
    hint = "run python docs/reference/make_readme.py"
    assert sorted(pages - covered) == [], f"reference pages without a section: {hint}"
    missing = [f"{kind} {name}" for kind, name, _ in _components()
               if f"| `{name}` |" not in text]
    assert missing == [], f"components not in docs/reference/README.md: {hint}"
    from glompo_core import hookspecs

    hooks = [name for name in vars(hookspecs) if name.startswith("glompo_")
             and inspect.isfunction(getattr(hookspecs, name))]
    assert [h for h in hooks if f"| `{h}` |" not in text] == [], hint


def test_the_repository_index_maps_each_section_to_its_site_page() -> None:
    make_readme = _make_readme()
    readme = "# Top\n\nSite page: `index.md`.\n\n## Run-file keys\n\nSite page: `run-file.md`.\n"
    assert make_readme.site_pages(readme) == {"top": "index.md", "run-file-keys": "run-file.md"}
    assert make_readme.slug("MinimizeResult and Result") == "minimizeresult-and-result"
    assert make_readme.slug("Selectors and spawn controls") == "selectors-and-spawn-controls"


def test_the_plugin_guide_lists_every_hook_and_the_kits_entry_points() -> None:
    from glompo_core import hookspecs

    guide = (DOCS / "guides" / "writing-a-plugin.md").read_text(encoding="utf-8")
    hooks = [name for name in vars(hookspecs) if name.startswith("glompo_")
             and inspect.isfunction(getattr(hookspecs, name))]
    assert len(hooks) >= 20
    assert [h for h in hooks if f"`{h}" not in guide] == []
    entry_points = ("parametrize_with_checks", "check_optimizer", "ALL_CHECKS",
                    "parametrize_with_component_checks", "check_component", "COMPONENT_CHECKS")
    assert [e for e in entry_points if f"`{e}" not in guide] == []


_MARKDOWN = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md",
             *sorted((ROOT / "plugins").glob("*/README.md"))]


@pytest.mark.parametrize("page", [p for p in _MARKDOWN if ">>>" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_docs_interactive_examples_run(page: Path) -> None:
    # a code fence right after an expected output would be read as part of it
    text = re.sub(r"^[ \t]*```.*$", "", page.read_text(encoding="utf-8"), flags=re.M)
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures: list[str] = []
    result = runner.run(test, out=failures.append)
    assert result.attempted > 0 and result.failed == 0, "".join(failures)
