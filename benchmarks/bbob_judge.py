"""Judge one method against another on the same bbob runs, per function group.

``python -m benchmarks.bbob_judge RUNS.json ... --method glompo-default --against bipop``
reads the ``--json`` files of :mod:`benchmarks.bbob`, keeps the problems both methods ran
(the same function, dimension, instance and seed), and prints, per dimension, budget
(``m x D`` evaluations, read from each run's anytime record: a run of a larger budget
gives the smaller ones too) and function group, both means of log10(f_best - f_opt +
1e-8) and their difference, each with a bootstrap 90 % interval **over instances** (the
instances are resampled, each with all its functions and seeds), and how many runs each
method won by more than 0.1.

Only matched runs count, so pieces of different seeds or instances can be merged without
favouring either method. A method whose behaviour depends on its budget (GloMPO's default
reads the run's budget) should be run at each budget judged; a peer that does not look at
the budget (pycma BIPOP) can be read at every budget from its largest run.

Examples
--------
::

    python -m benchmarks.bbob_judge piece1.json piece2.json --method glompo-default \\
        --against bipop --multipliers 2000 10000 --markdown judged.md
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bbob import ALL, GROUPS, RunResult, _num, group_of, load_runs, log_gap

__all__ = ["Judged", "judge", "main"]

#: The difference within which a group counts as level (issue 15: "within 0.1").
TIE = 0.1


@dataclass(frozen=True)
class Judged:
    """One row: ``method`` against ``against`` on one dimension, budget and group.

    Means and differences are of log10 gaps (lower is better); ``*_low``/``*_high`` are
    the bootstrap interval over instances. ``better``/``worse``: runs where ``method``'s
    gap is lower/higher than ``against``'s by more than :data:`TIE`.
    """

    dim: int
    multiplier: int
    group: str
    runs: int
    instances: int
    mean: float
    mean_low: float
    mean_high: float
    against_mean: float
    against_low: float
    against_high: float
    diff: float
    diff_low: float
    diff_high: float
    better: int
    worse: int


def _interval(values: np.ndarray, instance_of: np.ndarray, rng: np.random.Generator,
              samples: int, level: float) -> tuple[float, float]:
    """Bootstrap interval of the mean of ``values``, instances resampled."""
    instances = np.unique(instance_of)
    members = [np.flatnonzero(instance_of == i) for i in instances]
    means = np.empty(samples)
    for k in range(samples):
        picks = rng.integers(0, len(instances), size=len(instances))
        chosen = np.concatenate([members[p] for p in picks])
        means[k] = values[chosen].mean()
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def judge(results: Sequence[RunResult], method: str, against: str,
          multipliers: Sequence[int], *, samples: int = 2000, seed: int = 1,
          level: float = 0.90) -> list[Judged]:
    """The rows for every dimension and multiplier both methods reached, per group.

    Raises
    ------
    ValueError
        The two methods have no problem in common.
    """
    def by_problem(name: str) -> dict[tuple[int, int, int, int], RunResult]:
        return {(r.function, r.dim, r.instance, r.seed): r for r in results
                if r.method == name and r.status == "ok"}

    mine, theirs = by_problem(method), by_problem(against)
    common = sorted(set(mine) & set(theirs))
    if not common:
        raise ValueError(f"{method!r} and {against!r} have no run of the same problem "
                         f"(function, dimension, instance, seed) in these files")
    rows: list[Judged] = []
    rng = np.random.default_rng(seed)
    for dim in sorted({key[1] for key in common}):
        for m in multipliers:
            evals = m * dim
            pairs = []
            for key in common:
                if key[1] != dim:
                    continue
                gap, peer = mine[key].gap_at(evals), theirs[key].gap_at(evals)
                if gap is not None and peer is not None:
                    pairs.append((key, log_gap(gap), log_gap(peer)))
            if not pairs:
                continue
            for group in (*GROUPS, ALL):
                chosen = [p for p in pairs if group == ALL or group_of(p[0][0]) == group]
                if not chosen:
                    continue
                inst = np.array([p[0][2] for p in chosen])
                a = np.array([p[1] for p in chosen])
                b = np.array([p[2] for p in chosen])
                d = a - b
                intervals = [_interval(v, inst, rng, samples, level) for v in (a, b, d)]
                rows.append(Judged(
                    dim=dim, multiplier=m, group=group, runs=len(chosen),
                    instances=len(np.unique(inst)), mean=float(a.mean()),
                    mean_low=intervals[0][0], mean_high=intervals[0][1],
                    against_mean=float(b.mean()), against_low=intervals[1][0],
                    against_high=intervals[1][1], diff=float(d.mean()),
                    diff_low=intervals[2][0], diff_high=intervals[2][1],
                    better=int(np.sum(d < -TIE)), worse=int(np.sum(d > TIE))))
    return rows


def markdown(rows: Sequence[Judged], method: str, against: str) -> str:
    """The rows as a markdown table."""
    lines = [f"| D | budget | group | runs (instances) | {method} | {against} | "
             f"difference | better / worse by > {TIE} |",
             "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r.dim} | {r.multiplier} x D | {r.group} | {r.runs} ({r.instances}) | "
            f"{_num(r.mean)} [{_num(r.mean_low)}, {_num(r.mean_high)}] | "
            f"{_num(r.against_mean)} [{_num(r.against_low)}, {_num(r.against_high)}] | "
            f"{_num(r.diff)} [{_num(r.diff_low)}, {_num(r.diff_high)}] | "
            f"{r.better} / {r.worse} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bbob_judge",
        description="One method against another on the same bbob runs, per group, with "
                    "bootstrap intervals over instances.")
    parser.add_argument("files", nargs="+", type=Path,
                        help="--json files of python -m benchmarks.bbob")
    parser.add_argument("--method", required=True, help="e.g. glompo-default")
    parser.add_argument("--against", default="bipop", help="default bipop")
    parser.add_argument("--multipliers", nargs="+", type=int, default=[2000, 10000],
                        help="budgets m (m x D evaluations; default 2000 10000)")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Print (and write) the table; 2 on bad input."""
    args = build_parser().parse_args(argv)
    results, _ = load_runs(args.files)
    try:
        rows = judge(results, args.method, args.against, args.multipliers)
    except ValueError as exc:
        known = sorted({r.method for r in results})
        print(f"bbob_judge: {exc}; methods in the files: {', '.join(known)}",
              file=sys.stderr)
        return 2
    table = markdown(rows, args.method, args.against)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
