"""Run files: a whole GloMPO run described in YAML, with components named by plugin name.

A run file's keys are the arguments of :meth:`GloMPOManager.setup` plus ``seed``,
``task_kwargs``, ``backend_kwargs`` and ``plugins`` (modules to register as
plugins, e.g. local modules beside the run file). A component is written as its
name, or as ``{Name: {argument: value}}``::

    task: Schwefel
    task_kwargs: {dims: 20}
    max_jobs: 4
    backend: threads
    opt_selector:
      CycleSelector:
        avail_opts:
          - RandomOptimizer
          - CMAOptimizer: {init: {sigma0: 500}}
        allow_spawn: {IterSpawnStop: {max_calls: 100000}}
    stoppers: "BestUnmoving(calls=2000, tol=0.01) | ParameterDistance(bounds, 0.05)"
    exit_conditions: {MaxFuncCalls: {fmax: 121200}}
    summary_files: 1
    seed: 1

``task`` is a registered task name or ``"package.module:callable"`` (called with
``task_kwargs``). ``bounds`` may be omitted when the task has them, be a list of
``[min, max]`` pairs, or one ``[min, max]`` pair repeated for every parameter of
the task. Errors name the file, the line and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glompo_core._install import install_hint
from glompo_core._runfile_build import (
    _build,
    _build_conditions,
    _build_selector,
    _n_parms,
    _split_component,
    add_to_sys_path,
    build_task,
)
from glompo_core._runfile_yaml import RunFile
from glompo_core.errors import GloMPOError, RunFileError
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.settings import run_file_settings

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["CORE_KEYS", "RunFile", "add_to_sys_path", "build_manager", "build_task",
           "default_portfolio", "load_run_file"]

_log = logging.getLogger("glompo.runfile")

#: Plain settings: key -> (allowed types, may be null); from the one table of run
#: settings (glompo_core.settings.RunSettings).
_SETTINGS: dict[str, tuple[tuple[type, ...], bool]] = run_file_settings()
_COMPONENT_KEYS = ("task", "task_kwargs", "bounds", "opt_selector", "backend", "backend_kwargs",
                   "exit_conditions", "stoppers", "x0_generator", "checkpoint_control",
                   "plugins", "visualisation", "visualisation_args")
_ALL_KEYS = (*_SETTINGS, *_COMPONENT_KEYS)
#: The run-file keys of the core; plugins add theirs (glompo_register_run_options).
CORE_KEYS = frozenset(_ALL_KEYS)


def _take_default_portfolio(run: RunFile, pm: PluginManager, task: Any,
                            bounds: list[Any] | None) -> None:
    """Put the default portfolio's sections into ``run.data`` (opt_selector; stoppers
    when the file has none), each marked as supplied by it for error messages."""
    from glompo_core._portfolio import ask_default_portfolio, no_portfolio_message
    from glompo_core.budget import run_budget

    cond_bounds = bounds if bounds is not None else getattr(task, "bounds", None)
    budget = run_budget(_build_conditions(run, pm, "exit_conditions", "exit_condition",
                                          cond_bounds))
    portfolio = ask_default_portfolio(pm, _n_parms(task, bounds), budget)
    if portfolio is None:
        raise run.error(no_portfolio_message(pm))
    used = tuple(key for key in portfolio.sections
                 if key == "opt_selector" or key not in run.data)
    portfolio = dataclasses.replace(portfolio, used=used)
    for key in used:
        run.data[key] = copy.deepcopy(portfolio.sections[key])
        run.overridden[(key,)] = portfolio.source
    run.default_portfolio = portfolio
    _log.info("%s", portfolio.describe())


def default_portfolio(bounds: Sequence[Sequence[float]],
                      exit_conditions: Any = None, *,
                      stoppers: bool = True,
                      plugin_manager: PluginManager | None = None) -> dict[str, Any]:
    """The default portfolio as :meth:`GloMPOManager.setup` arguments, from Python.

    What ``glompo run`` uses for a run file without ``opt_selector``: the first
    installed plugin that implements the hook ``glompo_default_portfolio`` gives the
    sections, built here as a run file's would be.

    Parameters
    ----------
    bounds
        ``(min, max)`` of each parameter (its length is the plugins' ``n_parms``).
    exit_conditions
        The run's exit conditions (their ``MaxFuncCalls`` is the plugins' ``budget``,
        see :func:`glompo_core.budget.run_budget`), or None.
    stoppers
        Include the portfolio's stoppers (False: only the selector, for a run that
        brings its own).
    plugin_manager
        The registry whose plugins are asked (default: the installed plugins).

    Returns
    -------
    dict
        ``{'opt_selector': ..., 'stoppers': ...}`` (``stoppers`` only if the portfolio
        has them and ``stoppers`` is True), to pass on with ``**``.

    Raises
    ------
    RunFileError
        No plugin gives a default portfolio (it says what to install), or its sections
        do not build (the error names "default portfolio from PLUGIN").

    Notes
    -----
    A run of the default portfolio on ``task``, with 10,000 evaluations::

        from glompo_core import GloMPOManager
        from glompo_core.exit_conditions import MaxFuncCalls
        from glompo_core.runfile import default_portfolio

        bounds = [(-5, 5)] * 4
        budget = MaxFuncCalls(fmax=10_000)
        manager = GloMPOManager.new_manager(task=task, bounds=bounds,
                                            exit_conditions=budget,
                                            **default_portfolio(bounds, budget))
    """
    from glompo_core._portfolio import ask_default_portfolio, no_portfolio_message
    from glompo_core.budget import run_budget

    pm = plugin_manager or get_plugin_manager()
    run = RunFile.from_settings("default_portfolio()", [])
    portfolio = ask_default_portfolio(pm, len(bounds), run_budget(exit_conditions))
    if portfolio is None:
        raise RunFileError(f"default_portfolio(): {no_portfolio_message(pm, lead='')}")
    keys = [key for key in portfolio.sections if key == "opt_selector" or stoppers]
    for key in keys:
        run.data[key] = copy.deepcopy(portfolio.sections[key])
        run.overridden[(key,)] = portfolio.source
    run.default_portfolio = dataclasses.replace(portfolio, used=tuple(keys))
    out: dict[str, Any] = {"opt_selector": _build_selector(run, pm)}
    if "stoppers" in keys:
        out["stoppers"] = _build_conditions(run, pm, "stoppers", "stopper",
                                            [tuple(b) for b in bounds])
    return out


def load_run_file(path: str | Path | RunFile, overrides: list[str] | None = None,
                  plugin_manager: PluginManager | None = None) -> dict[str, Any]:
    """Read a run file and return the keyword arguments of :meth:`GloMPOManager.setup`.

    Parameters
    ----------
    path
        The YAML run file (or one already read, its overrides applied).
    overrides
        ``key=value`` strings applied on top of the file.
    plugin_manager
        Registry of names (default: the installed plugins).

    Raises
    ------
    RunFileError
        Malformed file, unknown key or wrong type: names the file, line and key.
    UnknownComponentError
        A component name nobody registered (with suggestions).
    """
    run = path if isinstance(path, RunFile) else RunFile(path, overrides)
    data = run.data
    pm = plugin_manager or get_plugin_manager()
    import difflib

    plugin_keys = {option.key: option for option in pm.run_options()}
    all_keys = (*_ALL_KEYS, *plugin_keys)
    for key in data:
        if key not in all_keys:
            missing = pm.missing_run_option_message(str(key))
            if missing is not None:
                raise run.error(missing, key)
            close = difflib.get_close_matches(str(key), all_keys, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise run.error(f"unknown key{hint} (allowed: {', '.join(all_keys)})", key)
    run.observers = []
    for key, option in plugin_keys.items():
        if key not in data:
            continue
        try:
            observer = option.build(data[key])
        except (ValueError, TypeError) as exc:
            raise run.error(str(exc), key) from None
        if observer is not None:
            run.observers.append((f"{option.plugin}:{key}:{id(observer)}", observer))
    for key, (types, nullable) in _SETTINGS.items():
        if key not in data:
            continue
        value = data[key]
        if value is None and nullable:
            continue
        ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
        if not ok:
            names = " or ".join(t.__name__ for t in types) + (" or null" if nullable else "")
            raise run.error(f"expected {names}, got {value!r} ({type(value).__name__})", key)
    kwargs: dict[str, Any] = {k: data[k] for k in _SETTINGS if k in data}

    plugins = data.get("plugins") or []
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise run.error("expected a list of module names", "plugins")
    here = str(run.path.resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    importlib.invalidate_caches()  # modules written since the directory was last scanned
    for i, module_name in enumerate(plugins):
        try:
            module = importlib.import_module(module_name)
        except (ImportError, SyntaxError) as exc:
            raise run.error(f"cannot import plugin module {module_name!r}: "
                            f"{type(exc).__name__}: {exc}", "plugins", i) from None
        if not any(p.name == module_name and p.status == "active" for p in pm.plugins()):
            info = pm.register_plugin(module, module_name)
            if info.status != "active":
                raise run.error(f"plugin {module_name!r} failed: {info.reason}", "plugins", i)

    # task
    if "task" not in data:
        raise run.error("the run file needs a 'task': a registered task name (see "
                        "'glompo plugins') or 'package.module:callable'")
    task = build_task(run, pm, search_path=(here, os.getcwd()))
    kwargs["task"] = task

    # bounds
    bounds = data.get("bounds")
    if bounds is not None:
        if not isinstance(bounds, list) or not bounds:
            raise run.error("expected a list of [min, max] pairs, or one [min, max] pair", "bounds")
        if len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds):
            dims = getattr(task, "dims", None)
            if not isinstance(dims, int):
                raise run.error("a single [min, max] pair needs a task with 'dims'; write one "
                                "pair per parameter", "bounds")
            bounds = [list(bounds)] * dims
    kwargs["bounds"] = bounds

    # selector: the file's, or the default portfolio the plugins give (hook
    # glompo_default_portfolio) when the file has none
    if "opt_selector" not in run.data:  # not "required": docs/gen_pages.py reads this
        _take_default_portfolio(run, pm, task, bounds)
    kwargs["opt_selector"] = _build_selector(run, pm)

    # conditions, generator, backend
    cond_bounds: Any = bounds if bounds is not None else getattr(task, "bounds", None)
    for key, kind in (("exit_conditions", "exit_condition"), ("stoppers", "stopper")):
        conditions = _build_conditions(run, pm, key, kind, cond_bounds)
        if conditions is not None:
            kwargs[key] = conditions
    if data.get("x0_generator") is not None:
        kwargs["x0_generator"] = _build(run, pm, "generator", data["x0_generator"],
                                        ("x0_generator",))
    if data.get("backend") is not None:
        bname, bkw = _split_component(run, data["backend"], ("backend",), "backend")
        pm.get("backend", bname, source=f"{run.where('backend')}, key 'backend'")
        kwargs["backend"] = bname
        extra = data.get("backend_kwargs") or {}
        if not isinstance(extra, dict):
            raise run.error("expected a mapping", "backend_kwargs")
        if bkw or extra:
            kwargs["backend_kwargs"] = {**bkw, **extra}
    if data.get("checkpoint_control") is not None:
        kwargs["checkpoint_control"] = data["checkpoint_control"]
    vis = data.get("visualisation")
    vis_args = data.get("visualisation_args")
    if isinstance(vis, dict):  # `visualisation: {record_movie: true}` turns it on with args
        vis_args = {**vis, **(vis_args or {})}
        vis = True
    if vis is not None and not isinstance(vis, bool):
        raise run.error("expected true/false or a mapping of the visualisation's arguments",
                        "visualisation")
    if vis_args is not None and not isinstance(vis_args, dict):
        raise run.error("expected a mapping of the visualisation's arguments",
                        "visualisation_args")
    if vis:
        if not pm.has_visualisation():
            raise run.error("live visualisation needs the glompo-scope plugin, which is not "
                            f"installed: {install_hint('glompo-scope')}", "visualisation")
        kwargs["visualisation"] = True
        kwargs["visualisation_args"] = vis_args or {}
    kwargs["plugin_manager"] = pm
    return kwargs


#: Exceptions of setup() that :func:`build_manager` reports at a run file's line.
_SETUP_ERRORS = (ValueError, TypeError, LookupError, OSError, GloMPOError)


def build_manager(path: str | Path, overrides: list[str] | None = None,
                  plugin_manager: PluginManager | None = None) -> GloMPOManager:
    """Read a run file and set up a manager from it (what ``glompo run`` does).

    Parameters
    ----------
    path
        The YAML run file.
    overrides
        ``key=value`` strings applied on top of the file.
    plugin_manager
        Registry of names (default: the installed plugins).

    Returns
    -------
    GloMPOManager
        Set up, not started.

    Raises
    ------
    RunFileError
        Anything :func:`load_run_file` refuses (a run file without ``opt_selector``
        when no plugin gives a default portfolio, too), and every error of
        :meth:`GloMPOManager.setup` about a setting (bounds, max_jobs, backend,
        working_dir, ...), as ``FILE:LINE: key 'KEY': message``.
    UnknownComponentError
        A component name nobody registered (with suggestions).
    """
    from glompo_core._setup_checks import setting_of
    from glompo_core.manager import GloMPOManager

    run = RunFile(path, overrides)
    kwargs = load_run_file(run, plugin_manager=plugin_manager)
    try:
        manager = GloMPOManager.new_manager(**kwargs)
    except _SETUP_ERRORS as exc:
        setting = setting_of(exc)
        if setting is None:
            raise
        raise _setting_error(run, setting, getattr(exc, "setting_path", (setting,)),
                             exc) from exc
    manager.default_portfolio = run.default_portfolio
    for name, observer in run.observers:  # the run services of plugin keys (dashboard: ...)
        manager.add_observer(observer, name)  # removed again when the run ends
    return manager


def _setting_error(run: RunFile, setting: str, path: tuple[Any, ...],
                   exc: BaseException) -> RunFileError:
    """``FILE:LINE: key 'KEY': message`` for an error of ``setup()`` about ``setting``."""
    message = str(exc)
    if setting not in run.data:
        # not in the file (a default, or bounds taken from the task): no line to name
        source = "the task's bounds" if setting == "bounds" else "its default"
        return RunFileError(f"{run.path}: setting '{setting}' (not in the file, {source}): "
                            f"{message}")
    # reach into the value only as far as the file holds containers (a [min, max] pair
    # given once for every parameter has no line of its own per parameter)
    value: Any = run.data
    key: tuple[Any, ...] = ()
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            break
        if key and not isinstance(value, (list, dict)):
            break
        key = (*key, part)
    return run.error(message, *(key or (setting,)))
