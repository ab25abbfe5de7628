"""CMAOptimizer: CMA-ES (pycma's ask-and-tell interface) as a GloMPO child optimizer.

:mod:`cma` is imported when an optimizer is built, not when this module is imported, so
registering the class (which imports this module) keeps the plugin registry light.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from glompo_core.optimizers import BaseOptimizer, evaluate_population
from glompo_core.result import MinimizeResult

if TYPE_CHECKING:
    import cma

__all__ = ["SAMPLERS", "CMAOptimizer", "load_covariances", "relative_step"]

#: Allowed values of ``sampler``: pycma's full covariance matrix, or a restricted
#: covariance model of :mod:`cma.restricted_gaussian_sampler`.
SAMPLERS = ("full", "GaussVDSampler", "GaussVkDSampler")

#: Options handled by :class:`CMAOptimizer` itself (not passed to pycma).
_OWN_OPTIONS = ("minsigma", "maxsigma", "storeC")

#: Name of the covariance file written with ``storeC=True``.
COVARIANCE_FILE = "cma_C.npy"

_NPY_HEADER_BYTES = 256  # fixed size of the .npy header of the covariance file

_DEFAULT_SIGMA0 = 0.05  # the spec's default of sigma0


def relative_step(sigma_rel: float, bounds: Sequence[tuple[float, float]] | np.ndarray,
                  ) -> tuple[float, np.ndarray | None]:
    """pycma's ``sigma0`` and ``CMA_stds`` for a step size relative to the box.

    Every parameter's initial standard deviation is ``sigma_rel`` times the width of its
    bounds: ``sigma0 = sigma_rel * max(width)`` and, when the widths differ,
    ``CMA_stds = width / max(width)`` (pycma multiplies ``sigma0`` by them per
    coordinate).

    Parameters
    ----------
    sigma_rel
        The step size as a fraction of the box width (> 0).
    bounds
        ``(min, max)`` of each parameter, in the units the optimizer searches in.

    Returns
    -------
    tuple
        ``(sigma0, CMA_stds)``; ``CMA_stds`` is None when all widths are equal.

    Examples
    --------
    >>> relative_step(0.2, [(-5.0, 5.0), (-5.0, 5.0)])
    (2.0, None)
    >>> sigma0, stds = relative_step(0.25, [(0.0, 4.0), (10.0, 12.0)])
    >>> sigma0, stds.tolist()
    (1.0, [1.0, 0.5])
    """
    b = np.asarray(bounds, dtype=float)
    width = b[:, 1] - b[:, 0]
    widest = float(np.max(width))
    stds = None if np.all(width == widest) else width / widest
    return float(sigma_rel) * widest, stds


def _is_real(value: Any) -> bool:
    """True for a real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    """True for an integer that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_cmasettings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate pycma options with pycma's own checker; return them under their full names."""
    import cma

    checker = cma.CMAOptions()
    try:
        checker.check_values(dict(settings))
    except ValueError as exc:
        first = str(exc).splitlines()
        raise ValueError(
            f"unknown CMA-ES setting in **cmasettings: {first[0] if first else exc}. "
            f"{first[1] if len(first) > 1 else ''} Accepted are pycma's options "
            "(cma.CMAOptions()) and minsigma, maxsigma, storeC."
        ) from None
    return {checker.corrected_key(key): value for key, value in settings.items()}


def _write_npy_header(file: Any, n_rows: int, dims: int) -> None:
    """Write a fixed-size version 1.0 ``.npy`` header for an array of shape (n_rows, d, d)."""
    header = ("{'descr': '<f8', 'fortran_order': False, "
              f"'shape': ({n_rows}, {dims}, {dims}), }}")
    pad = _NPY_HEADER_BYTES - 10 - len(header) - 1
    file.seek(0)
    file.write(b"\x93NUMPY\x01\x00")
    file.write((_NPY_HEADER_BYTES - 10).to_bytes(2, "little"))
    file.write(header.encode("latin1") + b" " * pad + b"\n")


