"""Solution quality: GloMPO with ``examples/recommended.yml`` against its peers.

Seven benchmark problems of :mod:`glompo_core.benchmarks` (Schwefel, Rastrigin, Ackley,
Griewank and Levy in 20-D, Michalewicz and Rana in 10-D), each plain and *rotated*
(:mod:`benchmarks._rotated`: a fixed random orthogonal rotation about the global
minimiser, about the domain centre for Rana, with a boundary penalty; same minimum
value and minimiser), solved by six methods with the same budget of evaluations
(121,200 by default) and five seeds each:

==========  ==============================================================================
glompo      GloMPO with ``examples/recommended.yml``: its task, budget and seed replaced
            (``--set``-style overrides of :func:`~glompo_core.runfile.load_run_file`), and
            the values the file says to adapt scaled as its comments say: ``sigma0`` (and
            ``minsigma``/``maxsigma``) in proportion to the box width, the per-optimizer
            budgets (``budget``, ``maxfun``, ``maxfev``, ``maxfevals``) in proportion to
            ``fmax``. Its exit conditions become ``MaxFuncCalls(fmax=budget)``.
ipop        pycma ``cma.fmin2(f, x0, sigma0, {'maxfevals': budget, 'bounds': ...},
            restarts=9)``: IPOP-CMA-ES, every run from a new uniform random ``x0``,
            ``sigma0`` = 0.25 x the box width.
bipop       the same with ``bipop=True``.
ngopt       nevergrad ``NGOpt`` on the bounded array, ``budget`` = the budget.
de          scipy ``differential_evolution``, defaults, ``maxiter = budget // (15 d) - 1``
            (so its iterations fit the budget; its final polish gets what is left).
da          scipy ``dual_annealing``, defaults, ``maxfun = budget``.
==========  ==============================================================================

Every method's evaluations go through one counter
(:class:`~benchmarks._rotated.EvaluationCounter`): a method's result is the best value
among its first ``budget`` evaluations, and evaluations past the budget are refused
(peers) or not credited (GloMPO, which ends the batches in flight). The table gives, per
problem, variant and method: median and best of those values over the seeds, the seeds
within 1e-2 of the global minimum (``|fx - min_fx| <= 1e-2``; "—" where the minimum is
unknown), the median evaluations used and the median wall time.

Each (problem, variant, method, seed) runs in its own subprocess, so one crash or
timeout is one failed row. A method whose libraries the interpreter lacks (nevergrad
conflicts with the numpy of some environments) runs with another interpreter given by
``--python`` (or ``GLOMPO_QUALITY_PYTHON``, paths separated by ``os.pathsep``), else its
rows are skipped with the reason printed.

    python -m benchmarks.quality --quick                  # 2 problems, 3 methods, < 2 min
    python -m benchmarks.quality [--problems Schwefel Rana] [--variants plain rotated]
        [--methods glompo ipop bipop ngopt de da] [--seeds 1 2 3 4 5] [--budget 121200]
        [--jobs 1] [--timeout 14400] [--run-file examples/recommended.yml]
        [--python /path/to/other/python] [--json out.json] [--markdown table.md]

The full run (7 x 2 x 6 x 5 = 420 runs of 121,200 evaluations) takes many hours. NGOpt
is by far the slowest: nevergrad's own cost was about 13 ms per evaluation on the 20-D
Rastrigin (NGOpt36 chosen for that budget), about 30 min per run, so run it apart with
``--methods ngopt --jobs N``; the default ``--timeout`` (4 h per run) allows for it. Wall
times are only comparable with ``--jobs 1`` on an otherwise idle machine. The exit status
is 1 if any run failed (its row says why), else 0.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from benchmarks._rotated import BudgetExhausted, EvaluationCounter, make_task

ROOT = Path(__file__).resolve().parents[1]
RUN_FILE = ROOT / "examples" / "recommended.yml"
DEFAULT_BUDGET = 121_200
DEFAULT_SEEDS = (1, 2, 3, 4, 5)
#: A run "solves" a problem when ``|fx - min_fx| <= SUCCESS_TOL``.
SUCCESS_TOL = 1e-2
#: ``sigma0`` of pycma IPOP/BIPOP as a fraction of the box width.
CMA_SIGMA_FRACTION = 0.25
#: Population size factor of scipy's differential_evolution (its default).
DE_POPSIZE = 15

#: Problems: name -> dimensions.
PROBLEMS: dict[str, int] = {
    "Schwefel": 20,
    "Rastrigin": 20,
    "Ackley": 20,
    "Griewank": 20,
    "Michalewicz": 10,
    "Levy": 20,
    "Rana": 10,
}
VARIANTS = ("plain", "rotated")
#: Methods: key -> label in the table.
METHODS: dict[str, str] = {
    "glompo": "GloMPO recommended.yml",
    "ipop": "pycma IPOP",
    "bipop": "pycma BIPOP",
    "ngopt": "nevergrad NGOpt",
    "de": "scipy differential_evolution",
    "da": "scipy dual_annealing",
}
#: Modules a peer method needs (GloMPO: whatever the run file names).
_METHOD_MODULES: dict[str, tuple[str, ...]] = {
    "ipop": ("cma",), "bipop": ("cma",), "ngopt": ("nevergrad",),
    "de": ("scipy.optimize",), "da": ("scipy.optimize",), "glompo": (),
}
#: Modules imported before a run's clock starts, if installed (imports are not timed).
_PRELOAD: dict[str, tuple[str, ...]] = {
    **_METHOD_MODULES,
    "glompo": ("glompo_core.manager", "glompo_core.runfile", "yaml", "cma", "scipy.optimize",
               "nevergrad"),
}
#: ``--quick``: its defaults, each replaced by an explicit option.
QUICK: dict[str, Any] = {
    "problems": ["Rastrigin", "Schwefel"], "seeds": [1, 2], "budget": 5_000,
    "methods": ["glompo", "ipop", "de"], "variants": list(VARIANTS),
}
#: Keys of optimizer ``init`` arguments of the run file scaled with the box width.
WIDTH_KEYS = ("sigma0", "minsigma", "maxsigma")
#: Keys of optimizer ``init`` arguments of the run file scaled with the budget.
BUDGET_KEYS = ("budget", "maxfun", "maxfev", "maxfevals")

_MARKER = "@@QUALITY@@ "
_DASH = "—"


# =========================================================================== runs
@dataclass(frozen=True)
class RunSpec:
    """One run: a problem, plain or rotated, solved by a method with a seed and budget."""

    problem: str
    dims: int
    rotated: bool
    method: str
    seed: int
    budget: int
    run_file: str = str(RUN_FILE)

    @property
    def variant(self) -> str:
        """``'plain'`` or ``'rotated'``."""
        return "rotated" if self.rotated else "plain"


@dataclass
class RunResult:
    """What one run gave: ``status`` is ``'ok'``, ``'failed'`` or ``'skipped'``."""

    problem: str
    dims: int
    variant: str
    method: str
    seed: int
    budget: int
    status: str
    fx: float | None = None
    evals: int | None = None
    wall_s: float | None = None
    error: str | None = None
    min_fx: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: RunSpec, status: str, **kwargs: Any) -> RunResult:
        """A result for ``spec`` (``min_fx`` taken from the task unless given)."""
        if "min_fx" not in kwargs:
            kwargs["min_fx"] = make_task(spec.problem, spec.dims, rotated=spec.rotated).min_fx
        return cls(problem=spec.problem, dims=spec.dims, variant=spec.variant,
                   method=spec.method, seed=spec.seed, budget=spec.budget, status=status,
                   **kwargs)


def _bounds(task: Any) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(task.bounds, dtype=np.float64)
    return arr[:, 0].copy(), arr[:, 1].copy()


def _rng_keyword(func: Callable[..., Any], seed: int) -> dict[str, Any]:
    """``rng=`` (scipy >= 1.15) or ``seed=`` for a scipy optimizer."""
    params = inspect.signature(func).parameters
    if "rng" in params:
        return {"rng": np.random.default_rng(seed)}
    return {"seed": seed}


def _find_fmax(value: Any) -> float | None:
    """The ``fmax`` of a run file's ``exit_conditions`` (any spelling), or None."""
    found = re.search(r"fmax['\"]?\s*[=:]\s*([0-9_.eE+]+)", json.dumps(value))
    return float(found.group(1).replace("_", "")) if found else None


