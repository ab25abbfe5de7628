"""The registry of named components, ``glompo`` subcommands and run-file keys.

Part of :mod:`glompo_core.plugins` (which re-exports the public names): the records
(:class:`ComponentInfo`, :class:`CommandInfo`, :class:`RunOptionInfo`,
:class:`PluginInfo`) and :class:`ComponentRegistry`, which checks what a plugin's
registration hook registers (names, required methods, clashes) and looks components up
by kind and name, case-insensitively. Loading plugins and the messages about names
that are not registered stay in :mod:`glompo_core.plugins`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from glompo_core import hookspecs
from glompo_core._version import __version__
from glompo_core.errors import PluginError

__all__ = ["KINDS", "CommandInfo", "ComponentInfo", "ComponentRegistry", "PluginInfo",
           "RunOptionInfo"]

KINDS = tuple(hookspecs.REGISTRATION_HOOKS)
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.+\-]*$")
_COMMAND_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_RUN_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FLAG_RE = re.compile(r"^--[a-z][a-z0-9-]*$")

#: Methods a component of each kind must provide (checked at registration).
_REQUIRED_ATTRS: dict[str, tuple[str, ...]] = {
    "optimizer": ("minimize", "callstop"),
    "stopper": ("__call__",),
    "exit_condition": ("__call__",),
    "generator": ("generate",),
    "selector": (),
    "logger": ("put_iteration", "get_history"),
    "backend": ("start", "evaluate", "evaluate_batch", "shutdown"),
    "task": ("__call__",),
}


@dataclass
class ComponentInfo:
    """A registered component."""

    kind: str
    name: str
    component: Any
    aliases: tuple[str, ...] = ()
    summary: str | None = None
    plugin: str = "builtin"
    distribution: str = "glompo-core"
    version: str = __version__


@dataclass(frozen=True)
class CommandInfo:
    """A ``glompo`` subcommand registered through ``glompo_register_commands``."""

    name: str
    run: Callable[[argparse.Namespace], int]
    help: str
    description: str | None = None
    configure: Callable[[argparse.ArgumentParser], None] | None = None
    plugin: str = "builtin"
    distribution: str = "glompo-core"


@dataclass(frozen=True)
class RunOptionInfo:
    """A run-file key (and ``glompo run`` option) registered through
    ``glompo_register_run_options``."""

    key: str
    build: Callable[[Any], Any]
    help: str
    flag: str | None = None
    metavar: str | None = None
    from_flag: Callable[[str | None], Any] | None = None
    plugin: str = "builtin"
    distribution: str = "glompo-core"


@dataclass
class PluginInfo:
    """A plugin known to the manager, whatever its status."""

    name: str
    distribution: str
    version: str
    status: str  # "active", "disabled" or "failed"
    reason: str = ""
    components: dict[str, list[str]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by ``glompo plugins --json``)."""
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "status": self.status, "reason": self.reason,
                "components": {k: list(v) for k, v in self.components.items()},
                "commands": list(self.commands)}


def _summary_of(component: Any) -> str:
    doc = getattr(component, "__doc__", None) or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _provides(component: Any, attr: str) -> bool:
    """True if ``component`` (a class: its instances) has the method ``attr``.

    For a class, the method is looked up on the class and its bases only: every class
    is callable through its metaclass, which does not make its instances callable.
    """
    if isinstance(component, type):
        return any(callable(vars(klass).get(attr)) or isinstance(
                   vars(klass).get(attr), (staticmethod, classmethod))
                   for klass in component.__mro__)
    return callable(getattr(component, attr, None))


