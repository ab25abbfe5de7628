"""GloMPO's default portfolio, given by glompo-cma through the hook ``glompo_default_portfolio``.

``glompo run`` on a run file without ``opt_selector`` (and
:func:`glompo_core.runfile.default_portfolio` from Python) asks the installed plugins
for a portfolio; glompo-cma answers with :data:`PORTFOLIO`, the one place its content
lives. ``examples/recommended.yml`` is this portfolio written out (a test keeps the two
equal).

The content is free of units and budgets, so that a user changes only the task, the
bounds and the budget: CMA-ES's step size is relative to the box (``sigma_rel``), and
DualAnnealing's ``maxfun`` is left out, so the manager derives it from the run's exit
conditions (:mod:`glompo_core.budget`, DualAnnealing's ``budget_argument``).

DualAnnealing comes from glompo-scipy. It is in the portfolio only when a plugin
registers an optimizer of that name (checked through the plugin manager, never by
importing glompo_scipy); without it the portfolio is CMA-ES alone.

A plugin that gives its own default takes precedence: glompo-cma's implementation is
marked ``trylast``, so any other plugin's plain ``@hookimpl`` answers first (and one
marked ``tryfirst`` before that); returning None leaves the choice to the next.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["PORTFOLIO", "default_portfolio"]

#: The default portfolio in run-file form (``opt_selector`` and ``stoppers`` sections, as
#: YAML loads them). ``examples/recommended.yml`` writes the same sections out.
PORTFOLIO: dict[str, Any] = {
    "opt_selector": {
        "CycleSelector": {
            "avail_opts": [
                {"CMAOptimizer": {"init": {"sigma_rel": 0.3, "popsize": 100,
                                           "verbose": False}}},
                {"CMAOptimizer": {"init": {"sigma_rel": 0.3, "popsize": 200,
                                           "verbose": False}}},
                "DualAnnealing",
            ],
        },
    },
    "stoppers": "(EvaluationsUnmoving(calls=500, tol=0.01) & BestUnmoving(calls=4000, "
                "tol=0.05)) | ParameterDistance(bounds, relative_distance=0.05, "
                "test_all=False)",
}

#: Optimizers of other plugins the portfolio uses when they are installed.
OPTIONAL_OPTIMIZERS = ("DualAnnealing",)


def _name_of(entry: Any) -> str | None:
    """The component named by a run-file entry (``Name`` or ``{Name: {...}}``)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        name = next(iter(entry))
        return name if isinstance(name, str) else None
    return None


def _without(value: Any, names: set[str]) -> Any:
    """``value`` with every list entry naming one of ``names`` removed, at any depth."""
    if isinstance(value, list):
        return [_without(item, names) for item in value if _name_of(item) not in names]
    if isinstance(value, dict):
        return {key: _without(item, names) for key, item in value.items()}
    return value


def default_portfolio(n_parms: int | None, budget: int | None,
                      available: Callable[[str, str], bool],
                      portfolio: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default portfolio's run-file sections, for what is installed.

    Parameters
    ----------
    n_parms
        The task's number of parameters (None if unknown). Not used by this content,
        which is relative to the box.
    budget
        The run's evaluation budget (None if it has none). Not used by this content: the
        budget-derived settings are filled by the manager.
    available
        ``available(kind, name)``: True if a component is registered under that name.
    portfolio
        The content (default :data:`PORTFOLIO`).

    Returns
    -------
    dict
        A copy of the content without the optimizers of :data:`OPTIONAL_OPTIMIZERS` that
        are not available.
    """
    sections = copy.deepcopy(PORTFOLIO if portfolio is None else portfolio)
    missing = {name for name in OPTIONAL_OPTIMIZERS if not available("optimizer", name)}
    return _without(sections, missing) if missing else sections
