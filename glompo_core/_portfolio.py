"""The default portfolio: asking the plugins (hook ``glompo_default_portfolio``) for it.

A run file without ``opt_selector`` gets its selector (and its stoppers, when it gives
none) from the first plugin that answers the hook; the core names no component for it.
:func:`ask_default_portfolio` calls the implementations in pluggy's order of calling and
remembers which plugin answered, so that the run can say where its portfolio came from.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from glompo_core.errors import PluginError

if TYPE_CHECKING:
    from glompo_core.plugins import PluginManager

__all__ = ["HOOK", "SECTIONS", "DefaultPortfolio", "ask_default_portfolio",
           "no_portfolio_message"]

HOOK = "glompo_default_portfolio"
#: The run-file sections a default portfolio may give.
SECTIONS = ("opt_selector", "stoppers")
#: What to install for the first-party default portfolio, from the root of a clone.
_INSTALL = "pip install ./plugins/glompo-cma ./plugins/glompo-scipy"

_log = logging.getLogger("glompo.runfile")


@dataclass(frozen=True)
class DefaultPortfolio:
    """The default portfolio a plugin gave, and where it came from.

    Attributes
    ----------
    plugin
        The plugin's name (its entry-point name, e.g. ``'cma'``).
    distribution, version
        The distribution that installed the plugin.
    sections
        The run-file sections the plugin returned (``opt_selector`` and maybe
        ``stoppers``), as YAML would load them.
    n_parms, budget
        What the plugin was asked with.
    used
        The sections the run took: ``opt_selector`` always, ``stoppers`` only when the
        run file gave none. Empty until a run takes them.
    """

    plugin: str
    distribution: str
    version: str
    sections: dict[str, Any]
    n_parms: int | None = None
    budget: int | None = None
    used: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        """``'default portfolio from PLUGIN (DISTRIBUTION VERSION)'``: where errors point."""
        return f"default portfolio from {self.plugin} ({self.distribution} {self.version})"

    def run_file_text(self, flow: bool = False) -> str:
        """The sections the run took (all, if none yet) as run-file YAML.

        Parameters
        ----------
        flow
            One line (YAML flow style) instead of a block.
        """
        keys = self.used or tuple(self.sections)
        data = {key: self.sections[key] for key in keys}
        if flow:
            return "; ".join(
                f"{key}: " + yaml.safe_dump(value, default_flow_style=True, sort_keys=False,
                                            width=float("inf")).strip().removesuffix("...")
                .strip() for key, value in data.items())
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=88)

    def describe(self) -> str:
        """One line for the terminal: which plugin gave what, as run-file text."""
        return (f"no opt_selector in the run file: using the {self.source}, the same as "
                f"writing {self.run_file_text(flow=True)}")

    def as_summary(self) -> dict[str, Any]:
        """The record of the summary file (``Settings: Default Portfolio``)."""
        return {"From": f"plugin {self.plugin!r} ({self.distribution} {self.version})",
                "Sections": {key: copy.deepcopy(self.sections[key])
                             for key in (self.used or tuple(self.sections))}}


def no_portfolio_message(plugin_manager: PluginManager,
                         lead: str = "the run file has no 'opt_selector' and ") -> str:
    """Why a run without ``opt_selector`` cannot run, and the two ways to fix it."""
    failed = [p for p in plugin_manager.plugins() if p.status != "active"]
    extra = "".join(f" Plugin {p.name!r} ({p.distribution}) is {p.status}"
                    f"{': ' + p.reason if p.reason else ''}." for p in failed)
    return (f"{lead}no installed plugin gives a default "
            "portfolio: give an opt_selector (e.g. {CycleSelector: {avail_opts: "
            "[RandomOptimizer]}}), or install the plugins of the default portfolio, from "
            f"the root of a clone of GloMPO: {_INSTALL}.{extra}")


def _check_answer(answer: Any, plugin: str) -> dict[str, Any]:
    if not isinstance(answer, Mapping):
        raise PluginError(f"plugin {plugin!r}: {HOOK} returned {type(answer).__name__} "
                          f"{answer!r}; return a mapping of run-file sections "
                          "({'opt_selector': ..., 'stoppers': ...}) or None")
    unknown = [key for key in answer if key not in SECTIONS]
    if unknown:
        raise PluginError(f"plugin {plugin!r}: {HOOK} returned the section(s) {unknown}; a "
                          f"default portfolio gives only {', '.join(SECTIONS)}")
    if answer.get("opt_selector") is None:
        raise PluginError(f"plugin {plugin!r}: {HOOK} returned no 'opt_selector'; a default "
                          "portfolio gives at least the selector (or None for no portfolio)")
    return copy.deepcopy(dict(answer))


def ask_default_portfolio(plugin_manager: PluginManager, n_parms: int | None,
                          budget: int | None) -> DefaultPortfolio | None:
    """The first default portfolio an installed plugin gives (hook ``glompo_default_portfolio``).

    The implementations are called one at a time in the order pluggy calls them for a
    ``firstresult`` hook (``tryfirst`` ones first, ``trylast`` ones last, else the plugin
    registered last first) until one returns a mapping, so that the plugin which
    answered is known.

    Parameters
    ----------
    plugin_manager
        The registry whose plugins are asked.
    n_parms
        The task's number of parameters (None if unknown).
    budget
        The run's evaluation budget (None if it has none).

    Returns
    -------
    DefaultPortfolio or None
        None if no plugin implements the hook or every implementation returned None.

    Raises
    ------
    PluginError
        An implementation raised, returned something other than a mapping of
        ``opt_selector`` (and ``stoppers``), or is a hook wrapper: names the plugin.
    """
    caller = getattr(plugin_manager.hook_manager.hook, HOOK)
    arguments: dict[str, Any] = {"n_parms": n_parms, "budget": budget,
                                 "available": plugin_manager.has}
    for impl in reversed(caller.get_hookimpls()):
        name = impl.plugin_name
        if impl.wrapper or impl.hookwrapper:
            raise PluginError(f"plugin {name!r} implements {HOOK} as a hook wrapper; "
                              "implement it as a plain @hookimpl function returning the "
                              "portfolio or None")
        try:
            answer = impl.function(*(arguments[a] for a in impl.argnames))
        except Exception as exc:
            raise PluginError(f"plugin {name!r} failed giving the default portfolio: "
                              f"{type(exc).__name__}: {exc}") from exc
        if answer is None:
            continue
        sections = _check_answer(answer, name)
        info = next((p for p in plugin_manager.plugins() if p.name == name), None)
        portfolio = DefaultPortfolio(
            plugin=name, distribution=info.distribution if info else name,
            version=info.version if info else "?", sections=sections, n_parms=n_parms,
            budget=budget)
        _log.debug("%s for n_parms=%s, budget=%s", portfolio.source, n_parms, budget)
        return portfolio
    return None