def adapt_selector(selector: dict[str, Any], width_ratio: float,
                   budget_ratio: float) -> dict[str, Any]:
    """The run file's ``opt_selector`` with its problem-dependent values scaled.

    Parameters
    ----------
    selector
        The ``opt_selector`` mapping as read from YAML (not modified).
    width_ratio
        Box width of the new problem over that of the file's task: multiplies the
        :data:`WIDTH_KEYS` of every optimizer's ``init``.
    budget_ratio
        New budget over the file's ``fmax``: multiplies the :data:`BUDGET_KEYS`
        (rounded, at least 1).

    Returns
    -------
    dict
        A new mapping.
    """
    out = json.loads(json.dumps(selector))
    for conf in out.values():
        for opt in (conf or {}).get("avail_opts", []):
            if not isinstance(opt, dict):
                continue
            for spec in opt.values():
                init = (spec or {}).get("init") or {}
                for key in WIDTH_KEYS:
                    if isinstance(init.get(key), (int, float)):
                        init[key] = float(init[key]) * width_ratio
                for key in BUDGET_KEYS:
                    if isinstance(init.get(key), (int, float)):
                        init[key] = max(1, round(init[key] * budget_ratio))
    return out


def glompo_overrides(spec: RunSpec, task: Any, working_dir: str
                     ) -> tuple[list[str], dict[str, Any]]:
    """``--set`` overrides that turn the run file into this run.

    Returns
    -------
    list of str
        The overrides for :func:`~glompo_core.runfile.load_run_file`.
    dict
        What was scaled: the width and budget ratios and the new ``opt_selector``.
    """
    import yaml

    from glompo_core.runfile import load_run_file

    data = yaml.safe_load(Path(spec.run_file).read_text(encoding="utf-8"))
    reference = load_run_file(spec.run_file)  # the file's own task and bounds
    ref_bounds = np.asarray(reference["bounds"] if reference["bounds"] is not None
                            else reference["task"].bounds, dtype=np.float64)
    lower, upper = _bounds(task)
    width_ratio = float(np.mean(upper - lower) / np.mean(ref_bounds[:, 1] - ref_bounds[:, 0]))
    fmax = _find_fmax(data.get("exit_conditions"))
    budget_ratio = spec.budget / fmax if fmax else 1.0
    selector = adapt_selector(data["opt_selector"], width_ratio, budget_ratio)

    def flow(value: Any) -> str:
        return str(yaml.safe_dump(value, default_flow_style=True, width=10**9)).strip()

    task_kwargs = {"name": spec.problem, "dims": spec.dims, "rotated": spec.rotated}
    overrides = [
        "task=benchmarks._rotated:make_task",
        f"task_kwargs={flow(task_kwargs)}",
        "bounds=null",
        f"exit_conditions=MaxFuncCalls(fmax={spec.budget})",
        f"seed={spec.seed}",
        f"working_dir={working_dir}",
        "overwrite_existing=true",
        "summary_files=0",
        f"opt_selector={flow(selector)}",
    ]
    info = {"width_ratio": width_ratio, "budget_ratio": budget_ratio, "opt_selector": selector}
    return overrides, info


