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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from glompo_core._install import install_hint
from glompo_core.errors import GloMPOError, RunFileError
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.settings import run_file_settings

if TYPE_CHECKING:
    from glompo_core._portfolio import DefaultPortfolio
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
#: How RunFile.where names keys a default portfolio supplied (not lines of the file).
_SUPPLIED = "default portfolio from "
#: The run-file keys of the core; plugins add theirs (glompo_register_run_options).
CORE_KEYS = frozenset(_ALL_KEYS)


class _LineLoader(yaml.SafeLoader):
    """Safe loader that remembers the line of every key."""


def _compose_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int],
                   duplicates: list[tuple[tuple[Any, ...], int, int]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            sub = (*path, key)
            if isinstance(key, str) and key in seen:
                duplicates.append((sub, seen[key], line))
                continue
            if isinstance(key, str):
                seen[key] = line
            lines[sub] = line
            _compose_lines(value_node, sub, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _compose_lines(item, (*path, i), lines, duplicates)


class RunFile:
    """A parsed run file: its data and where each key stands.

    Parameters
    ----------
    path
        The YAML file.
    overrides
        ``key=value`` settings (``--set``), the value parsed as YAML; dotted keys reach
        into mappings (``task_kwargs.dims=10``).
    """

    #: The default portfolio :func:`load_run_file` took because the file has no
    #: ``opt_selector`` (None if it has one).
    default_portfolio: DefaultPortfolio | None = None

    def __init__(self, path: str | Path, overrides: list[str] | None = None) -> None:
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RunFileError(f"cannot read run file {self.path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise RunFileError(f"{self.path}: not a text file in UTF-8 ({exc.reason} at byte "
                               f"{exc.start})") from None
        self.lines: dict[tuple[Any, ...], int] = {}
        self.overridden: dict[tuple[Any, ...], str] = {}
        try:
            node = yaml.compose(text, Loader=_LineLoader)
            data = yaml.load(text, Loader=_LineLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{self.path}:{mark.line + 1}" if mark is not None else str(self.path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise RunFileError(f"{where}: not valid YAML: {problem}") from None
        if node is not None:
            duplicates: list[tuple[tuple[Any, ...], int, int]] = []
            _compose_lines(node, (), self.lines, duplicates)
            if duplicates:
                key, first, again = duplicates[0]
                raise RunFileError(f"{self.path}:{again}: key '{_key_text(key)}': given twice "
                                   f"(first on line {first}); keep one")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RunFileError(f"{self.path}:1: a run file is a mapping of settings "
                               f"(task: ..., opt_selector: ...), not a {type(data).__name__}")
        for item in overrides or []:
            self._override(data, item)
        self.data: dict[str, Any] = data
        #: (name, observer) of the run services its plugin keys built (load_run_file)
        self.observers: list[tuple[str, Any]] = []

    @classmethod
    def from_settings(cls, source: str | Path, overrides: list[str],
                      task: str | None = None) -> RunFile:
        """A run file made only of ``key=value`` settings, read as ``--set`` reads them.

        ``glompo resume`` builds the task it is given on the command line from one, so
        ``--set task=...`` means what ``task:`` means in a run file; ``task`` is the
        value of ``--task`` (a name or ``module:callable``, taken as written). Errors
        name ``source`` and the option that gave the key.
        """
        run = cls.__new__(cls)
        run.path = Path(source)
        run.lines = {}
        run.overridden = {}
        data: dict[str, Any] = {}
        for item in overrides:
            run._override(data, item)
        if task is not None:
            data["task"] = task
            run.overridden[("task",)] = f"--task {task}"
        run.data = data
        run.observers = []
        return run

    def _override(self, data: dict[str, Any], item: str) -> None:
        if "=" not in item:
            raise RunFileError(f"--set {item!r}: write key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        if not all(parts):
            raise RunFileError(f"--set {item!r}: write key=value (dotted keys reach into "
                               "mappings, e.g. task_kwargs.dims=10)")
        target = data
        for part in parts[:-1]:
            if target.get(part) is None:
                target[part] = {}
            target = target[part]
            if not isinstance(target, dict):
                raise RunFileError(f"--set {item!r}: {part!r} is not a mapping")
        target[parts[-1]] = value
        self.overridden[tuple(parts)] = item.strip()

    def where(self, *path: Any) -> str:
        """``file:line`` of a key path (the nearest known line), or the ``--set`` giving it."""
        for n in range(1, len(path) + 1):
            item = self.overridden.get(tuple(path[:n]))
            if item is not None:
                return f"{self.path} ({item})" if item.startswith(("--", _SUPPLIED)) \
                    else f"{self.path} (--set {item})"
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)

    def error(self, message: str, *path: Any) -> RunFileError:
        """A :class:`RunFileError` naming the file, line and key."""
        key = _key_text(path)
        prefix = f"{self.where(*path)}: " + (f"key '{key}': " if key else "")
        return RunFileError(prefix + message)


def _key_text(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _split_component(run: RunFile, value: Any, path: tuple[Any, ...], what: str
                     ) -> tuple[str, dict[str, Any]]:
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and len(value) == 1:
        (name, kwargs), = value.items()
        if kwargs is None:
            kwargs = {}
        if not isinstance(name, str) or not isinstance(kwargs, dict):
            raise run.error(f"a {what} is written as Name or {{Name: {{argument: value}}}}",
                            *path)
        return name, dict(kwargs)
    raise run.error(f"a {what} is written as Name or {{Name: {{argument: value}}}}; got "
                    f"{value!r}", *path)


def _build(run: RunFile, pm: PluginManager, kind: str, value: Any, path: tuple[Any, ...],
           **extra: Any) -> Any:
    name, kwargs = _split_component(run, value, path, kind.replace("_", " "))
    cls = pm.get(kind, name, source=f"{run.where(*path)}, key '{_key_text(path)}'")
    try:
        return cls(**extra, **kwargs)
    except (TypeError, ValueError) as exc:
        # point at the component's arguments ({Name: {...}}) when there are any
        arg_path = (*path, name) if isinstance(value, dict) else path
        raise run.error(f"{name}: {exc}", *arg_path) from None


def _check_optimizer_arguments(run: RunFile, cls: type, conf: dict[str, Any],
                               path: tuple[Any, ...]) -> None:
    """Refuse the first ``init``/``call`` argument the optimizer class does not take."""
    from glompo_core._setup_checks import optimizer_argument_problems

    problems = optimizer_argument_problems(cls, conf.get("init") or {}, conf.get("call") or {})
    if problems:
        first = problems[0]
        raise run.error(first.message, *path, first.part, first.key)


def _import_callable(run: RunFile, spec: str, path: tuple[Any, ...]) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except (ImportError, SyntaxError) as exc:
        raise run.error(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}",
                        *path) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise run.error(f"module {module_name!r} has no {attr!r}", *path) from None
    if not callable(obj):
        raise run.error(f"{spec!r} is not callable", *path)
    return obj


def add_to_sys_path(*directories: str | Path | None) -> list[str]:
    """Append existing ``directories`` to ``sys.path``, in the order given.

    They come after everything already there, so they never shadow an installed module;
    directories already on the path keep their place, and ``None`` and missing
    directories are skipped. Returns the directories that were added.
    """
    added = []
    for directory in directories:
        if directory is None:
            continue
        text = str(Path(directory).resolve())
        if text not in sys.path and Path(text).is_dir():
            sys.path.append(text)
            added.append(text)
    importlib.invalidate_caches()  # modules written since the directories were last scanned
    return added


def build_task(run: RunFile, plugin_manager: PluginManager,
               search_path: tuple[str | Path | None, ...] = ()) -> Any:
    """Build the task of a run file's ``task`` and ``task_kwargs`` keys.

    ``glompo run`` and ``glompo resume`` (``--task``, ``--set task=...``) share it, so a
    task is found the same way by both.

    Parameters
    ----------
    run
        The run file (or the settings given on the command line, see
        :meth:`RunFile.from_settings`); its ``task`` is a registered task name,
        ``"package.module:callable"``, or ``{name: {argument: value}}``.
    plugin_manager
        Registry of task names.
    search_path
        Directories added to ``sys.path`` (see :func:`add_to_sys_path`) before the module
        of ``"package.module:callable"`` is imported: for ``glompo run``, the run file's
        directory and the current working directory.

    Returns
    -------
    Any
        The task: the callable called with ``task_kwargs`` when it is a class or has
        arguments, else the callable itself.

    Raises
    ------
    RunFileError
        No task, a module that cannot be imported, a missing attribute, or arguments the
        task refuses: names the file (or ``--set``), the line and the key.
    UnknownComponentError
        A task name nobody registered.
    """
    data = run.data
    if data.get("task") is None:
        raise run.error("no task: give a registered task name (see 'glompo plugins') or "
                        "'package.module:callable'", "task")
    task_spec = data["task"]
    task_kwargs = data.get("task_kwargs") or {}
    if not isinstance(task_kwargs, dict):
        raise run.error("expected a mapping of arguments", "task_kwargs")
    if isinstance(task_spec, dict):
        name, extra = _split_component(run, task_spec, ("task",), "task")
        task_kwargs = {**extra, **task_kwargs}
        task_spec = name
    if not isinstance(task_spec, str):
        raise run.error("expected a task name or 'package.module:callable'", "task")
    if ":" in task_spec:
        add_to_sys_path(*search_path)
        factory = _import_callable(run, task_spec, ("task",))
    else:
        factory = plugin_manager.get("task", task_spec,
                                     source=f"{run.where('task')}, key 'task'")
    try:
        return factory(**task_kwargs) if (task_kwargs or isinstance(factory, type)) else factory
    except (TypeError, ValueError) as exc:
        raise run.error(f"building the task {task_spec!r} failed: {exc}",
                        "task_kwargs" if data.get("task_kwargs") else "task") from None


def _build_selector(run: RunFile, pm: PluginManager) -> Any:
    """The selector of ``run.data['opt_selector']``, its optimizers checked."""
    data = run.data
    name, sel_kwargs = _split_component(run, data["opt_selector"], ("opt_selector",), "selector")
    avail = sel_kwargs.pop("avail_opts", None)
    if not isinstance(avail, list) or not avail:
        raise run.error("a selector needs 'avail_opts': a list of optimizers (names or "
                        "{Name: {init: {...}, call: {...}}})", "opt_selector", name)
    spawn = sel_kwargs.pop("allow_spawn", None)
    if spawn is not None:
        items = spawn if isinstance(spawn, list) else [spawn]
        sel_kwargs["allow_spawn"] = [
            _build(run, pm, "selector", item, ("opt_selector", name, "allow_spawn")
                   + ((i,) if isinstance(spawn, list) else ()))
            for i, item in enumerate(items)]
    for i, opt in enumerate(avail):
        opath = ("opt_selector", name, "avail_opts", i)
        oname, conf = _split_component(run, opt, opath, "optimizer")
        opt_cls = pm.get("optimizer", oname,
                         source=f"{run.where(*opath)}, key '{_key_text(opath)}'")
        unknown = sorted(set(conf) - {"init", "call"}, key=str)
        if unknown:
            raise run.error(f"unknown key(s) {unknown} for optimizer {oname!r}: write "
                            "{Name: {init: {constructor arguments}, call: {arguments of "
                            "minimize}}}", *opath, oname)
        for part in ("init", "call"):
            if conf.get(part) is not None and not isinstance(conf[part], dict):
                raise run.error(f"expected a mapping of arguments, got {conf[part]!r}",
                                *opath, oname, part)
        _check_optimizer_arguments(run, opt_cls, conf, (*opath, oname))
    sel_cls = pm.get("selector", name, source=f"{run.where('opt_selector')}, key 'opt_selector'")
    try:
        return sel_cls(*avail, plugin_manager=pm, **sel_kwargs)
    except (TypeError, ValueError, GloMPOError) as exc:
        raise run.error(f"{name}: {exc}", "opt_selector") from None


def _build_conditions(run: RunFile, pm: PluginManager, key: str, kind: str,
                      cond_bounds: Any) -> Any:
    """The conditions of ``run.data[key]`` (a list is combined with ``|``), or None."""
    from glompo_core.expressions import parse_expression

    value = run.data.get(key)
    if value is None:
        return None
    parts = value if isinstance(value, list) else [value]
    built = []
    for i, part in enumerate(parts):
        where = (key, i) if isinstance(value, list) else (key,)
        if isinstance(part, str):
            try:
                built.append(parse_expression(
                    part, kind, pm, bounds=cond_bounds,
                    source=f"{run.where(*where)}, key '{_key_text(where)}'"))
            except (ValueError, TypeError) as exc:
                raise run.error(str(exc), *where) from None
        else:
            extra = {}
            name, ckw = _split_component(run, part, where, kind.replace("_", " "))
            if "bounds" in ckw and ckw["bounds"] == "bounds":
                extra["bounds"] = cond_bounds
                del ckw["bounds"]
            built.append(_build(run, pm, kind, {name: ckw}, where, **extra))
    combined = built[0]
    for other in built[1:]:
        combined = combined | other
    return combined


def _n_parms(task: Any, bounds: list[Any] | None) -> int | None:
    """The task's number of parameters, from the file's bounds or the task's."""
    for source in (bounds, getattr(task, "bounds", None)):
        if source is None:
            continue
        try:
            return len(source)
        except TypeError:
            continue
    dims = getattr(task, "dims", None)
    return dims if isinstance(dims, int) else None


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
        kwargs["plugin_manager"].add_observer(observer, name)
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
