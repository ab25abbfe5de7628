"""Every ``pip install`` in the README, CONTRIBUTING, docs/, the plugins' and examples' READMEs
and the example run files works as written from the root of a clone.

GloMPO's distributions are not on a package index yet, so a first-party name
(``pip install glompo-cma``) works only with ``--find-links`` (wheels built from the
clone), or where the text says that it fails. Every path named must exist. The error
messages of the code give the working command through ``glompo_core._install``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from glompo_core._install import CLONE_PATHS, install_hint

ROOT = Path(__file__).resolve().parents[1]

#: Paths that name the reader's own project, not a file of the repository.
READERS_PROJECTS = {
    ("docs/guides/writing-a-plugin.md", "./glompo-hill"),  # the plugin the guide writes
}
#: Words near a bare first-party name saying the command does not work (yet).
FAILS = ("fails", "finds nothing", "no matching distribution", "not on a package index")

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]*pip install[^`\n]*)`")
STOP = {"&&", "||", ";", "|"}


def documents() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md",
             *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "plugins").glob("*/README.md")),
             *sorted((ROOT / "examples").rglob("*.md")),
             *sorted((ROOT / "examples").glob("*.yml")),
             *sorted((ROOT / "examples").glob("*/*.yml"))]
    return [f for f in files if "build" not in f.relative_to(ROOT).parts]


def commands(path: Path) -> list[tuple[int, str, str]]:
    """``(line, command, context)`` of each ``pip install`` in ``path``: in fenced blocks
    (continuation lines joined), in inline code spans, and in YAML comments."""
    text = path.read_text()
    found: list[tuple[int, str, str]] = []
    if path.suffix == ".md":
        for block in FENCE.finditer(text):
            start = text.count("\n", 0, block.start(1)) + 1
            joined = re.sub(r"\\\n\s*", " ", block.group(1))
            for i, line in enumerate(block.group(1).splitlines()):
                if "pip install" in line:
                    full = next(j for j in joined.splitlines() if line.split("\\")[0] in j)
                    found.append((start + i, full, ""))
        outside = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for span in SPAN.finditer(outside):
            if span.group(1).strip() == "pip install":
                continue  # the command named in prose ("after `pip install`")
            line = outside.count("\n", 0, span.start()) + 1
            context = outside[span.end():span.end() + 60].lower()
            found.append((line, span.group(1), context))
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#") and "pip install" in line:
                found.append((i, line.lstrip("# "), line.lower()))
    return found


def requirements(command: str) -> tuple[list[str], list[str], bool]:
    """The requirement arguments of the first ``pip install`` in ``command``, the files
    given with ``-r``, and whether ``--find-links`` is given."""
    words = shlex.split(command.split("pip install", 1)[1], comments=True)
    reqs: list[str] = []
    files: list[str] = []
    find_links = False
    it = iter(words)
    for word in it:
        if word in STOP:
            break
        if word in ("-r", "--requirement"):
            files.append(next(it))
        elif word in ("-f", "--find-links"):
            find_links = True
            next(it)
        elif word in ("-e", "--editable"):
            reqs.append(next(it))
        elif word.startswith("-"):
            continue
        else:
            reqs.append(word)
    return reqs, files, find_links


def is_path(requirement: str) -> bool:
    return requirement.startswith((".", "/")) or "/" in requirement.split("[")[0]


CASES = [(str(f.relative_to(ROOT)), line, cmd, ctx)
         for f in documents() for line, cmd, ctx in commands(f)]


def test_the_documents_have_install_lines() -> None:
    where = {c[0] for c in CASES}
    assert {"README.md", "CONTRIBUTING.md", "plugins/glompo-cma/README.md"} <= where
    assert len(CASES) > 30


@pytest.mark.parametrize(("doc", "line", "command", "context"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_every_install_line_works_from_a_clone(doc: str, line: int, command: str,
                                               context: str) -> None:
    where = f"{doc}:{line}: {command!r}"
    reqs, files, find_links = requirements(command)
    assert reqs or files, f"{where} installs nothing (placeholder?)"
    for name in files:
        assert (ROOT / name).is_file(), f"{where}: -r {name} does not exist"
    for req in reqs:
        base = req.split("[")[0]
        if is_path(req):
            if (doc, base) in READERS_PROJECTS:
                continue
            assert (ROOT / base / "pyproject.toml").is_file(), \
                f"{where}: {base} is not a project directory of the repository"
        elif base.lower() in CLONE_PATHS:
            assert find_links or any(word in context for word in FAILS), (
                f"{where}: {base} is not on a package index yet: write "
                f"pip install {CLONE_PATHS[base.lower()]} (from the root of a clone), or "
                "say that it fails")


def test_the_clone_paths_are_the_distributions() -> None:
    import tomllib

    for name, path in CLONE_PATHS.items():
        project = tomllib.loads((ROOT / path / "pyproject.toml").read_text())["project"]
        assert project["name"] == name
    assert {p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file()} \
        == {n for n in CLONE_PATHS if n != "glompo-core"}


@pytest.mark.parametrize(("distribution", "command"), [
    ("glompo-cma", "pip install ./plugins/glompo-cma"),
    ("glompo-core", "pip install ."),
    ("glompo-dask[jobqueue]", 'pip install "./plugins/glompo-dask[jobqueue]"'),
])
def test_error_messages_give_the_command_that_works(distribution: str, command: str) -> None:
    hint = install_hint(distribution)
    assert hint.startswith(f"pip install {distribution} (not on a package index yet")
    assert hint.endswith(f"{command})")
    assert install_hint("pandas") == "pip install pandas"


def test_a_missing_plugins_error_says_how_to_install_it_from_a_clone() -> None:
    from glompo_core.errors import UnknownComponentError
    from glompo_core.plugins import PluginManager

    pm = PluginManager(load_entrypoints=False)
    with pytest.raises(UnknownComponentError,
                       match=r"provided by the plugin glompo-cma: pip install glompo-cma "
                             r"\(not on a package index yet: from the root of a clone of "
                             r"GloMPO, pip install \./plugins/glompo-cma\)"):
        pm.get("optimizer", "CMAOptimizer")