class ComponentRegistry:
    """Components by kind and lower-case name (and alias), commands and run-file keys.

    Every ``add*`` method raises :class:`~glompo_core.errors.PluginError` (and registers
    nothing) for an invalid name, a component lacking a method of its kind, or a name
    already taken; the caller marks the plugin as failed and calls :meth:`forget`.
    """

    def __init__(self) -> None:
        self.components: dict[str, dict[str, ComponentInfo]] = {k: {} for k in KINDS}
        self.commands: dict[str, CommandInfo] = {}
        self.run_options: dict[str, RunOptionInfo] = {}

    # -- what a plugin's registration hooks receive --------------------------------------------
    def registrars(self, plugin: PluginInfo) -> dict[str, Callable[..., None]]:
        """The ``register`` function passed to each registration and command hook of
        ``plugin`` (hook name -> function)."""
        return {**{hook: self._registrar(kind, plugin)
                   for kind, hook in hookspecs.REGISTRATION_HOOKS.items()},
                hookspecs.COMMAND_HOOKS[0]: self._command_registrar(plugin),
                hookspecs.COMMAND_HOOKS[1]: self._run_option_registrar(plugin)}

    def _registrar(self, kind: str, plugin: PluginInfo) -> Callable[..., None]:
        def register(name: str, component: Any, *, aliases: Sequence[str] = (),
                     summary: str | None = None) -> None:
            self.add(kind, name, component, tuple(aliases), summary, plugin)

        return register

    def _command_registrar(self, plugin: PluginInfo) -> Callable[..., None]:
        def register(name: str, run: Callable[[argparse.Namespace], int], *, help: str,
                     description: str | None = None,
                     configure: Callable[[argparse.ArgumentParser], None] | None = None
                     ) -> None:
            self.add_command(CommandInfo(name, run, help, description, configure,
                                         plugin.name, plugin.distribution), plugin)

        return register

    def _run_option_registrar(self, plugin: PluginInfo) -> Callable[..., None]:
        def register(key: str, build: Callable[[Any], Any], *, help: str,
                     flag: str | None = None, metavar: str | None = None,
                     from_flag: Callable[[str | None], Any] | None = None) -> None:
            self.add_run_option(RunOptionInfo(key, build, help, flag, metavar, from_flag,
                                              plugin.name, plugin.distribution), plugin)

        return register

    def forget(self, plugin_name: str) -> None:
        """Remove everything the plugin ``plugin_name`` registered."""
        for kind_reg in self.components.values():
            for key in [k for k, info in kind_reg.items() if info.plugin == plugin_name]:
                del kind_reg[key]
        for key in [k for k, command in self.commands.items() if command.plugin == plugin_name]:
            del self.commands[key]
        for key in [k for k, option in self.run_options.items()
                    if option.plugin == plugin_name]:
            del self.run_options[key]

    # -- adding ------------------------------------------------------------------------------
    def add(self, kind: str, name: str, component: Any, aliases: tuple[str, ...],
            summary: str | None, plugin: PluginInfo) -> None:
        """Register ``component`` as ``name`` (and ``aliases``) of ``kind``."""
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise PluginError(f"invalid {kind} name {name!r}: names start with a letter and "
                              "contain only letters, digits, '_', '.', '+' and '-'")
        missing = [a for a in _REQUIRED_ATTRS[kind] if not _provides(component, a)]
        if missing:
            raise PluginError(f"{kind} {name!r} ({component!r}) lacks {', '.join(missing)}: "
                              f"it is not a valid {kind}")
        info = ComponentInfo(kind, name, component, aliases, summary or _summary_of(component),
                             plugin.name, plugin.distribution, plugin.version)
        reg = self.components[kind]
        for key in (name, *aliases):
            if not isinstance(key, str) or not _NAME_RE.match(key):
                raise PluginError(f"invalid alias {key!r} for {kind} {name!r}")
            other = reg.get(key.lower())
            if other is not None:
                raise PluginError(
                    f"{kind} name {key!r} registered by {plugin.name!r} ({plugin.distribution}) "
                    f"is already taken by {other.name!r} of {other.plugin!r} "
                    f"({other.distribution}); rename one of them")
        for key in (name, *aliases):
            reg[key.lower()] = info
        plugin.components.setdefault(kind, []).append(name)

    def add_command(self, command: CommandInfo, plugin: PluginInfo) -> None:
        """Register a ``glompo`` subcommand of ``plugin``."""
        name = command.name
        if not isinstance(name, str) or not _COMMAND_RE.match(name):
            raise PluginError(f"invalid command name {name!r}: command names are lower case "
                              "letters, digits and '-', starting with a letter")
        if not callable(command.run):
            raise PluginError(f"command {name!r}: run must be a function taking the parsed "
                              f"arguments and returning the exit status, not {command.run!r}")
        if command.configure is not None and not callable(command.configure):
            raise PluginError(f"command {name!r}: configure must be a function taking the "
                              f"command's argparse parser, not {command.configure!r}")
        if not isinstance(command.help, str) or not command.help.strip():
            raise PluginError(f"command {name!r}: help must be a one-line description "
                              "(shown by glompo --help)")
        other = self.commands.get(name)
        if other is not None:
            raise PluginError(f"command name {name!r} registered by {plugin.name!r} "
                              f"({plugin.distribution}) is already taken by {other.plugin!r} "
                              f"({other.distribution}); rename one of them")
        self.commands[name] = command
        plugin.commands.append(name)

    def add_run_option(self, option: RunOptionInfo, plugin: PluginInfo) -> None:
        """Register a run-file key (and its ``glompo run`` flag) of ``plugin``."""
        from glompo_core.runfile import CORE_KEYS

        key = option.key
        if not isinstance(key, str) or not _RUN_KEY_RE.match(key):
            raise PluginError(f"invalid run-file key {key!r}: keys are lower case letters, "
                              "digits and '_', starting with a letter")
        if key in CORE_KEYS:
            raise PluginError(f"run-file key {key!r} of {plugin.name!r} is one of the core's "
                              "keys; choose another")
        if not callable(option.build):
            raise PluginError(f"run-file key {key!r}: build must be a function taking the "
                              f"key's value and returning an observer or None, not "
                              f"{option.build!r}")
        if not isinstance(option.help, str) or not option.help.strip():
            raise PluginError(f"run-file key {key!r}: help must be a one-line description")
        if option.flag is not None:
            if not isinstance(option.flag, str) or not _FLAG_RE.match(option.flag):
                raise PluginError(f"run-file key {key!r}: flag {option.flag!r} must be a long "
                                  "option such as '--dashboard'")
            if not callable(option.from_flag):
                raise PluginError(f"run-file key {key!r}: a flag needs from_flag(text) "
                                  "turning its value into the key's value")
        for other in self.run_options.values():
            if other.key == key or (option.flag is not None and other.flag == option.flag):
                what = f"key {key!r}" if other.key == key else f"flag {option.flag!r}"
                raise PluginError(f"run-file {what} registered by {plugin.name!r} "
                                  f"({plugin.distribution}) is already taken by "
                                  f"{other.plugin!r} ({other.distribution}); rename one")
        self.run_options[key] = option

    # -- lookup ------------------------------------------------------------------------------
    def check_kind(self, kind: str) -> None:
        """Raise ValueError unless ``kind`` is a component kind."""
        if kind not in self.components:
            raise ValueError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")

    def names(self, kind: str) -> list[str]:
        """Canonical names of the components of ``kind``, sorted."""
        self.check_kind(kind)
        return sorted({info.name for info in self.components[kind].values()}, key=str.lower)

    def find(self, kind: str, name: str) -> ComponentInfo | None:
        """The component of ``kind`` registered as ``name`` (case-insensitive), or None."""
        self.check_kind(kind)
        return self.components[kind].get(str(name).lower())
