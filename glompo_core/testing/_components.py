"""Entry points of the component checks: :func:`parametrize_with_component_checks` and
:func:`check_component` (see :mod:`glompo_core.testing`)."""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from glompo_core._combinable import Combinable
from glompo_core.testing._backends import BACKEND_CHECKS
from glompo_core.testing._common import name_of
from glompo_core.testing._conditions import CONDITION_CHECKS
from glompo_core.testing._loggers import LOGGER_CHECKS
from glompo_core.testing._spawning import GENERATOR_CHECKS, SELECTOR_CHECKS

if TYPE_CHECKING:
    from glompo_core.plugins import PluginManager

__all__ = ["COMPONENT_CHECKS", "check_component", "component_kind",
           "parametrize_with_component_checks"]

#: The checks of each kind of component, in the order they run.
COMPONENT_CHECKS: dict[str, tuple[Callable[..., None], ...]] = {
    "stopper": tuple(c for c in CONDITION_CHECKS if c.__name__ != "check_condition_progress"),
    "exit_condition": tuple(c for c in CONDITION_CHECKS
                            if c.__name__ != "check_stopper_history_window"),
    "generator": GENERATOR_CHECKS,
    "selector": SELECTOR_CHECKS,
    "backend": BACKEND_CHECKS,
    "logger": LOGGER_CHECKS,
}
_BY_CLASS = ("backend", "logger")


def component_kind(component: Any) -> str:
    """The kind of a component: ``'stopper'``, ``'exit_condition'``, ``'generator'``,
    ``'selector'`` (instances), ``'backend'`` or ``'logger'`` (classes).

    Raises
    ------
    TypeError
        It is none of these; says what each kind has.
    """
    if isinstance(component, type):
        if callable(getattr(component, "evaluate_batch", None)):
            return "backend"
        if callable(getattr(component, "put_iteration", None)):
            return "logger"
        if callable(getattr(component, "minimize", None)):
            raise TypeError(f"{name_of(component)} is an optimizer: check it with "
                            "parametrize_with_checks / check_optimizer")
        raise TypeError(f"{name_of(component)} is a class but neither a backend "
                        "(evaluate_batch) nor a logger (put_iteration); stoppers, exit "
                        "conditions, generators and selectors are given as instances")
    if isinstance(component, Combinable) and component.kind in ("stopper", "exit_condition"):
        return component.kind
    if callable(getattr(component, "generate", None)):
        return "generator"
    if callable(getattr(component, "select_optimizer", None)):
        return "selector"
    if callable(component):
        try:
            n = len(inspect.signature(component).parameters)
        except (TypeError, ValueError):
            n = 1
        return "stopper" if n >= 3 else "exit_condition"
    raise TypeError(f"cannot tell what kind of component {component!r} is: a stopper or exit "
                    "condition is callable, a generator has generate(), a selector "
                    "select_optimizer(); backends and loggers are given as classes")


def _normalise(entry: Any) -> tuple[Any, dict[str, Any] | None, str]:
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], type) \
            and isinstance(entry[1], Mapping):
        return entry[0], dict(entry[1]), component_kind(entry[0])
    kind = component_kind(entry)
    return entry, ({} if kind in _BY_CLASS else None), kind


def _selected(kind: str, skip: Collection[str]) -> list[Callable[..., None]]:
    names = {c.__name__ for checks in COMPONENT_CHECKS.values() for c in checks}
    unknown = set(skip) - names
    if unknown:
        raise ValueError(f"unknown check(s) in skip: {sorted(unknown)}; known: {sorted(names)}")
    return [c for c in COMPONENT_CHECKS[kind] if c.__name__ not in skip]


def _bind(check: Callable[..., None], init_kwargs: dict[str, Any] | None,
          plugin_manager: PluginManager | None) -> Callable[[Any], None]:
    params = inspect.signature(check).parameters
    extra: dict[str, Any] = {}
    if "plugin_manager" in params:
        extra["plugin_manager"] = plugin_manager
    if init_kwargs is not None:
        extra["init_kwargs"] = init_kwargs
    bound = functools.partial(check, **extra)
    functools.update_wrapper(bound, check)
    return bound


def _label(component: Any, init_kwargs: dict[str, Any] | None) -> str:
    if isinstance(component, type):
        shown = ", ".join(f"{k}={v!r}" for k, v in (init_kwargs or {}).items())
        text = f"{name_of(component)}({shown})" if shown else name_of(component)
    elif isinstance(component, Combinable):
        text = str(component)
    else:
        text = name_of(component)
    return text if len(text) <= 60 else text[:57] + "..."


def parametrize_with_component_checks(components: Iterable[Any], *,
                                      plugin_manager: PluginManager | None = None,
                                      skip: Collection[str] = ()) -> Any:
    """A ``pytest.mark.parametrize`` over (component, check) pairs for each component.

    Parameters
    ----------
    components
        Stoppers, exit conditions, generators and selectors as *instances* (built as a
        user builds them; the checks use fresh copies); backends and loggers as
        *classes*, or ``(class, init_kwargs)``. The kind of each is recognised
        (:func:`component_kind`) and its checks listed in :data:`COMPONENT_CHECKS`.
    plugin_manager
        Registry in which expressions are parsed back
        (:func:`check_expression_round_trip`); default: a fresh registry with the
        built-ins and the condition's class.
    skip
        Names of checks to leave out.

    Returns
    -------
    pytest.MarkDecorator
        Parametrizes the arguments ``component`` and ``check``; the test calls
        ``check(component)``. Test ids read ``<component>-<check name>``.

    Examples
    --------
    >>> from glompo_core.stoppers import BestUnmoving
    >>> from glompo_core.backends import ThreadsBackend
    >>> @parametrize_with_component_checks([BestUnmoving(calls=20, tol=0.01),
    ...                                     ThreadsBackend])
    ... def test_components(component, check):
    ...     check(component)
    """
    import pytest

    params = []
    seen: dict[str, int] = {}
    for entry in components:
        component, init, kind = _normalise(entry)
        label = _label(component, init)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        for check in _selected(kind, skip):
            params.append(pytest.param(component, _bind(check, init, plugin_manager),
                                       id=f"{label}-{check.__name__}"))
    return pytest.mark.parametrize(("component", "check"), params)


def check_component(component: Any, init_kwargs: Mapping[str, Any] | None = None, *,
                    plugin_manager: PluginManager | None = None,
                    skip: Collection[str] = ()) -> dict[str, str]:
    """Run every check of a component's kind on it, without pytest.

    Parameters
    ----------
    component
        An instance (stopper, exit condition, generator, selector) or a class (backend,
        logger).
    init_kwargs
        For a class: the keyword arguments it is built with.
    plugin_manager, skip
        See :func:`parametrize_with_component_checks`.

    Returns
    -------
    dict
        ``{check name: 'passed' or 'skipped: <reason>'}``.

    Raises
    ------
    AssertionError
        The first failing check, its name first.

    Examples
    --------
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> check_component(MaxFuncCalls(fmax=50))["check_expression_round_trip"]
    'passed'
    """
    kind = component_kind(component)
    init = dict(init_kwargs or {}) if kind in _BY_CLASS else None
    outcome: dict[str, str] = {}
    for check in _selected(kind, skip):
        try:
            _bind(check, init, plugin_manager)(component)
        except unittest.SkipTest as exc:
            outcome[check.__name__] = f"skipped: {exc}"
            continue
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc
        outcome[check.__name__] = "passed"
    return outcome
