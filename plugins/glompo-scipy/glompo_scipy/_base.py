"""What every scipy optimizer of glompo-scipy shares: the function scipy is given.

scipy's optimizers run their own loops and call the function themselves, so the
manager's requests (stop, pause, inject, checkpoint) are served from inside that
function, between two evaluations, and at scipy's callback (an iteration boundary).
A stop request raises :class:`_StopRequested` there, which unwinds scipy's loop; the
optimizer's :meth:`~ScipyBase.minimize` catches it and returns the best point seen.

:mod:`scipy` is imported by the subclasses when they run, never by this module.
"""

from __future__ import annotations

import collections
import difflib
import math
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from glompo_core.optimizers import BaseOptimizer, evaluate_population
from glompo_core.optimizers.baseoptimizer import RUNTIME_ARGUMENTS
from glompo_core.result import MinimizeResult

__all__ = ["ScipyBase"]

#: Seconds between two looks at the signal pipe while the optimizer is paused.
_PAUSE_POLL = 0.05


class _StopRequested(BaseException):  # a control-flow signal, not an error
    """Raised inside scipy's loop when the manager asked the optimizer to stop.

    It derives from :class:`BaseException` (like :class:`GeneratorExit`) so that no
    ``except Exception`` inside scipy can swallow it.
    """


class _Objective:
    """The function given to scipy: clips to the bounds, serves the manager, records.

    * Every point is clipped into the bounds before the task sees it: the task is
      never evaluated outside them. A point scipy asked for outside the bounds gets
      the value at the clipped point plus a penalty growing with the distance
      (``(1 + |f|) * ||(x - clip(x)) / (hi - lo)||``), so that scipy is pushed back in.
    * NaN is returned to scipy as +inf.
    * Before each evaluation the manager's messages are served and a pause honoured;
      a stop request raises :class:`_StopRequested`.
    * :meth:`map` is a map-like callable for scipy's ``workers=``: it evaluates the
      points at once through :func:`~glompo_core.optimizers.evaluate_population`
      (so through the run's backend), then lets scipy's own function read the values.
    """

    def __init__(self, owner: ScipyBase, function: Callable[[Any], float],
                 lower: np.ndarray, upper: np.ndarray) -> None:
        self._owner = owner
        self._function = function
        self.lower = lower
        self.upper = upper
        self._span = np.where(upper > lower, upper - lower, 1.0)
        self._ready: dict[bytes, collections.deque[float]] = {}

    def _value(self, x: np.ndarray, xc: np.ndarray, fx: float) -> float:
        """What scipy is told for ``x`` evaluated at ``xc``."""
        if math.isnan(fx):
            return math.inf
        if xc is x or np.array_equal(x, xc):
            return fx
        distance = float(np.linalg.norm((x - xc) / self._span))
        return fx + (1.0 + abs(fx)) * distance

    def __call__(self, x: Any) -> float:
        point = np.array(x, dtype=float).ravel()
        queued = self._ready.get(point.tobytes())
        if queued:
            return queued.popleft()
        self._owner._serve_manager()
        clipped = np.clip(point, self.lower, self.upper)
        fx = float(self._function(clipped))
        self._owner._record(clipped, fx)
        return self._value(point, clipped, fx)

    def evaluate_population(self, xs: Any) -> list[float]:
        """Evaluate the rows of ``xs`` at once (through the run's backend in a run)."""
        self._owner._serve_manager()
        points = np.atleast_2d(np.asarray(xs, dtype=float))
        clipped = np.clip(points, self.lower, self.upper)
        fxs = [float(f) for f in evaluate_population(self._function, clipped,
                                                     self._owner.workers)]
        for xc, fx in zip(clipped, fxs):
            self._owner._record(xc, fx)
        return [self._value(x, xc, fx) for x, xc, fx in zip(points, clipped, fxs)]

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any]) -> list[Any]:
        """Map-like callable for scipy's ``workers=``: ``func`` over ``iterable``.

        The points are first evaluated at once with :meth:`evaluate_population`; then
        ``func`` (scipy's wrapper around this object) is called on each and reads the
        value already computed. Points that ``func`` transforms before calling this
        object (none of the methods used here does) are simply evaluated again.
        """
        items = [np.array(x, dtype=float) for x in iterable]
        n = len(self.lower)
        if len(items) > 1 and all(item.shape == (n,) for item in items):
            values = self.evaluate_population(np.array(items))
            for item, value in zip(items, values):
                self._ready.setdefault(item.tobytes(), collections.deque()).append(value)
        try:
            return [func(item) for item in items]
        finally:
            self._ready.clear()


