"""The plugin manager and the registry of named components.

:func:`get_plugin_manager` returns the (cached) :class:`PluginManager`: GloMPO's
built-in components plus every plugin installed under the entry-point group
``glompo``, loaded one at a time so that a broken plugin is a warning and a
recorded status, never a crash of the others. ``GLOMPO_DISABLE_PLUGINS=a,b`` (entry
point names) turns plugins off.

Components are looked up by kind and name, case-insensitively::

    >>> from glompo_core.plugins import get_plugin_manager
    >>> get_plugin_manager().get("stopper", "bestunmoving").__name__
    'BestUnmoving'
"""

from __future__ import annotations

import argparse
import difflib
import functools
import importlib
import importlib.metadata
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from glompo_core import hookspecs
from glompo_core._install import install_hint
from glompo_core._version import __version__
from glompo_core.errors import PluginError, UnknownComponentError

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "CommandInfo",
    "ComponentInfo",
    "PluginInfo",
    "PluginManager",
    "RunOptionInfo",
    "get_plugin_manager",
]

ENTRY_POINT_GROUP = "glompo"
KINDS = tuple(hookspecs.REGISTRATION_HOOKS)
_BUILTIN_MODULES = ("glompo_core._builtin_hooks",)
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.+\-]*$")
_COMMAND_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_RUN_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FLAG_RE = re.compile(r"^--[a-z][a-z0-9-]*$")
_log = logging.getLogger("glompo.plugins")

#: Components of first-party plugin distributions: (kind or None, name, distribution).
#: Used to tell the user what to install when a name is not registered.
_FIRST_PARTY_COMPONENTS: tuple[tuple[str | None, str, str], ...] = (
    *(("optimizer", n, "glompo-cma") for n in ("CMAOptimizer", "cma")),
    *(("optimizer", n, "glompo-scipy") for n in (
        "ScipyOptimizer", "DifferentialEvolution", "DualAnnealing", "nelder-mead", "powell",
        "cobyla", "cobyqa", "l-bfgs-b", "slsqp", "tnc", "trust-constr")),
    *(("optimizer", n, "glompo-nevergrad") for n in ("NevergradOptimizer", "NGOpt",
                                                     "nevergrad")),
    *(("logger", n, "glompo-hdf5") for n in ("FileLogger", "hdf5")),
    *((None, n, "glompo-scope") for n in ("GloMPOScope", "scope")),
    ("backend", "dask", "glompo-dask"),
)

#: Names provided by first-party plugin distributions (lower case -> distribution).
FIRST_PARTY: dict[str, str] = {name.lower(): dist for _, name, dist in _FIRST_PARTY_COMPONENTS}

#: ``glompo`` subcommands of first-party plugin distributions (name -> distribution), so
#: that ``glompo log`` without glompo-hdf5 says what to install.
FIRST_PARTY_COMMANDS: dict[str, str] = {"log": "glompo-hdf5", "dashboard": "glompo-dashboard"}

#: Run-file keys of first-party plugin distributions (key -> distribution), so that a run
#: file with ``dashboard:`` but without glompo-dashboard says what to install.
FIRST_PARTY_RUN_OPTIONS: dict[str, str] = {"dashboard": "glompo-dashboard"}

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


