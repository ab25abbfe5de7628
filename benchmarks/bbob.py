"""COCO's bbob suite: GloMPO configurations against pycma BIPOP/IPOP and scipy.

The 24 noiseless bbob functions of COCO (``cocoex``, ``pip install coco-experiment``),
in the dimensions, instances and seeds asked for, each solved by each method with a
budget of ``--budget-multiplier`` x D evaluations. Every evaluation goes through
COCO's own ``bbob`` observer, one results folder per method under ``--results-dir``
(default ``benchmarks/results/bbob/``), so COCO's post-processing draws the standard
figures (ECDFs of runtimes per function group)::

    cd benchmarks/results/bbob && python -m cocopp -o ppdata bipop glompo-recommended

Methods (``--methods``):

===================  ============================================================================
``bipop``            pycma ``cma.fmin2(f, x0, 2, {'bounds': [-5, 5], 'maxfevals': budget},
                     restarts=9, bipop=True)``, ``x0`` uniform in [-4, 4]^D.
``ipop``             the same with ``bipop=False``.
``de``               scipy ``differential_evolution``, defaults, ``maxiter`` fitted to the budget.
``da``               scipy ``dual_annealing``, defaults, ``maxfun`` = the budget.
``ngopt``            nevergrad ``NGOpt`` told the budget (slow: use it on a subset).
``default``          GloMPO's default portfolio as ``glompo run`` gives it (key
                     ``glompo-default``): a run file with no ``opt_selector``, of which the
                     task, bounds and budget are set as below.
``FILE.yml``         GloMPO with that run file (key ``glompo-<file stem>``), e.g.
                     ``examples/recommended.yml``: only its task (the bbob problem), bounds
                     ([-5, 5]^D) and budget (``MaxFuncCalls(fmax=budget)``) are replaced, with
                     the values its comments tie to them: every ``sigma0`` becomes
                     ``--sigma0-fraction`` x the box width (0.3 x 10 = 3.0), per-optimizer
                     budgets (``maxfun``, ``budget``, ``maxfev``, ``maxfevals``) scale with
                     budget / the file's ``fmax`` (5,000 of 20,000 stays a quarter); always the
                     ``threads`` backend with ``max_jobs`` 4.
===================  ============================================================================

A run evaluates at most its budget: a call past it is refused before it reaches the
problem (and COCO's record). The run's anytime record (best value after each number of
evaluations) gives every smaller budget from the same run, so one run at the largest
budget serves all of them. The table gives, per function group (separable f1-5,
moderate f6-9, ill-conditioned f10-14, multimodal f15-19, weakly structured f20-24) and
overall, per method, the mean over problems, instances and seeds of
``log10(f_best - f_opt + 1e-8)`` with a bootstrap 90 % interval (runs resampled within
each function), in two views:

- *equal evaluations*: every method after ``m x D`` evaluations;
- *equal rounds*: after ``m x D`` rounds of parallel evaluations, what a user with
  ``max_jobs`` workers waits for: GloMPO with 4 workers has spent ``4 m D`` evaluations,
  a sequential peer ``m D`` (a budget a run did not reach is left blank).

``f_opt`` is read from COCO's own data file (the ``Fopt`` in the header of each run).
Each (function, dimension, instance, method, seed) runs in its own subprocess; ``--jobs``
of them at once.

    python -m benchmarks.bbob --quick                   # f1 and f15, 2-D, instance 1, 200 x D
    python -m benchmarks.bbob --functions 15-24 --dimensions 10 --instances 1 2 \\
        --budget-multiplier 2000 --methods examples/recommended.yml bipop ipop --jobs 2 \\
        --json piece.json --markdown piece.md
    python -m benchmarks.bbob --merge piece1.json piece2.json --markdown table.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._rotated import BudgetExhausted
from benchmarks.quality import (
    _MARKER,
    _child_env,
    _emit,
    _find_fmax,
    _jsonable,
    _rng_keyword,
    adapt_selector,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results" / "bbob"
RUN_FILE = ROOT / "examples" / "recommended.yml"
#: bbob's search box, [-5, 5] in every coordinate.
LOWER, UPPER = -5.0, 5.0
#: Added to every gap before the log, as COCO's precision.
GAP_FLOOR = 1e-8
#: Function groups of bbob, in COCO's order.
GROUPS: dict[str, tuple[int, ...]] = {
    "separable": (1, 2, 3, 4, 5),
    "moderate": (6, 7, 8, 9),
    "ill-conditioned": (10, 11, 12, 13, 14),
    "multimodal": (15, 16, 17, 18, 19),
    "weakly structured": (20, 21, 22, 23, 24),
}
ALL = "all"
#: Budget multipliers (x D) shown in the table, those up to the run's budget.
MULTIPLIERS = (50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
#: Peers: key -> label.
PEERS: dict[str, str] = {
    "bipop": "pycma BIPOP",
    "ipop": "pycma IPOP",
    "de": "scipy differential_evolution",
    "da": "scipy dual_annealing",
    "ngopt": "nevergrad NGOpt",
}
#: The ``--methods`` entry of GloMPO's default portfolio as ``glompo run`` gives it.
DEFAULT_METHOD = "default"
#: Its run file: no ``opt_selector``, so the installed plugins' default portfolio runs
#: (the task, bounds, budget and the settings every GloMPO run here gets are set on top).
DEFAULT_RUN_FILE = "task: Rastrigin\n"
#: GloMPO's workers (``max_jobs``) in every run of a run file.
GLOMPO_JOBS = 4
#: pycma: initial step size and the box of the initial points.
CMA_SIGMA0 = 2.0
CMA_X0_BOX = 4.0
DE_POPSIZE = 15
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 12345
#: Keys of optimizer ``init`` arguments of a run file set from the box width.
SIGMA_KEYS = ("sigma0",)
QUICK: dict[str, Any] = {
    "functions": [1, 15], "dimensions": [2], "instances": [1], "seeds": [1],
    "budget_multiplier": 200, "methods": [str(RUN_FILE), "bipop", "de"],
}


def group_of(function: int) -> str:
    """The bbob group of function number ``function`` (1-24).

    Raises
    ------
    ValueError
        Not a bbob function number.
    """
    for name, members in GROUPS.items():
        if function in members:
            return name
    raise ValueError(f"bbob has functions 1 to 24, not {function}")


# =========================================================================== runs
@dataclass(frozen=True)
class RunSpec:
    """One run: a bbob problem (function, dimension, instance) by a method with a seed."""

    function: int
    dim: int
    instance: int
    method: str
    seed: int
    budget: int
    results_dir: str = str(RESULTS_DIR)
    run_file: str | None = None
    sigma0_fraction: float = 0.3

    @property
    def run_id(self) -> str:
        """The run's folder name: ``f015_d10_i01_s1``."""
        return f"f{self.function:03d}_d{self.dim:02d}_i{self.instance:02d}_s{self.seed}"

    @property
    def parallel(self) -> int:
        """Evaluations the method runs at once (GloMPO: ``max_jobs``; peers: 1)."""
        return GLOMPO_JOBS if self.run_file else 1


