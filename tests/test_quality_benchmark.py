"""The quality benchmark (``benchmarks/quality.py``): rotated tasks, budget counting, CLI."""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str) -> ModuleType:
    """Import ``benchmarks.<name>`` from this checkout (the repository root is no package)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"benchmarks.{name}")


@pytest.fixture(scope="module")
def rotated() -> ModuleType:
    return _module("_rotated")


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    return _module("quality")


def _all_tasks(quality: ModuleType, rotated: ModuleType) -> list[object]:
    return [rotated.make_task(name, dims, rotated=True) for name, dims in quality.PROBLEMS.items()]


def test_rotation_keeps_the_minimum(quality: ModuleType, rotated: ModuleType) -> None:
    checked = 0
    for task in _all_tasks(quality, rotated):
        plain = task.task
        if plain.min_x is None:
            assert task.min_fx is None and task.min_x is None  # Rana 10-D: about the centre
            np.testing.assert_array_equal(
                task.centre, np.mean(np.asarray(plain.bounds), axis=1))
            continue
        assert task(plain.min_x) == plain(plain.min_x)  # z == min_x exactly
        assert task(plain.min_x) == pytest.approx(plain.min_fx, abs=1e-9)
        np.testing.assert_array_equal(task.min_x, plain.min_x)
        assert task.min_fx == plain.min_fx
        checked += 1
    assert checked == 6


def test_rotation_is_orthogonal_seeded_and_not_trivial(rotated: ModuleType) -> None:
    r1 = rotated.random_rotation(20, 1)
    np.testing.assert_allclose(r1 @ r1.T, np.eye(20), atol=1e-12)
    np.testing.assert_array_equal(r1, rotated.random_rotation(20, 1))
    assert not np.allclose(r1, rotated.random_rotation(20, 2))
    assert np.count_nonzero(np.abs(r1) > 1e-3) > 300  # it mixes the coordinates
    task = rotated.make_task("Rastrigin", 20, rotated=True)
    np.testing.assert_array_equal(task.rotation, rotated.random_rotation(20,
                                                                        rotated.ROTATION_SEED))
    # rotation preserves the distance to the centre
    x = np.linspace(-1.0, 1.0, 20)
    assert np.linalg.norm(task.rotate(x) - task.centre) == pytest.approx(
        np.linalg.norm(x - task.centre))


def test_rotated_task_is_picklable_and_equal_after(rotated: ModuleType) -> None:
    task = rotated.make_task("Schwefel", 20, rotated=True)
    copy = pickle.loads(pickle.dumps(task))
    x = np.full(20, 100.0)
    assert copy(x) == task(x)
    assert copy.bounds == task.bounds and copy.dims == 20


def test_penalty_zero_inside_positive_outside(rotated: ModuleType) -> None:
    lower, upper = np.full(3, -5.0), np.full(3, 5.0)
    assert rotated.boundary_penalty([0.0, 4.9, -5.0], lower, upper) == 0.0
    assert rotated.boundary_penalty([5.0, 5.0, 5.0], lower, upper) == 0.0
    outside = rotated.boundary_penalty([5.1, 0.0, 0.0], lower, upper)
    assert outside == pytest.approx(100.0 * (0.1 / 10.0) ** 2)
    assert rotated.boundary_penalty([6.0, 0.0, -7.0], lower, upper) > outside > 0.0
    # through a rotated task: a point whose rotation leaves the domain pays the penalty
    task = rotated.make_task("Schwefel", 20, rotated=True)
    lo, hi = np.asarray(task.bounds).T
    x = lo.copy()  # a corner: far from the minimiser near the opposite corner
    z = task.rotate(x)
    assert np.any((z < lo) | (z > hi))
    penalty = rotated.boundary_penalty(z, lo, hi)
    assert penalty > 0.0
    assert task(x) == pytest.approx(task.task(np.clip(z, lo, hi)) + penalty)


def test_counter_never_credits_past_the_budget(rotated: ModuleType) -> None:
    values = iter([5.0, 4.0, 3.0, 0.5, -100.0])
    counter = rotated.EvaluationCounter(lambda x: next(values), budget=3)
    for _ in range(3):
        counter([0.0])
    assert (counter.best_fx, counter.credited) == (3.0, 3)
    with pytest.raises(rotated.BudgetExhausted):
        counter([0.0])
    assert counter.best_fx == 3.0 and counter.credited == 3

    values = iter([5.0, 4.0, 3.0, 0.5, -100.0])
    lenient = rotated.EvaluationCounter(lambda x: next(values), budget=3, stop=False)
    seen = [lenient([float(i)]) for i in range(5)]
    assert seen == [5.0, 4.0, 3.0, 0.5, -100.0]  # evaluated and returned ...
    assert lenient.best_fx == 3.0  # ... but not credited
    np.testing.assert_array_equal(lenient.best_x, [2.0])
    assert (lenient.calls, lenient.credited) == (5, 3)


def test_adapt_selector_scales_width_and_budgets(quality: ModuleType) -> None:
    selector = {"CycleSelector": {"avail_opts": [
        {"CMAOptimizer": {"init": {"sigma0": 3.0, "popsize": 100}}},
        {"DualAnnealing": {"init": {"maxfun": 5000}}},
        {"NevergradOptimizer": {"init": {"optimizer": "NGOpt", "budget": 5000}}},
        "RandomOptimizer"]}}
    out = quality.adapt_selector(selector, width_ratio=100.0, budget_ratio=6.06)
    opts = out["CycleSelector"]["avail_opts"]
    assert opts[0]["CMAOptimizer"]["init"] == {"sigma0": 300.0, "popsize": 100}
    assert opts[1]["DualAnnealing"]["init"] == {"maxfun": 30300}
    assert opts[2]["NevergradOptimizer"]["init"]["budget"] == 30300
    assert opts[3] == "RandomOptimizer"
    assert selector["CycleSelector"]["avail_opts"][0]["CMAOptimizer"]["init"]["sigma0"] == 3.0
    assert quality._find_fmax("MaxFuncCalls(fmax=20000) | MaxSeconds(session_max=60)") == 20000
    assert quality._find_fmax({"MaxFuncCalls": {"fmax": 1500}}) == 1500


def test_summary_counts_hits_and_unknown_minimum(quality: ModuleType) -> None:
    def result(problem: str, fx: float | None, min_fx: float | None, status: str = "ok"
               ) -> object:
        return quality.RunResult(problem=problem, dims=2, variant="plain", method="de", seed=1,
                                 budget=10, status=status, fx=fx, evals=10, wall_s=1.0,
                                 min_fx=min_fx)

    rows = quality.summarise([result("A", 0.005, 0.0), result("A", 0.5, 0.0),
                              result("A", None, 0.0, "failed"), result("B", -3.0, None)])
    a, b = rows
    assert (a["hits"], a["seeds"], a["failed"], a["median_fx"], a["best_fx"]) == (
        1, 3, 1, pytest.approx(0.2525), 0.005)
    assert b["hits"] is None
    table = quality.format_table(rows)
    assert "1/3" in table and "—" in table
    assert "| A 2-D | plain |" in quality.markdown_table(rows, {"budget": 10, "seeds": [1]})


def _result(quality: ModuleType, method: str, seed: int, fx: float, problem: str = "A",
            budget: int = 10) -> object:
    return quality.RunResult(problem=problem, dims=2, variant="plain", method=method,
                             seed=seed, budget=budget, status="ok", fx=fx, evals=budget,
                             wall_s=1.0, min_fx=0.0)


def test_rank_by_median_with_ties(quality: ModuleType) -> None:
    runs = [_result(quality, "glompo", 1, 0.004), _result(quality, "glompo", 2, 0.006),
            _result(quality, "ipop", 1, 0.0), _result(quality, "ipop", 2, 0.0),
            _result(quality, "de", 1, 3.0), _result(quality, "de", 2, 5.0),
            _result(quality, "da", 1, 1.0), _result(quality, "da", 2, 1.0),
            _result(quality, "glompo", 1, 2.0, problem="B"),
            _result(quality, "de", 1, 1.0, problem="B")]
    rank = {(r["problem"], r["method"]): r["rank"] for r in quality.summarise(runs)}
    # A: glompo's median 0.005 and ipop's 0 are tied (within 1e-2); da third; de fourth
    assert rank == {("A", "glompo"): 1, ("A", "ipop"): 1, ("A", "da"): 3, ("A", "de"): 4,
                    ("B", "glompo"): 2, ("B", "de"): 1}
    assert quality.first_or_tied(quality.summarise(runs)) == (1, 2)


def test_merge_combines_files_and_later_runs_replace_earlier(
        quality: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from dataclasses import asdict

    def write(name: str, runs: list[object]) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"settings": {"budget": 10, "seeds": [1, 2],
                                                 "methods": sorted({r.method for r in runs})},
                                    "runs": [asdict(r) for r in runs]}))
        return path

    peers = write("peers.json", [_result(quality, "de", 1, 3.0), _result(quality, "de", 2, 1.0)])
    old = write("old.json", [_result(quality, "glompo", 1, 9.0),
                             _result(quality, "glompo", 2, 9.0)])
    new = write("new.json", [_result(quality, "glompo", 1, 0.5)])
    out, md = tmp_path / "all.json", tmp_path / "all.md"
    assert quality.main(["--merge", str(peers), str(old), str(new), "--json", str(out),
                         "--markdown", str(md)]) == 0
    summary = {r["method"]: r for r in json.loads(out.read_text())["summary"]}
    assert summary["glompo"]["median_fx"] == pytest.approx(4.75)  # seed 1 replaced: 0.5, 9.0
    assert summary["de"]["median_fx"] == pytest.approx(2.0)
    assert (summary["glompo"]["rank"], summary["de"]["rank"]) == (2, 1)
    assert "GloMPO ranks first (ties included) on 0 of 1 rows" in capsys.readouterr().out
    assert "| A 2-D | plain |" in md.read_text()
    other = write("other.json", [_result(quality, "da", 1, 1.0, budget=20)])
    with pytest.raises(SystemExit, match="mix budgets"):
        quality.main(["--merge", str(peers), str(other)])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a JSON file written by --json"):
        quality.main(["--merge", str(tmp_path / "bad.json")])


@pytest.mark.skipif(importlib.util.find_spec("cma") is None, reason="pycma is not installed")
def test_quick_command_prints_a_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.quality", "--quick", "--budget", "500", "--seeds",
         "1", "--problems", "Rastrigin", "--methods", "ipop"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "median fx" in out and "pycma IPOP" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("Rastrigin 20-D")]
    assert len(lines) == 2  # plain and rotated
    assert all(" 500 " in ln and "0/1" in ln for ln in lines)


def test_execute_reports_a_failure_as_a_row(quality: ModuleType) -> None:
    spec = quality.RunSpec("Rastrigin", 2, False, "no-such-method", 1, 10)
    res = quality.execute(spec)
    assert res.status == "failed" and "KeyError" in res.error
    assert res.min_fx == 0.0


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="scipy is not installed")
def test_execute_stops_a_peer_at_the_budget(quality: ModuleType) -> None:
    res = quality.execute(quality.RunSpec("Rastrigin", 20, True, "de", 1, 700))
    assert res.status == "ok" and res.evals == 700
    assert res.info["calls"] == 701  # the refused call ended the run
    assert res.fx > 0.0