def _disabled_from_env() -> set[str]:
    raw = os.environ.get("GLOMPO_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


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


class PluginManager:
    """GloMPO's plugin manager: pluggy hooks plus a registry of named components.

    Parameters
    ----------
    load_entrypoints
        Discover installed plugins (entry-point group ``glompo``). Tests pass False for
        isolation.
    disabled
        Entry-point names not to load; defaults to ``GLOMPO_DISABLE_PLUGINS``.
    plugins
        Extra plugins (modules or objects with hook implementations) to register, as
        ``(name, plugin)`` pairs.
    """

    def __init__(self, *, load_entrypoints: bool = True, disabled: Iterable[str] | None = None,
                 plugins: Sequence[tuple[str, Any]] = ()) -> None:
        self.hook_manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.hook_manager.add_hookspecs(hookspecs)
        self._registry: dict[str, dict[str, ComponentInfo]] = {k: {} for k in KINDS}
        self._commands: dict[str, CommandInfo] = {}
        self._run_options: dict[str, RunOptionInfo] = {}
        self._plugins: dict[str, PluginInfo] = {}
        self._muted: set[str] = set()
        # what each lifecycle call must pass: the arguments its hookspec declares
        self._lifecycle_args = {
            name: frozenset(getattr(self.hook_manager.hook, name).spec.argnames)
            for name in hookspecs.LIFECYCLE_HOOKS}
        self.disabled = set(_disabled_from_env() if disabled is None else disabled)
        for module_name in _BUILTIN_MODULES:
            self.register_plugin(importlib.import_module(module_name), "builtin",
                                 distribution="glompo-core", version=__version__)
        if load_entrypoints:
            self._load_entrypoints()
        for name, plugin in plugins:
            self.register_plugin(plugin, name)

    # -- loading ----------------------------------------------------------------------------
    def _load_entrypoints(self) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            dist_version = dist.version if dist is not None else "?"
            if ep.name in self._plugins:
                seen = self._plugins[ep.name]
                if seen.distribution != dist_name:
                    message = (f"GloMPO plugin {ep.name!r} of {dist_name} {dist_version} is "
                               f"ignored: the name is already used by {seen.distribution} "
                               f"{seen.version}")
                    warnings.warn(message, RuntimeWarning, stacklevel=3)
                continue  # else the same distribution seen twice on sys.path
            if ep.name in self.disabled:
                self._plugins[ep.name] = PluginInfo(ep.name, dist_name, dist_version, "disabled",
                                                    "GLOMPO_DISABLE_PLUGINS")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self._fail(ep.name, dist_name, dist_version,
                           f"import of {ep.value!r} failed: {type(exc).__name__}: {exc}")
                continue
            self.register_plugin(plugin, ep.name, distribution=dist_name, version=dist_version)

    def _fail(self, name: str, distribution: str, version: str, reason: str) -> None:
        message = f"GloMPO plugin {name!r} ({distribution} {version}) failed to load: {reason}"
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        self._plugins[name] = PluginInfo(name, distribution, version, "failed", reason)
        for kind_reg in self._registry.values():
            for key in [k for k, info in kind_reg.items() if info.plugin == name]:
                del kind_reg[key]
        for key in [k for k, command in self._commands.items() if command.plugin == name]:
            del self._commands[key]
        for key in [k for k, option in self._run_options.items() if option.plugin == name]:
            del self._run_options[key]
        if self.hook_manager.has_plugin(name):
            self.hook_manager.unregister(name=name)

    def register_plugin(self, plugin: Any, name: str, *, distribution: str | None = None,
                        version: str | None = None) -> PluginInfo:
        """Register a plugin (module or object with ``@hookimpl`` functions) and its components.

        A failure (unknown hook name, bad component, name clash, exception in a hook)
        marks the plugin as failed with a warning; the other plugins are not affected.

        Parameters
        ----------
        plugin
            Module or object holding hook implementations.
        name
            Its name (the entry-point name for installed plugins).
        distribution, version
            Where it comes from, shown by ``glompo plugins``.
        """
        if isinstance(plugin, str):
            plugin = importlib.import_module(plugin)
        dist = distribution or (plugin.__name__ if isinstance(plugin, ModuleType) else name)
        ver = version or str(getattr(plugin, "__version__", "?"))
        if name in self._plugins and self._plugins[name].status == "active":
            raise PluginError(f"a plugin named {name!r} is already registered "
                              f"(from {self._plugins[name].distribution})")
        try:
            self.hook_manager.register(plugin, name=name)
            self._check_hook_names(plugin, name)
            self._check_no_wrappers(name)
        except Exception as exc:
            self._fail(name, dist, ver, str(exc))
            return self._plugins[name]
        info = PluginInfo(name, dist, ver, "active")
        self._plugins[name] = info
        try:
            hooks = {**{hook: self._registrar(kind, info)
                        for kind, hook in hookspecs.REGISTRATION_HOOKS.items()},
                     hookspecs.COMMAND_HOOKS[0]: self._command_registrar(info),
                     hookspecs.COMMAND_HOOKS[1]: self._run_option_registrar(info)}
            for hook_name, register in hooks.items():
                # this plugin's implementation only (pluggy's subset_hook_caller would hash
                # every plugin object, and plugins need not be hashable); wrappers were
                # refused above, and pluggy passes only the arguments an implementation names
                for impl in getattr(self.hook_manager.hook, hook_name).get_hookimpls():
                    if impl.plugin_name == name:
                        args = {"register": register}
                        impl.function(**{a: args[a] for a in impl.argnames})
        except Exception as exc:
            self._fail(name, dist, ver, f"{type(exc).__name__}: {exc}")
            return self._plugins[name]
        self._guard_lifecycle(name)
        return self._plugins[name]

    def _check_hook_names(self, plugin: Any, name: str) -> None:
        known = (set(hookspecs.REGISTRATION_HOOKS.values()) | set(hookspecs.LIFECYCLE_HOOKS)
                 | set(hookspecs.SERVICE_HOOKS) | set(hookspecs.COMMAND_HOOKS))
        for attr in dir(plugin):
            if not attr.startswith(hookspecs.PROJECT_NAME + "_"):
                continue
            if attr in known:
                continue
            if self.hook_manager.parse_hookimpl_opts(plugin, attr) is None:
                continue
            close = difflib.get_close_matches(attr, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PluginError(f"plugin {name!r} implements unknown hook {attr!r}{hint}")

    def _check_no_wrappers(self, name: str) -> None:
        """Refuse hook wrappers on registration, command and lifecycle hooks.

        GloMPO calls each implementation of those hooks in isolation (a failing one is
        muted, the others go on), which a wrapper around the others' calls cannot be.
        """
        hooks = (*hookspecs.REGISTRATION_HOOKS.values(), *hookspecs.COMMAND_HOOKS,
                 *hookspecs.LIFECYCLE_HOOKS)
        for hook_name in hooks:
            for impl in getattr(self.hook_manager.hook, hook_name).get_hookimpls():
                if impl.plugin_name == name and (impl.wrapper or impl.hookwrapper):
                    marker = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                    raise PluginError(
                        f"plugin {name!r} implements {hook_name} with @hookimpl({marker}): "
                        "GloMPO calls each implementation of its registration and lifecycle "
                        "hooks in isolation and takes no hook wrappers; implement the hook "
                        "as a plain @hookimpl function")

    def _guard_lifecycle(self, name: str) -> None:
        """Wrap this plugin's lifecycle implementations so that one failing is isolated.

        pluggy stops a hook call at the first exception; each implementation of a
        lifecycle hook is therefore wrapped, once, when its plugin is registered: an
        exception is logged with the plugin's name, the plugin is muted for the rest of
        the run, and pluggy goes on to the next implementation. The wrapper takes the
        arguments pluggy computed from the original function's signature.
        """
        for hook_name in hookspecs.LIFECYCLE_HOOKS:
            for impl in getattr(self.hook_manager.hook, hook_name).get_hookimpls():
                if impl.plugin_name == name and not getattr(impl.function, "_glompo_guard",
                                                            False):
                    # pluggy reads HookImpl.function at each call (Final only for typing)
                    impl.function = self._guarded(
                        impl.function, name, hook_name)

    def _guarded(self, function: Callable[..., Any], plugin_name: str,
                 hook_name: str) -> Callable[..., None]:
        muted = self._muted

        def guarded(*args: Any) -> None:
            if plugin_name in muted:
                return
            try:
                function(*args)
            except Exception:
                muted.add(plugin_name)
                _log.exception("plugin %r raised in %s; it is disabled for the rest of the run",
                               plugin_name, hook_name)

        functools.update_wrapper(guarded, function)
        guarded._glompo_guard = True  # type: ignore[attr-defined]
        return guarded

    def _command_registrar(self, plugin: PluginInfo) -> Callable[..., None]:
        def register(name: str, run: Callable[[argparse.Namespace], int], *, help: str,
                     description: str | None = None,
                     configure: Callable[[argparse.ArgumentParser], None] | None = None
                     ) -> None:
            self._add_command(CommandInfo(name, run, help, description, configure,
                                          plugin.name, plugin.distribution), plugin)

        return register

    def _add_command(self, command: CommandInfo, plugin: PluginInfo) -> None:
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
        other = self._commands.get(name)
        if other is not None:
            raise PluginError(f"command name {name!r} registered by {plugin.name!r} "
                              f"({plugin.distribution}) is already taken by {other.plugin!r} "
                              f"({other.distribution}); rename one of them")
        self._commands[name] = command
        plugin.commands.append(name)

    def _run_option_registrar(self, plugin: PluginInfo) -> Callable[..., None]:
        def register(key: str, build: Callable[[Any], Any], *, help: str,
                     flag: str | None = None, metavar: str | None = None,
                     from_flag: Callable[[str | None], Any] | None = None) -> None:
            self._add_run_option(RunOptionInfo(key, build, help, flag, metavar, from_flag,
                                               plugin.name, plugin.distribution), plugin)

        return register

    def _add_run_option(self, option: RunOptionInfo, plugin: PluginInfo) -> None:
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
        for other in self._run_options.values():
            if other.key == key or (option.flag is not None and other.flag == option.flag):
                what = f"key {key!r}" if other.key == key else f"flag {option.flag!r}"
                raise PluginError(f"run-file {what} registered by {plugin.name!r} "
                                  f"({plugin.distribution}) is already taken by "
                                  f"{other.plugin!r} ({other.distribution}); rename one")
        self._run_options[key] = option

    def _registrar(self, kind: str, plugin: PluginInfo) -> Callable[..., None]:
        def register(name: str, component: Any, *, aliases: Sequence[str] = (),
                     summary: str | None = None) -> None:
            self._add(kind, name, component, tuple(aliases), summary, plugin)

        return register

    def _add(self, kind: str, name: str, component: Any, aliases: tuple[str, ...],
             summary: str | None, plugin: PluginInfo) -> None:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise PluginError(f"invalid {kind} name {name!r}: names start with a letter and "
                              "contain only letters, digits, '_', '.', '+' and '-'")
        missing = [a for a in _REQUIRED_ATTRS[kind] if not _provides(component, a)]
        if missing:
            raise PluginError(f"{kind} {name!r} ({component!r}) lacks {', '.join(missing)}: "
                              f"it is not a valid {kind}")
        info = ComponentInfo(kind, name, component, aliases, summary or _summary_of(component),
                             plugin.name, plugin.distribution, plugin.version)
        reg = self._registry[kind]
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

    # -- lookup -----------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """Canonical names of the components of ``kind``, sorted."""
        self._check_kind(kind)
        return sorted({info.name for info in self._registry[kind].values()}, key=str.lower)

    def has(self, kind: str, name: str) -> bool:
        """True if a component of ``kind`` is registered as ``name`` (case-insensitive)."""
        self._check_kind(kind)
        return str(name).lower() in self._registry[kind]

    def info(self, kind: str, name: str, *, source: str | None = None) -> ComponentInfo:
        """The :class:`ComponentInfo` of a component (see :meth:`get`)."""
        self._check_kind(kind)
        found = self._registry[kind].get(str(name).lower())
        if found is None:
            raise UnknownComponentError(self._unknown_message(kind, str(name), source))
        return found

    def get(self, kind: str, name: str, *, source: str | None = None) -> Any:
        """Return the component of ``kind`` registered as ``name`` (case-insensitive).

        Parameters
        ----------
        kind
            One of optimizer, stopper, exit_condition, generator, selector, logger,
            backend, task.
        name
            A registered name or alias.
        source
            Where the name came from (a run-file key), quoted in the error.

        Raises
        ------
        UnknownComponentError
            With the installed names, the closest matches and the distribution to
            install when a first-party plugin provides the name.
        """
        return self.info(kind, name, source=source).component

    def _check_kind(self, kind: str) -> None:
        if kind not in self._registry:
            raise ValueError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")

    def _unknown_message(self, kind: str, name: str, source: str | None) -> str:
        label = kind.replace("_", " ")
        where = f" (from {source})" if source else ""
        installed = self.names(kind)
        registry = self._registry[kind]
        exact = next((fp_dist for fp_kind, fp_name, fp_dist in _FIRST_PARTY_COMPONENTS
                      if fp_kind in (None, kind) and fp_name.lower() == name.lower()), None)
        candidates = {key: info.name for key, info in registry.items()}
        close = difflib.get_close_matches(name.lower(), list(candidates), n=3, cutoff=0.6)
        scored = [(difflib.SequenceMatcher(None, name.lower(), c).ratio(), candidates[c])
                  for c in close]
        if exact is None:
            # a close typo of a first-party name that is not installed: suggest it too
            fp_names = {n.lower(): n for k, n, _ in _FIRST_PARTY_COMPONENTS
                        if k == kind and n.lower() not in registry}
            scored += [(difflib.SequenceMatcher(None, name.lower(), c).ratio(), fp_names[c])
                       for c in difflib.get_close_matches(name.lower(), list(fp_names), n=3,
                                                          cutoff=0.85)]
        scored.sort(key=lambda item: -item[0])
        suggestions = list(dict.fromkeys(n for _, n in scored))[:3]
        parts = [f"unknown {label} {name!r}{where}."]
        if suggestions:
            parts.append("Did you mean " + " or ".join(repr(s) for s in suggestions) + "?")
        parts.append(f"Installed {label}s: {', '.join(installed) if installed else 'none'}.")
        others = [k.replace("_", " ") for k in KINDS
                  if k != kind and name.lower() in self._registry[k]]
        if others:
            parts.append(f"{name!r} is a registered {' and a '.join(others)}, not a {label}.")
        # what to install: the name itself, else the best suggestion, if first-party
        provider = None if exact is None else ("It is", exact)
        if exact is None and suggestions and suggestions[0].lower() not in registry:
            provider = next(((f"{fp_name!r} is", fp_dist)
                             for fp_kind, fp_name, fp_dist in _FIRST_PARTY_COMPONENTS
                             if fp_kind == kind and fp_name == suggestions[0]), None)
        if provider is not None:
            subject, dist = provider
            state = next((p for p in self._plugins.values() if p.distribution == dist), None)
            if state is not None and state.status != "active":
                parts.append(f"{subject} provided by {dist}, which is {state.status}"
                             f"{': ' + state.reason if state.reason else ''}.")
            else:
                parts.append(f"{subject} provided by the plugin {dist}: {install_hint(dist)}")
        for p in self._plugins.values():
            if p.status == "failed":
                parts.append(f"Plugin {p.name!r} ({p.distribution}) failed to load: {p.reason}.")
        disabled = [p for p in self._plugins.values() if p.status == "disabled"]
        if disabled:
            parts.append("Disabled by GLOMPO_DISABLE_PLUGINS: " + ", ".join(
                f"{p.name!r} ({p.distribution})" for p in disabled) + ".")
        return " ".join(parts)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen: active, disabled or failed."""
        return list(self._plugins.values())

    def commands(self) -> list[CommandInfo]:
        """The ``glompo`` subcommands, in registration order (the core's first)."""
        return list(self._commands.values())

    def run_options(self) -> list[RunOptionInfo]:
        """The run-file keys (and ``glompo run`` options) plugins registered."""
        return list(self._run_options.values())

    def missing_run_option_message(self, key: str) -> str | None:
        """What to say about a run-file key that no active plugin provides.

        None when ``key`` is registered or no first-party plugin provides it; else which
        distribution provides it and how to install it (or why it is not loaded).
        """
        if key in self._run_options:
            return None
        dist = FIRST_PARTY_RUN_OPTIONS.get(key)
        if dist is None:
            return None
        state = next((p for p in self._plugins.values() if p.distribution == dist), None)
        if state is not None and state.status != "active":
            return (f"the key '{key}' is provided by {dist}, which is {state.status}"
                    f"{': ' + state.reason if state.reason else ''}")
        return (f"the key '{key}' is provided by the plugin {dist}, which is not installed: "
                + install_hint(dist))

    def missing_command_message(self, name: str) -> str | None:
        """What to say about a ``glompo`` subcommand that no active plugin provides.

        None when ``name`` is registered or no first-party plugin provides it; else which
        distribution provides it and how to install it (or why it is not loaded).
        """
        if name in self._commands:
            return None
        dist = FIRST_PARTY_COMMANDS.get(name)
        if dist is None:
            return None
        state = next((p for p in self._plugins.values() if p.distribution == dist), None)
        if state is not None and state.status != "active":
            return (f"'glompo {name}' is provided by {dist}, which is {state.status}"
                    f"{': ' + state.reason if state.reason else ''}")
        return (f"'glompo {name}' is provided by the plugin {dist}, which is not installed: "
                + install_hint(dist))

    # -- lifecycle hooks --------------------------------------------------------------------
    def has_listeners(self, hook_name: str) -> bool:
        """True if any active plugin implements the lifecycle hook ``hook_name``."""
        caller = getattr(self.hook_manager.hook, hook_name)
        return any(impl.plugin_name not in self._muted for impl in caller.get_hookimpls())

    def call_lifecycle(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook through pluggy, isolating each plugin's failure.

        The call is pluggy's own (``hook_manager.hook.<hook_name>(**kwargs)``), so
        ``tryfirst``/``trylast`` and pluggy's tracing and call monitoring apply. An
        implementation that raises is logged with its plugin's name and receives no
        further lifecycle calls (until :meth:`unmute_all`); the others are still called.

        Raises
        ------
        TypeError
            ``kwargs`` are not exactly the arguments the hookspec declares: an error of
            the caller, raised before any plugin is called (no plugin is muted for it).
        """
        expected = self._lifecycle_args.get(hook_name)
        if expected is None:
            raise ValueError(f"{hook_name!r} is not a lifecycle hook; they are "
                             f"{', '.join(hookspecs.LIFECYCLE_HOOKS)}")
        if kwargs.keys() != expected:
            missing = sorted(expected - kwargs.keys())
            extra = sorted(kwargs.keys() - expected)
            parts = ([f"without {', '.join(missing)}"] if missing else []) + \
                    ([f"with unknown {', '.join(extra)}"] if extra else [])
            raise TypeError(f"{hook_name} called {' and '.join(parts)}: its hookspec "
                            f"(glompo_core.hookspecs.{hook_name}) declares "
                            f"{', '.join(sorted(expected))}; the caller must pass them all")
        getattr(self.hook_manager.hook, hook_name)(**kwargs)

    def create_visualisation(self, manager: Any, settings: dict[str, Any]) -> Any:
        """Ask the plugins for a live visualisation (see ``glompo_create_visualisation``).

        Raises
        ------
        UnknownComponentError
            No installed plugin provides one (it says to ``pip install glompo-scope``).
        """
        caller = self.hook_manager.hook.glompo_create_visualisation
        if not caller.get_hookimpls():
            raise UnknownComponentError(
                "visualisation=True needs a plugin that draws the run, and none is installed: "
                + install_hint("glompo-scope"))
        return caller(manager=manager, settings=dict(settings))

    def has_visualisation(self) -> bool:
        """True if an installed plugin implements ``glompo_create_visualisation``."""
        return bool(self.hook_manager.hook.glompo_create_visualisation.get_hookimpls())

    def add_observer(self, observer: Any, name: str) -> None:
        """Register a run-scoped object implementing lifecycle hooks (e.g. a scope).

        Raises
        ------
        PluginError
            It implements an unknown hook or a hook wrapper (nothing is registered).
        """
        self.hook_manager.register(observer, name=name)
        try:
            self._check_hook_names(observer, name)
            self._check_no_wrappers(name)
        except PluginError:
            self.hook_manager.unregister(name=name)
            raise
        self._guard_lifecycle(name)

    def remove_observer(self, name: str) -> None:
        """Unregister a run-scoped observer added by :meth:`add_observer`."""
        if self.hook_manager.has_plugin(name):
            self.hook_manager.unregister(name=name)
        self._muted.discard(name)

    def unmute_all(self) -> None:
        """Re-enable plugins disabled by a failure in an earlier run."""
        self._muted.clear()


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> PluginManager:
    """Return the process-wide plugin manager (built on first use, then cached).

    Call ``get_plugin_manager.cache_clear()`` to rediscover plugins (e.g. after changing
    ``GLOMPO_DISABLE_PLUGINS``).
    """
    return PluginManager()
