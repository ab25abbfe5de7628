"""Building what a run file names: the task, the selector and its optimizers, conditions.

A component is written ``Name`` or ``{Name: {argument: value}}``; every error names the
run file's line and key (:meth:`RunFile.error`). The public names (:func:`build_task`,
:func:`add_to_sys_path`) are importable from :mod:`glompo_core.runfile`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glompo_core._runfile_yaml import RunFile, _key_text
from glompo_core.errors import GloMPOError
from glompo_core.plugins import PluginManager


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
