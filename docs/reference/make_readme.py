"""Write ``docs/reference/README.md``: the reference, for a reader of the repository.

The reference pages of the documentation site are generated when the site is built
(``docs/gen_pages.py``) and are not files of the repository. This script writes the
index a reader of the repository (on GitHub, without a built site) follows instead: one
section per generated page of the site (the ``Reference`` part of ``mkdocs.yml``'s
navigation), saying which page it is and linking to the source it is generated from,
then every module of glompo-core and of the first-party plugins with its first
docstring line.

Each section carries a line ``Site page: `<page>` `` that ``docs/gen_pages.py`` reads:
on the site, a link to ``reference/README.md#<section>`` becomes a link to that page.
Guides and concept pages therefore link to this index, and both readers land in the
right place.

It also ends each hand-written page with the definitions that make its
``[name][glompo_core.x.Y]`` links (resolved by mkdocs-autorefs on the site) lead to the
right section here for a reader of the repository.

Run it after adding a module, a component, a reference page or an API link (a test says
when)::

    python docs/reference/make_readme.py
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: kind -> (title of the nav entry, what a component of the kind is)
KINDS: dict[str, tuple[str, str]] = {
    "optimizer": ("Optimizers", "child optimizers, each running its own loop in a thread"),
    "stopper": ("Stoppers", "conditions under which the manager stops one optimizer"),
    "exit_condition": ("Exit conditions", "conditions under which the whole run ends"),
    "generator": ("Generators", "where each new optimizer starts"),
    "selector": ("Selectors and spawn controls",
                 "which optimizer starts next, and when starting ends"),
    "logger": ("Loggers", "the run's evaluation history"),
    "backend": ("Backends", "where the function evaluations run"),
    "task": ("Benchmark tasks", "test functions usable by name in run files"),
}

#: Site pages that are not component pages: nav title -> (sources, what the page shows).
OTHER_PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "Hooks": (("glompo_core/hookspecs.py",),
              "every hook a plugin implements, from the docstrings of the hook "
              "specifications"),
    "Command line": (("glompo_core/cli.py", "plugins/glompo-hdf5/glompo_hdf5/cli.py"),
                     "the help of `glompo` and of every subcommand (run `glompo --help`, "
                     "`glompo COMMAND --help`); plugins add commands through "
                     "`glompo_register_commands`"),
    "Run-file keys": (("glompo_core/runfile.py", "glompo_core/manager.py"),
                      "every key of a run file, its default and meaning (the run-file "
                      "table of `runfile.py`, the meanings from `GloMPOManager.setup`)"),
    "GloMPOManager": (("glompo_core/manager.py",),
                      "set up a run, start it, checkpoint it, resume it"),
    "BaseOptimizer": (("glompo_core/optimizers/baseoptimizer.py",),
                      "the base class of child optimizers and the messages they exchange "
                      "with the manager"),
    "MinimizeResult and Result": (("glompo_core/result.py",),
                                  "what `minimize` and `start_manager` return"),
    "BaseLogger": (("glompo_core/optimizerlogger.py",),
                   "the in-memory evaluation history read by stoppers, generators and "
                   "selectors"),
    "Budgets": (("glompo_core/budget.py",),
                "the run's evaluation budget shared among its optimizers"),
    "CheckpointingControl": (("glompo_core/checkpointing.py",),
                             "when and where checkpoints are written, and their format"),
    "Conformance kit": (("glompo_core/testing/__init__.py",),
                        "the test harness and the conformance checks of every component "
                        "kind (`parametrize_with_checks`, `parametrize_with_component_checks`, "
                        "`check_optimizer`, `check_component`)"),
    "Plugin manager": (("glompo_core/plugins.py", "glompo_core/protocols.py",
                        "glompo_core/errors.py"),
                       "the registry of named components, the loading of plugins, the "
                       "structural types a plugin can implement, GloMPO's errors"),
    "First-party plugins": (("plugins/",), "the README of every first-party plugin"),
}


#: Module (or package) of an API object -> the section of this index it belongs to.
SECTION_OF_MODULE: dict[str, str] = {
    "glompo_core.backends": "backends",
    "glompo_core.budget": "budgets",
    "glompo_core.checkpointing": "checkpointingcontrol",
    "glompo_core.errors": "plugin-manager",
    "glompo_core.exit_conditions": "exit-conditions",
    "glompo_core.generators": "generators",
    "glompo_core.hookspecs": "hooks",
    "glompo_core.manager": "glompomanager",
    "glompo_core.optimizerlogger": "baselogger",
    "glompo_core.optimizers": "optimizers",
    "glompo_core.optimizers.baseoptimizer": "baseoptimizer",
    "glompo_core.plugins": "plugin-manager",
    "glompo_core.protocols": "plugin-manager",
    "glompo_core.result": "minimizeresult-and-result",
    "glompo_core.runfile": "run-file-keys",
    "glompo_core.selectors": "selectors-and-spawn-controls",
    "glompo_core.stoppers": "stoppers",
    "glompo_core.testing": "conformance-kit",
}
#: First line of the block of link definitions at the end of a page (see :func:`with_link_block`).
LINK_BLOCK = ("<!-- Where the API names above lead a reader of the repository (written by "
              "docs/reference/make_readme.py; on the site they lead to the API pages). -->")
_AUTOREF = re.compile(r"\]\[(glompo_\w+(?:\.\w+)+)\]")


def section_of(identifier: str) -> str | None:
    """The section of this index documenting ``identifier`` (longest module prefix)."""
    parts = identifier.split(".")
    for n in range(len(parts), 0, -1):
        section = SECTION_OF_MODULE.get(".".join(parts[:n]))
        if section is not None:
            return section
    return None


def with_link_block(text: str, to_reference: str) -> str:
    """``text`` with a block defining where each ``[name][glompo_core.x.Y]`` link leads.

    On the site, mkdocs-autorefs resolves those links to the API pages (``docs/gen_pages.py``
    removes the block there); in the repository, where they would show as bare brackets,
    the block makes each a link to its section of this index. ``to_reference`` is the
    relative path from the page to ``docs/reference/``.
    """
    body = text.split("\n" + LINK_BLOCK)[0].rstrip("\n") + "\n"
    identifiers = sorted(set(_AUTOREF.findall(body)))
    if not identifiers:
        return body
    lines = []
    for identifier in identifiers:
        section = section_of(identifier)
        if section is None:
            raise ValueError(f"no section of docs/reference/README.md for {identifier}: add "
                             "its module to SECTION_OF_MODULE in docs/reference/make_readme.py")
        lines.append(f"[{identifier}]: {to_reference}README.md#{section}")
    return body + "\n" + LINK_BLOCK + "\n" + "\n".join(lines) + "\n"


def doc_pages() -> list[Path]:
    """The hand-written pages of the documentation (not the reference)."""
    docs = HERE.parent
    return [*sorted(docs.glob("*.md")), *sorted((docs / "concepts").glob("*.md")),
            *sorted((docs / "guides").glob("*.md"))]


def slug(title: str) -> str:
    """The anchor GitHub gives a heading (lower case, spaces to ``-``, punctuation dropped)."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def reference_nav() -> list[tuple[str, str]]:
    """(title, page under reference/) of every page of the site's Reference section."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    # mkdocs.yml may hold !!python tags (none today); read them as plain text
    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    pages: list[tuple[str, str]] = []

    def walk(items: Any) -> None:
        for item in items:
            if isinstance(item, str):
                pages.append(("Reference", item))
            elif isinstance(item, dict):
                for title, value in item.items():
                    if isinstance(value, str):
                        pages.append((str(title), value))
                    else:
                        walk(value)

    for entry in config["nav"]:
        if isinstance(entry, dict) and "Reference" in entry:
            walk(entry["Reference"])
    return [(title, page.removeprefix("reference/")) for title, page in pages]


def source_of(obj: Any) -> str | None:
    """The repository path of the file defining ``obj`` (None if outside the repository)."""
    try:
        path = Path(inspect.getsourcefile(obj) or "").resolve()
    except TypeError:
        return None
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return None


def link(path: str) -> str:
    """A Markdown link from docs/reference/ to a repository path."""
    return f"[`{path}`](../../{path})"


def first_line(doc: str | None) -> str:
    """The first paragraph of a docstring as one line of Markdown (Sphinx roles as code)."""
    line = (doc or "").strip().split("\n\n")[0].replace("\n", " ").strip()
    line = re.sub(r":[\w:]+:`~?([^`]+)`", r"`\1`", line).replace("``", "`")
    return re.sub(r" +", " ", line).replace("|", "\\|")


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def hook_rows() -> list[str]:
    """One row per hook of ``glompo_core.hookspecs``: its name, kind and first line."""
    from glompo_core import hookspecs

    lifecycle = set(getattr(hookspecs, "LIFECYCLE_HOOKS", ()))
    rows = ["| hook | kind | what it is for |", "| --- | --- | --- |"]
    for name, function in vars(hookspecs).items():
        if not (name.startswith("glompo_") and inspect.isfunction(function)):
            continue
        kind = ("registration" if name.startswith("glompo_register_") else
                "lifecycle" if name in lifecycle else "service")
        rows.append(f"| `{name}` | {kind} | {first_line(function.__doc__)} |")
    return rows


def first_party_packages() -> list[tuple[str, str]]:
    """(distribution, package) of glompo-core and each plugin in ``plugins/``."""
    found = [("glompo-core", "glompo_core")]
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        for init in sorted(pyproject.parent.glob("*/__init__.py")):
            if init.parent.name != "tests":
                found.append((pyproject.parent.name, init.parent.name))
    return found


def component_sections() -> list[str]:
    from glompo_core.plugins import PluginManager

    pm = PluginManager()  # glompo-core and every installed plugin
    packages = {package for _, package in first_party_packages()}
    pages = dict((title, page) for title, page in reference_nav())
    lines: list[str] = ["## Components", "",
                        "One site page per kind of component, listing what glompo-core "
                        "registers (and naming the first-party plugins' components). Here: "
                        "every component registered by glompo-core or a first-party plugin "
                        "installed where this file was written, with the file defining it.",
                        ""]
    for kind, (title, what) in KINDS.items():
        lines += [f"### {title}", "", f"Site page: `{pages.get(title, '?')}`. {upper_first(what)}.",
                  ""]
        rows = []
        for name in pm.names(kind):
            info = pm.info(kind, name)
            component = info.component
            path = source_of(component)
            top = getattr(component, "__module__", "").split(".")[0]
            if path is None or top not in packages:
                continue
            summary = first_line(getattr(info, "summary", None) or component.__doc__)
            rows.append(f"| `{name}` | {link(path)} | {summary} |")
        if kind == "task":
            lines += [f"{len(rows)} functions, all in {link('glompo_core/benchmarks.py')}: "
                      + ", ".join(f"`{row.split('`')[1]}`" for row in rows) + ".", ""]
            continue
        lines += ["| name | defined in | summary |", "| --- | --- | --- |", *rows, ""]
    return lines


def other_sections() -> list[str]:
    lines: list[str] = []
    api_done = False
    for title, page in reference_nav():
        if title in OTHER_PAGES:
            sources, what = OTHER_PAGES[title]
            if page.startswith("api/") and not api_done:
                lines += ["## API", "",
                          "The public classes and functions, from their docstrings.", ""]
                api_done = True
            level = "###" if page.startswith("api/") else "##"
            lines += [f"{level} {title}", "", f"Site page: `{page}`. {upper_first(what)}.",
                      "", "Source: " + ", ".join(link(s) for s in sources) + ".", ""]
            if title == "Hooks":
                lines += [*hook_rows(), ""]
            if title == "First-party plugins":
                for dist, _ in first_party_packages()[1:]:
                    readme = f"plugins/{dist}/README.md"
                    if (ROOT / readme).is_file():
                        lines.append(f"- {dist}: [`{readme}`](../../{readme})")
                lines.append("")
    return lines


def module_sections() -> list[str]:
    lines = ["## Every module", "",
             "Every module of glompo-core and of the first-party plugins, with the first "
             "line of its docstring (a module whose name starts with `_` is internal: its "
             "public classes are imported from its package).", ""]
    for dist, package in first_party_packages():
        try:
            pkg = importlib.import_module(package)
        except ImportError:
            lines += [f"### {dist}", "", f"(not installed where this file was written: "
                      f"`pip install -e ./plugins/{dist}`)", ""]
            continue
        lines += [f"### {dist}", "", "| module | what it is |", "| --- | --- |"]
        modules = pkgutil.walk_packages(pkg.__path__, package + ".")
        names = [package, *sorted(m.name for m in modules)]
        for name in names:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            path = source_of(module)
            if path is not None:
                lines.append(f"| {link(path)} | {first_line(module.__doc__)} |")
        lines.append("")
    return lines


def render() -> str:
    head = [
        "<!-- Written by docs/reference/make_readme.py: run it again rather than editing. -->",
        "",
        "# Reference, for readers of the repository",
        "",
        "Site page: `index.md`.",
        "",
        "The reference pages of the documentation site are generated from the code when "
        "the site is built (`docs/gen_pages.py`, run by `mkdocs build`), so they are not "
        "files of this folder. This index is what to follow in the repository: a section "
        "per page of the site, naming the page and linking to the code it is generated "
        "from, then every module with its first docstring line. On the site, links to "
        "these sections lead to the generated pages.",
        "",
        "Build the site to read the pages themselves: `pip install -e \".[docs]\"`, then "
        "`mkdocs serve` (or `mkdocs build --strict`).",
        "",
    ]
    body = component_sections() + other_sections() + module_sections()
    return "\n".join(head + body).rstrip() + "\n"


def site_pages(readme: str) -> dict[str, str]:
    """Anchor of each section of ``readme`` -> the site page it stands for."""
    out: dict[str, str] = {}
    heading: str | None = None
    for line in readme.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        match = re.match(r"Site page: `([^`]+)`", line)
        if match and heading is not None:
            out[slug(heading)] = match.group(1)
    return out


def main() -> None:
    (HERE / "README.md").write_text(render(), encoding="utf-8")
    for page in doc_pages():
        text = page.read_text(encoding="utf-8")
        up = "../" * len(page.relative_to(HERE.parent).parts[:-1])
        new = with_link_block(text, f"{up}reference/")
        if new != text:
            page.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