def load_covariances(path: str | os.PathLike[str]) -> np.ndarray:
    """Load the covariance matrices written by ``storeC=True``.

    The file is a standard ``.npy`` file, so ``numpy.load`` reads it too; this helper
    only exists for discoverability.

    Parameters
    ----------
    path
        ``cma_C.npy`` in the optimizer's ``keep_files`` directory (or that directory).

    Returns
    -------
    numpy.ndarray
        Shape (iterations, d, d): pycma's matrix ``C`` after each iteration (the
        covariance of the sampling distribution is ``sigma**2 * C``).
    """
    file = Path(path)
    if file.is_dir():
        file = file / COVARIANCE_FILE
    return np.load(file)


class CMAOptimizer(BaseOptimizer):
    """CMA-ES through pycma's ask-and-tell interface.

    The optimizer is also usable stand-alone (without a manager), and
    :meth:`minimize` may be called several times, on different functions: each call
    starts a fresh CMA-ES.

    It leaves :attr:`scaling` unset (None: any scaling will do, and the manager uses
    none): it searches in the task's own units and ``sigma0`` is in those units. To
    search in the manager's scaled space, subclass it with ``scaling = "std"``
    (parameters in [-1, 1]) or ``"linear"`` ([0, 1]); ``sigma0`` is then in scaled
    units.

    Parameters
    ----------
    _opt_id, _signal_pipe, _results_queue, _pause_flag, _is_log_detailed, _workers, _backend
        See :class:`~glompo_core.optimizers.BaseOptimizer`.
    sigma0
        Initial standard deviation of the multivariate normal distribution from which
        trials are drawn, in the units of the parameters (> 0). One value for all
        parameters, so all parameters should be scaled alike. Ignored when
        ``sigma_rel`` is given.
    sampler
        ``'full'`` (pycma's full covariance matrix), ``'GaussVDSampler'`` (VD-CMA) or
        ``'GaussVkDSampler'`` (VkD-CMA): restricted covariance models, linear in the
        dimension, for large problems.
    verbose
        If True, pycma prints its status line (every ``verb_disp`` iterations, 100 by
        default); if False nothing is printed.
    keep_files
        Directory (created if needed) for pycma's data files (``cma_*.dat``) and the
        ``cma_C.npy`` covariance file. None: no file is written at all.
    force_injects
        If True, injected vectors are placed exactly in the next population; if
        False or None, an injection nudges the distribution towards the vector (see
        ``cma.CMAEvolutionStrategy.inject``).
    injection_interval
        None: injections from the manager only update the incumbent. An integer:
        an injection is also passed to CMA-ES if at least that many iterations
        passed since the last one passed to it.
    sigma_rel
        The initial step size as a fraction of the box (> 0), so that no number of the
        run depends on the task's units: each parameter's initial standard deviation
        is ``sigma_rel`` times the width of its bounds (pycma's ``sigma0`` is
        ``sigma_rel * max(width)`` and ``CMA_stds`` is ``width / max(width)`` when the
        widths differ; see :func:`relative_step`). The box is the one the optimizer
        searches in: the task's bounds (``scaling = None``), or the unit box of a
        scaled subclass, which maps back to the same fraction of the task's box. 0.2 to
        0.3 suits a global search from a random ``x0``. Give ``sigma0`` or
        ``sigma_rel``, not both.
    workers, seed
        See :class:`~glompo_core.optimizers.BaseOptimizer`. ``seed`` (or
        ``set_seed(seed)`` before :meth:`minimize`) seeds the optimizer's own random
        generator: a seeded optimizer repeats exactly, independently of other
        optimizers running in other threads.
    **cmasettings
        Any pycma option (``cma.CMAOptions()`` lists them), e.g. ``popsize``,
        ``maxfevals``, ``tolfun``, ``tolstagnation``, ``timeout``, ``CMA_elitist``,
        plus:

        * ``minsigma``: terminate when the step size sigma falls below it;
        * ``maxsigma``: keep sigma at most this value;
        * ``storeC``: if True, write pycma's matrix ``C`` after every iteration to
          ``cma_C.npy`` in ``keep_files`` (shape (iterations, d, d), see
          :func:`load_covariances`). Needs ``keep_files`` and ``sampler='full'``.

    Raises
    ------
    ValueError
        An unknown sampler, ``sigma0 <= 0``, ``sigma_rel <= 0``, both ``sigma0`` and
        ``sigma_rel`` (or ``sigma_rel`` and ``CMA_stds``), ``popsize < 2`` (``< 4`` with
        ``'GaussVkDSampler'``), ``storeC`` without
        ``keep_files`` or with a restricted sampler, an unknown pycma option, bad
        ``minsigma``/``maxsigma``/``injection_interval``, or ``bounds`` in
        ``cmasettings`` (bounds are given to :meth:`minimize`).

    Notes
    -----
    1. ``x0`` is force-injected, so it is evaluated in the first population.
    2. Each iteration asks pycma for a population, evaluates it at once with
       :func:`~glompo_core.optimizers.evaluate_population` (through the run's
       backend inside GloMPO, by ``workers`` threads stand-alone), tells pycma the
       values (NaN counts as +inf), then processes the manager's messages.
    3. If ``popsize`` is not given, it is ``workers`` when ``workers > 1``, else
       pycma's default ``4 + int(3 * log(d))``.
    4. The bounds are given to pycma (option ``bounds``, boundary handler
       ``BoundTransform`` by default): no point outside them is evaluated.
    5. When pycma terminates by its own criteria (or ``minsigma``), the optimizer
       sends message key 0 to the manager with pycma's termination reasons.
    6. pycma draws from a ``numpy.random.RandomState`` owned by the optimizer (not
       numpy's global state), created from ``seed`` (any non-negative integer,
       0 included; None draws fresh entropy). The state travels with the pickled
       ``CMAEvolutionStrategy``, so a run resumed from a checkpoint continues the same
       sequence of populations.

    References
    ----------
    Hansen, N. (2021). CMA-ES, Covariance Matrix Adaptation Evolution Strategy for
    non-linear numerical optimization in Python. https://pypi.org/project/cma/

    Examples
    --------
    >>> opt = CMAOptimizer(sigma0=0.5, verbose=False, seed=1)
    >>> res = opt.minimize(lambda x: sum(v * v for v in x), [0.8, -0.6, 0.3],
    ...                    [(-1.0, 1.0)] * 3)
    >>> bool(res.fx < 1e-8)
    True
    """

    scaling: ClassVar[str | None] = None

    @classmethod
    def known_init_options(cls, init_kwargs: Mapping[str, Any]) -> Collection[str]:
        """The names ``**cmasettings`` accepts, for the run-file and ``setup()`` checks.

        pycma's options, plus ``minsigma``, ``maxsigma`` and ``storeC``; a key of
        ``init_kwargs`` pycma reads as one of its options (pycma also takes other cases
        and unique prefixes, e.g. ``PopSize``) is accepted as written.
        """
        import cma

        options = cma.CMAOptions()
        names = {str(name) for name in options} | set(_OWN_OPTIONS)
        names.update(key for key in init_kwargs
                     if isinstance(key, str) and options.corrected_key(key) is not None)
        return names

    def __init__(
        self,
        _opt_id: int | None = None,
        _signal_pipe: Any = None,
        _results_queue: Any = None,
        _pause_flag: Any = None,
        _is_log_detailed: bool = False,
        _workers: int = 1,
        _backend: str = "threads",
        sigma0: float = _DEFAULT_SIGMA0,
        sampler: str = "full",
        verbose: bool = True,
        keep_files: str | os.PathLike[str] | None = None,
        force_injects: bool | None = None,
        injection_interval: int | None = None,
        *,
        workers: int | None = None,
        seed: int | None = None,
        sigma_rel: float | None = None,
        **cmasettings: Any,
    ) -> None:
        super().__init__(_opt_id, _signal_pipe, _results_queue, _pause_flag, _is_log_detailed,
                         _workers, _backend, workers=workers, seed=seed)
        if not _is_real(sigma0) or not math.isfinite(sigma0) or sigma0 <= 0:
            raise ValueError(f"sigma0 must be a finite number > 0, got sigma0={sigma0!r}")
        if sigma_rel is not None:
            if not _is_real(sigma_rel) or not math.isfinite(sigma_rel) or sigma_rel <= 0:
                raise ValueError("sigma_rel must be a finite number > 0 (a fraction of the box "
                                 f"width, e.g. 0.2), got sigma_rel={sigma_rel!r}")
            if sigma0 != _DEFAULT_SIGMA0:
                raise ValueError(f"give sigma0 (task units) or sigma_rel (a fraction of the box "
                                 f"width), not both; got sigma0={sigma0!r} and "
                                 f"sigma_rel={sigma_rel!r}")
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(map(repr, SAMPLERS))}; "
                             f"got sampler={sampler!r}")
        if injection_interval is not None and (not _is_int(injection_interval)
                                               or injection_interval < 0):
            raise ValueError("injection_interval must be None or an integer >= 0, got "
                             f"injection_interval={injection_interval!r}")
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise ValueError(f"seed must be None or an integer >= 0, got seed={seed!r}")

        own = {key: cmasettings.pop(key) for key in _OWN_OPTIONS if key in cmasettings}
        settings = _check_cmasettings(cmasettings)
        if "bounds" in settings:
            raise ValueError("bounds cannot be given in **cmasettings: the bounds passed to "
                             "minimize() are given to pycma")
        if sigma_rel is not None and "CMA_stds" in settings:
            raise ValueError("sigma_rel sets pycma's CMA_stds from the box widths; give "
                             "sigma_rel or CMA_stds, not both")
        popsize = settings.get("popsize")
        if popsize is not None and (not _is_int(popsize) or popsize < 2):
            raise ValueError(f"popsize must be an integer >= 2, got popsize={popsize!r}")
        self.minsigma = self._positive_or_none(own.get("minsigma"), "minsigma")
        self.maxsigma = self._positive_or_none(own.get("maxsigma"), "maxsigma")
        self.store_C = bool(own.get("storeC", False))
        if self.store_C and keep_files is None:
            raise ValueError("storeC=True needs keep_files: the directory where cma_C.npy is "
                             "written")
        if self.store_C and sampler != "full":
            raise ValueError("storeC=True needs sampler='full' (restricted samplers have no "
                             f"full covariance matrix); got sampler={sampler!r}")
        effective = popsize if popsize is not None else (self.workers if self.workers > 1
                                                         else None)
        if sampler == "GaussVkDSampler" and effective is not None and effective < 4:
            raise ValueError("sampler='GaussVkDSampler' needs popsize >= 4 (pycma's VkD update "
                             f"fails with fewer); got popsize={effective}"
                             + ("" if popsize is not None else
                                f" from workers={self.workers}: give popsize"))

        self.sigma0 = float(sigma0)
        self.sigma_rel = None if sigma_rel is None else float(sigma_rel)
        self.sampler = sampler
        self.verbose = bool(verbose)
        self.keep_files = None if keep_files is None else Path(keep_files)
        self.force_injects = force_injects
        self.injection_interval = None if injection_interval is None else int(injection_interval)
        self.cmasettings = settings
        self.popsize: int | None = None if popsize is None else int(popsize)

        self._es: cma.CMAEvolutionStrategy | None = None
        self._rs: np.random.RandomState | None = None
        self._bounds: np.ndarray | None = None
        self._in_progress = False
        self._stop = False
        self._last_injection = 0
        self._pending_injection: float | None = None
        self._n_C = 0
        self.n_iter = 0
        self.stop_reasons: dict[str, Any] = {}

    @staticmethod
    def _positive_or_none(value: Any, name: str) -> float | None:
        if value is None:
            return None
        if not _is_real(value) or value <= 0:
            raise ValueError(f"{name} must be a number > 0, got {name}={value!r}")
        return float(value)

    # -- pycma set-up ---------------------------------------------------------------------
    @property
    def es(self) -> cma.CMAEvolutionStrategy | None:
        """pycma's ``CMAEvolutionStrategy`` of the current (or last) :meth:`minimize`."""
        return self._es

    def _pycma_options(self, n_parms: int, bounds: np.ndarray) -> dict[str, Any]:
        popsize = self.popsize
        if popsize is None:
            popsize = self.workers if self.workers > 1 else 4 + int(3 * math.log(n_parms))
        opts: dict[str, Any] = {
            "popsize": popsize,
            "bounds": [bounds[:, 0].tolist(), bounds[:, 1].tolist()],
            "signals_filename": "",  # never read cma_signals.in from the current directory
        }
        if not self.verbose:
            opts.update(verbose=-8, verb_disp=0)  # -9 would also turn the data files off
        if self.keep_files is None:
            opts["verb_log"] = 0
        else:
            opts["verb_filenameprefix"] = str(self.keep_files / "cma_")
        user = dict(self.cmasettings)
        if "randn" not in user:
            # pycma samples with opts['randn']: give it a generator of our own, so that
            # optimizers in other threads do not share numpy's global state.
            if self.seed is None:
                self._rs = np.random.RandomState()
            else:
                self._rs = np.random.RandomState(
                    np.random.MT19937(np.random.SeedSequence(int(self.seed))))
            opts["randn"] = self._rs.randn
            opts["seed"] = np.nan  # pycma: do not touch numpy's global random state
        elif self.seed is not None:
            opts["seed"] = self.seed
        if self.sampler != "full":
            from cma import restricted_gaussian_sampler as rgs

            sampler_cls = getattr(rgs, self.sampler)
            opts = sampler_cls.extend_cma_options(opts)
            sampler_opts = dict(user.pop("CMA_sampler_options", None) or {})
            if self._rs is not None:
                sampler_opts.setdefault("randn", self._rs.randn)
            opts["CMA_sampler_options"] = sampler_opts
        opts.update(user)
        return opts

    def _start(self, x0: Sequence[float], bounds: Sequence[tuple[float, float]]) -> None:
        import cma

        b = np.array(bounds, dtype=float)
        x = np.array(x0, dtype=float).ravel()
        if b.ndim != 2 or b.shape[1] != 2 or len(b) != len(x):
            raise ValueError(f"bounds must be one (min, max) pair per parameter of x0 "
                             f"({len(x)}), got {bounds!r}")
        if np.any(b[:, 0] >= b[:, 1]):
            raise ValueError(f"every bound must have min < max, got {bounds!r}")
        if self.keep_files is not None:
            self.keep_files.mkdir(parents=True, exist_ok=True)
        self._bounds = b
        opts = self._pycma_options(len(x), b)
        sigma = self.sigma0
        if self.sigma_rel is not None:
            sigma, stds = relative_step(self.sigma_rel, b)
            if stds is not None:
                opts["CMA_stds"] = stds.tolist()
        self._es = cma.CMAEvolutionStrategy(x.tolist(), sigma, opts)
        self._es.inject([self._genotype(x)], force=True)  # x0 is in the first population
        self.incumbent = {"x": None, "fx": float("inf")}
        self.n_iter = 0
        self._last_injection = 0
        self._pending_injection = None
        self._n_C = 0
        self.stop_reasons = {}
        if self.store_C:
            assert self.keep_files is not None
            with open(self.keep_files / COVARIANCE_FILE, "wb") as file:
                _write_npy_header(file, 0, len(x))

    def _genotype(self, x: np.ndarray) -> np.ndarray:
        """The pycma genotype whose phenotype is ``x`` (undoes the boundary transformation)."""
        assert self._es is not None
        es = self._es
        geno = es.gp.geno(np.array(x, dtype=float), from_bounds=es.boundary_handler.inverse,
                          copy=True)
        return np.asarray(geno, dtype=float)

    def _store_C(self) -> None:
        assert self._es is not None and self.keep_files is not None
        C = np.ascontiguousarray(self._es.C, dtype="<f8")
        self._n_C += 1
        with open(self.keep_files / COVARIANCE_FILE, "r+b") as file:
            file.seek(0, os.SEEK_END)
            file.write(C.tobytes())
            _write_npy_header(file, self._n_C, len(C))

    # -- the algorithm --------------------------------------------------------------------
    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Run CMA-ES until it converges or is stopped.

        Parameters
        ----------
        function
            Function to minimize (see :meth:`BaseOptimizer.minimize`).
        x0
            Starting point: the initial mean, force-injected so that it is evaluated in
            the first population.
        bounds
            ``(min, max)`` of each parameter, given to pycma.

        Returns
        -------
        MinimizeResult
            The best point seen (or injected), its value, and statistics: iterations,
            evaluations, final sigma and pycma's termination reasons.
        """
        if self.is_restart and self._in_progress and self._es is not None:
            self._apply_injection()  # one received just before the checkpoint was taken
        else:
            self._start(x0, bounds)
        es = self._es
        assert es is not None and self._bounds is not None
        lo, hi = self._bounds[:, 0], self._bounds[:, 1]
        self._in_progress = True
        self._stop = False
        converged = False
        while not self._stop:
            X = np.array(es.ask(), dtype=float)
            if np.any(lo > X) or np.any(hi < X):  # only a user-chosen boundary handler
                X = np.clip(X, lo, hi)
            fx = np.array(evaluate_population(function, X, self.workers), dtype=float)
            fx[np.isnan(fx)] = np.inf
            es.tell(list(X), fx.tolist())
            self.n_iter += 1
            best = int(np.argmin(fx))
            self._update_incumbent(X[best], float(fx[best]))
            if self.maxsigma is not None and es.sigma > self.maxsigma:
                es.sigma = self.maxsigma
            if self.store_C:
                self._store_C()
            if self.keep_files is not None:
                es.logger.add()
            if self.verbose:
                es.disp()
            self.check_messages()
            self._pause_signal.wait()
            if self._stop:  # set by check_messages(), which mypy's narrowing cannot see
                break  # type: ignore[unreachable]
            self._apply_injection()
            reasons = dict(es.stop())
            if self.minsigma is not None and es.sigma < self.minsigma:
                reasons["minsigma"] = self.minsigma
            if reasons:
                self.stop_reasons = reasons
                converged = True
                break
        self._in_progress = False
        if converged:
            text = ", ".join(f"{key}={value}" for key, value in self.stop_reasons.items())
            self.logger.debug("CMA-ES converged: %s", text)
            self.message_manager(0, f"CMA-ES terminated: {text}")
        return MinimizeResult(
            success=converged, x=self.incumbent["x"], fx=self.incumbent["fx"],
            stats={"iterations": self.n_iter, "evaluations": int(es.countevals),
                   "sigma": float(es.sigma), "stop": dict(self.stop_reasons)},
            origin={"opt_id": self.opt_id, "type": type(self).__name__})

    def callstop(self, reason: str = "") -> None:
        """Stop at the end of the current iteration."""
        self._stop = True

    def inject(self, x: Sequence[float], fx: float) -> None:
        """Update the incumbent with a better point from the manager; maybe pass it to CMA-ES.

        With ``injection_interval`` an integer, the point is also injected into pycma
        (forced per ``force_injects``) before the next population is drawn, once at least
        ``injection_interval`` iterations passed since the last injection, if it is still
        the incumbent then.
        """
        if fx < self.incumbent["fx"]:
            super().inject(x, fx)
            if self.injection_interval is not None:
                self._pending_injection = float(fx)

    def _apply_injection(self) -> None:
        """Inject the pending point into pycma if due (between ``tell`` and ``ask``)."""
        pending = self._pending_injection
        if pending is None or self._es is None or self.injection_interval is None:
            return
        if self.incumbent["fx"] != pending:  # the optimizer found better meanwhile
            self._pending_injection = None
            return
        if self.n_iter - self._last_injection >= self.injection_interval:
            self._es.inject([self._genotype(self.incumbent["x"])],
                            force=bool(self.force_injects))
            self._last_injection = self.n_iter
            self._pending_injection = None
            self.logger.debug("injected the incumbent fx=%s after iteration %d", pending,
                              self.n_iter)

    # -- checkpointing --------------------------------------------------------------------
    def checkpoint_save(self, path: str | Path, force: set[str] | None = None,
                        block: set[str] | None = None) -> None:
        """Save the state, pycma's strategy and its random generator included.

        See :meth:`BaseOptimizer.checkpoint_save`. The ``CMAEvolutionStrategy`` is
        always written (an error is raised if it cannot be), so a loaded optimizer
        continues the same search: its next population is the one the saved optimizer
        would have drawn.
        """
        super().checkpoint_save(path, force={"_es", "_rs"} | set(force or ()), block=block)
