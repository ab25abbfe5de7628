"""AdaptiveSelector: a portfolio that learns during the run (a bandit over configurations)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core._validation import number
from glompo_core.selectors._cycle import SpawnArg, _describe
from glompo_core.selectors.baseselector import AvailOpt, BaseSelector, OptimizerSpec

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView

__all__ = ["AdaptiveSelector"]


class AdaptiveSelector(BaseSelector):
    """Give each free slot to the optimizer configuration that has earned it (UCB bandit).

    Every started optimizer is a pull of its configuration's arm. It scores a success
    while its best value is among the best ``elite_fraction`` of the bests of all the
    run's optimizers (ranks: any scale of the function values works). A
    configuration's credit is its successes per evaluation spent relative to the
    run's (1: as good as the average, 0: no success); the next optimizer is the
    configuration with the highest upper confidence bound (UCB1) on that credit, once
    each configuration has been started ``min_starts`` times.

    Parameters
    ----------
    *avail_opts
        The configurations to choose from. Each is a class, a registered name, a tuple
        ``(class_or_name, init_kwargs, call_kwargs)`` or a run-file mapping
        ``{Name: {init: {...}, call: {...}}}``. The same class may appear several times
        with different settings: each entry is its own arm.
    min_starts
        Times each configuration is started (in the listed order, fewest starts first)
        before the bandit decides: no configuration is starved early.
    elite_fraction
        Share (0 < f <= 1) of the run's optimizers whose bests are successes: an
        optimizer succeeds while its best is at most the ``ceil(f * n)``-th best of the
        ``n`` optimizers that have evaluated (ties included, so at least one).
    exploration
        Weight ``c`` of the confidence term ``c * sqrt(2 ln N / n_a)`` (``N`` optimizers
        started in all, ``n_a`` of this configuration); 0 is greedy, 1 is UCB1. As the
        credit is about 1 for the configurations that succeed, one without any success
        gets about ``2 c**2 ln N`` of the ``N`` starts (7 of 40 with ``c = 1``).
    per_evaluation
        Divide the success rate by the configuration's evaluations per optimizer
        (relative to the run's average), so a configuration that finds good values
        cheaply is preferred; False counts successes per optimizer only.
    allow_spawn
        Optional :class:`SpawnControl` (or list of them) that ends spawning.
    plugin_manager
        Where names are looked up (default: the process-wide plugin manager).

    Notes
    -----
    The credit is read from the run's log alone, every time a slot is free: each
    optimizer's best value and evaluation count (:meth:`BaseLogger.best_iters` and
    :meth:`BaseLogger.len`, which cover the whole run), so running optimizers count
    with their best so far. Which configuration an optimizer came from is recorded when
    it is started (its id is ``manager.o_counter + 1``) and checked against the log's
    ``type`` and ``init_kwargs`` metadata; optimizers the selector did not start (or a
    mismatch) are attributed by that metadata, the most specific matching
    configuration winning. Optimizers of no configuration still count in the ranking.

    Successes rather than mean ranks: a portfolio is judged by the best value it
    reaches, not the average (the max-k-armed bandit of Streeter and Smith's threshold
    ascent), and successes add up, so a success rate per evaluation is meaningful
    where a mean rank per evaluation is not. An optimizer that has not evaluated yet
    counts as a start (for the confidence term) but not in the success rate.

    Ties between equal bounds are broken with :attr:`rng` (seeded by the manager), so
    a seeded run repeats when the log it reads does (e.g. with ``max_jobs=1``). A
    proposal that needs more ``workers`` than the free slots stays proposed until it
    starts. The selector's state pickles with the manager's checkpoint.

    Examples
    --------
    Each configuration is started once, the second finds the better value, so the
    next slot goes to it:

    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> from glompo_core.selectors import AdaptiveSelector
    >>> sel = AdaptiveSelector(("RandomOptimizer", {"popsize": 4}),
    ...                        ("RandomOptimizer", {"popsize": 16}))
    >>> log = BaseLogger(n_parms=1)
    >>> view = SimpleNamespace(o_counter=0, f_counter=0, opt_log=log)  # as the manager's
    >>> for opt_id, fx in ((1, 5.0), (2, 0.1)):
    ...     cls, init, call = sel.select_optimizer(view, log, slots_available=1)
    ...     view.o_counter = opt_id  # what the manager does when it starts one
    ...     log.add_optimizer(opt_id, cls.__name__, t_start=0.0)
    ...     log.put_metadata(opt_id, "init_kwargs", dict(init, workers=1))
    ...     log.put_iteration(opt_id, np.array([opt_id]), np.array([[0.0]]), np.array([fx]))
    >>> sel.select_optimizer(view, log, slots_available=1)[1]
    {'popsize': 16}
    >>> [(s["starts"], s["quality"]) for s in sel.arm_stats(log)]
    [(1, 0.0), (2, 1.0)]
    """

    def __init__(self, *avail_opts: AvailOpt, min_starts: int = 1, elite_fraction: float = 0.25,
                 exploration: float = 1.0,
                 per_evaluation: bool = True, allow_spawn: SpawnArg = None,
                 plugin_manager: PluginManager | None = None) -> None:
        super().__init__(*avail_opts, allow_spawn=allow_spawn, plugin_manager=plugin_manager)
        if isinstance(min_starts, bool) or not isinstance(min_starts, int) or min_starts < 1:
            raise ValueError(f"min_starts must be an integer >= 1 (times each configuration "
                             f"is started before the bandit decides), got {min_starts!r}")
        self.min_starts = min_starts
        self.elite_fraction = number(
            elite_fraction, "elite_fraction", minimum=0, min_inclusive=False, maximum=1,
            what="a number in (0, 1], e.g. 0.25 for the best quarter of the optimizers")
        self.exploration = number(exploration, "exploration", minimum=0)
        if not isinstance(per_evaluation, bool):
            raise ValueError(f"per_evaluation must be true or false, got {per_evaluation!r}")
        self.per_evaluation = per_evaluation
        self._arm_of: dict[int, int] = {}  # opt_id -> index in avail_opts
        self._pending: int | None = None  # arm proposed but not started yet
        self._next_id = 0  # the id the proposed optimizer will have

    # -- attribution ------------------------------------------------------------------------
    def _matches(self, arm: int, log: BaseLogger, opt_id: int) -> int:
        """-1 if ``opt_id`` cannot come from ``arm``, else how many init settings agree."""
        cls, init, _ = self.avail_opts[arm]
        try:
            if log.get_metadata(opt_id, "type") != cls.__name__:
                return -1
        except KeyError:  # no metadata: trust the record made at the start
            return 0 if arm == self._arm_of.get(opt_id) else -1
        try:
            logged = log.get_metadata(opt_id, "init_kwargs")
        except KeyError:
            return 0
        if not isinstance(logged, dict):
            return 0
        agree = 0
        for key, value in init.items():
            if key not in logged:
                if key == "workers":
                    continue
                return -1
            try:
                same = bool(np.all(logged[key] == value))
            except (TypeError, ValueError):
                same = logged[key] is value
            if not same:
                return -1
            agree += 1
        return agree

    def _attribute(self, log: BaseLogger) -> None:
        """Map every optimizer of the log to its configuration (where one matches)."""
        for opt_id in log.opt_ids:
            arm = self._arm_of.get(opt_id)
            if arm is not None and self._matches(arm, log, opt_id) >= 0:
                continue
            scores = [self._matches(a, log, opt_id) for a in range(len(self.avail_opts))]
            best = max(scores)
            if best >= 0:
                self._arm_of[opt_id] = scores.index(best)
            else:
                self._arm_of.pop(opt_id, None)

    # -- credit ---------------------------------------------------------------------------
    def arm_stats(self, log: BaseLogger) -> list[dict[str, Any]]:
        """The numbers behind the choice, one dict per configuration.

        Keys: ``starts`` (optimizers started), ``evaluations`` (their evaluations),
        ``elite`` (how many of them have a best among the run's elite), ``quality``
        (the sum of their rank qualities: each the share of the run's other optimizers
        whose best it beats, ties counting half), ``credit`` and ``bound`` (the upper
        confidence bound the choice is made on).

        Parameters
        ----------
        log
            The run's log; only its optimizers' bests, counts and metadata are read.
        """
        self._attribute(log)
        n_arms = len(self.avail_opts)
        starts = np.zeros(n_arms, dtype=int)
        for arm in self._arm_of.values():
            starts[arm] += 1
        bests = log.best_iters
        scored = [oid for oid in bests if log.len(oid) > 0]
        values = np.array([float(bests[oid]["fx"]) for oid in scored])
        values = np.where(np.isfinite(values), values, np.inf)
        quality_of: dict[int, float] = {}
        elite_of: dict[int, bool] = {}
        if scored:
            k = max(1, math.ceil(self.elite_fraction * len(scored)))
            threshold = float(np.sort(values)[k - 1])
            for oid, fx in zip(scored, values):
                worse = np.count_nonzero(values > fx) + 0.5 * (np.count_nonzero(values == fx) - 1)
                quality_of[oid] = float(worse) / (len(scored) - 1) if len(scored) > 1 else 0.5
                elite_of[oid] = bool(np.isfinite(fx) and fx <= threshold)
        quality = np.zeros(n_arms)
        elite = np.zeros(n_arms, dtype=int)
        evaluated = np.zeros(n_arms, dtype=int)
        evaluations = np.zeros(n_arms, dtype=int)
        for opt_id, arm in self._arm_of.items():
            if opt_id in quality_of:
                evaluated[arm] += 1
                evaluations[arm] += log.len(opt_id)
                quality[arm] += quality_of[opt_id]
                elite[arm] += elite_of[opt_id]
        total_starts = int(starts.sum())
        mean_cost = evaluations.sum() / max(int(evaluated.sum()), 1)
        base_rate = elite.sum() / max(int(evaluated.sum()), 1)  # the run's success rate
        stats = []
        for arm in range(n_arms):
            n, done = int(starts[arm]), int(evaluated[arm])
            credit = elite[arm] / done / base_rate if done and base_rate > 0 else 0.0
            if self.per_evaluation and credit > 0:
                credit *= mean_cost / (evaluations[arm] / done)
            if n == 0:
                bound = math.inf
            else:
                bound = credit + self.exploration * math.sqrt(2 * math.log(total_starts) / n)
            stats.append({"starts": n, "evaluations": int(evaluations[arm]),
                          "elite": int(elite[arm]), "quality": float(quality[arm]),
                          "credit": float(credit), "bound": float(bound)})
        return stats

    def _next_arm(self, log: BaseLogger) -> int:
        stats = self.arm_stats(log)
        fewest = min(s["starts"] for s in stats)
        if fewest < self.min_starts:  # exploration: the listed order, fewest starts first
            return next(a for a, s in enumerate(stats) if s["starts"] == fewest)
        bounds = np.array([s["bound"] for s in stats])
        top = np.flatnonzero(bounds >= bounds.max() - 1e-12)
        arm = int(top[0]) if len(top) == 1 else int(self.rng.choice(top))
        self.logger.debug("AdaptiveSelector: %s -> configuration %d", stats, arm)
        return arm

    # -- selection ------------------------------------------------------------------------
    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec:
        """Propose the configuration with the highest bound (the same one until started)."""
        if self._pending is None:
            self._pending = self._next_arm(log)
        self._next_id = manager.o_counter + 1
        return self.avail_opts[self._pending]

    def commit(self, choice: OptimizerSpec) -> None:
        """Record which configuration the optimizer about to start comes from."""
        if self._pending is not None:
            self._arm_of[self._next_id] = self._pending
        self._pending = None

    def __str__(self) -> str:
        settings: dict[str, Any] = {}
        defaults = {"min_starts": 1, "elite_fraction": 0.25, "exploration": 1.0,
                    "per_evaluation": True}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                settings[key] = getattr(self, key)
        return _describe(self, **settings)