def run_glompo(spec: RunSpec, task: Any, counter: EvaluationCounter) -> dict[str, Any]:
    """GloMPO with the run file, adapted to the problem (:func:`glompo_overrides`)."""
    from glompo_core import GloMPOManager
    from glompo_core.runfile import load_run_file

    with tempfile.TemporaryDirectory(prefix="glompo-quality-") as tmp:
        overrides, info = glompo_overrides(spec, task, str(Path(tmp) / "run"))
        kwargs = load_run_file(spec.run_file, overrides)
        kwargs["task"] = counter  # the same problem as the file's make_task, counted
        kwargs["bounds"] = task.bounds
        manager = GloMPOManager.new_manager(**kwargs)
        result = manager.start_manager()
        info.update(manager_f_counter=manager.f_counter, manager_fx=result.fx)
    return info


def run_cma(spec: RunSpec, task: Any, counter: EvaluationCounter, *, bipop: bool) -> dict[str, Any]:
    """pycma ``fmin2`` with 9 restarts (IPOP, or BIPOP), each from a random ``x0``."""
    import cma

    lower, upper = _bounds(task)
    rng = np.random.default_rng(spec.seed)
    sigma0 = CMA_SIGMA_FRACTION * float(np.mean(upper - lower))
    options = {"bounds": [lower.tolist(), upper.tolist()], "maxfevals": spec.budget,
               "seed": spec.seed, "verbose": -9, "verb_log": 0, "verb_disp": 0}
    cma.fmin2(counter, lambda: rng.uniform(lower, upper), sigma0, options, restarts=9,
              bipop=bipop)
    return {"sigma0": sigma0}


