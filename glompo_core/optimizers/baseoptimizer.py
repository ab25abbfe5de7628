"""The optimizer contract: :class:`BaseOptimizer` and the messages it exchanges with the manager."""

from __future__ import annotations

import collections
import difflib
import enum
import inspect
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import dill
import numpy as np

from glompo_core.result import MinimizeResult

__all__ = [
    "RUNTIME_ARGUMENTS",
    "BaseOptimizer",
    "IterationBatch",
    "ManagerMessage",
    "Signal",
    "ThreadPipe",
    "evaluate_population",
]


#: The values of :attr:`BaseOptimizer.scaling` besides None (any scaling).
_SCALINGS = ("linear", "std", "none")

#: The runtime arguments of :class:`BaseOptimizer`, in the spec's positional order. The
#: manager (and :mod:`glompo_core.testing`) gives them to every optimizer it builds, by
#: keyword, so a subclass takes them in its ``**kwargs`` and hands them on with
#: ``super().__init__(**kwargs)`` (see *Writing a subclass* in :class:`BaseOptimizer`).
RUNTIME_ARGUMENTS: tuple[str, ...] = ("_opt_id", "_signal_pipe", "_results_queue",
                                      "_pause_flag", "_is_log_detailed", "_workers",
                                      "_backend")


class Signal(enum.IntEnum):
    """Codes of the messages the manager sends an optimizer through its signal pipe."""

    CHECKPOINT = 0  #: ``(CHECKPOINT, path)``: save a restart file at path, then reply key 2.
    STOP = 1  #: ``(STOP, reason)``: call :meth:`BaseOptimizer.callstop`.
    PAUSE = 2  #: ``(PAUSE,)``: reply key 1, then wait on the pause event.
    INJECT = 3  #: ``(INJECT, x, fx)``: call :meth:`BaseOptimizer.inject`.


@dataclass
class ManagerMessage:
    """A message from an optimizer to the manager (see :meth:`BaseOptimizer.message_manager`)."""

    opt_id: int
    key: int
    message: Any = None


@dataclass
class IterationBatch:
    """Evaluations of one optimizer, sent to the manager at once (an iteration at a time)."""

    opt_id: int
    call_ids: np.ndarray
    x: np.ndarray
    fx: np.ndarray
    extras: list[np.ndarray] | None = None


class ThreadPipe:
    """One end of an in-process, thread-safe, bidirectional pipe.

    It offers the ``send``/``recv``/``poll`` of :func:`multiprocessing.Pipe` connections
    so an optimizer works the same with either. Make a connected pair with
    :meth:`pair`.
    """

    def __init__(self, inbox: collections.deque[Any], outbox: collections.deque[Any],
                 in_event: threading.Event, out_event: threading.Event) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._in_event = in_event
        self._out_event = out_event

    @classmethod
    def pair(cls) -> tuple[ThreadPipe, ThreadPipe]:
        """Return two connected ends ``(manager_end, optimizer_end)``."""
        a: collections.deque[Any] = collections.deque()
        b: collections.deque[Any] = collections.deque()
        ea, eb = threading.Event(), threading.Event()
        return cls(a, b, ea, eb), cls(b, a, eb, ea)

    def send(self, obj: Any) -> None:
        """Send ``obj`` to the other end."""
        self._outbox.append(obj)
        self._out_event.set()

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Return whether a message is waiting, waiting up to ``timeout`` seconds for one.

        ``timeout=None`` waits until a message arrives.
        """
        if self._inbox:
            return True
        if timeout is not None and timeout <= 0:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._inbox:
            self._in_event.clear()
            if self._inbox:
                break
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._in_event.wait(remaining)
        return True

    def recv(self) -> Any:
        """Return the next message (blocks until there is one)."""
        self.poll(None)
        return self._inbox.popleft()


def evaluate_population(function: Callable[[Sequence[float]], float], xs: np.ndarray,
                        workers: int = 1) -> list[float]:
    """Evaluate the rows of ``xs`` with ``function``, concurrently when possible.

    Inside a GloMPO run ``function`` evaluates a population at once through the run's
    backend. Used stand-alone, up to ``workers`` threads evaluate the rows.

    Parameters
    ----------
    function
        The function given to :meth:`BaseOptimizer.minimize`.
    xs
        Array of shape (n_points, n_parms).
    workers
        Concurrency used when ``function`` has no batch evaluation of its own.

    Returns
    -------
    list of float
        The function values, in the order of the rows.
    """
    batch = getattr(function, "evaluate_population", None)
    if batch is not None:
        return list(batch(xs))
    if workers > 1 and len(xs) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(function, list(xs)))
    return [function(x) for x in xs]


def _init_names(cls: type) -> list[str]:
    """The public names the ``__init__`` methods along ``cls``'s MRO take by keyword."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # pragma: no cover - a C-level __init__
            continue
        names.extend(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                          p.KEYWORD_ONLY)
                     and p.name != "self" and not p.name.startswith("_")
                     and p.name not in names)
    return names