@dataclass
class RunResult:
    """What one run gave: ``status`` is ``'ok'`` or ``'failed'``.

    ``trace`` maps evaluations (as strings, for JSON) to ``f_best - f_opt`` after them.
    """

    function: int
    dim: int
    instance: int
    method: str
    seed: int
    budget: int
    status: str
    parallel: int = 1
    f_opt: float | None = None
    gap: float | None = None
    evals: int | None = None
    wall_s: float | None = None
    error: str | None = None
    trace: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: RunSpec, status: str, **kwargs: Any) -> RunResult:
        """A result for ``spec``."""
        return cls(function=spec.function, dim=spec.dim, instance=spec.instance,
                   method=spec.method, seed=spec.seed, budget=spec.budget, status=status,
                   parallel=spec.parallel, **kwargs)

    def gap_at(self, evals: int) -> float | None:
        """``f_best - f_opt`` after ``evals`` evaluations (None beyond the run's budget)."""
        if evals > self.budget or not self.trace:
            return None
        return self.trace.get(str(evals))


def checkpoints(dim: int, budget: int, parallel: int) -> list[int]:
    """Evaluation counts a run records: ``m D`` and ``parallel m D`` up to ``budget``."""
    points = {budget}
    for m in MULTIPLIERS:
        for k in {1, parallel}:
            if k * m * dim <= budget:
                points.add(k * m * dim)
    return sorted(points)


