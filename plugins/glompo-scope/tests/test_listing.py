"""What ``glompo plugins`` says glompo-scope provides: its visualisation hook."""

from __future__ import annotations

import json

import pytest

import glompo_core.plugins
from glompo_core.cli import main
from glompo_core.plugins import PluginManager


def test_glompo_plugins_lists_the_scope_by_its_visualisation_hook(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    registry = PluginManager(load_entrypoints=False, plugins=[("scope", "glompo_scope.hooks")])
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: registry)
    assert main(["plugins", "--json"]) == 0
    scope = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}["scope"]
    assert scope["status"] == "active" and scope["components"] == {}
    assert scope["hooks"] == ["glompo_create_visualisation"]
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["plugins"]) == 0
    assert "hook glompo_create_visualisation: Build the live visualisation of a run" in \
        capsys.readouterr().out
