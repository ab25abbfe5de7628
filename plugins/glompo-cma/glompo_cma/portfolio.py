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
#: Chosen on bbob (benchmarks/bbob.py) on dimensions 2 and 5 and instances 6-15 only, the
#: judging dimensions and instances unseen (docs/guides/benchmarks.md, "bbob"): the managed
#: BIPOP (CMAPopulationSelector, each optimizer one CMA-ES run, one worker each, so
#: max_jobs runs go on at once; populations from pycma's default up, capped by the run's
#: budget) beat the same selector with CMA-ES of 2 or 4 workers, with a crowding stopper
#: (ParameterDistance) and without the budget cap, and the former cycle of CMA-ES (100,
#: 200) and DualAnnealing. ``first_alone``: the first run has all the workers (so the
#: evaluations to itself, as BIPOP's first run), which made it level with BIPOP on f1-f14
#: on the tuning set; judged without it first, then with it on a piece not seen before.
#: No stoppers: CMA-ES's own termination criteria end each run.
PORTFOLIO: dict[str, Any] = {
    "opt_selector": {
        "CMAPopulationSelector": {
            "avail_opts": [
                {"CMAOptimizer": {"init": {"sigma_rel": 0.2, "verbose": False}}},
            ],
            "first_alone": True,
        },
    },
}

#: Optimizers of other plugins the portfolio uses when they are installed (none today:
#: the mechanism stays for content that names one).
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
