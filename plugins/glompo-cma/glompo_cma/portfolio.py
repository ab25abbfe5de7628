"""GloMPO's default portfolio, given by glompo-cma through the hook ``glompo_default_portfolio``.

``glompo run`` on a run file without ``opt_selector`` (and
:func:`glompo_core.runfile.default_portfolio` from Python) asks the installed plugins
for a portfolio; glompo-cma answers with :data:`PORTFOLIO`, the one place its content
lives. ``examples/recommended.yml`` is this portfolio written out (a test keeps the two
equal).

The content is free of units and budgets, so that a user changes only the task, the
bounds and the budget: CMA-ES's step size is relative to the box (``sigma_rel``), and
CMAPopulationSelector reads the run's budget from the manager (``run_budget``) to cap
its populations.

An optimizer of another plugin named in the content (:data:`OPTIONAL_OPTIMIZERS`, e.g.
glompo-scipy's DualAnnealing) is kept only when a plugin registers it (checked through
the plugin manager, never by importing that plugin).

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
#: Chosen on bbob (benchmarks/bbob.py) on dimension 5 and instances 6-15 only, the judging
#: dimensions and instances unseen (docs/guides/benchmarks.md, "bbob"): the managed BIPOP
#: (CMAPopulationSelector: each optimizer one CMA-ES run from a random point, populations
#: from pycma's default up) where the first run and every large-population run have all
#: the workers (``first_alone``, ``large_alone``: as in BIPOP, each has the evaluations to
#: itself and a large population is capped by the whole budget left), the small runs one
#: worker each, and one DualAnnealing run at a time beside them while the dual annealing
#: runs have spent under a quarter of the evaluations (``companion``; its ``maxfun`` is
#: the manager's share of the budget left; a large run takes the other workers and starts
#: beside it). On instances 6-15 of f1-f24 this was the best of the candidates (ahead of
#: the same without the companion, of CMA-ES of 4 workers for every run, and of the former
#: ``first_alone`` alone); the companion is what solves the separable Rastrigins. Without
#: glompo-scipy the companion is left out. ``companion_earns`` (better on the 5-D tuning
#: problems at 10,000 x D) was worse on the 10-D and 20-D judging problems and is not
#: used (docs/guides/benchmarks.md, "Third step").
#: No stoppers: CMA-ES's own termination criteria end each run.
PORTFOLIO: dict[str, Any] = {
    "opt_selector": {
        "CMAPopulationSelector": {
            "avail_opts": [
                {"CMAOptimizer": {"init": {"sigma_rel": 0.2, "verbose": False}}},
            ],
            "first_alone": True,
            "large_alone": True,
            "companion": "DualAnnealing",
        },
    },
}

#: Optimizers of other plugins the portfolio uses when they are installed (glompo-scipy's
#: DualAnnealing, the companion); without them the entries that name them are left out.
OPTIONAL_OPTIMIZERS: tuple[str, ...] = ("DualAnnealing",)


def _name_of(entry: Any) -> str | None:
    """The component named by a run-file entry (``Name`` or ``{Name: {...}}``)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        name = next(iter(entry))
        return name if isinstance(name, str) else None
    return None


def _without(value: Any, names: set[str]) -> Any:
    """``value`` without the list entries and mapping values that name one of ``names``.

    At any depth: ``[A, {B: {...}}]`` loses ``B``'s entry, ``{companion: B}`` its key.
    """
    if isinstance(value, list):
        return [_without(item, names) for item in value if _name_of(item) not in names]
    if isinstance(value, dict):
        return {key: _without(item, names) for key, item in value.items()
                if _name_of(item) not in names}
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
