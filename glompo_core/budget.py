"""The budget rule: how many evaluations a run, and one optimizer of it, may use.

Some optimizers plan with the number of evaluations they may use (nevergrad's NGOpt
chooses its algorithm from it; CMA-ES restarts and population sizes can be derived from
it). When the user does not give such a setting, GloMPO derives it from the run by one
rule, which every budget-derived setting shares:

1. **The run's budget** is the ``fmax`` of the :class:`~glompo_core.exit_conditions.MaxFuncCalls`
   that ends the run, found by walking the run's exit conditions as combined with ``|``
   and ``&`` (:func:`run_budget`):

   - a ``MaxFuncCalls(fmax)`` bounds the run at ``fmax`` evaluations;
   - any other condition (``MaxSeconds``, ``TargetCost``, ...) bounds nothing: the run
     may end earlier because of it, but it sets no number of evaluations;
   - ``a | b`` ends when either side is true, so it is bounded by the smaller bound of
     its sides, and by one side alone if the other side bounds nothing;
   - ``a & b`` ends only when both sides are true, so it is bounded only if *both* sides
     are, by the larger of the two bounds: ``MaxFuncCalls(fmax=100) & MaxSeconds(60)``
     may run past 100 evaluations, and has no budget.

   No exit conditions, or none that bound the run: the run has no budget.
2. **What is left** is the run's budget minus the evaluations already spent (the
   manager's ``f_counter``, which includes the evaluations of a checkpointed run's
   earlier sessions).
3. **An optimizer's share** is what is left divided (rounded down) among the optimizers
   that can run at once: ``max_jobs // workers`` of the optimizer's kind (at least 1),
   and is at least 1 (:func:`optimizer_budget`).

So ``MaxFuncCalls(fmax=10_000)`` with ``max_jobs=4`` gives the first optimizers of one
worker 2,500 evaluations each, and an optimizer started once 4,000 are spent gets
``6_000 // 4 = 1_500``: the shares of the optimizers running at any time add up to no
more than what the run has left.

An optimizer class names the ``__init__`` argument that takes such a budget with the
class variable :attr:`~glompo_core.optimizers.BaseOptimizer.budget_argument`; the
manager fills that argument by this rule when the optimizer's ``init`` does not give it
(:func:`fill_budget_argument`), logs the value, and records it with the optimizer's
``init_kwargs`` (the summary shows it). An argument given explicitly, even as ``None``,
is left as it is.

Examples
--------
>>> from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds, TargetCost
>>> run_budget(MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60))
1000
>>> run_budget(MaxFuncCalls(fmax=1000) & MaxSeconds(session_max=60)) is None
True
>>> run_budget((MaxFuncCalls(fmax=1000) | TargetCost(target=0)) & MaxFuncCalls(fmax=400))
1000
>>> optimizer_budget(MaxFuncCalls(fmax=10_000), f_counter=4_000, max_jobs=8, workers=2)
1500
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from glompo_core._combinable import Combinable, _And, _Or
from glompo_core.exit_conditions import MaxFuncCalls

__all__ = [
    "BudgetShare",
    "bounding_condition",
    "budget_share",
    "fill_budget_argument",
    "optimizer_budget",
    "run_budget",
]


def bounding_condition(exit_conditions: Combinable | None) -> MaxFuncCalls | None:
    """The :class:`~glompo_core.exit_conditions.MaxFuncCalls` whose ``fmax`` bounds the run.

    Parameters
    ----------
    exit_conditions
        The run's exit conditions, possibly combined with ``|`` and ``&``; None if the
        run has none.

    Returns
    -------
    MaxFuncCalls or None
        The condition whose ``fmax`` is the run's budget (see the module's rule), or
        None if the run is not bounded by a number of evaluations.
    """
    if exit_conditions is None:
        return None
    if isinstance(exit_conditions, MaxFuncCalls):
        return exit_conditions
    if isinstance(exit_conditions, (_Or, _And)):
        first = bounding_condition(exit_conditions.first)
        second = bounding_condition(exit_conditions.second)
        if isinstance(exit_conditions, _Or):
            if first is None or second is None:
                return first if second is None else second
            return first if first.fmax <= second.fmax else second
        if first is None or second is None:
            return None  # one side may stay False however many evaluations are spent
        return first if first.fmax >= second.fmax else second
    return None


def run_budget(exit_conditions: Combinable | None) -> int | None:
    """The run's evaluation budget: the ``fmax`` of the MaxFuncCalls that ends the run.

    Parameters
    ----------
    exit_conditions
        The run's exit conditions, possibly combined with ``|`` and ``&``; None if the
        run has none.

    Returns
    -------
    int or None
        The number of evaluations after which the run ends at the latest, or None if no
        number of evaluations ends it. See the module's docstring for the rule.
    """
    cond = bounding_condition(exit_conditions)
    return None if cond is None else int(cond.fmax)


@dataclass(frozen=True)
class BudgetShare:
    """One optimizer's share of the run's budget, and how it was derived.

    Attributes
    ----------
    value
        The optimizer's budget: ``max(1, (run_budget - spent) // slots)``.
    run_budget
        The ``fmax`` of :attr:`source`.
    spent
        The evaluations the run had spent (``f_counter``) when the share was computed.
    slots
        How many such optimizers can run at once: ``max(1, max_jobs // workers)``.
    source
        The MaxFuncCalls condition that bounds the run.
    argument
        The optimizer's argument the share is for (its ``budget_argument``).
    """

    value: int
    run_budget: int
    spent: int
    slots: int
    source: MaxFuncCalls
    argument: str = "budget"

    def describe(self) -> str:
        """One line saying where the value came from, for logs.

        Examples
        --------
        >>> BudgetShare(2500, 10_000, 0, 4, MaxFuncCalls(fmax=10_000)).describe()
        "budget=2500 from the run's MaxFuncCalls(fmax=10000): (10000 - 0 spent) // 4 at once"
        """
        return (f"{self.argument}={self.value} from the run's {self.source}: "
                f"({self.run_budget} - {self.spent} spent) // {self.slots} at once")


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a whole number, got {name}={value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be a whole number, got {name}={value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {name}={number}")
    return number


def budget_share(exit_conditions: Combinable | None, f_counter: int, max_jobs: int,
                 workers: int = 1) -> BudgetShare | None:
    """One optimizer's share of the run's budget, with how it was derived.

    Parameters
    ----------
    exit_conditions
        The run's exit conditions (None if it has none).
    f_counter
        Evaluations the run has already spent.
    max_jobs
        The run's ``max_jobs``: evaluations that may run at once.
    workers
        The optimizer's ``workers`` (the slots it takes).

    Returns
    -------
    BudgetShare or None
        None if the run has no budget (:func:`run_budget` is None).

    Raises
    ------
    TypeError, ValueError
        ``f_counter`` < 0, ``max_jobs`` < 1 or ``workers`` < 1, or not whole numbers.
    """
    spent = _whole(f_counter, "f_counter", 0)
    jobs = _whole(max_jobs, "max_jobs", 1)
    slots_each = _whole(workers, "workers", 1)
    source = bounding_condition(exit_conditions)
    if source is None:
        return None
    total = int(source.fmax)
    slots = max(1, jobs // slots_each)
    value = max(1, (total - spent) // slots)
    return BudgetShare(value=value, run_budget=total, spent=spent, slots=slots, source=source)


def optimizer_budget(exit_conditions: Combinable | None, f_counter: int, max_jobs: int,
                     workers: int = 1) -> int | None:
    """The evaluations one optimizer may use: what the run has left, shared.

    ``max(1, (run_budget(exit_conditions) - f_counter) // max(1, max_jobs // workers))``,
    or None if the run has no budget. See the module's docstring for the rule.

    Parameters
    ----------
    exit_conditions
        The run's exit conditions (None if it has none).
    f_counter
        Evaluations the run has already spent.
    max_jobs
        The run's ``max_jobs``: evaluations that may run at once.
    workers
        The optimizer's ``workers`` (the slots it takes).

    Returns
    -------
    int or None
        The optimizer's budget (at least 1), or None if the run has no budget.
    """
    share = budget_share(exit_conditions, f_counter, max_jobs, workers)
    return None if share is None else share.value


def fill_budget_argument(cls: type, init: MutableMapping[str, Any],
                         exit_conditions: Combinable | None, f_counter: int, max_jobs: int,
                         workers: int = 1) -> BudgetShare | None:
    """Put the optimizer's share of the run's budget in ``init``, if it takes one.

    Does nothing (returns None) when ``cls.budget_argument`` is None, when ``init``
    already has that argument (even as None: a user's explicit choice) or when the run
    has no budget.

    Parameters
    ----------
    cls
        The optimizer class; its ``budget_argument`` class variable names the
        ``__init__`` argument that takes a budget.
    init
        The optimizer's initialisation arguments, completed in place.
    exit_conditions, f_counter, max_jobs, workers
        See :func:`budget_share`.

    Returns
    -------
    BudgetShare or None
        The share put in ``init``, or None if nothing was put.
    """
    argument = getattr(cls, "budget_argument", None)
    if argument is None or argument in init:
        return None
    share = budget_share(exit_conditions, f_counter, max_jobs, workers)
    if share is None:
        return None
    init[argument] = share.value
    return dataclasses.replace(share, argument=argument)
