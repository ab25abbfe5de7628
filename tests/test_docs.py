"""The documentation site builds with ``mkdocs build --strict`` and its generated pages are whole.

The site is built once per module (a few seconds) in a subprocess; the tests then read
the generated HTML. Skipped, with the reason, when the docs tools are not installed
(``pip install -e ".[docs]"``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from glompo_core import hookspecs, runfile
from glompo_core.cli import build_parser
from glompo_core.plugins import KINDS, PluginManager

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DOCS_TOOLS = {"mkdocs": "mkdocs", "material": "mkdocs-material",
              "mkdocstrings": "mkdocstrings[python]", "mkdocstrings_handlers.python":
              "mkdocstrings[python]", "mkdocs_gen_files": "mkdocs-gen-files"}
#: component kind -> generated page (as in docs/gen_pages.py)
KIND_PAGES = {"optimizer": "optimizers", "stopper": "stoppers",
              "exit_condition": "exit-conditions", "generator": "generators",
              "selector": "selectors", "logger": "loggers", "backend": "backends",
              "task": "tasks"}


def _missing_tools() -> list[str]:
    missing = []
    for module, dist in DOCS_TOOLS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found and dist not in missing:
            missing.append(dist)
    return missing


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The site, built once with ``mkdocs build --strict`` (any warning fails)."""
    missing = _missing_tools()
    if missing:
        pytest.skip(f"the docs tools are not installed ({', '.join(missing)}): "
                    "pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    # quiet the banners some mkdocs plugins print (they are not build warnings)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    yield out


def _page(site: Path, page: str) -> str:
    path = site / page / "index.html"
    assert path.is_file(), f"{page} was not built"
    return path.read_text(encoding="utf-8")


def test_every_built_in_component_is_on_its_kind_page(site: Path) -> None:
    pm = PluginManager(load_entrypoints=False)
    assert set(KIND_PAGES) == set(KINDS), "a new component kind needs its page"
    for kind, page in KIND_PAGES.items():
        html = _page(site, f"reference/components/{page}")
        names = pm.names(kind)
        assert names, kind
        for name in names:
            assert f"<code>{name}</code>" in html, f"{kind} {name} is missing from {page}"


def test_every_stopper_is_documented_with_its_docstring(site: Path) -> None:
    from glompo_core import stoppers

    html = _page(site, "reference/components/stoppers")
    for name in stoppers.__all__:
        assert f'id="glompo_core.stoppers.{name}"' in html, name
    # the docstring itself, not only the name: a sentence of BestUnmoving's Notes
    assert "non-finite values never count as a best" in html


def test_every_hook_is_documented(site: Path) -> None:
    html = _page(site, "reference/hooks")
    hooks = [*hookspecs.REGISTRATION_HOOKS.values(), *hookspecs.COMMAND_HOOKS,
             *hookspecs.SERVICE_HOOKS, *hookspecs.LIFECYCLE_HOOKS]
    for name in hooks:
        assert f'id="glompo_core.hookspecs.{name}"' in html, name
    # the :param: fields were read (docstring_style: sphinx), not shown as raw text
    assert ":param" not in html
    assert "universal evaluation numbers" in html  # glompo_iteration_batch's call_ids


def _commands(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[list[str]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, [*path, name])


def test_the_cli_page_has_every_command_and_its_help(site: Path) -> None:
    html = _page(site, "reference/cli")
    commands = list(_commands(build_parser(), ["glompo"]))
    assert ["glompo", "checkpoint", "info"] in commands
    if importlib.util.find_spec("glompo_hdf5") is not None:  # a plugin's command is there
        assert ["glompo", "log", "summary"] in commands
        assert "Added by the plugin glompo-hdf5" in html
    for path in commands:
        assert f'id="{"-".join(path)}"' in html, " ".join(path)
        assert f"usage: {' '.join(path)}" in html, " ".join(path)


def test_the_run_file_page_has_every_key(site: Path) -> None:
    html = _page(site, "reference/run-file")
    for key in (*runfile._SETTINGS, *runfile._COMPONENT_KEYS):
        assert f"<code>{key}</code>" in html, key


def test_the_api_pages_document_their_objects(site: Path) -> None:
    expected = {
        "reference/api/manager": "glompo_core.manager.GloMPOManager.setup",
        "reference/api/optimizer": "glompo_core.optimizers.baseoptimizer.BaseOptimizer",
        "reference/api/results": "glompo_core.result.Result",
        "reference/api/logger": "glompo_core.optimizerlogger.BaseLogger",
        "reference/api/checkpointing": "glompo_core.checkpointing.CheckpointingControl",
        "reference/api/testing": "glompo_core.testing.parametrize_with_checks",
    }
    for page, identifier in expected.items():
        assert f'id="{identifier}"' in _page(site, page), identifier


def test_every_hand_written_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(node: object) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for item in node:
                yield from pages(item)
        elif isinstance(node, dict):
            for value in node.values():
                yield from pages(value)

    in_nav = set(pages(config["nav"]))
    written = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    # pages for readers of the repository only (docs/reference/README.md)
    excluded = {line.strip() for line in str(config.get("exclude_docs", "")).splitlines()
                if line.strip().endswith(".md")}
    assert written - in_nav - excluded == set(), "add these pages to the nav of mkdocs.yml"


def test_links_to_the_repository_index_lead_to_the_generated_pages(site: Path) -> None:
    """Guides link to docs/reference/README.md (readable in the repository); on the site
    docs/gen_pages.py turns those links into links to the generated pages."""
    import re

    linked = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                    if re.search(r'href="[^"]*README\.md', p.read_text(encoding="utf-8")))
    assert linked == []
    html = _page(site, "concepts/exit-conditions")
    assert '<a href="../../reference/components/exit-conditions/">exit-condition reference' in html


def test_the_pictures_are_small_pngs() -> None:
    for name in ("trajectories.png", "scope.png"):
        data = (DOCS / "img" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert len(data) < 200_000, f"{name} is {len(data)} bytes; keep pictures < 200 kB"


def test_rst_constructs_become_markdown() -> None:
    pytest.importorskip("griffe", reason="the docs tools are not installed: "
                                         "pip install -e '.[docs]'")
    sys.path.insert(0, str(DOCS))
    try:
        from griffe_rst import rst_to_markdown
    finally:
        sys.path.remove(str(DOCS))
    text = rst_to_markdown(
        "See :class:`~glompo_core.stoppers.BestUnmoving` and :math:`x^2`.\n\n"
        ".. math:: a \\le b\n\n"
        "Example::\n\n    >>> 1 + 1\n    2\n\n"
        ".. warning::\n   Careful.\n")
    assert ('<autoref identifier="glompo_core.stoppers.BestUnmoving" optional>'
            "<code>BestUnmoving</code></autoref>") in text
    assert "$x^2$" in text
    assert "$$\na \\le b\n$$" in text
    assert "Example:\n\n```pycon\n>>> 1 + 1\n2\n```" in text
    assert "!!! warning\n    Careful." in text
    hoisted = rst_to_markdown("Summary.\n\n:param a: the a.\n\nCalled once.\n")
    assert hoisted.index("Called once.") < hoisted.index(":param a:")