class AnytimeRecorder:
    """The problem, counted: every credited value kept by its call number.

    Thread-safe: a call's number is taken when it starts. A call past the budget raises
    :class:`BudgetExhausted` and never reaches the problem (nor COCO's record).
    """

    def __init__(self, problem: Callable[[Any], float], budget: int) -> None:
        self.problem = problem
        self.budget = int(budget)
        self.values = np.full(self.budget, np.nan)
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, x: Any) -> float:
        with self._lock:
            number = self.calls
            self.calls += 1
            if number >= self.budget:
                raise BudgetExhausted(f"budget of {self.budget} evaluations used")
            fx = float(self.problem(np.asarray(x, dtype=np.float64)))
        self.values[number] = fx
        return fx

    @property
    def used(self) -> int:
        """Evaluations that reached the problem."""
        return min(self.calls, self.budget)

    def best_after(self, counts: Iterable[int]) -> dict[int, float]:
        """Best value among the first ``n`` evaluations, for each ``n`` in ``counts``."""
        best = np.fmin.accumulate(np.where(np.isnan(self.values), np.inf, self.values))
        return {n: float(best[n - 1]) for n in counts if 1 <= n <= self.budget}


_FOPT = re.compile(r"Fopt \(([-+0-9.eE]+)\)")


def read_fopt(folder: Path) -> float:
    """``f_opt`` of the one run in a COCO ``bbob`` results folder (its ``.dat`` header).

    Raises
    ------
    RuntimeError
        No ``.dat`` file with an ``Fopt`` in the folder.
    """
    for path in sorted(folder.rglob("*.dat")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            found = _FOPT.search(line)
            if found:
                return float(found.group(1))
    raise RuntimeError(f"no Fopt in the .dat files of {folder}: did the problem run?")


# ------------------------------------------------------------------------ methods
def run_cma(spec: RunSpec, func: AnytimeRecorder, *, bipop: bool) -> dict[str, Any]:
    """pycma ``fmin2`` with 9 restarts (IPOP, or BIPOP), each from a random ``x0``."""
    import cma

    rng = np.random.default_rng(spec.seed)
    options = {"bounds": [LOWER, UPPER], "maxfevals": spec.budget, "seed": spec.seed,
               "verbose": -9, "verb_log": 0, "verb_disp": 0}
    cma.fmin2(func, lambda: rng.uniform(-CMA_X0_BOX, CMA_X0_BOX, spec.dim), CMA_SIGMA0,
              options, restarts=9, bipop=bipop)
    return {"sigma0": CMA_SIGMA0}


def run_de(spec: RunSpec, func: AnytimeRecorder) -> dict[str, Any]:
    """scipy differential_evolution with its iterations fitted to the budget."""
    from scipy.optimize import differential_evolution

    maxiter = max(spec.budget // (DE_POPSIZE * spec.dim) - 1, 0)
    differential_evolution(func, [(LOWER, UPPER)] * spec.dim, maxiter=maxiter,
                           popsize=DE_POPSIZE, **_rng_keyword(differential_evolution, spec.seed))
    return {"maxiter": maxiter}


def run_da(spec: RunSpec, func: AnytimeRecorder) -> dict[str, Any]:
    """scipy dual_annealing with ``maxfun`` = the budget."""
    from scipy.optimize import dual_annealing

    dual_annealing(func, [(LOWER, UPPER)] * spec.dim, maxfun=spec.budget,
                   **_rng_keyword(dual_annealing, spec.seed))
    return {}


def run_ngopt(spec: RunSpec, func: AnytimeRecorder) -> dict[str, Any]:
    """nevergrad NGOpt on the bounded array, told the budget."""
    import nevergrad as ng

    param = ng.p.Array(shape=(spec.dim,), lower=LOWER, upper=UPPER)
    param.random_state = np.random.RandomState(spec.seed)
    optimizer = ng.optimizers.NGOpt(parametrization=param, budget=spec.budget, num_workers=1)
    optimizer.minimize(func)
    return {"nevergrad": ng.__version__}


def adapt_run_file(path: str | Path, dim: int, budget: int, sigma0_fraction: float
                   ) -> dict[str, Any]:
    """The ``opt_selector`` of a run file for a bbob problem of dimension ``dim``.

    Every ``sigma0`` becomes ``sigma0_fraction`` x the box width (10); per-optimizer
    budgets scale with ``budget`` / the file's ``fmax`` (as :mod:`benchmarks.quality`); a
    selector's own ``budget`` (the run's, e.g. CMAPopulationSelector's) becomes ``budget``.

    Raises
    ------
    SystemExit
        The file has no ``opt_selector``.
    """
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not data.get("opt_selector"):
        raise SystemExit(f"{path}: a run file with an opt_selector is needed for --methods")
    fmax = _find_fmax(data.get("exit_conditions"))
    selector = adapt_selector(data["opt_selector"], 1.0, budget / fmax if fmax else 1.0)
    for conf in selector.values():
        if isinstance(conf, dict) and isinstance(conf.get("budget"), (int, float)):
            conf["budget"] = budget  # a selector told the run's budget (CMAPopulationSelector)
    for conf in selector.values():
        for opt in (conf or {}).get("avail_opts", []):
            for spec in (opt.values() if isinstance(opt, dict) else ()):
                init = (spec or {}).get("init") or {}
                for key in SIGMA_KEYS:
                    if key in init:
                        init[key] = sigma0_fraction * (UPPER - LOWER)
    return {"opt_selector": selector, "fmax_of_file": fmax, "dim": dim}


def run_glompo(spec: RunSpec, func: AnytimeRecorder) -> dict[str, Any]:
    """GloMPO with the run file: task, bounds and budget replaced (:func:`adapt_run_file`)."""
    import yaml

    from glompo_core import GloMPOManager
    from glompo_core.runfile import load_run_file

    assert spec.run_file is not None

    def flow(value: Any) -> str:
        return str(yaml.safe_dump(value, default_flow_style=True, width=10**9)).strip()

    with tempfile.TemporaryDirectory(prefix="glompo-bbob-") as tmp:
        overrides = [
            f"bounds={flow([[LOWER, UPPER]] * spec.dim)}",
            f"exit_conditions=MaxFuncCalls(fmax={spec.budget})",
            f"seed={spec.seed}",
            f"working_dir={Path(tmp) / 'run'}",
            "overwrite_existing=true",
            "summary_files=0",
            "backend=threads",
            f"max_jobs={GLOMPO_JOBS}",
        ]
        if spec.run_file == DEFAULT_METHOD:
            # the default as a user gets it: a run file of task, bounds and budget only
            run_file = Path(tmp) / "default.yml"
            run_file.write_text(DEFAULT_RUN_FILE, encoding="utf-8")
            selector: Any = None
        else:
            run_file = Path(spec.run_file)
            selector = adapt_run_file(run_file, spec.dim, spec.budget,
                                      spec.sigma0_fraction)["opt_selector"]
            overrides.append(f"opt_selector={flow(selector)}")
        kwargs = load_run_file(run_file, overrides)
        kwargs["task"] = func
        manager = GloMPOManager.new_manager(**kwargs)
        result = manager.start_manager()
        return {"opt_selector": selector if selector is not None else str(manager.opt_selector),
                "manager_f_counter": manager.f_counter, "manager_fx": result.fx}


RUNNERS: dict[str, Callable[[RunSpec, AnytimeRecorder], dict[str, Any]]] = {
    "bipop": lambda spec, func: run_cma(spec, func, bipop=True),
    "ipop": lambda spec, func: run_cma(spec, func, bipop=False),
    "de": run_de,
    "da": run_da,
    "ngopt": run_ngopt,
}


def execute(spec: RunSpec) -> RunResult:
    """Run one spec in this process, observed by COCO; its result (never raises).

    The COCO data go to ``<results_dir>/<method>/<run_id>`` (an earlier folder of the
    same run is replaced).
    """
    import cocoex

    start = time.perf_counter()
    dest = Path(spec.results_dir) / spec.method / spec.run_id
    with tempfile.TemporaryDirectory(prefix="bbob-run-") as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # cocoex writes to ./exdata/<result_folder>
        try:
            # the instance by its number (the suite's default list, 1-5 and 71-80 in
            # recent cocoex, lacks 6-70: the tuning instances)
            suite = cocoex.Suite("bbob", f"instances: {spec.instance}",
                                 f"dimensions:{spec.dim} function_indices:{spec.function}")
            observer = cocoex.Observer("bbob", f"result_folder: {spec.run_id} "
                                       f"algorithm_name: {spec.method}")
            problem = suite.get_problem_by_function_dimension_instance(
                spec.function, spec.dim, spec.instance)
            problem.observe_with(observer)
            func = AnytimeRecorder(problem, spec.budget)
            info: dict[str, Any] = {}
            error: str | None = None
            try:
                if spec.run_file:
                    info = run_glompo(spec, func)
                else:
                    info = RUNNERS[spec.method](spec, func) or {}
            except BudgetExhausted:
                info = {"stopped_at_budget": True}
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            wall = time.perf_counter() - start
            hit = bool(problem.final_target_hit)
            problem.free()
            folder = Path(tmp) / "exdata" / spec.run_id
            f_opt = read_fopt(folder) if func.used else None
            if dest.exists():
                shutil.rmtree(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(dest))
        finally:
            os.chdir(cwd)
    if error is not None or f_opt is None:
        return RunResult.of(spec, "failed", error=error or "no evaluation", evals=func.used,
                            wall_s=wall)
    best = func.best_after(checkpoints(spec.dim, spec.budget, spec.parallel))
    trace = {str(n): max(fx - f_opt, 0.0) for n, fx in best.items()}
    gap = trace[str(spec.budget)]  # a method that stopped early keeps its best
    info["final_target_hit"] = hit
    return RunResult.of(spec, "ok", f_opt=f_opt, gap=gap, evals=func.used, wall_s=wall,
                        trace=trace, info=info)


# ===================================================================== subprocesses
def run_in_subprocess(spec: RunSpec, timeout: float | None) -> RunResult:
    """Run ``spec`` in a new interpreter; a crash or timeout is a failed result."""
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bbob-worker-") as cwd:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.bbob", "--worker", json.dumps(asdict(spec))],
                cwd=cwd, env=_child_env(), capture_output=True, text=True, timeout=timeout)
        for line in reversed(proc.stdout.splitlines()):
            if line.startswith(_MARKER):
                return RunResult(**json.loads(line[len(_MARKER):]))
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(f"exit code {proc.returncode}: " + (tail[-1] if tail else "no output"))
    except subprocess.TimeoutExpired:
        return RunResult.of(spec, "failed", error=f"timeout after {timeout:g} s",
                            wall_s=time.perf_counter() - start)
    except Exception as exc:
        return RunResult.of(spec, "failed", error=f"{type(exc).__name__}: {exc}",
                            wall_s=time.perf_counter() - start)