def run_ngopt(spec: RunSpec, task: Any, counter: EvaluationCounter) -> dict[str, Any]:
    """nevergrad NGOpt on the bounded array, told the budget."""
    import nevergrad as ng

    lower, upper = _bounds(task)
    param = ng.p.Array(shape=(len(lower),), lower=lower, upper=upper)
    param.random_state = np.random.RandomState(spec.seed)
    optimizer = ng.optimizers.NGOpt(parametrization=param, budget=spec.budget, num_workers=1)
    optimizer.minimize(counter)
    return {"nevergrad": ng.__version__}


def run_de(spec: RunSpec, task: Any, counter: EvaluationCounter) -> dict[str, Any]:
    """scipy differential_evolution with its iterations fitted to the budget."""
    from scipy.optimize import differential_evolution

    lower, upper = _bounds(task)
    maxiter = max(spec.budget // (DE_POPSIZE * len(lower)) - 1, 0)
    differential_evolution(counter, list(zip(lower, upper)), maxiter=maxiter,
                           popsize=DE_POPSIZE, **_rng_keyword(differential_evolution, spec.seed))
    return {"maxiter": maxiter}


def run_da(spec: RunSpec, task: Any, counter: EvaluationCounter) -> dict[str, Any]:
    """scipy dual_annealing with ``maxfun`` = the budget."""
    from scipy.optimize import dual_annealing

    lower, upper = _bounds(task)
    dual_annealing(counter, list(zip(lower, upper)), maxfun=spec.budget,
                   **_rng_keyword(dual_annealing, spec.seed))
    return {}


RUNNERS: dict[str, Callable[[RunSpec, Any, EvaluationCounter], dict[str, Any]]] = {
    "glompo": run_glompo,
    "ipop": lambda spec, task, counter: run_cma(spec, task, counter, bipop=False),
    "bipop": lambda spec, task, counter: run_cma(spec, task, counter, bipop=True),
    "ngopt": run_ngopt,
    "de": run_de,
    "da": run_da,
}


def execute(spec: RunSpec) -> RunResult:
    """Run one spec in this process and return its result (never raises).

    A peer's evaluation past the budget raises :class:`BudgetExhausted` out of the
    peer's loop, which ends the run normally.
    """
    task = make_task(spec.problem, spec.dims, rotated=spec.rotated)
    min_fx = task.min_fx
    counter = EvaluationCounter(task, spec.budget, stop=spec.method != "glompo")
    for module in _PRELOAD.get(spec.method, ()):
        try:
            importlib.import_module(module)
        except Exception:  # missing, or broken in this environment: the run will say
            pass
    start = time.perf_counter()
    info: dict[str, Any] = {}
    try:
        info = RUNNERS[spec.method](spec, task, counter) or {}
    except BudgetExhausted:
        info = {"stopped_at_budget": True}
    except Exception as exc:
        return RunResult.of(spec, "failed", error=f"{type(exc).__name__}: {exc}",
                            evals=counter.credited, min_fx=min_fx,
                            wall_s=time.perf_counter() - start)
    wall = time.perf_counter() - start
    if not math.isfinite(counter.best_fx):
        return RunResult.of(spec, "failed", error="no finite value was evaluated",
                            evals=counter.credited, wall_s=wall, min_fx=min_fx)
    info["calls"] = counter.calls
    return RunResult.of(spec, "ok", fx=counter.best_fx, evals=counter.credited, wall_s=wall,
                        min_fx=min_fx, info=info)


# ===================================================================== subprocesses
def _emit(payload: Any) -> NoReturn:
    """Print the result line and leave at once (stray non-daemon threads cannot hang us)."""
    sys.stdout.write(_MARKER + json.dumps(payload, default=_jsonable) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return _finite(float(value))
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def probe_methods(methods: Sequence[str], run_file: str) -> dict[str, str | None]:
    """Per method, None if this interpreter can run it, else why not."""
    out: dict[str, str | None] = {}
    for method in methods:
        try:
            for module in _METHOD_MODULES[method]:
                importlib.import_module(module)
            if method == "glompo":
                from glompo_core.runfile import load_run_file

                kwargs = load_run_file(run_file)
                for cls, init, _call in kwargs["opt_selector"].avail_opts:
                    cls(**(init or {}))  # imports the optimizer's library
            out[method] = None
        except Exception as exc:
            out[method] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return out


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def _call_child(python: str, args: list[str], timeout: float | None) -> Any:
    """Run ``python -m benchmarks.quality ARGS`` in a temporary directory; its payload."""
    with tempfile.TemporaryDirectory(prefix="quality-run-") as cwd:
        proc = subprocess.run([python, "-m", "benchmarks.quality", *args], cwd=cwd,
                              env=_child_env(), capture_output=True, text=True,
                              timeout=timeout)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARKER):
            return json.loads(line[len(_MARKER):])
    tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    raise RuntimeError(f"exit code {proc.returncode}: " + (tail[-1] if tail else "no output"))


def run_in_subprocess(python: str, spec: RunSpec, timeout: float | None) -> RunResult:
    """Run ``spec`` in a new ``python`` process; a crash or timeout is a failed result."""
    start = time.perf_counter()
    try:
        payload = _call_child(python, ["--worker", json.dumps(asdict(spec))], timeout)
        return RunResult(**payload)
    except subprocess.TimeoutExpired:
        return RunResult.of(spec, "failed", error=f"timeout after {timeout:g} s",
                            wall_s=time.perf_counter() - start)
    except Exception as exc:
        return RunResult.of(spec, "failed", error=f"{type(exc).__name__}: {exc}",
                            wall_s=time.perf_counter() - start)


def choose_interpreters(methods: Sequence[str], pythons: Sequence[str], run_file: str
                        ) -> tuple[dict[str, str], dict[str, str]]:
    """For each method the first interpreter that can run it; and why the others cannot.

    Returns
    -------
    dict
        method -> interpreter.
    dict
        method -> reason, for the methods no interpreter can run.
    """
    chosen: dict[str, str] = {}
    reasons: dict[str, list[str]] = {m: [] for m in methods}
    for python in pythons:
        todo = [m for m in methods if m not in chosen]
        if not todo:
            break
        try:
            found = _call_child(python, ["--probe", json.dumps([todo, run_file])], 300)
        except Exception as exc:
            found = {m: f"cannot probe: {exc}" for m in todo}
        for method in todo:
            if found.get(method) is None:
                chosen[method] = python
            else:
                reasons[method].append(f"{python}: {found[method]}")
    return chosen, {m: "; ".join(r) for m, r in reasons.items() if m not in chosen}


# ========================================================================== tables
def _fmt(value: float | None) -> str:
    if value is None:
        return _DASH
    return f"{value:.6g}"


def summarise(results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per (problem, variant, method), in the order the results first appear."""
    groups: dict[tuple[str, str, str], list[RunResult]] = {}
    for res in results:
        groups.setdefault((res.problem, res.variant, res.method), []).append(res)
    rows = []
    for (problem, variant, method), runs in groups.items():
        ok = [r for r in runs if r.status == "ok" and r.fx is not None]
        min_fx = next((r.min_fx for r in runs if r.min_fx is not None), None)
        fxs = [float(r.fx) for r in ok if r.fx is not None]
        hits = (None if min_fx is None
                else sum(abs(fx - min_fx) <= SUCCESS_TOL for fx in fxs))
        skipped = [r for r in runs if r.status == "skipped"]
        rows.append({
            "problem": problem, "dims": runs[0].dims, "variant": variant, "method": method,
            "label": METHODS.get(method, method), "min_fx": min_fx, "seeds": len(runs),
            "ok": len(ok), "failed": sum(r.status == "failed" for r in runs),
            "skipped": len(skipped), "skip_reason": skipped[0].error if skipped else None,
            "median_fx": statistics.median(fxs) if fxs else None,
            "best_fx": min(fxs) if fxs else None,
            "hits": hits,
            "median_evals": statistics.median([r.evals for r in ok if r.evals is not None])
            if ok else None,
            "median_wall_s": statistics.median([r.wall_s for r in ok if r.wall_s is not None])
            if ok else None,
        })
    _rank(rows)
    return rows


def _tied(a: float, b: float) -> bool:
    """Two median values count as equal (within the success tolerance, or 1e-6 relative)."""
    return abs(a - b) <= max(SUCCESS_TOL, 1e-6 * max(abs(a), abs(b)))


def _rank(rows: Sequence[dict[str, Any]]) -> None:
    """Set each row's ``rank`` among the methods of its problem and variant, by median fx.

    Rank 1 is the best median; medians within :func:`_tied` of each other share a rank
    (1 + the number of methods whose median is better beyond that). Rows without a
    median get None.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["problem"], row["variant"]), []).append(row)
    for group in groups.values():
        medians = [r["median_fx"] for r in group if r["median_fx"] is not None]
        for row in group:
            m = row["median_fx"]
            row["rank"] = (None if m is None else
                           1 + sum(o < m and not _tied(o, m) for o in medians))


