"""Plugin objects and file writers shared by the plugin, run-file and CLI tests."""

from __future__ import annotations

import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glompo_core import hookimpl
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager

Register = Callable[..., None]


def fresh_pm(*plugins: tuple[str, Any]) -> PluginManager:
    """Built-ins plus ``plugins``; never the machine's entry points."""
    return PluginManager(load_entrypoints=False, plugins=plugins)


class AlphaOptimizer(RandomOptimizer):
    """An optimizer registered by a test plugin."""


class BetaOptimizer(RandomOptimizer):
    """Another optimizer registered by a test plugin."""


class NotAnOptimizer:
    """Has no minimize() nor callstop()."""

    def run(self) -> None:
        """Not what an optimizer needs."""


class NotAStopper:
    """A class (so callable itself) whose instances are not callable."""


class AlphaPlugin:
    """A plugin object registering one optimizer with an alias."""

    @hookimpl
    def glompo_register_optimizers(self, register: Register) -> None:
        register("AlphaOptimizer", AlphaOptimizer, aliases=("alpha",))


class ClashPlugin:
    """Registers a name that AlphaPlugin already took (different case)."""

    @hookimpl
    def glompo_register_optimizers(self, register: Register) -> None:
        register("BetaOptimizer", BetaOptimizer)
        register("alphaoptimizer", BetaOptimizer)


class AliasClashPlugin:
    """Registers an alias equal to a built-in's alias."""

    @hookimpl
    def glompo_register_optimizers(self, register: Register) -> None:
        register("BetaOptimizer", BetaOptimizer, aliases=("Random",))


class BadNamePlugin:
    def __init__(self, name: Any) -> None:
        self.name = name

    @hookimpl
    def glompo_register_optimizers(self, register: Register) -> None:
        register(self.name, BetaOptimizer)


class DoomedOptimizer(RandomOptimizer):
    """Registered by RaisingPlugin before it fails."""


class RaisingPlugin:
    """Registers an optimizer, then raises in the stopper hook."""

    @hookimpl
    def glompo_register_optimizers(self, register: Register) -> None:
        register("DoomedOptimizer", DoomedOptimizer)

    @hookimpl
    def glompo_register_stoppers(self, register: Register) -> None:
        raise RuntimeError("boom in registration")


def module_plugin(name: str, **functions: Callable[..., Any]) -> types.ModuleType:
    """A module object holding the given (already ``@hookimpl``-marked) functions."""
    module = types.ModuleType(name)
    for attr, fn in functions.items():
        setattr(module, attr, fn)
    return module


class Observer:
    """A run-scoped observer recording run_started calls; may raise."""

    def __init__(self, raises: bool = False) -> None:
        self.raises = raises
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def glompo_run_started(self, manager: Any) -> None:
        self.calls.append({"manager": manager})
        if self.raises:
            raise ValueError("observer exploded")

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int) -> None:  # a subset of the arguments
        self.calls.append({"opt_id": opt_id})


# ----------------------------------------------------------------------------- files


def write_distribution(root: Path, dist: str, version: str, entry_name: str, module: str,
                       source: str) -> None:
    """Write an installed-looking distribution (dist-info + module) into ``root``."""
    info = root / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[glompo]\n{entry_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


FAKE_PLUGIN_SOURCE = """
    from glompo_core import hookimpl
    from glompo_core.optimizers import RandomOptimizer

    class FakeOptimizer(RandomOptimizer):
        '''Random search, from a fake distribution.'''

    @hookimpl
    def glompo_register_optimizers(register):
        register("FakeOptimizer", FakeOptimizer, aliases=("fakeopt",))
    """

BROKEN_PLUGIN_SOURCE = """
    raise ImportError("libfake.so: cannot open shared object file")
    """

LOCAL_PLUGIN_SOURCE = textwrap.dedent("""
    from glompo_core import hookimpl
    from glompo_core.optimizers import RandomOptimizer

    class LocalOptimizer(RandomOptimizer):
        '''Random search, from a module beside the run file.'''

    @hookimpl
    def glompo_register_optimizers(register):
        register("LocalOptimizer", LocalOptimizer)
    """)

TASK_MODULE_SOURCE = textwrap.dedent("""
    class Shifted:
        '''A sphere centred on ``shift`` in every dimension.'''

        def __init__(self, dims, shift=0.0):
            self.dims = dims
            self.shift = shift
            self.bounds = [(-5.0, 5.0)] * dims

        def __call__(self, x):
            return float(sum((v - self.shift) ** 2 for v in x))
    """)


def write_run_file(directory: Path, text: str, name: str = "run.yml") -> Path:
    """Write a dedented run file and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path
