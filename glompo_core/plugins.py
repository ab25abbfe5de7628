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

The registry and its records live in :mod:`glompo_core._plugin_registry`, the checks of
hook implementations and the lifecycle calls with per-plugin isolation in
:mod:`glompo_core._plugin_hooks`; this module loads the plugins, knows which
first-party distribution provides a name, and re-exports the public names.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any

import pluggy

from glompo_core import hookspecs
from glompo_core._install import install_hint
from glompo_core._plugin_hooks import LifecycleHooks
from glompo_core._plugin_registry import (
    KINDS,
    CommandInfo,
    ComponentInfo,
    ComponentRegistry,
    PluginInfo,
    RunOptionInfo,
)
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
_BUILTIN_MODULES = ("glompo_core._builtin_hooks",)

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


def _disabled_from_env() -> set[str]:
    raw = os.environ.get("GLOMPO_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


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
        self._registry = ComponentRegistry()
        self._plugins: dict[str, PluginInfo] = {}
        self._hooks = LifecycleHooks(self.hook_manager)
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
        self._registry.forget(name)
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
            self._hooks.check(plugin, name)
        except Exception as exc:
            self._fail(name, dist, ver, str(exc))
            return self._plugins[name]
        info = PluginInfo(name, dist, ver, "active")
        self._plugins[name] = info
        try:
            for hook_name, register in self._registry.registrars(info).items():
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
        self._hooks.guard(name)
        return self._plugins[name]

    # -- lookup -----------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        """Canonical names of the components of ``kind``, sorted."""
        return self._registry.names(kind)

    def has(self, kind: str, name: str) -> bool:
        """True if a component of ``kind`` is registered as ``name`` (case-insensitive)."""
        return self._registry.find(kind, name) is not None

    def info(self, kind: str, name: str, *, source: str | None = None) -> ComponentInfo:
        """The :class:`ComponentInfo` of a component (see :meth:`get`)."""
        found = self._registry.find(kind, name)
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

    def _unknown_message(self, kind: str, name: str, source: str | None) -> str:
        label = kind.replace("_", " ")
        where = f" (from {source})" if source else ""
        installed = self.names(kind)
        registry = self._registry.components[kind]
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
                  if k != kind and name.lower() in self._registry.components[k]]
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
            parts.append(self._provided_by(subject, dist, ": ", inactive_end="."))
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
        return list(self._registry.commands.values())

    def run_options(self) -> list[RunOptionInfo]:
        """The run-file keys (and ``glompo run`` options) plugins registered."""
        return list(self._registry.run_options.values())

    def missing_run_option_message(self, key: str) -> str | None:
        """What to say about a run-file key that no active plugin provides.

        None when ``key`` is registered or no first-party plugin provides it; else which
        distribution provides it and how to install it (or why it is not loaded).
        """
        if key in self._registry.run_options:
            return None
        dist = FIRST_PARTY_RUN_OPTIONS.get(key)
        if dist is None:
            return None
        return self._provided_by(f"the key '{key}' is", dist, ", which is not installed: ")

    def missing_command_message(self, name: str) -> str | None:
        """What to say about a ``glompo`` subcommand that no active plugin provides.

        None when ``name`` is registered or no first-party plugin provides it; else which
        distribution provides it and how to install it (or why it is not loaded).
        """
        if name in self._registry.commands:
            return None
        dist = FIRST_PARTY_COMMANDS.get(name)
        if dist is None:
            return None
        return self._provided_by(f"'glompo {name}' is", dist, ", which is not installed: ")

    def _provided_by(self, subject: str, dist: str, missing: str,
                     inactive_end: str = "") -> str:
        """``<subject> provided by <dist>, which is <status>[: <reason>]<inactive_end>``
        when ``dist`` is installed but not active, else ``<subject> provided by the plugin
        <dist><missing><how to install it>``."""
        state = next((p for p in self._plugins.values() if p.distribution == dist), None)
        if state is not None and state.status != "active":
            return (f"{subject} provided by {dist}, which is {state.status}"
                    f"{': ' + state.reason if state.reason else ''}{inactive_end}")
        return f"{subject} provided by the plugin {dist}{missing}{install_hint(dist)}"

    # -- lifecycle hooks --------------------------------------------------------------------
    def has_listeners(self, hook_name: str) -> bool:
        """True if any active plugin implements the lifecycle hook ``hook_name``."""
        return self._hooks.has_listeners(hook_name)

    def call_lifecycle(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook through pluggy, isolating each plugin's failure.

        The call is pluggy's own (``hook_manager.hook.<hook_name>(**kwargs)``), so
        ``tryfirst``/``trylast`` and pluggy's tracing and call monitoring apply. An
        implementation that raises is logged with its plugin's name and receives no
        further lifecycle calls (until :meth:`unmute_all`); the others are still called.

        Raises
        ------
        ValueError
            ``hook_name`` is not a lifecycle hook.
        TypeError
            ``kwargs`` are not exactly the arguments the hookspec declares: an error of
            the caller, raised before any plugin is called (no plugin is muted for it).
        """
        self._hooks.call(hook_name, **kwargs)

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
        self._hooks.add_observer(observer, name)

    def remove_observer(self, name: str) -> None:
        """Unregister a run-scoped observer added by :meth:`add_observer`."""
        self._hooks.remove_observer(name)

    def unmute_all(self) -> None:
        """Re-enable plugins disabled by a failure in an earlier run."""
        self._hooks.muted.clear()


@functools.lru_cache(maxsize=1)
def get_plugin_manager() -> PluginManager:
    """Return the process-wide plugin manager (built on first use, then cached).

    Call ``get_plugin_manager.cache_clear()`` to rediscover plugins (e.g. after changing
    ``GLOMPO_DISABLE_PLUGINS``).
    """
    return PluginManager()