def _unexpected_arguments(cls: type, kwargs: dict[str, Any]) -> str:
    """One line: the arguments no ``__init__`` of ``cls`` takes, with the closest names."""
    known = _init_names(cls)
    parts = []
    for key in sorted(kwargs):
        close = difflib.get_close_matches(key, known, n=1)
        parts.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    listed = ", ".join(known) if known else "none"
    return (f"{cls.__name__} got unexpected argument(s) {', '.join(parts)}; its arguments "
            f"are: {listed}")


class BaseOptimizer(ABC):
    """Abstract base class of GloMPO's child optimizers.

    Subclasses implement :meth:`minimize` (the algorithm's loop) and :meth:`callstop`
    (which breaks that loop). Inside the loop, once per iteration, they call
    :meth:`check_messages` (which executes the manager's requests: stop, pause,
    inject, checkpoint) and ``self._pause_signal.wait()``.

    Parameters
    ----------
    _opt_id
        Unique optimizer identifier, given by the manager.
    _signal_pipe
        Bidirectional pipe used to message management behaviour between the manager and
        optimizer (a :class:`ThreadPipe` end or a :func:`multiprocessing.Pipe` connection).
    _results_queue
        Where messages for the manager go (anything with ``put``).
    _pause_flag
        Event which is set while the optimizer may run and cleared to pause it.
    _is_log_detailed
        See :attr:`GloMPOManager.is_log_detailed`.
    _workers
        The number of concurrent evaluations the optimizer uses (its slots). ``workers``
        is accepted as a synonym; it takes precedence.
    _backend
        Kept for compatibility with the reference; evaluations go through the run's
        backend whatever its value.
    seed
        Seed of the optimizer's random choices: an int >= 0, or None for fresh entropy.
        Unless the selector's ``init`` gives one, the manager passes each optimizer it
        starts a child seed of the run's ``seed`` here, so a seeded run is reproducible.
        Read it as ``self.seed``; draw numbers from :attr:`rng`. See *Seeding* below.
    **kwargs
        Optimizer specific initialisation arguments.

    Attributes
    ----------
    incumbent : dict
        Keys ``'x'`` and ``'fx'``: the best point seen by the optimizer, or injected by
        the manager.
    logger : logging.Logger
        ``glompo.optimizers.opt<id>``.
    workers : int
        Maximum number of concurrent evaluations of the optimizer.
    rng : numpy.random.Generator
        The optimizer's random generator, made from :attr:`seed` on first use.
    scaling : ClassVar[str | None]
        The scaling the optimizer requires, if any. ``'linear'``: every parameter
        scaled to [0, 1]; ``'std'``: to [-1, 1]; ``'none'``: no scaling may be used (the
        optimizer works in the task's units); None, the default (not set): any scaling
        may be used, and the manager uses none, so the optimizer works in the task's
        units. For ``'linear'`` and ``'std'`` the manager maps the bounds, ``x0``, every
        evaluated point and every injected point between the task's units and the
        optimizer's. Another value is refused when the class is defined.
    budget_argument : ClassVar[str | None]
        The ``__init__`` argument that takes a budget of evaluations, filled by the
        manager from the run's ``MaxFuncCalls`` when not given (see
        :mod:`glompo_core.budget`); None (the default) if the optimizer takes none.

    Notes
    -----
    **Writing a subclass.** Take your own options and hand everything else on::

        class HillClimber(BaseOptimizer):
            def __init__(self, step: float = 0.1, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.step = step

    The manager gives every optimizer the runtime arguments above (:data:`RUNTIME_ARGUMENTS`,
    ``_opt_id`` to ``_backend``) by keyword, together with ``workers`` and ``seed``;
    ``**kwargs`` carries them to this ``__init__``, which accepts them by keyword or in
    the positional order above. Nothing else reaches it: a name no ``__init__`` of the
    class takes (a misspelt option) is refused here with the closest valid name, and a
    run (or a run file) checks the names before it starts, reading the signatures along
    the class's bases (:func:`glompo_core._setup_checks.init_argument_names`).

    **Seeding.** There is one seed per optimizer, :attr:`seed`, given as ``seed=`` when
    it is built (the manager does so) or reset later with :meth:`set_seed`, which also
    restarts :attr:`rng`. Draw random numbers from :attr:`rng`, or hand ``self.seed``
    to the library the optimizer wraps when :meth:`minimize` starts (glompo-cma,
    glompo-scipy and glompo-nevergrad do): either way a seeded run repeats exactly.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> opt = RandomOptimizer(seed=5)
    >>> first = opt.rng.random()
    >>> opt.set_seed(5)  # the same seed again: the same numbers
    >>> opt.rng.random() == first and opt.seed == 5
    True
    """

    scaling: ClassVar[str | None] = None
    _rng: np.random.Generator | None = None
    #: Whether :meth:`checkpoint_save` captures a resumable state mid-run.
    can_checkpoint: ClassVar[bool] = True
    #: The ``__init__`` argument that takes the number of evaluations the optimizer may
    #: use (e.g. ``"budget"``), or None. When a run starts such an optimizer without that
    #: argument and the run has a budget, the manager gives it the optimizer's share of
    #: the run's budget, by the rule of :mod:`glompo_core.budget`.
    budget_argument: ClassVar[str | None] = None
    #: Attributes never written by the default :meth:`checkpoint_save`.
    _RUNTIME_ATTRS: ClassVar[frozenset[str]] = frozenset(
        {"_signal_pipe", "_results_queue", "_pause_signal", "logger", "_FROM_CHECKPOINT"}
    )

    def __init__(
        self,
        _opt_id: int | None = None,
        _signal_pipe: Any = None,
        _results_queue: Any = None,
        _pause_flag: threading.Event | None = None,
        _is_log_detailed: bool = False,
        _workers: int = 1,
        _backend: str = "threads",
        *,
        workers: int | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        n_workers = _workers if workers is None else workers
        if not isinstance(n_workers, (int, np.integer)) or isinstance(n_workers, bool) \
                or n_workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, got {n_workers!r}")
        self._opt_id = _opt_id
        self._signal_pipe = _signal_pipe
        self._results_queue = _results_queue
        self._pause_signal = _pause_flag if _pause_flag is not None else threading.Event()
        if _pause_flag is None:
            self._pause_signal.set()
        self._is_log_detailed = _is_log_detailed
        self.workers = int(n_workers)
        self._backend = _backend
        self.seed = seed
        self.incumbent: dict[str, Any] = {"x": None, "fx": float("inf")}
        self.logger = logging.getLogger(f"glompo.optimizers.opt{_opt_id}")
        self._FROM_CHECKPOINT = False
        self._stop_called = False
        if kwargs:
            raise TypeError(_unexpected_arguments(type(self), kwargs))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        scaling = cls.__dict__.get("scaling", None)
        if scaling is not None and scaling not in _SCALINGS:
            close = difflib.get_close_matches(str(scaling).lower(), _SCALINGS, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise TypeError(
                f"{cls.__qualname__}.scaling = {scaling!r} is not a scaling{hint} Use 'linear' "
                "(parameters in [0, 1]), 'std' ([-1, 1]), 'none' (never scaled) or leave it "
                "unset / None (any scaling)")

    # -- seeding --------------------------------------------------------------------------
    @property
    def rng(self) -> np.random.Generator:
        """The optimizer's random generator, made from :attr:`seed` on first use."""
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng

    @rng.setter
    def rng(self, generator: np.random.Generator) -> None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {generator!r}; to "
                            "seed the optimizer use set_seed(seed) or the seed= argument")
        self._rng = generator

    def set_seed(self, seed: int | None) -> None:
        """Reset the optimizer's seed: :attr:`seed` becomes ``seed`` and :attr:`rng` restarts.

        Call it before :meth:`minimize` (the seed of a running optimizer is not
        reread). It is the same as building the optimizer with ``seed=seed``.

        Parameters
        ----------
        seed
            An int >= 0, or None for fresh entropy.
        """
        if seed is not None and (not isinstance(seed, (int, np.integer))
                                 or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be None or an integer >= 0, got seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._rng = np.random.default_rng(self.seed)

    # -- identity -------------------------------------------------------------------------
    @property
    def opt_id(self) -> int | None:
        """The unique GloMPO generated identification number of the optimizer."""
        return self._opt_id

    @property
    def is_restart(self) -> bool:
        """True if the optimizer is loaded from a checkpoint."""
        return self._FROM_CHECKPOINT

    @property
    def is_log_detailed(self) -> bool:
        """See :attr:`GloMPOManager.is_log_detailed`."""
        return self._is_log_detailed

    # -- the algorithm --------------------------------------------------------------------
    @abstractmethod
    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Run the optimization algorithm to minimize a function.

        Parameters
        ----------
        function
            Function to be minimized, ``fx = function(x)``. Inside a GloMPO run it also
            has ``evaluate_population(xs)``; use :func:`evaluate_population` to evaluate
            a population at once.
        x0
            The starting point, from the run's generator.
        bounds
            ``(min, max)`` of each parameter.

        Returns
        -------
        MinimizeResult
        """

    @abstractmethod
    def callstop(self, reason: str = "") -> None:
        """Break out of the :meth:`minimize` loop (promptly, at the next iteration)."""

    # -- messaging ------------------------------------------------------------------------
    def message_manager(self, key: int, message: Any = None) -> None:
        """Send a message to the manager.

        Parameters
        ----------
        key
            0: the optimizer terminated by its own convergence criteria (``message``
            says why); 1: it complied with a pause request; 9: ``message`` is appended
            to the optimizer's log.
        message
            Text sent with the key.
        """
        if self._results_queue is not None:
            self._results_queue.put(ManagerMessage(self._opt_id or 0, key, message))

    def check_messages(self) -> list[int]:
        """Process and execute the manager's signals. Call once per iteration.

        Returns
        -------
        list of int
            The :class:`Signal` codes received during the call.
        """
        flush = getattr(self._results_queue, "flush_evaluations", None)
        if flush is not None and self._opt_id is not None:
            flush(self._opt_id)
        received: list[int] = []
        pipe = self._signal_pipe
        if pipe is None:
            return received
        pending: collections.deque[Any] = collections.deque()
        while pipe.poll():
            pending.append(pipe.recv())
        if any(msg[0] == Signal.STOP for msg in pending):  # a stop wins over queued pauses
            pending = collections.deque(m for m in pending if m[0] != Signal.PAUSE)
        while pending:
            code, *args = pending.popleft()
            received.append(int(code))
            if code == Signal.STOP:
                self._stop_called = True
                self.callstop(*args)
                self.logger.debug("stop signal received: %s", args[0] if args else "")
            elif code == Signal.PAUSE:
                # the optimizer clears its own flag, then acknowledges: the manager sets it
                # again to resume. Messages arriving meanwhile wait, except a stop.
                self._pause_signal.clear()
                self.message_manager(1)
                while not self._pause_signal.wait(0.05):
                    if pipe.poll():
                        msg = pipe.recv()
                        if msg[0] == Signal.STOP:
                            pending.appendleft(msg)
                            break
                        pending.append(msg)
            elif code == Signal.INJECT:
                self.inject(*args)
            elif code == Signal.CHECKPOINT:
                try:
                    self.checkpoint_save(*args)
                    self.message_manager(2, str(args[0]))
                except Exception as exc:  # report, never crash the optimizer for it
                    self.logger.warning("checkpoint_save failed: %r", exc)
                    self.message_manager(3, repr(exc))
            else:
                self.logger.warning("unknown manager signal %r ignored", code)
        return received

    def inject(self, x: Sequence[float], fx: float) -> None:
        """Update the incumbent with a better solution from the manager."""
        if fx < self.incumbent["fx"]:
            self.incumbent = {"x": np.array(x, dtype=float), "fx": float(fx)}

    def _update_incumbent(self, x: Sequence[float] | np.ndarray, fx: float) -> None:
        if np.isfinite(fx) and fx < self.incumbent["fx"]:
            self.incumbent = {"x": np.array(x, dtype=float), "fx": float(fx)}

    # -- checkpointing --------------------------------------------------------------------
    def checkpoint_save(self, path: str | Path, force: set[str] | None = None,
                        block: set[str] | None = None) -> None:
        """Save the current state, suitable for restarting.

        Parameters
        ----------
        path
            File into which the state is dumped (with dill).
        force
            Attribute names forced into the file even if the default filter drops them.
        block
            Attribute names excluded from the file.
        """
        force = set(force or ())
        block = set(block or ())
        state: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name in block or (name in self._RUNTIME_ATTRS and name not in force):
                continue
            if name not in force:
                try:
                    dill.dumps(value)
                except Exception:
                    self.logger.warning("attribute %s does not pickle; left out of the "
                                        "checkpoint", name)
                    continue
            state[name] = value
        with open(path, "wb") as file:
            dill.dump({"class": type(self), "state": state}, file)

    @classmethod
    def checkpoint_load(cls, path: str | Path, **kwargs: Any) -> BaseOptimizer:
        """Recreate an optimizer from a snapshot written by :meth:`checkpoint_save`.

        Parameters
        ----------
        path
            File produced by :meth:`checkpoint_save`.
        **kwargs
            The manager's runtime arguments (``_opt_id``, ``_signal_pipe``, ...).
        """
        with open(path, "rb") as file:
            data = dill.load(file)
        opt = cls.__new__(cls)
        BaseOptimizer.__init__(opt, **{k: v for k, v in kwargs.items() if k.startswith("_")})
        runtime = {k: opt.__dict__[k] for k in cls._RUNTIME_ATTRS if k in opt.__dict__}
        opt.__dict__.update(data["state"])
        opt.__dict__.update(runtime)
        opt._opt_id = kwargs.get("_opt_id", opt._opt_id)
        opt._FROM_CHECKPOINT = True
        return opt

    def __repr__(self) -> str:
        return f"{type(self).__name__}(opt_id={self._opt_id}, workers={self.workers})"
