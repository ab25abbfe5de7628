"""The hook machinery of the plugin manager: checks, failure isolation, lifecycle calls.

Part of :mod:`glompo_core.plugins`. :class:`LifecycleHooks` works on the manager's
:class:`pluggy.PluginManager`:

- :meth:`~LifecycleHooks.check` refuses a plugin (or run-scoped observer) implementing
  an unknown ``glompo_*`` hook (with a "did you mean") or a hook wrapper on a
  registration, command or lifecycle hook;
- :meth:`~LifecycleHooks.guard` wraps each of its lifecycle implementations, once, so
  that one raising is logged with the plugin's name and muted for the rest of the run
  while pluggy goes on to the others;
- :meth:`~LifecycleHooks.call` calls a lifecycle hook through pluggy after checking the
  caller passes exactly the arguments the hookspec declares.
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Callable
from typing import Any

import pluggy

from glompo_core import hookspecs
from glompo_core.errors import PluginError

__all__ = ["LifecycleHooks"]

_log = logging.getLogger("glompo.plugins")


class LifecycleHooks:
    """Checks hook implementations and calls the lifecycle hooks, isolating failures.

    Parameters
    ----------
    hook_manager
        The pluggy manager holding GloMPO's hookspecs and the plugins' implementations.
    """

    def __init__(self, hook_manager: pluggy.PluginManager) -> None:
        self.hook_manager = hook_manager
        #: Plugins muted after a lifecycle implementation raised (until unmute_all).
        self.muted: set[str] = set()
        # what each lifecycle call must pass: the arguments its hookspec declares
        self._args = {
            name: frozenset(getattr(hook_manager.hook, name).spec.argnames)
            for name in hookspecs.LIFECYCLE_HOOKS}

    # -- checks --------------------------------------------------------------------------------
    def check(self, plugin: Any, name: str) -> None:
        """Refuse unknown ``glompo_*`` hooks and hook wrappers of the registered ``plugin``.

        Raises
        ------
        PluginError
            Naming the hook (and the closest known hook name, for a typo).
        """
        self._check_hook_names(plugin, name)
        self._check_no_wrappers(name)

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

    # -- isolation -----------------------------------------------------------------------------
    def guard(self, name: str) -> None:
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
        muted = self.muted

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

    # -- calls ---------------------------------------------------------------------------------
    def has_listeners(self, hook_name: str) -> bool:
        """True if any plugin not muted implements the lifecycle hook ``hook_name``."""
        caller = getattr(self.hook_manager.hook, hook_name)
        return any(impl.plugin_name not in self.muted for impl in caller.get_hookimpls())

    def call(self, hook_name: str, **kwargs: Any) -> None:
        """Call a lifecycle hook through pluggy (see ``PluginManager.call_lifecycle``).

        Raises
        ------
        ValueError
            ``hook_name`` is not a lifecycle hook.
        TypeError
            ``kwargs`` are not exactly the arguments the hookspec declares.
        """
        expected = self._args.get(hook_name)
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

    # -- run-scoped observers ------------------------------------------------------------------
    def add_observer(self, observer: Any, name: str) -> None:
        """Register ``observer`` as ``name``, checked and guarded (see ``check``)."""
        self.hook_manager.register(observer, name=name)
        try:
            self.check(observer, name)
        except PluginError:
            self.hook_manager.unregister(name=name)
            raise
        self.guard(name)

    def remove_observer(self, name: str) -> None:
        """Unregister ``name`` (if registered) and forget that it was muted."""
        if self.hook_manager.has_plugin(name):
            self.hook_manager.unregister(name=name)
        self.muted.discard(name)