# ========================================================================== tables
def log_gap(gap: float) -> float:
    """``log10(gap + 1e-8)``."""
    return math.log10(max(gap, 0.0) + GAP_FLOOR)


def bootstrap_mean(values_by_function: Mapping[int, Sequence[float]], *,
                   samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                   level: float = 0.90) -> tuple[float, float, float]:
    """Mean of all values and a bootstrap interval, runs resampled within each function.

    Parameters
    ----------
    values_by_function
        Per function, the values of its runs (instances x seeds); functions with no
        value are left out.
    samples, seed, level
        Bootstrap resamples, their seed and the interval's coverage (0.90: the 5 % and
        95 % percentiles).

    Returns
    -------
    tuple of float
        ``(mean, low, high)``; the interval collapses to the mean when every function
        has a single run.

    Raises
    ------
    ValueError
        No value at all.
    """
    groups = [np.asarray(v, dtype=np.float64) for v in values_by_function.values() if len(v)]
    if not groups:
        raise ValueError("no values to average")
    everything = np.concatenate(groups)
    rng = np.random.default_rng(seed)
    total = np.zeros(samples)
    for vals in groups:
        picks = rng.integers(0, len(vals), size=(samples, len(vals)))
        total += vals[picks].sum(axis=1)
    means = total / len(everything)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(everything.mean()), float(low), float(high)


