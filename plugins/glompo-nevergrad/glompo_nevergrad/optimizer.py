"""NevergradOptimizer: any optimizer of nevergrad's registry, through ask and tell.

:mod:`nevergrad` is imported when an optimizer is built, not when this module is
imported, so registering the class keeps the plugin registry light.
"""

from __future__ import annotations

import difflib
import gc
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from glompo_core.optimizers import BaseOptimizer, evaluate_population
from glompo_core.result import MinimizeResult

__all__ = ["BOUNDS_METHODS", "NevergradOptimizer", "available_optimizers"]

_log = logging.getLogger("glompo.optimizers.nevergrad")

#: What NaN and infinite values are told as: below 5e20, the largest loss nevergrad takes
#: without clipping it (and warning about it, see ``Optimizer.tell``).
_WORST_LOSS = 4.0e20
#: Ways nevergrad can keep an Array within bounds (``Data.set_bounds``) offered here.
BOUNDS_METHODS = ("bouncing", "clipping")
#: Seconds between two looks at the signal pipe while the optimizer is paused.
_PAUSE_POLL = 0.05


def available_optimizers() -> list[str]:
    """The names of nevergrad's optimizer registry (``ng.optimizers.registry``), sorted."""
    import nevergrad as ng

    return sorted(ng.optimizers.registry)


def _registry_entry(name: Any) -> Any:
    """``ng.optimizers.registry[name]``, or a ValueError with the closest names."""
    import nevergrad as ng

    registry = ng.optimizers.registry
    if isinstance(name, str) and name in registry:
        return registry[name]
    names = sorted(registry)
    lowered = {n.lower(): n for n in names}
    close = [lowered[c] for c in difflib.get_close_matches(str(name).lower(), list(lowered),
                                                          n=3, cutoff=0.6)]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown nevergrad optimizer {name!r}.{hint} nevergrad "
                     f"{ng.__version__} has {len(names)} optimizers: "
                     "glompo_nevergrad.available_optimizers() lists them (names are "
                     "case-sensitive, e.g. 'NGOpt', 'CMA', 'TwoPointsDE', 'PSO').")


def _needs_budget(entry: Any) -> bool:
    """True for NGOpt and its relatives, which choose their algorithm from the budget."""
    from nevergrad.optimization import optimizerlib

    base = getattr(optimizerlib, "NGOptBase", None)
    return base is not None and isinstance(entry, type) and issubclass(entry, base)


def _optimizer_tree(optimizer: Any) -> list[Any]:
    """``optimizer`` and the nevergrad optimizers it holds (NGOpt's choice, portfolios...)."""
    from nevergrad.optimization import base

    seen: set[int] = set()
    found = []
    stack = [optimizer]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append(obj)
        for value in vars(obj).values():
            if isinstance(value, base.Optimizer):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, base.Optimizer))
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if isinstance(v, base.Optimizer))
    return found


def _is_recast(optimizer: Any) -> bool:
    """True if ``optimizer`` holds a recast algorithm: a library loop in a background thread.

    NGOpt and its relatives choose their algorithm here (as their first ask would).
    """
    if callable(getattr(optimizer, "_select_optimizer_cls", None)):
        optimizer.optim  # noqa: B018 - NGOpt builds the algorithm it chose
    return any(getattr(o, "recast", False) for o in _optimizer_tree(optimizer))


def _stop_background_threads(optimizer: Any) -> None:
    """Stop the threads of nevergrad's recast optimizers held by ``optimizer``.

    Optimizers that wrap a library running its own loop (scipy's, pycma's fmin2, ...)
    run it in a non-daemon thread blocked on a queue; left alone, it keeps the process
    from exiting. Sub-optimizers (NGOpt's choice, portfolios, chains) are searched too.
    """
    for obj in _optimizer_tree(optimizer):
        thread = getattr(obj, "_messaging_thread", None)
        if thread is not None:
            try:
                thread.stop()
            except Exception:  # pragma: no cover - best effort at the end of a run
                _log.debug("could not stop a nevergrad background thread", exc_info=True)


