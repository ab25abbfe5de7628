"""CMAPopulationSelector: IPOP/BIPOP restarts of CMA-ES spread over the optimizers a run starts.

pycma's restart strategies (``cma.fmin2(..., restarts=9, incpopsize=2, bipop=True)``)
run CMA-ES again and again, one run after the other. This selector is their managed
analogue: every optimizer the manager starts is one such run, and several run at once
(one per free slot). Which population each one gets follows the BIPOP rule, counted in
the evaluations each regime has spent (running optimizers included).

Importing this module does not import :mod:`cma`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glompo_cma.optimizer import CMAOptimizer, _is_real
from glompo_core.budget import optimizer_budget, run_budget
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.selectors import BaseSelector, OptimizerSpec, SpawnControl

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView
    from glompo_core.selectors.baseselector import AvailOpt

__all__ = ["DEFAULT_SIGMA_REL", "CMAPopulationSelector", "Start"]

SpawnArg = SpawnControl | list[SpawnControl] | tuple[SpawnControl, ...] | None

#: ``sigma_rel`` of the started optimizers when their ``init`` gives neither ``sigma0`` nor
#: ``sigma_rel`` (pycma's BBOB experiments use ``sigma0=2`` on the box [-5, 5]).
DEFAULT_SIGMA_REL = 0.2

#: The regimes of :class:`Start`: the first run (default population; BIPOP counts it in
#: the small budget), small-population runs, large-population runs and runs of the
#: ``companion`` optimizer (off by default).
REGIMES = ("first", "small", "large", "companion")

#: ``regime_credit``: the factor applied to rule 3's ratio in favour of the regime whose
#: runs hold the best value.
CREDIT_FACTOR = 2.0


@dataclass(frozen=True)
class Start:
    """One optimizer the selector started, and why.

    Attributes
    ----------
    opt_id
        The manager's identifier of the optimizer.
    regime
        ``'first'``, ``'small'``, ``'large'`` or ``'companion'``.
    popsize
        Its population size (0 for a companion).
    sigma_factor
        The factor applied to the base step size (1 but in small runs:
        ``0.01 ** U(0, 1)``).
    maxfevals
        The evaluations the run may use (pycma's ``maxfevals``), or None for no limit
        beyond pycma's own termination criteria.
    large_index
        For large runs, their number ``i`` (1, 2, ...): the wanted population is
        ``popsize0 * incpopsize ** i`` (before the budget cap); for small runs, the
        number of large runs started before it.
    """

    opt_id: int
    regime: str
    popsize: int
    sigma_factor: float
    maxfevals: int | None
    large_index: int


class CMAPopulationSelector(BaseSelector):
    """Start CMA-ES with the default population, then larger ones, interleaved with small ones.

    The managed analogue of IPOP- and BIPOP-CMA-ES (Auger & Hansen 2005; Hansen 2009):
    each optimizer the manager starts is one CMA-ES run. When a slot is free (an
    earlier run converged by CMA-ES's own criteria, or a stopper such as
    ``BestUnmoving`` ended it), the next run is chosen by these rules, where ``s`` and
    ``l`` are the evaluations spent so far by the runs of the small and the large regime
    (running optimizers included, the first run counted as small):

    1. The first run has the default population ``popsize0`` and the base step size
       (with ``first_alone``, all ``max_jobs`` workers and at least that population).
    2. With ``bipop`` off (IPOP), every later run is large.
    3. With ``bipop`` on, a run is small if ``s < bipop * max(1, l)``, else large.
       While nothing is spent yet (the first round of a run with several slots) the
       regimes alternate, small (the first run) first. With ``regime_credit``, the
       ratio follows the regimes' results: ``2 * bipop`` while the best value found by
       a small run (or the first) is lower than every large run's, ``bipop / 2`` while
       a large run's is the lowest (``bipop`` until both have a value, or on a tie).
       With ``small_between_large``, a run that rule would make large is small when
       the CMA-ES run started last was large: never two large runs in a row.
    4. The ``i``-th large run has ``popsize0 * incpopsize ** i`` (i = 1, 2, ...), capped
       so that its share of the run's budget (:func:`glompo_core.budget.optimizer_budget`)
       allows ``min_generations`` generations, and never below ``popsize0``.
    5. A small run draws ``u, v`` uniform in [0, 1): its step size is the base one times
       ``0.01 ** u``, its population ``int(popsize0 * (incpopsize ** k) ** (v ** 2))`` with
       ``k`` the large runs started so far, and it may use ``l / 2`` evaluations (pycma's
       ``maxfevals``; no limit while ``l`` is 0).
    6. With a ``companion`` (off by default), a run of it comes before rule 2-3 when none
       is running and the companion runs have spent less than ``companion_share`` of all
       evaluations spent so far (so not in the first round, while nothing is spent). Its
       budget argument (e.g. DualAnnealing's ``maxfun``), if it has one and its ``init``
       does not give it, is the manager's share of the budget left for one optimizer,
       at most ``companion_share`` times the budget left; its evaluations are
       counted apart from both regimes (with ``companion_in_small``, in the small one:
       rule 3's ``s`` includes them). With ``companion_earns``, a companion run after
       the first also needs a companion run to hold the best value found so far: a
       companion that does not help this problem costs one run only.
    7. With ``hold_generations`` (off by default), no new run starts while the run that
       holds the best value found so far has not ended and found it within its last
       ``hold_generations`` generations (that many times its population, in the run's
       evaluations): the free slots wait, so the evaluations go to the improving run.

    Parameters
    ----------
    *avail_opts
        At most one optimizer: :class:`~glompo_cma.CMAOptimizer` (or a subclass, or its
        name) with the ``init`` and ``call`` arguments shared by every run (default
        ``CMAOptimizer`` with no arguments). Its ``popsize`` (if given) is ``popsize0``,
        else pycma's default ``4 + int(3 * ln(d))``, or ``workers`` if that is larger
        (an optimizer of several workers evaluates its population in parallel;
        ``max_jobs // workers`` runs go on at once). The base step size is its
        ``sigma_rel`` or ``sigma0``; if it gives neither, ``sigma_rel = 0.2``
        (:data:`DEFAULT_SIGMA_REL`).
    bipop
        True (or 1): BIPOP, equal budgets for both regimes; a number r > 0: small runs
        while ``s < r * max(1, l)``; False (or 0): IPOP, no small runs.
    incpopsize
        Factor between the populations of successive large runs (> 1; pycma's default 2).
    min_generations
        Generations a large run's budget share must allow (an integer >= 1). Default:
        ``10 * d``.
    first_alone
        True: the first run gets all ``max_jobs`` workers (its population evaluated in
        parallel), so no other run starts until it has ended, as BIPOP's first run has
        every evaluation to itself; later runs have the optimizer's own ``workers``.
    first_workers
        The workers of the first run, if not ``first_alone``: a whole number ``k >= 1``
        (at most ``max_jobs``), or ``k <= 0`` for ``max_jobs + k`` (``-1``: all but one,
        so one slot starts a large run beside the first from the start). Default None
        (the optimizer's own ``workers``).
    large_alone
        True: every large run gets all ``max_jobs`` workers too (it waits until every
        running optimizer has ended, then runs alone with its population evaluated in
        parallel), so its budget share and population cap are those of one run with the
        whole remaining budget, as in BIPOP. A running companion keeps its workers: the
        large run gets the others and starts beside it. Default False.
    small_alone
        True: every small run too gets all the workers a running companion leaves (one
        small run at a time, its population evaluated in parallel, at least one point
        per worker). Small runs side by side, each allowed half of what the large runs
        spent, can spend twice the large runs' evaluations before the regime is checked
        again; one at a time, the regimes share the evaluations as BIPOP's do. Default
        False (the optimizer's own workers; small runs fill the free slots).
    companion
        An optimizer of any kind (class, name or ``(cls, init, call)``, as in
        ``avail_opts``; e.g. ``'DualAnnealing'``) run beside the CMA-ES runs, one at a
        time, by rule 6. Default None (no companion).
    companion_share
        The fraction of the evaluations spent that the companion's runs may reach before
        no new one starts (0 < share < 1; default 0.25).
    companion_earns
        True: a companion run after the first starts only while a companion run holds
        the best value found so far (rule 6). Default False (the share alone).
    regime_credit
        True: rule 3's ratio doubles while the small runs hold the best value and halves
        while the large runs do, so the evaluations go to the regime that is finding
        the better values (large populations on a problem with global structure, local
        searches on one of scattered basins). Default False (the fixed ``bipop``).
    small_between_large
        True: at least one small run between two large ones (rule 3), as BIPOP's
        sequence has whenever a large run has ended (its rule then finds the small
        budget below the large one). With ``companion_in_small`` or ``regime_credit``
        the ratio alone can start large run after large run, and no local search starts
        on a problem where only local searches find the best basin. Default False.
    companion_in_small
        True: the companion's evaluations count in the small regime's ``s`` (rule 3), so
        the large runs get as many evaluations as the first run, the small runs and the
        companion together (BIPOP's large share, the companion paid by the small
        regime). Default False: counted apart, both regimes share what it leaves.
    hold_generations
        Rule 7: a whole number >= 1, or None (default: new runs start whenever a slot is
        free).
    budget
        The run's evaluation budget. None: the manager's ``run_budget`` (the ``fmax`` of
        the MaxFuncCalls that ends the run, :func:`glompo_core.budget.run_budget`); with
        no budget known, large populations are not capped.
    allow_spawn
        Optional :class:`~glompo_core.selectors.SpawnControl` (or list of them).
    plugin_manager
        Where an optimizer given by name is looked up.

    Attributes
    ----------
    starts : list of Start
        Every optimizer started by this selector, in order.

    Raises
    ------
    TypeError
        The optimizer is not a CMAOptimizer.
    ValueError
        More than one optimizer, or a bad ``bipop``, ``incpopsize``,
        ``min_generations``, ``budget``, ``first_alone``, ``large_alone``, ``small_alone``,
        ``companion_share``, ``companion_earns``, ``companion_in_small``,
        ``regime_credit``, ``small_between_large`` or ``hold_generations``.

    Notes
    -----
    What the selector does not decide: the starting point (the run's generator, by
    default uniform in the bounds, as BIPOP's randomized ``x0``), when a run ends (CMA-ES's
    termination criteria -- ``tolfun``, ``tolx``, ``tolstagnation``, ... -- and the run's
    stoppers), and the end of the run (its exit conditions).

    References
    ----------
    Auger, A., Hansen, N. (2005). A restart CMA evolution strategy with increasing
    population size. IEEE CEC 2005, 1769-1776.

    Hansen, N. (2009). Benchmarking a BI-population CMA-ES on the BBOB-2009 function
    testbed. GECCO 2009 workshops, 2389-2396.

    Examples
    --------
    >>> from glompo_core.testing import FakeManagerView
    >>> selector = CMAPopulationSelector(("CMAOptimizer", {"verbose": False}), budget=20_000)
    >>> selector.set_seed(1)
    >>> view = FakeManagerView(bounds=[(-5.0, 5.0)] * 10, max_jobs=4)
    >>> for opt_id in (1, 2, 3, 4):   # the first round: nothing spent yet
    ...     view.o_counter = opt_id - 1
    ...     cls, init, call = selector.select_optimizer(view, view.opt_log, 4)
    >>> [(start.regime, start.popsize) for start in selector.starts]
    [('first', 10), ('large', 20), ('small', 18), ('large', 40)]
    """

    def __init__(self, *avail_opts: AvailOpt, bipop: bool | float = True,
                 incpopsize: float = 2.0, min_generations: int | None = None,
                 budget: int | None = None, first_alone: bool = False,
                 first_workers: int | None = None, large_alone: bool = False,
                 small_alone: bool = False,
                 companion: AvailOpt | None = None,
                 companion_share: float = 0.25, companion_earns: bool = False,
                 companion_in_small: bool = False, regime_credit: bool = False,
                 small_between_large: bool = False,
                 hold_generations: int | None = None,
                 allow_spawn: SpawnArg = None,
                 plugin_manager: PluginManager | None = None) -> None:
        if len(avail_opts) > 1:
            raise ValueError(f"CMAPopulationSelector starts one kind of optimizer (CMA-ES with "
                             f"different populations); give at most one, got {len(avail_opts)}")
        super().__init__(*(avail_opts or (CMAOptimizer,)),
                         *(() if companion is None else (companion,)),
                         allow_spawn=allow_spawn, plugin_manager=plugin_manager)
        #: The companion's ``(cls, init, call)``, or None.
        self.companion: OptimizerSpec | None = None
        if companion is not None:
            self.companion = self.avail_opts.pop()
        cls = self.avail_opts[0][0]
        if not issubclass(cls, CMAOptimizer):
            raise TypeError(f"CMAPopulationSelector starts CMA-ES only: give CMAOptimizer (or "
                            f"a subclass of it), got {cls.__name__}")
        self.bipop: float = _ratio(bipop)
        if not _is_real(incpopsize) or not math.isfinite(incpopsize) or incpopsize <= 1:
            raise ValueError(f"incpopsize must be a number > 1 (e.g. 2: each large population "
                             f"doubles), got incpopsize={incpopsize!r}")
        self.incpopsize = float(incpopsize)
        self.min_generations: int | None = None if min_generations is None else \
            _whole(min_generations, "min_generations")
        self.budget: int | None = None if budget is None else _whole(budget, "budget")
        self.first_alone = _flag(first_alone, "first_alone")
        if first_workers is not None and (isinstance(first_workers, bool) or not _is_real(
                first_workers) or first_workers != int(first_workers)):
            raise ValueError(f"first_workers must be a whole number (k >= 1 workers, or k <= 0 "
                             f"for max_jobs + k) or None, got first_workers={first_workers!r}")
        if first_alone and first_workers is not None:
            raise ValueError("give first_alone or first_workers, not both (first_alone=true "
                             "is the first run with all max_jobs workers)")
        self.first_workers: int | None = None if first_workers is None else int(first_workers)
        self.large_alone = _flag(large_alone, "large_alone")
        self.small_alone = _flag(small_alone, "small_alone")
        if not _is_real(companion_share) or not 0 < companion_share < 1:
            raise ValueError(f"companion_share must be a number between 0 and 1 (the "
                             f"companion's fraction of the evaluations, e.g. 0.25), got "
                             f"companion_share={companion_share!r}")
        self.companion_share = float(companion_share)
        self.companion_earns = _flag(companion_earns, "companion_earns")
        self.companion_in_small = _flag(companion_in_small, "companion_in_small")
        self.regime_credit = _flag(regime_credit, "regime_credit")
        self.small_between_large = _flag(small_between_large, "small_between_large")
        self.hold_generations: int | None = None if hold_generations is None else \
            _whole(hold_generations, "hold_generations")
        self.starts: list[Start] = []
        self._pending: tuple[Start, OptimizerSpec] | None = None
        self._warned_no_budget: bool = False

    # -- accounting -----------------------------------------------------------------------
    def spent(self, log: BaseLogger) -> dict[str, int]:
        """Evaluations spent by the runs of each regime (``'small'`` includes the first run).

        Keys ``'small'`` and ``'large'``, and ``'companion'`` when there is one.

        Parameters
        ----------
        log
            The run's log (``log.len(opt_id)`` counts every evaluation of an optimizer).
        """
        totals = {"small": 0, "large": 0, "companion": 0}
        known = set(log.opt_ids)
        for start in self.starts:
            if start.opt_id in known:
                key = start.regime if start.regime in ("large", "companion") else "small"
                totals[key] += log.len(start.opt_id)
        if self.companion is None:
            del totals["companion"]
        return totals

    def _companion_workers(self, log: BaseLogger) -> int:
        """The workers of the companion runs that have not ended (0 or one run's)."""
        known = set(log.opt_ids)
        busy = 0
        for start in self.starts:
            if start.regime == "companion" and start.opt_id in known:
                try:
                    log.get_metadata(start.opt_id, "t_end")
                except KeyError:  # not ended yet
                    assert self.companion is not None
                    busy += int(self.companion[1].get("workers", 1))
        return busy

    def _companion_due(self, spent: dict[str, int], log: BaseLogger) -> bool:
        """Rule 6: no companion running and its runs below their share of what is spent."""
        if self.companion is None or self._companion_workers(log):
            return False  # one companion at a time
        total = sum(spent.values())
        if not (total > 0 and spent["companion"] < self.companion_share * total):
            return False
        return not self.companion_earns or self._companion_earned(log)

    def _companion_earned(self, log: BaseLogger) -> bool:
        """``companion_earns``: no companion run yet, or one of them holds the best value."""
        runs = {start.opt_id for start in self.starts if start.regime == "companion"}
        if not runs:
            return True
        best = log.get_best_iter()
        return int(best.get("opt_id") or 0) in runs

    def popsize0(self, n_parms: int) -> int:
        """The default population: the optimizer's ``popsize``, else pycma's default.

        pycma's default is ``4 + int(3 ln d)``; an optimizer of several ``workers`` gets at
        least one point per worker.
        """
        init = self.avail_opts[0][1]
        if init.get("popsize") is not None:
            return int(init["popsize"])
        workers = int(init.get("workers", 1))
        return max(workers, 4 + int(3 * math.log(n_parms)))

    def run_budget(self, manager: ManagerView) -> int | None:
        """The run's evaluation budget: ``budget`` if given, else the manager's.

        The manager's is its view's ``run_budget`` (the ``fmax`` of the MaxFuncCalls that
        ends the run, :func:`glompo_core.budget.run_budget`); a view without one (an
        older manager, a stand-in) is asked for its ``exit_conditions``. None: no number
        of evaluations ends the run.
        """
        if self.budget is not None:
            return self.budget
        found = getattr(manager, "run_budget", None)
        if found is not None:
            return int(found)
        return run_budget(getattr(manager, "exit_conditions", None))

    def _share(self, manager: ManagerView, workers: int) -> int | None:
        """One optimizer's share of what the run has left (None if no budget is known)."""
        budget = self.run_budget(manager)
        if budget is None:
            if not self._warned_no_budget:
                self._warned_no_budget = True
                self.logger.info("CMAPopulationSelector: the run's budget is not known (give "
                                 "budget=... or end the run with MaxFuncCalls); large "
                                 "populations are not capped")
            return None
        return optimizer_budget(MaxFuncCalls(fmax=budget), manager.f_counter,
                                manager.max_jobs, workers)

    # -- the rule -------------------------------------------------------------------------
    def _regime(self, spent: dict[str, int], log: BaseLogger) -> str:
        if not self.starts:
            return "first"
        if self._companion_due(spent, log):
            return "companion"
        if self.bipop == 0:
            return "large"
        small, large = spent["small"], spent["large"]
        if self.companion_in_small:
            small += spent.get("companion", 0)
        if small == 0 and large == 0:  # the first round: alternate, small first
            n_large = sum(start.regime == "large" for start in self.starts)
            return "small" if len(self.starts) - n_large <= n_large else "large"
        ratio = self.credit_ratio(log) if self.regime_credit else self.bipop
        if small < ratio * max(1, large):
            return "small"
        if self.small_between_large:
            last = [start.regime for start in self.starts if start.regime != "companion"]
            if last[-1] == "large":
                return "small"
        return "large"

    def credit_ratio(self, log: BaseLogger) -> float:
        """Rule 3's ratio with ``regime_credit``: ``bipop`` times 2, 1 or 1/2.

        Parameters
        ----------
        log
            The run's log (the best value of each optimizer).
        """
        bests = log.best_iters

        def lowest(regimes: tuple[str, ...]) -> float | None:
            values = [float(bests[start.opt_id]["fx"]) for start in self.starts
                      if start.regime in regimes and start.opt_id in bests]
            finite = [value for value in values if math.isfinite(value)]
            return min(finite) if finite else None

        small, large = lowest(("first", "small")), lowest(("large",))
        if small is None or large is None or small == large:
            return self.bipop
        return self.bipop * (CREDIT_FACTOR if small < large else 1 / CREDIT_FACTOR)

    def _plan(self, manager: ManagerView, log: BaseLogger) -> tuple[Start, OptimizerSpec]:
        cls, base, call = self.avail_opts[0]
        init = dict(base)
        workers = int(init.get("workers", 1))
        popsize0 = self.popsize0(manager.n_parms)
        spent = self.spent(log)
        regime = self._regime(spent, log)
        if regime == "companion":
            assert self.companion is not None
            ccls, cinit, ccall = self.companion
            cinit = dict(cinit)
            argument = getattr(ccls, "budget_argument", None)
            budget = self.run_budget(manager)
            if argument and cinit.get(argument) is None and budget is not None:
                # at most its share of what is left (the manager's share of one optimizer
                # is the cap: with many workers it is the smaller)
                left = max(0, budget - int(manager.f_counter))
                share = self._share(manager, int(cinit.get("workers", 1)))
                assert share is not None  # a budget is known
                cinit[argument] = max(1, min(int(self.companion_share * left), share))
            start = Start(opt_id=manager.o_counter + 1, regime=regime, popsize=0,
                          sigma_factor=1.0, maxfevals=None, large_index=0)
            return start, (ccls, cinit, dict(ccall))
        n_large = sum(start.regime == "large" for start in self.starts)
        factor, maxfevals, index = 1.0, None, n_large
        if regime == "large":
            index = n_large + 1
            popsize = round(popsize0 * self.incpopsize ** index)
            if self.large_alone:  # one large run at a time, as in BIPOP
                workers = init["workers"] = self._alone_workers(manager, log, workers)
            share = self._share(manager, workers)
            if share is not None:
                generations = self.min_generations or 10 * manager.n_parms
                popsize = min(popsize, share // generations)
            popsize = max(popsize0, popsize, workers if self.large_alone else 0)
        elif regime == "small":
            u, v = self.rng.random(2)
            factor = float(0.01 ** u)
            popsize = max(2, int(popsize0 * (self.incpopsize ** n_large) ** (v * v)))
            if self.small_alone:  # one small run at a time too
                workers = init["workers"] = self._alone_workers(manager, log, workers)
                popsize = max(popsize, workers)
            if spent["large"] > 0:
                maxfevals = max(popsize, spent["large"] // 2)
        else:
            popsize = popsize0
            first = self._first_run_workers(int(manager.max_jobs), workers)
            if first is not None:
                init["workers"] = first
                popsize = max(popsize, first)
        init["popsize"] = popsize
        if "sigma_rel" in init:
            init["sigma_rel"] = float(init["sigma_rel"]) * factor
        elif "sigma0" in init:
            init["sigma0"] = float(init["sigma0"]) * factor
        else:
            init["sigma_rel"] = DEFAULT_SIGMA_REL * factor
        if maxfevals is not None:
            own = init.get("maxfevals")
            init["maxfevals"] = maxfevals if own is None else min(int(own), maxfevals)
        start = Start(opt_id=manager.o_counter + 1, regime=regime, popsize=popsize,
                      sigma_factor=factor, maxfevals=maxfevals, large_index=index)
        return start, (cls, init, dict(call))

    def _alone_workers(self, manager: ManagerView, log: BaseLogger, workers: int) -> int:
        """A run alone (``large_alone``, ``small_alone``): every worker but a running
        companion's, which it runs beside."""
        return max(workers, int(manager.max_jobs) - self._companion_workers(log))

    def _first_run_workers(self, jobs: int, workers: int) -> int | None:
        """The first run's workers: all (``first_alone``), ``first_workers``, or None."""
        if self.first_alone:  # every worker of the run: one CMA-ES at first, as BIPOP
            return max(workers, jobs)
        if self.first_workers is None:
            return None
        wanted = self.first_workers if self.first_workers > 0 else jobs + self.first_workers
        return min(jobs, max(1, wanted))

    def holding(self, manager: ManagerView, log: BaseLogger) -> bool:
        """Rule 7: True while the run holding the best value still improves it.

        Parameters
        ----------
        manager
            The manager's view (its ``f_counter`` and ``n_parms``).
        log
            The run's log (the best iteration, and ``t_end`` of the ended optimizers).
        """
        if self.hold_generations is None or not self.starts:
            return False
        best = log.get_best_iter()
        by_id = {start.opt_id: start for start in self.starts}
        start = by_id.get(int(best.get("opt_id") or 0))
        if start is None or best.get("call_id") is None:
            return False
        try:
            log.get_metadata(start.opt_id, "t_end")
            return False  # it has ended
        except KeyError:
            pass
        popsize = start.popsize or self.popsize0(manager.n_parms)
        return manager.f_counter - int(best["call_id"]) < self.hold_generations * popsize

    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec | None:
        """Propose the next run (the same one again until it is started); None: wait."""
        if self.holding(manager, log):
            return None
        if self._pending is None or self._pending[0].opt_id != manager.o_counter + 1:
            self._pending = self._plan(manager, log)
        return self._pending[1]

    def commit(self, choice: OptimizerSpec) -> None:
        """Record the proposed run as started (it becomes optimizer ``o_counter + 1``)."""
        assert self._pending is not None
        start = self._pending[0]
        self.starts.append(start)
        self._pending = None
        if start.regime == "companion":
            self.logger.info("optimizer %d: companion %s", start.opt_id, choice[0].__name__)
            return
        self.logger.info("optimizer %d: CMA-ES %s run, popsize %d, step x%.3g%s",
                         start.opt_id, start.regime, start.popsize, start.sigma_factor,
                         "" if start.maxfevals is None else f", maxfevals {start.maxfevals}")

    def __str__(self) -> str:
        cls, init, call = self.avail_opts[0]
        parts = [f"{key}={val!r}" for key, val in (("init", init), ("call", call)) if val]
        spec = f"{cls.__name__}({', '.join(parts)})" if parts else cls.__name__
        args = [spec, f"bipop={self.bipop:g}", f"incpopsize={self.incpopsize:g}"]
        if self.min_generations is not None:
            args.append(f"min_generations={self.min_generations}")
        if self.budget is not None:
            args.append(f"budget={self.budget}")
        if self.first_alone:
            args.append("first_alone=True")
        if self.first_workers is not None:
            args.append(f"first_workers={self.first_workers}")
        if self.large_alone:
            args.append("large_alone=True")
        if self.small_alone:
            args.append("small_alone=True")
        if self.hold_generations is not None:
            args.append(f"hold_generations={self.hold_generations}")
        if self.companion is not None:
            args.append(f"companion={self.companion[0].__name__}, "
                        f"companion_share={self.companion_share:g}")
            if self.companion_earns:
                args.append("companion_earns=True")
            if self.companion_in_small:
                args.append("companion_in_small=True")
        if self.regime_credit:
            args.append("regime_credit=True")
        if self.small_between_large:
            args.append("small_between_large=True")
        if self.allow_spawn:
            args.append(f"allow_spawn=[{', '.join(str(c) for c in self.allow_spawn)}]")
        return f"CMAPopulationSelector({', '.join(args)})"


def _whole(value: Any, name: str) -> int:
    """``int(value)`` for a whole number >= 1 (an integral float is accepted)."""
    if not _is_real(value) or not math.isfinite(value) or value != int(value) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {name}={value!r}")
    return int(value)


def _flag(value: Any, name: str) -> bool:
    """``value`` if it is a bool (a run file's ``true``/``false``), else a ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {name}={value!r}")
    return value


def _ratio(bipop: Any) -> float:
    """The small regime's budget relative to the large one's, from ``bipop``."""
    if isinstance(bipop, bool):
        return 1.0 if bipop else 0.0
    if not _is_real(bipop) or not math.isfinite(bipop) or bipop < 0:
        raise ValueError(f"bipop must be True, False or a number >= 0 (the small regime's "
                         f"budget relative to the large one's), got bipop={bipop!r}")
    return float(bipop)