def summarise(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Rows of the table: per view, budget multiplier, group (and ``all``) and method.

    Each row: ``view`` (``'evaluations'`` or ``'rounds'``), ``multiplier`` (m: ``m D``
    evaluations, or rounds), ``group``, ``method``, ``runs``, ``mean``, ``low``, ``high``
    (None where no run reached that budget).
    """
    ok = [r for r in results if r.status == "ok"]
    methods = list(dict.fromkeys(r.method for r in results))
    top = max((r.budget // r.dim for r in ok), default=0)
    multipliers = [m for m in MULTIPLIERS if m <= top]
    rows: list[dict[str, Any]] = []
    for view in ("evaluations", "rounds"):
        for m in multipliers:
            for group in (*GROUPS, ALL):
                for method in methods:
                    by_function: dict[int, list[float]] = {}
                    for r in ok:
                        if r.method != method or (group != ALL and group_of(r.function) != group):
                            continue
                        evals = m * r.dim * (r.parallel if view == "rounds" else 1)
                        gap = r.gap_at(evals)
                        if gap is not None:
                            by_function.setdefault(r.function, []).append(log_gap(gap))
                    runs = sum(len(v) for v in by_function.values())
                    mean = low = high = None
                    if runs:
                        mean, low, high = bootstrap_mean(by_function)
                    if any(r.method == method and (group == ALL or group_of(r.function) == group)
                           for r in ok):
                        rows.append({"view": view, "multiplier": m, "group": group,
                                     "method": method, "runs": runs, "mean": mean,
                                     "low": low, "high": high})
    return rows


def _num(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _cell(row: dict[str, Any] | None) -> str:
    if row is None or row["mean"] is None:
        return "—"
    return f"{_num(row['mean'])} [{_num(row['low'])}, {_num(row['high'])}]"


def _grid(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[tuple[str, int, str]],
                                                   dict[tuple[str, int, str, str], dict[str, Any]]]:
    methods = list(dict.fromkeys(r["method"] for r in rows))
    keys = list(dict.fromkeys((r["view"], r["multiplier"], r["group"]) for r in rows))
    index = {(r["view"], r["multiplier"], r["group"], r["method"]): r for r in rows}
    return methods, keys, index


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary as an aligned plain-text table, one column per method."""
    methods, keys, index = _grid(rows)
    headers = ["view", "budget", "group", *methods]
    cells = [[view, f"{m} x D", group, *(_cell(index.get((view, m, group, meth)))
                                        for meth in methods)] for view, m, group in keys]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    previous = None
    for key, values in zip(keys, cells):
        if previous is not None and key[:2] != previous:
            out.append("")
        previous = key[:2]
        out.append("  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip())
    return "\n".join(out)


def markdown_table(rows: Sequence[dict[str, Any]], settings: dict[str, Any]) -> str:
    """The summary as Markdown, with a note of the settings."""
    methods, keys, index = _grid(rows)
    labels = [PEERS.get(m, m) for m in methods]
    out = [
        f"bbob functions {_ranges(settings.get('functions', []))}, dimensions "
        f"{', '.join(map(str, settings.get('dimensions', [])))}, instances "
        f"{', '.join(map(str, settings.get('instances', [])))}, seeds "
        f"{', '.join(map(str, settings.get('seeds', [])))}. Cells: mean over problems, "
        "instances and seeds of log10(f_best - f_opt + 1e-8) [bootstrap 90 % interval]. "
        "Evaluations: after m x D evaluations; rounds: after m x D rounds of parallel "
        f"evaluations (GloMPO: {GLOMPO_JOBS} per round; peers: 1). "
        "Generated by `python -m benchmarks.bbob`.",
        "",
        "| view | budget | group | " + " | ".join(labels) + " |",
        "| --- | ---: | --- |" + " ---: |" * len(methods),
    ]
    for view, m, group in keys:
        out.append(f"| {view} | {m} x D | {group} | "
                   + " | ".join(_cell(index.get((view, m, group, meth))) for meth in methods)
                   + " |")
    return "\n".join(out) + "\n"


def _ranges(values: Sequence[int]) -> str:
    values = sorted(set(values))
    parts: list[str] = []
    for v in values:
        if parts and parts[-1].split("-")[-1] == str(v - 1):
            parts[-1] = parts[-1].split("-")[0] + f"-{v}"
        else:
            parts.append(str(v))
    return ", ".join(parts)


def _write(results: Sequence[RunResult], rows: Sequence[dict[str, Any]],
           settings: dict[str, Any], json_out: Path | None, markdown_out: Path | None) -> None:
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(
            {"settings": settings, "runs": [asdict(r) for r in results], "summary": rows},
            indent=1, default=_jsonable))
    if markdown_out:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(markdown_table(rows, settings))


def load_runs(paths: Sequence[Path]) -> tuple[list[RunResult], dict[str, Any]]:
    """The runs of several ``--json`` files; a later run of the same problem, method and
    seed replaces an earlier one.

    Raises
    ------
    SystemExit
        A file that is not a ``--json`` file of this benchmark.
    """
    runs: dict[tuple[int, int, int, str, int], RunResult] = {}
    settings: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            loaded = [RunResult(**r) for r in data["runs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}: not a JSON file written by "
                             f"python -m benchmarks.bbob --json ({exc})") from exc
        for res in loaded:
            runs[(res.function, res.dim, res.instance, res.method, res.seed)] = res
        for key, value in data.get("settings", {}).items():
            if isinstance(value, list):
                settings[key] = list(dict.fromkeys([*settings.get(key, []), *value]))
            else:
                settings.setdefault(key, value)
    order = list(dict.fromkeys(settings.get("methods", [])))
    results = sorted(runs.values(), key=lambda r: (
        order.index(r.method) if r.method in order else len(order), r.method, r.function,
        r.dim, r.instance, r.seed))
    return results, settings


def merge(paths: Sequence[Path], json_out: Path | None, markdown_out: Path | None) -> int:
    """One table from the runs of several ``--json`` files (``--merge``)."""
    results, settings = load_runs(paths)
    settings["merged_from"] = [str(p) for p in paths]
    for key, attr in (("functions", "function"), ("dimensions", "dim"),
                      ("instances", "instance"), ("seeds", "seed")):
        settings[key] = sorted({getattr(r, attr) for r in results})
    rows = summarise(results)
    print(format_table(rows))
    _write(results, rows, settings, json_out, markdown_out)
    return 0


# ============================================================================== main
def parse_functions(items: Sequence[str]) -> list[int]:
    """``['1', '15-24']`` -> ``[1, 15, ..., 24]``.

    Raises
    ------
    SystemExit
        Not a bbob function number (1-24) or range.
    """
    out: list[int] = []
    for item in items:
        found = re.fullmatch(r"(\d+)(?:-(\d+))?", item.strip())
        if not found:
            raise SystemExit(f"--functions: {item!r} is not a number or a range like 15-24")
        low, high = int(found.group(1)), int(found.group(2) or found.group(1))
        if not 1 <= low <= high <= 24:
            raise SystemExit(f"--functions: {item!r}: bbob has functions 1 to 24")
        out.extend(range(low, high + 1))
    return list(dict.fromkeys(out))


def resolve_method(name: str) -> tuple[str, str | None]:
    """``(key, run file)`` of a ``--methods`` entry: a peer's key or a run file's path.

    Raises
    ------
    SystemExit
        Neither a peer nor an existing file (with the closest peer names).
    """
    if name in PEERS:
        return name, None
    if name == DEFAULT_METHOD:
        return f"glompo-{DEFAULT_METHOD}", DEFAULT_METHOD
    path = Path(name)
    if path.suffix in (".yml", ".yaml"):
        if not path.is_file():
            raise SystemExit(f"--methods: run file {name} does not exist")
        return f"glompo-{path.stem}", str(path.resolve())
    import difflib

    close = difflib.get_close_matches(name, PEERS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise SystemExit(f"--methods: unknown method {name!r}{hint} (peers: "
                     f"{', '.join(PEERS)}; or a GloMPO run file such as "
                     "examples/recommended.yml)")


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--worker`` is internal)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bbob", description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small subset: functions 1 15, dimension 2, instance 1, seed 1, "
                             "200 x D, methods examples/recommended.yml bipop de")
    parser.add_argument("--functions", nargs="+", default=None, metavar="F",
                        help="numbers or ranges, e.g. 1 15-24 (default 1-24)")
    parser.add_argument("--dimensions", nargs="+", type=int, default=None,
                        help="from 2 3 5 10 20 40 (default 2 5 10 20)")
    parser.add_argument("--instances", nargs="+", type=int, default=None,
                        help="instance numbers (default 1 2 3)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default 1")
    parser.add_argument("--budget-multiplier", type=int, default=None,
                        help="evaluations per run = this x D (default 10000); smaller budgets "
                             "are read from the same runs")
    parser.add_argument("--methods", nargs="+", default=None,
                        help=f"peers ({', '.join(PEERS)}) and GloMPO run files "
                             "(default examples/recommended.yml bipop ipop de da)")
    parser.add_argument("--sigma0-fraction", type=float, default=0.3,
                        help="a run file's sigma0 = this x the box width (default 0.3)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                        help="COCO data, one folder per method (default benchmarks/results/bbob)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0,
                        help="seconds before a run is killed and counted failed")
    parser.add_argument("--json", type=Path, default=None, help="write runs and summary")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="run nothing: one table from earlier --json files")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write JSON/Markdown if asked."""
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        warnings.simplefilter("ignore")
        _emit(asdict(execute(RunSpec(**json.loads(args.worker)))))
    if args.merge:
        return merge(args.merge, args.json, args.markdown)

    defaults: dict[str, Any] = QUICK if args.quick else {
        "functions": list(range(1, 25)), "dimensions": [2, 5, 10, 20], "instances": [1, 2, 3],
        "seeds": [1], "budget_multiplier": 10_000,
        "methods": [str(RUN_FILE), "bipop", "ipop", "de", "da"]}
    functions = (parse_functions(args.functions) if args.functions
                 else defaults["functions"])
    dims = args.dimensions or defaults["dimensions"]
    instances = args.instances or defaults["instances"]
    seeds = args.seeds or defaults["seeds"]
    multiplier = args.budget_multiplier or defaults["budget_multiplier"]
    methods = [resolve_method(m) for m in dict.fromkeys(args.methods or defaults["methods"])]
    if any(s < 1 for s in seeds) or any(i < 1 for i in instances):
        raise SystemExit("--seeds and --instances must be >= 1 (pycma takes seed 0 as "
                         "'from the clock')")
    if bad := [d for d in dims if d not in (2, 3, 5, 10, 20, 40)]:
        raise SystemExit(f"--dimensions: bbob has 2 3 5 10 20 40, not {bad}")
    if multiplier < 1 or args.jobs < 1:
        raise SystemExit("--budget-multiplier and --jobs must be >= 1")

    specs = [RunSpec(f, d, i, key, s, multiplier * d, str(args.results_dir.resolve()),
                     run_file, args.sigma0_fraction)
             for key, run_file in methods for d in dims for f in functions
             for i in instances for s in seeds]
    print(f"{len(specs)} runs: {len(functions)} functions x {len(dims)} dimensions x "
          f"{len(instances)} instances x {len(seeds)} seeds x {len(methods)} methods, "
          f"{multiplier} x D evaluations, {args.jobs} at a time", flush=True)

    def run(spec: RunSpec) -> RunResult:
        res = run_in_subprocess(spec, args.timeout)
        what = (f"log10 gap {log_gap(res.gap or 0.0):6.2f}  evals {res.evals:>7}  "
                f"wall {res.wall_s:7.1f} s" if res.status == "ok" else f"FAILED: {res.error}")
        print(f"  {spec.method:<24} f{spec.function:<3} {spec.dim:>2}-D  i{spec.instance:<2} "
              f"seed {spec.seed:<3} {what}", flush=True)
        return res

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, specs))
    wall = time.perf_counter() - start
    rows = summarise(results)
    print(f"\n{len(results)} runs in {wall:.0f} s\n")
    print(format_table(rows))
    settings = {"functions": functions, "dimensions": dims, "instances": instances,
                "seeds": seeds, "budget_multiplier": multiplier,
                "methods": [key for key, _ in methods],
                "run_files": {key: path for key, path in methods if path},
                "sigma0_fraction": args.sigma0_fraction, "jobs": args.jobs,
                "results_dir": str(args.results_dir), "wall_s": wall}
    _write(results, rows, settings, args.json, args.markdown)
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