class NevergradOptimizer(BaseOptimizer):
    """Any optimizer of nevergrad's registry, by name, as a GloMPO child optimizer.

    The parameters are a ``ng.p.Array`` on the run's bounds, centred in them, with a
    mutation scale (sigma) of a sixth of each range, and initial populations drawn
    across the whole range (``set_bounds(lower, upper, method=bounds_method,
    full_range_sampling=True)``). ``x0`` is suggested to nevergrad as
    the first candidate (``optimizer.suggest(x0)``), so it is evaluated first and told
    to the algorithm; recast algorithms (a library loop in a background thread: Nelder-
    Mead, Powell, COBYLA, CmaFmin2...) take no such point and have the array centred at
    ``x0`` instead, which is where they start. (Centring every algorithm at an
    off-centre ``x0`` stalls nevergrad's population methods: see the README.) Every
    point is also clipped into the bounds before evaluation, so the task is never
    evaluated outside them.

    Each iteration asks nevergrad for ``workers`` candidates (nevergrad's
    ``num_workers``), evaluates them at once through the run's backend
    (:func:`~glompo_core.optimizers.evaluate_population`), tells nevergrad the values
    (NaN and infinity as 4e20, below the 5e20 at which nevergrad clips losses), then
    serves the manager's
    requests and honours a pause. A stop request ends the loop at the end of the
    iteration. When ``budget`` evaluations are used, or nevergrad stops early, the
    optimizer reports its convergence to the manager (message key 0).

    Parameters
    ----------
    optimizer
        Name in ``nevergrad.optimizers.registry`` (case-sensitive): ``'NGOpt'`` (the
        default: nevergrad's algorithm selector), ``'CMA'``, ``'DE'``, ``'TwoPointsDE'``,
        ``'PSO'``, ``'OnePlusOne'``, ... (:func:`available_optimizers` lists them).
    budget
        Evaluations this optimizer may use; nevergrad is told it (many of its
        algorithms plan with it) and the optimizer ends, converged, once they are used.
        Left out in a run whose exit conditions bound its evaluations (a
        ``MaxFuncCalls``), the manager gives the optimizer its share of the run's
        budget (:attr:`budget_argument` is ``"budget"``; the rule is
        :mod:`glompo_core.budget`'s). None: no budget; the optimizer runs until the
        manager stops it. NGOpt and its relatives choose their algorithm from the
        budget and need one (nevergrad 1.0.12 builds them without one, then fails on
        the first ask).
    bounds_method
        How nevergrad keeps points within the bounds: ``'bouncing'`` (nevergrad's
        default: a step beyond a bound is reflected back) or ``'clipping'`` (it stops at
        the bound). nevergrad's PSO pins many points on the bounds with ``'bouncing'``
        and needs ``'clipping'``; OnePlusOne is the opposite (see the README).
    tell_injections
        If True (default), a better point injected by the manager
        (``share_best_solutions=True``) is also told to nevergrad as an evaluated
        candidate, where the algorithm accepts points it did not ask for; else
        injections only update the incumbent.
    workers
        Candidates asked and evaluated at once (nevergrad's ``num_workers``); some
        nevergrad optimizers are sequential and accept only 1.
    seed
        Seed of the parametrization's random state, from which nevergrad's optimizers
        draw: a seeded optimizer repeats exactly. ``set_seed(seed)`` before
        :meth:`minimize` does the same (see
        :class:`~glompo_core.optimizers.BaseOptimizer`).
    **kwargs
        Handed to :class:`~glompo_core.optimizers.BaseOptimizer`: the manager's runtime
        arguments (``_opt_id``, ...).

    Raises
    ------
    ValueError
        An unknown optimizer name (with nevergrad's closest names), a budget that is not
        a positive integer, an unknown ``bounds_method``, no budget for NGOpt and its
        relatives (neither given nor filled from the run's ``MaxFuncCalls``), or
        ``workers`` > 1 for a sequential algorithm.
    TypeError
        An algorithm that is not a name (e.g. the manager's ``_opt_id`` given
        positionally: the runtime arguments go by keyword), or an argument that no
        ``__init__`` takes (with the closest name).

    Notes
    -----
    Checkpoints hold the nevergrad optimizer itself, pickled with dill: a resumed run
    continues the same search exactly (CMA, DE, TwoPointsDE, PSO, OnePlusOne, ...).
    Recast algorithms (a library loop in a background thread) are restored by nevergrad
    by replaying their history; :meth:`checkpoint_save` tries that replay and, where it
    fails (with nevergrad 1.0.12: its scipy-based NelderMead, Powell, Cobyla..., and
    CmaFmin2, which NGOpt picks for small budgets and dimensions), refuses the save with
    the reason. The manager then logs it and, on resume, restarts the optimizer from its
    best point, as for any optimizer with ``can_checkpoint = False``.

    Each run ends by stopping the background threads of recast algorithms: left alone,
    they would keep the Python process from exiting.

    Examples
    --------
    >>> opt = NevergradOptimizer(optimizer="TwoPointsDE", budget=600, seed=1)
    >>> res = opt.minimize(lambda x: float(sum(v * v for v in x)), [0.5, 0.5],
    ...                    [(-1.0, 1.0), (-1.0, 1.0)])
    >>> bool(res.fx < 1e-4), opt.ng_optimizer.num_ask <= 600   # within its budget
    (True, True)
    """

    #: The manager fills ``budget`` from the run's MaxFuncCalls when it is not given.
    budget_argument: ClassVar[str | None] = "budget"

    def __init__(self, optimizer: str = "NGOpt", budget: int | None = None,
                 bounds_method: str = "bouncing", tell_injections: bool = True,
                 **kwargs: Any) -> None:
        if not isinstance(optimizer, str):
            raise TypeError(f"optimizer must be the name of a nevergrad algorithm (a str such "
                            f"as 'NGOpt' or 'CMA'), got {optimizer!r}; the manager's runtime "
                            "arguments (_opt_id, ...) are given by keyword")
        super().__init__(**kwargs)
        if budget is not None and (not isinstance(budget, (int, np.integer))
                                   or isinstance(budget, bool) or budget < 1):
            raise ValueError(f"budget must be None or an integer >= 1, got budget={budget!r}")
        if self.seed is not None and (not isinstance(self.seed, (int, np.integer))
                                      or isinstance(self.seed, bool) or self.seed < 0):
            raise ValueError(f"seed must be None or an integer >= 0, got seed={self.seed!r}")
        if bounds_method not in BOUNDS_METHODS:
            raise ValueError(f"bounds_method must be one of {', '.join(map(repr, BOUNDS_METHODS))}"
                             f"; got bounds_method={bounds_method!r}")
        entry = _registry_entry(optimizer)
        if budget is None and _needs_budget(entry):
            raise ValueError(f"nevergrad's {optimizer} chooses its algorithm from the budget and "
                             "fails on its first ask without one: give budget=<evaluations "
                             "this optimizer may use>, or run it under a MaxFuncCalls exit "
                             "condition, from which the manager gives it its share of the "
                             "run's budget (glompo_core.budget)")
        if self.workers > 1 and getattr(entry, "no_parallelization", False):
            raise ValueError(f"nevergrad's {optimizer} is sequential: it accepts workers=1 "
                             f"only, got workers={self.workers}")
        self.optimizer = optimizer
        self.budget = None if budget is None else int(budget)
        self.bounds_method = bounds_method
        self.tell_injections = bool(tell_injections)
        self.ng_optimizer: Any = None
        self.n_evals = 0
        self.n_iter = 0
        self._in_progress = False
        self._stop = False
        self._bounds: np.ndarray | None = None

    # -- nevergrad ------------------------------------------------------------------------
    def _build(self, x0: np.ndarray, bounds: np.ndarray) -> Any:
        """A fresh nevergrad optimizer on ``bounds`` that starts from ``x0``.

        The array is centred in the bounds and ``x0`` is suggested as the first
        candidate; for recast algorithms (a library loop in a background thread, which
        take no unasked point) the array is centred at ``x0`` instead, which is where
        they start.
        """
        opt = self._new_optimizer(bounds, None)
        if _is_recast(opt):
            _stop_background_threads(opt)
            opt = self._new_optimizer(bounds, x0)
        else:
            opt.suggest(x0)  # the first candidate asked
        opt.enable_pickling()  # recast optimizers keep what they need to be pickled
        return opt

    def _new_optimizer(self, bounds: np.ndarray, centre: np.ndarray | None) -> Any:
        import nevergrad as ng

        lower, upper = bounds[:, 0], bounds[:, 1]
        param = ng.p.Array(init=(lower + upper) / 2 if centre is None else centre)
        param.set_mutation(sigma=(upper - lower) / 6)
        param.set_bounds(lower, upper, method=self.bounds_method, full_range_sampling=True)
        if self.seed is not None:
            param.random_state = np.random.RandomState(int(self.seed))
        entry = _registry_entry(self.optimizer)
        try:
            return entry(param, budget=self.budget, num_workers=self.workers)
        except ValueError as exc:
            raise ValueError(f"nevergrad's {self.optimizer} cannot be built with "
                             f"workers={self.workers}: {exc}") from exc

    def _ask(self, n: int) -> list[Any]:
        """Ask nevergrad for ``n`` candidates (the first ask also builds its algorithm)."""
        early = self.n_iter <= 1  # the first ask of the algorithm (after the suggested x0)
        try:
            return [self.ng_optimizer.ask() for _ in range(n)]
        except (AssertionError, TypeError, ValueError) as exc:
            if early and self.budget is None:
                raise ValueError(f"nevergrad's {self.optimizer} failed on its first ask "
                                 f"without a budget ({type(exc).__name__}: {exc}); many "
                                 "nevergrad optimizers plan with the budget: give "
                                 "budget") from exc
            raise

    def inject(self, x: Sequence[float], fx: float) -> None:
        """Update the incumbent; if better and ``tell_injections``, tell nevergrad too.

        The point is told as a candidate nevergrad did not ask for (its ``tell`` of a
        ``parametrization.spawn_child(new_value=x)``), which costs no evaluation. An
        algorithm that refuses such points is not told again (logged once).
        """
        better = fx < self.incumbent["fx"]
        super().inject(x, fx)
        ng_opt = self.ng_optimizer
        if not (better and self.tell_injections and ng_opt is not None and self._in_progress
                and math.isfinite(fx) and self._bounds is not None):
            return
        point = np.clip(np.asarray(x, dtype=float), self._bounds[:, 0], self._bounds[:, 1])
        try:
            ng_opt.tell(ng_opt.parametrization.spawn_child(new_value=point), float(fx))
        except Exception as exc:
            self.tell_injections = False
            self.logger.info("nevergrad's %s does not take injected points (%s: %s); "
                             "injections only update the incumbent from now on",
                             self.optimizer, type(exc).__name__, exc)

    # -- the loop -------------------------------------------------------------------------
    def _serve_manager(self) -> None:
        """Once per iteration: serve the manager's requests and honour a pause."""
        self.check_messages()
        pipe = self._signal_pipe
        while not self._pause_signal.wait(_PAUSE_POLL):
            # paused, or a pause request on its way: acknowledge it as soon as it arrives
            if pipe is not None and pipe.poll():
                self.check_messages()

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Ask, evaluate and tell until the budget is used or the manager stops it.

        Parameters
        ----------
        function
            The task, ``fx = function(x)``; inside a run, also ``evaluate_population``.
        x0
            The first point evaluated (clipped into the bounds). Ignored when continuing
            a search loaded from a checkpoint.
        bounds
            ``(min, max)`` of each parameter; finite, with min < max.

        Returns
        -------
        MinimizeResult
            The best point evaluated (or injected) and its value; ``success`` is True if
            it ended by itself. ``stats``: ``evaluations``, ``iterations``, ``optimizer``
            (nevergrad's name) and ``recommendation`` (nevergrad's recommended point).
        """
        b = np.array(bounds, dtype=float)
        if b.ndim != 2 or b.shape[1] != 2 or not np.all(np.isfinite(b)) \
                or np.any(b[:, 0] >= b[:, 1]):
            raise ValueError(f"bounds must be finite (min, max) pairs with min < max, got "
                             f"{np.asarray(bounds).tolist()}")
        self._stop = False
        resumed = self.is_restart and self._in_progress
        self._FROM_CHECKPOINT = False
        if resumed and self.ng_optimizer is not None:
            b = self._bounds if self._bounds is not None else b  # the same search, continued
        else:
            if resumed and self.incumbent["x"] is not None:
                x0 = self.incumbent["x"]  # its state was lost: a new search from its best
            else:
                self.incumbent = {"x": None, "fx": float("inf")}
            start = np.clip(np.array(x0, dtype=float).ravel(), b[:, 0], b[:, 1])
            if start.shape != (len(b),):
                raise ValueError(f"x0 has {start.size} values for {len(b)} bounds")
            self.n_evals = self.n_iter = 0
            self._bounds = b
            self.ng_optimizer = self._build(start, b)
        self._in_progress = True
        message = ""
        try:
            message = self._loop(function, b)
        finally:
            _stop_background_threads(self.ng_optimizer)
            self._in_progress = False
        converged = bool(message) and not self._stop
        if converged:
            self.message_manager(0, f"nevergrad {self.optimizer}: {message}")
        return MinimizeResult(success=converged, x=self.incumbent["x"], fx=self.incumbent["fx"],
                              stats=self._stats(message),
                              origin={"opt_id": self.opt_id, "type": type(self).__name__,
                                      "optimizer": self.optimizer})

    def _loop(self, function: Callable[[Sequence[float]], float], b: np.ndarray) -> str:
        """The ask-evaluate-tell loop; returns why it ended by itself ('' if stopped)."""
        from nevergrad.common import errors

        lower, upper = b[:, 0], b[:, 1]
        ng_opt = self.ng_optimizer
        while not self._stop:
            n = self.workers
            if self.budget is not None:
                n = min(n, self.budget - self.n_evals)
                if n <= 0:
                    return f"budget of {self.budget} evaluations used"
            try:
                candidates = self._ask(n)
            except errors.NevergradEarlyStopping as exc:
                return f"stopped early: {exc}"
            xs = np.array([np.clip(np.asarray(c.value, dtype=float), lower, upper)
                           for c in candidates])
            fxs = evaluate_population(function, xs, self.workers)
            for candidate, x, fx in zip(candidates, xs, fxs):
                fx = float(fx)
                try:
                    ng_opt.tell(candidate, fx if math.isfinite(fx) else _WORST_LOSS)
                except errors.TellNotAskedNotSupportedError:
                    # x0 was suggested, and this algorithm only takes the points it asked for
                    self.logger.debug("nevergrad's %s was not told x0: it takes only the "
                                      "points it asks for", self.optimizer)
                self._update_incumbent(x, fx)
            self.n_evals += len(candidates)
            self.n_iter += 1
            self._serve_manager()
        return ""

    def _stats(self, message: str) -> dict[str, Any]:
        stats: dict[str, Any] = {"evaluations": self.n_evals, "iterations": self.n_iter,
                                 "optimizer": self.optimizer,
                                 "message": message or "stopped by the manager"}
        try:
            stats["recommendation"] = np.asarray(
                self.ng_optimizer.provide_recommendation().value, dtype=float)
        except Exception:  # no tell yet, or the algorithm has nothing to recommend
            stats["recommendation"] = None
        return stats

    def callstop(self, reason: str = "") -> None:
        """End the loop at the end of the current iteration."""
        self._stop = True

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint_save(self, path: str | Path, force: set[str] | None = None,
                        block: set[str] | None = None) -> None:
        """Save the optimizer with its nevergrad optimizer (dill), to continue the search.

        A recast algorithm (a library loop in a background thread) is restored by
        replaying its history, which nevergrad checks; the replay is tried here, so that
        a checkpoint never holds a state that cannot be restored.

        Raises
        ------
        RuntimeError
            The nevergrad optimizer does not pickle, or cannot be restored from its
            pickle (e.g. CmaFmin2, which NGOpt picks in low dimensions): the manager
            then restarts this optimizer from its best point on resume, and logs why.
        """
        import dill

        self._ng_pickle: bytes | None = None
        if self.ng_optimizer is not None:
            error = ""
            try:
                blob = dill.dumps(self.ng_optimizer)
                if _is_recast(self.ng_optimizer):
                    _stop_background_threads(dill.loads(blob))
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error:
                # a replay that failed half-way left a copy whose background thread stops
                # when the copy is collected: collect it now (the exception held it)
                gc.collect()
                raise RuntimeError(f"nevergrad's {self.optimizer} cannot be saved and "
                                   f"restored mid-run ({error})")
            self._ng_pickle = blob
        try:
            super().checkpoint_save(path, force={"_ng_pickle", *(force or ())},
                                    block={"ng_optimizer", *(block or ())})
        finally:
            self._ng_pickle = None

    @classmethod
    def checkpoint_load(cls, path: str | Path, **kwargs: Any) -> NevergradOptimizer:
        """Recreate the optimizer saved by :meth:`checkpoint_save`, to continue its search.

        If its nevergrad optimizer cannot be restored (e.g. another nevergrad version),
        a warning is logged and :meth:`minimize` starts a new search from the best point
        the saved optimizer had found.
        """
        import dill

        opt = super().checkpoint_load(path, **kwargs)
        assert isinstance(opt, NevergradOptimizer)
        blob = opt.__dict__.pop("_ng_pickle", None)
        opt.ng_optimizer = None
        error = ""
        if blob is not None:
            try:
                opt.ng_optimizer = dill.loads(blob)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        if error:
            gc.collect()  # stops the background thread of a half-restored copy
            opt.logger.warning("nevergrad's %s could not be restored (%s); it restarts from "
                               "its best point", opt.optimizer, error)
        return opt