def first_or_tied(rows: Sequence[dict[str, Any]], method: str = "glompo") -> tuple[int, int]:
    """On how many (problem, variant) rows ``method`` ranks first (ties included), of how many."""
    mine = [r for r in rows if r["method"] == method and r.get("rank") is not None]
    return sum(r["rank"] == 1 for r in mine), len(mine)


_HEADERS = ("problem", "variant", "min fx", "method", "seeds", "median fx", "rank", "best fx",
            f"|fx-min|<={SUCCESS_TOL:g}", "evals (median)", "wall s (median)", "failed")


def _cells(row: dict[str, Any]) -> list[str]:
    if row["skipped"] == row["seeds"]:
        median = best = "skipped"
        hits = evals = wall = _DASH
    else:
        median, best = _fmt(row["median_fx"]), _fmt(row["best_fx"])
        hits = _DASH if row["hits"] is None else f"{row['hits']}/{row['seeds']}"
        evals = _DASH if row["median_evals"] is None else f"{row['median_evals']:.0f}"
        wall = _DASH if row["median_wall_s"] is None else f"{row['median_wall_s']:.2f}"
    rank = _DASH if row.get("rank") is None else str(row["rank"])
    return [f"{row['problem']} {row['dims']}-D", row["variant"], _fmt(row["min_fx"]),
            row["label"], str(row["ok"]), median, rank, best, hits, evals, wall,
            str(row["failed"])]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The summary as an aligned plain-text table (a blank line between problems)."""
    cells = [_cells(r) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(_HEADERS)]
    right = {2, 4, 5, 6, 7, 8, 9, 10, 11}

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    out = [line(_HEADERS), line(["-" * w for w in widths])]
    previous: tuple[str, str] | None = None
    for row, values in zip(rows, cells):
        key = (row["problem"], row["variant"])
        if previous is not None and key != previous:
            out.append("")
        previous = key
        out.append(line(values))
    return "\n".join(out)


def markdown_table(rows: Sequence[dict[str, Any]], settings: dict[str, Any]) -> str:
    """The summary as a Markdown table, with a note of the settings."""
    seeds = settings["seeds"]
    out = [
        f"Budget {settings['budget']:,} evaluations per run, seeds {', '.join(map(str, seeds))}. "
        f"fx: the best value among a run's first {settings['budget']:,} evaluations; "
        "seeds: the runs that finished. "
        f"|fx-min|<={SUCCESS_TOL:g}: seeds within {SUCCESS_TOL:g} of the global minimum "
        f"({_DASH}: minimum unknown). Rotated: a fixed random rotation about the minimiser "
        "(Rana: about the domain centre) with a boundary penalty. Rank: by median fx "
        f"among the methods of the problem and variant, medians within {SUCCESS_TOL:g} "
        "(or 1e-6 relative) tied. Generated by `python -m benchmarks.quality`.",
        "",
        "| " + " | ".join(_HEADERS).replace("|fx-min|", "\\|fx-min\\|") + " |",
        "|" + "|".join(" --- " if i in (0, 1, 3) else " ---: " for i in range(len(_HEADERS)))
        + "|",
    ]
    for row in rows:
        out.append("| " + " | ".join(_cells(row)) + " |")
    return "\n".join(out) + "\n"


def _print_first(rows: Sequence[dict[str, Any]]) -> None:
    first, total = first_or_tied(rows)
    if total:
        print(f"\nGloMPO ranks first (ties included) on {first} of {total} rows")


def merge(paths: Sequence[Path], json_out: Path | None, markdown_out: Path | None) -> int:
    """Build one table from the runs of several ``--json`` files (``--merge``)."""
    runs: dict[tuple[str, str, str, int], RunResult] = {}
    settings: dict[str, Any] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            loaded = [RunResult(**r) for r in data["runs"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}: not a JSON file written by --json ({exc})") from exc
        for res in loaded:
            runs[(res.problem, res.variant, res.method, res.seed)] = res
        for key, value in data.get("settings", {}).items():
            if key in ("methods", "problems", "variants", "seeds"):
                settings[key] = list(dict.fromkeys([*settings.get(key, []), *value]))
            else:
                settings.setdefault(key, value)
    budgets = {r.budget for r in runs.values()}
    if len(budgets) > 1:
        raise SystemExit(f"the files mix budgets {sorted(budgets)}: merge runs of one budget")
    order = {p: i for i, p in enumerate(PROBLEMS)}
    methods = list(METHODS)
    results = sorted(runs.values(), key=lambda r: (
        order.get(r.problem, len(order)), VARIANTS.index(r.variant)
        if r.variant in VARIANTS else 9, methods.index(r.method) if r.method in methods
        else 99, r.seed))
    rows = summarise(results)
    settings["budget"] = budgets.pop() if budgets else settings.get("budget")
    settings["merged_from"] = [str(p) for p in paths]
    print(format_table(rows))
    _print_first(rows)
    if json_out:
        json_out.write_text(json.dumps(
            {"settings": settings, "runs": [asdict(r) for r in results], "summary": rows},
            indent=2, default=_jsonable))
    if markdown_out:
        markdown_out.write_text(markdown_table(rows, settings))
    return 0


# ============================================================================== main
def _resolve_problems(names: Sequence[str]) -> list[str]:
    lookup = {p.lower(): p for p in PROBLEMS}
    out = []
    for name in names:
        if name.lower() not in lookup:
            raise SystemExit(f"unknown problem {name!r}; choose from {', '.join(PROBLEMS)}")
        out.append(lookup[name.lower()])
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line (``--worker`` and ``--probe`` are internal)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality", description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small subset: problems Rastrigin and Schwefel, seeds 1 2, "
                             "budget 5000, methods glompo ipop de (options given override)")
    parser.add_argument("--problems", nargs="+", default=None, metavar="NAME",
                        help=f"from {', '.join(PROBLEMS)} (default: all)")
    parser.add_argument("--variants", nargs="+", default=None, choices=VARIANTS)
    parser.add_argument("--methods", nargs="+", default=None, choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="integers >= 1 (default 1 2 3 4 5)")
    parser.add_argument("--budget", type=int, default=None,
                        help=f"evaluations per run (default {DEFAULT_BUDGET})")
    parser.add_argument("--run-file", type=Path, default=RUN_FILE,
                        help="GloMPO's run file (default examples/recommended.yml)")
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="another interpreter for methods this one cannot run "
                             "(repeatable; also GLOMPO_QUALITY_PYTHON)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0,
                        help="seconds before a run is killed and counted failed")
    parser.add_argument("--json", type=Path, default=None, help="write runs and summary")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                        help="run nothing: build the table from the runs of earlier --json "
                             "files (a later file's run of the same problem, variant, "
                             "method and seed replaces an earlier one)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; print the table; write JSON/Markdown if asked."""
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        warnings.simplefilter("ignore")
        _emit(asdict(execute(RunSpec(**json.loads(args.worker)))))
    if args.probe is not None:
        methods, run_file = json.loads(args.probe)
        _emit(probe_methods(methods, run_file))

    if args.merge:
        return merge(args.merge, args.json, args.markdown)

    defaults: dict[str, Any] = QUICK if args.quick else {
        "problems": list(PROBLEMS), "seeds": list(DEFAULT_SEEDS), "budget": DEFAULT_BUDGET,
        "methods": list(METHODS), "variants": list(VARIANTS)}
    problems = _resolve_problems(args.problems or defaults["problems"])
    variants = args.variants or defaults["variants"]
    methods = list(dict.fromkeys(args.methods or defaults["methods"]))
    seeds = args.seeds or defaults["seeds"]
    budget = args.budget or defaults["budget"]
    if any(s < 1 for s in seeds):
        raise SystemExit("seeds must be >= 1 (pycma takes seed 0 as 'from the clock')")
    if budget < 1 or args.jobs < 1:
        raise SystemExit("--budget and --jobs must be >= 1")
    run_file = str(args.run_file.resolve())

    pythons = [sys.executable, *args.python,
               *[p for p in os.environ.get("GLOMPO_QUALITY_PYTHON", "").split(os.pathsep) if p]]
    chosen, reasons = choose_interpreters(methods, list(dict.fromkeys(pythons)), run_file)
    for method, reason in reasons.items():
        print(f"skipping {METHODS[method]}: {reason}")
    for method, python in chosen.items():
        if python != sys.executable:
            print(f"{METHODS[method]} runs with {python}")

    specs = [RunSpec(problem, PROBLEMS[problem], variant == "rotated", method, seed, budget,
                     run_file)
             for problem in problems for variant in variants for method in methods
             for seed in seeds]
    print(f"{len(specs)} runs: {len(problems)} problems x {len(variants)} variants x "
          f"{len(methods)} methods x {len(seeds)} seeds, budget {budget:,}, "
          f"{args.jobs} at a time\n")

    def run(spec: RunSpec) -> RunResult:
        if spec.method not in chosen:
            return RunResult.of(spec, "skipped", error=reasons.get(spec.method))
        res = run_in_subprocess(chosen[spec.method], spec, args.timeout)
        what = (f"fx {res.fx:<14.6g} evals {res.evals:>7} wall {res.wall_s:6.1f} s"
                if res.status == "ok" else f"FAILED: {res.error}")
        print(f"  {spec.problem:<11} {spec.variant:<7} {METHODS[spec.method]:<28} "
              f"seed {spec.seed:<3} {what}", flush=True)
        return res

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, specs))
    rows = summarise(results)
    print(f"\nbudget {budget:,} evaluations, seeds {' '.join(map(str, seeds))} "
          f"({time.perf_counter() - start:.0f} s in all)\n")
    print(format_table(rows))
    _print_first(rows)
    settings = {"budget": budget, "seeds": seeds, "problems": problems, "variants": variants,
                "methods": methods, "run_file": run_file, "success_tol": SUCCESS_TOL,
                "interpreters": chosen, "skipped": reasons}
    if args.json:
        args.json.write_text(json.dumps(
            {"settings": settings, "runs": [asdict(r) for r in results], "summary": rows},
            indent=2, default=_jsonable))
    if args.markdown:
        args.markdown.write_text(markdown_table(rows, settings))
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