class ScipyBase(BaseOptimizer):
    """Base of the scipy optimizers: runs a scipy routine under the manager's control.

    Subclasses implement :meth:`_run`, which calls scipy with the given function,
    starting point, bounds and callback and returns scipy's ``OptimizeResult``.

    Every argument is given by keyword: ``workers``, ``seed`` and the manager's runtime
    arguments (:data:`~glompo_core.optimizers.baseoptimizer.RUNTIME_ARGUMENTS`) go to
    :class:`~glompo_core.optimizers.BaseOptimizer`, the others are the scipy routine's
    options, checked by :meth:`_check_options`.

    They cannot be checkpointed mid-run (scipy's loops keep their state on the call
    stack): ``can_checkpoint`` is False, so a checkpoint of a run never waits for them
    and on resume the manager restarts them from their best point.
    """

    can_checkpoint: ClassVar[bool] = False
    #: Names of the optimizer's own arguments that scipy must not be given.
    _RESERVED: ClassVar[dict[str, str]] = {
        "bounds": "the bounds are given to minimize() by the manager",
        "x0": "the starting point is given to minimize() by the manager",
        "callback": "the optimizer uses scipy's callback to serve the manager",
        "args": "the task takes no extra arguments",
        "workers": "give workers as the optimizer's own argument (the run's slots)",
        "seed": "give seed as the optimizer's own argument (an integer)",
        "rng": "give seed as the optimizer's own argument (an integer)",
    }

    def __init__(self, **kwargs: Any) -> None:
        # BaseOptimizer's arguments (the manager's runtime ones, workers, seed) go to it;
        # everything else is an option of the scipy routine
        own = {k: kwargs.pop(k) for k in (*RUNTIME_ARGUMENTS, "workers", "seed") if k in kwargs}
        super().__init__(**own)
        if self.seed is not None and (not isinstance(self.seed, (int, np.integer))
                                      or isinstance(self.seed, bool) or self.seed < 0):
            raise ValueError(f"seed must be None or an integer >= 0, got seed={self.seed!r}")
        self.options: dict[str, Any] = self._check_options(dict(kwargs))
        self.n_evals = 0
        self._stop = False
        self._stop_reason = ""

    # -- arguments ------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """Name of the scipy routine, used in messages."""
        return type(self).__name__

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate the scipy options; return them as they will be passed."""
        for key in options:
            if key in self._RESERVED:
                raise ValueError(f"{key!r} cannot be given to {self.label}: "
                                 f"{self._RESERVED[key]}")
        known = self._known_options()
        if known is not None:
            unknown = sorted(set(options) - set(known))
            if unknown:
                hints = []
                for key in unknown:
                    close = difflib.get_close_matches(key, sorted(known), n=1)
                    if close:
                        hints.append(f"{key!r} (did you mean {close[0]!r}?)")
                    else:
                        hints.append(repr(key))
                raise ValueError(f"unknown option(s) for {self.label}: {', '.join(hints)}. "
                                 f"Known: {', '.join(sorted(known))}")
        return options

    def _known_options(self) -> Sequence[str] | None:
        """The option names scipy accepts (None: not checked)."""
        return type(self)._option_names({})

    @classmethod
    def _option_names(cls, init_kwargs: Mapping[str, Any]) -> Sequence[str] | None:
        """The scipy option names the class accepts with ``init_kwargs`` (None: any)."""
        return None

    @classmethod
    def known_init_options(cls, init_kwargs: Mapping[str, Any]) -> Collection[str] | None:
        """The names ``**kwargs`` accept given ``init_kwargs``, for the pre-run check.

        Read by the argument check of ``setup()`` and run files
        (:func:`glompo_core._setup_checks.init_argument_names`), so that a misspelt scipy
        option is refused, with the closest name, before the run starts rather than when
        the optimizer is built. They are ``workers`` and ``seed``, the names the optimizer
        sets itself (given, they are refused with the reason when it is built) and the
        scipy routine's options.

        Parameters
        ----------
        init_kwargs
            The optimizer's arguments (``method`` chooses the options of
            :class:`~glompo_scipy.ScipyOptimizer`).

        Returns
        -------
        Collection[str] or None
            The names; None when they cannot be known (an unknown method: building the
            optimizer reports it).
        """
        options = cls._option_names(init_kwargs)
        if options is None:
            return None
        return {"workers", "seed", *cls._RESERVED, *options}

    @staticmethod
    def _signature_options(function: Callable[..., Any],
                           exclude: Iterable[str] = ()) -> list[str]:
        """Keyword arguments of a scipy function, less ``exclude`` and ``**kwargs``."""
        import inspect

        params = inspect.signature(function).parameters
        return [name for name, p in params.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in exclude]

    def _seed_keyword(self, function: Callable[..., Any]) -> dict[str, Any]:
        """``{'rng': seed}`` (scipy >= 1.15) or ``{'seed': seed}`` for ``function``."""
        if self.seed is None:
            return {}
        import inspect

        params = inspect.signature(function).parameters
        return {"rng" if "rng" in params else "seed": int(self.seed)}

    # -- the manager, from inside scipy's loop --------------------------------------------
    def _serve_manager(self) -> None:
        """Between two evaluations: serve waiting requests, honour a pause, obey a stop."""
        pipe = self._signal_pipe
        if pipe is not None and pipe.poll():
            self.check_messages()
        while not self._pause_signal.is_set():
            # paused, or a pause request on its way: acknowledge it as soon as it arrives
            if pipe is not None and pipe.poll(_PAUSE_POLL):
                self.check_messages()
            else:
                self._pause_signal.wait(_PAUSE_POLL)
        if self._stop:
            raise _StopRequested(self._stop_reason)

    def _iteration_end(self, *args: Any, **kwargs: Any) -> None:
        """scipy's callback (an iteration boundary): report the batch, serve the manager."""
        self.check_messages()
        self._serve_manager()

    def _record(self, x: Any, fx: float) -> None:
        self.n_evals += 1
        self._update_incumbent(x, fx)

    # -- the contract ---------------------------------------------------------------------
    @abstractmethod
    def _run(self, objective: _Objective, x0: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> Mapping[str, Any]:
        """Run the scipy routine on ``objective``; return scipy's ``OptimizeResult``."""

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Run the scipy routine from ``x0`` within ``bounds`` until it ends or is stopped.

        Parameters
        ----------
        function
            The task, ``fx = function(x)``; inside a run, also ``evaluate_population``.
        x0
            Starting point (clipped into the bounds).
        bounds
            ``(min, max)`` of each parameter; finite.

        Returns
        -------
        MinimizeResult
            The best point evaluated (or injected) and its value; ``success`` is scipy's
            verdict, False if the optimizer was stopped. ``stats`` holds ``evaluations``,
            scipy's ``message`` and, where scipy gives them, ``iterations`` and ``status``.
        """
        b = np.array(bounds, dtype=float)
        if b.ndim != 2 or b.shape[1] != 2 or not np.all(np.isfinite(b)) \
                or np.any(b[:, 0] > b[:, 1]):
            raise ValueError(f"bounds must be finite (min, max) pairs with min <= max, got "
                             f"{np.asarray(bounds).tolist()}")
        lower, upper = b[:, 0].copy(), b[:, 1].copy()
        start = np.clip(np.array(x0, dtype=float).ravel(), lower, upper)
        if start.shape != lower.shape:
            raise ValueError(f"x0 has {start.size} values for {len(lower)} bounds")
        self._stop = False
        self._stop_reason = ""
        self.n_evals = 0
        self.incumbent = {"x": None, "fx": float("inf")}
        objective = _Objective(self, function, lower, upper)
        stats: dict[str, Any]
        try:
            res = self._run(objective, start, lower, upper)
        except _StopRequested:
            success = False
            stats = {"evaluations": self.n_evals,
                     "message": f"stopped by the manager: {self._stop_reason}".rstrip(": ")}
        else:
            success = bool(res.get("success", False))
            message = res.get("message", "")
            if isinstance(message, (list, tuple)):  # dual_annealing gives a list
                message = "; ".join(str(m) for m in message)
            message = str(message).strip()
            stats = {"evaluations": self.n_evals, "message": message}
            for key, name in (("nit", "iterations"), ("status", "status")):
                if res.get(key) is not None:
                    stats[name] = res[key]
            if not self._stop:
                self.message_manager(0, f"{self.label}: {message}")
        return MinimizeResult(success=success, x=self.incumbent["x"], fx=self.incumbent["fx"],
                              stats=stats,
                              origin={"opt_id": self.opt_id, "type": type(self).__name__})

    def callstop(self, reason: str = "") -> None:
        """End scipy's loop at the next evaluation (or callback); minimize returns the best."""
        self._stop = True
        self._stop_reason = str(reason)
