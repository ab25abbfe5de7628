"""The bbob benchmark (``benchmarks/bbob.py``): COCO runs, groups, bootstrap, merge."""

from __future__ import annotations

import importlib
import itertools
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bbob() -> ModuleType:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("benchmarks.bbob")


# ------------------------------------------------------------------------- --quick
@pytest.fixture(scope="module")
def quick(bbob: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bbob")
    code = bbob.main(["--quick", "--results-dir", str(out / "coco"), "--json",
                      str(out / "quick.json"), "--markdown", str(out / "quick.md")])
    data = json.loads((out / "quick.json").read_text())
    return {"code": code, "out": out, "data": data,
            "markdown": (out / "quick.md").read_text()}


def test_quick_runs_every_method_on_every_problem(quick: dict[str, Any]) -> None:
    assert quick["code"] == 0
    runs = quick["data"]["runs"]
    assert {(r["method"], r["function"]) for r in runs} == {
        (m, f) for m in ("glompo-recommended", "bipop", "de") for f in (1, 15)}
    for run in runs:
        assert run["status"] == "ok", run["error"]
        assert (run["dim"], run["instance"], run["seed"], run["budget"]) == (2, 1, 1, 400)
        assert 1 <= run["evals"] <= 400
        assert run["parallel"] == (4 if run["method"] == "glompo-recommended" else 1)
        # the anytime record: 50, 100, 200 x D (and 4 x those for GloMPO), never worse later
        counts = sorted(int(n) for n in run["trace"])
        assert {100, 200, 400} <= set(counts)
        if run["method"] == "glompo-recommended":
            assert 400 in counts and max(counts) == 400
        gaps = [run["trace"][str(n)] for n in counts]
        assert all(b <= a for a, b in itertools.pairwise(gaps))
        assert run["gap"] == gaps[-1] >= 0.0
    # f1 (the sphere) is solved to COCO's precision by everyone within 400 evaluations
    # (the default portfolio's first CMA-ES run has every worker: first_alone)
    assert all(r["gap"] < 1e-8 for r in runs if r["function"] == 1)


def test_quick_writes_coco_data_per_method(quick: dict[str, Any], bbob: ModuleType) -> None:
    coco = quick["out"] / "coco"
    for method in ("glompo-recommended", "bipop", "de"):
        for function in (1, 15):
            folder = coco / method / f"f{function:03d}_d02_i01_s1"
            info = list(folder.glob("*.info"))
            assert len(info) == 1, list(folder.iterdir())
            assert f"algId = '{method}'" in info[0].read_text()
            run = next(r for r in quick["data"]["runs"]
                       if r["method"] == method and r["function"] == function)
            assert bbob.read_fopt(folder) == run["f_opt"]
            # COCO counted exactly the evaluations the run credited
            assert f"1:{run['evals']}|" in info[0].read_text()


def test_quick_table_has_both_views_every_group_and_intervals(quick: dict[str, Any]) -> None:
    rows = quick["data"]["summary"]
    assert {r["view"] for r in rows} == {"evaluations", "rounds"}
    assert {r["group"] for r in rows} == {"separable", "multimodal", "all"}
    assert {r["multiplier"] for r in rows} == {50, 100, 200}
    for row in rows:
        assert set(row) == {"view", "multiplier", "group", "method", "runs", "mean", "low",
                            "high"}
        if row["mean"] is not None:
            assert row["low"] <= row["mean"] <= row["high"]
    # GloMPO (4 workers) reached 400 evaluations = 50 rounds x 2 D x 4; not 100 rounds
    glompo = {(r["view"], r["multiplier"], r["group"]): r for r in rows
              if r["method"] == "glompo-recommended"}
    assert glompo[("rounds", 50, "all")]["runs"] == 2
    assert glompo[("rounds", 100, "all")]["mean"] is None
    md = quick["markdown"]
    assert "| view | budget | group | glompo-recommended | pycma BIPOP |" in md
    assert "| rounds | 50 x D | all |" in md


# --------------------------------------------------------------------------- units
def test_groups_are_cocos(bbob: ModuleType) -> None:
    assert [bbob.group_of(f) for f in range(1, 25)] == (
        ["separable"] * 5 + ["moderate"] * 4 + ["ill-conditioned"] * 5
        + ["multimodal"] * 5 + ["weakly structured"] * 5)
    with pytest.raises(ValueError, match="bbob has functions 1 to 24, not 25"):
        bbob.group_of(25)
    assert bbob.parse_functions(["1", "15-17", "2"]) == [1, 15, 16, 17, 2]
    with pytest.raises(SystemExit, match="bbob has functions 1 to 24"):
        bbob.parse_functions(["20-25"])


def test_bootstrap(bbob: ModuleType) -> None:
    # every function's runs agree: nothing to resample, the interval is the mean
    assert bbob.bootstrap_mean({1: [0.0, 0.0, 0.0], 2: [1.0, 1.0, 1.0]}) == (0.5, 0.5, 0.5)
    mean, low, high = bbob.bootstrap_mean({3: [0.0, 1.0, 2.0, 3.0], 4: [-8.0]})
    assert mean == pytest.approx(-2.0 / 5)
    assert -8.0 / 5 < low < mean < high < 4.0 / 5  # only function 3's runs move it
    assert bbob.bootstrap_mean({3: [0.0, 1.0, 2.0, 3.0], 4: [-8.0]}) == (mean, low, high)
    wide = bbob.bootstrap_mean({3: [0.0, 1.0, 2.0, 3.0], 4: [-8.0]}, level=0.99)
    assert wide[1] <= low and wide[2] >= high
    with pytest.raises(ValueError, match="no values"):
        bbob.bootstrap_mean({5: []})


def test_recorder_refuses_past_the_budget(bbob: ModuleType) -> None:
    calls: list[float] = []

    def problem(x: np.ndarray) -> float:
        calls.append(float(x[0]))
        return float(x[0])

    rec = bbob.AnytimeRecorder(problem, 3)
    for value in (5.0, 7.0, 2.0):
        rec(np.array([value]))
    with pytest.raises(bbob.BudgetExhausted, match="budget of 3"):
        rec(np.array([-100.0]))
    assert calls == [5.0, 7.0, 2.0] and rec.used == 3
    assert rec.best_after([1, 2, 3, 4]) == {1: 5.0, 2: 5.0, 3: 2.0}
    assert bbob.checkpoints(2, 400, 4) == [100, 200, 400]
    assert bbob.checkpoints(10, 20_000, 1)[:3] == [500, 1000, 2000]


def test_log_gap_and_method_names(bbob: ModuleType) -> None:
    assert bbob.log_gap(0.0) == -8.0
    assert bbob.log_gap(-1e-12) == -8.0  # rounding below f_opt
    assert bbob.log_gap(1.0) == pytest.approx(math.log10(1 + 1e-8))
    assert bbob.resolve_method("bipop") == ("bipop", None)
    key, path = bbob.resolve_method(str(ROOT / "examples" / "recommended.yml"))
    assert key == "glompo-recommended" and path.endswith("recommended.yml")
    with pytest.raises(SystemExit, match="unknown method 'bipopp'; did you mean 'bipop'"):
        bbob.resolve_method("bipopp")
    with pytest.raises(SystemExit, match=r"run file nowhere\.yml does not exist"):
        bbob.resolve_method("nowhere.yml")


def test_run_file_gets_box_sigma_and_budget(bbob: ModuleType, tmp_path: Path) -> None:
    """A file in units and budgets (sigma0, maxfun) is adapted to the box and budget."""
    run_file = tmp_path / "absolute.yml"
    run_file.write_text(
        "opt_selector:\n  CycleSelector:\n    avail_opts:\n"
        "      - CMAOptimizer: {init: {sigma0: 1.5, popsize: 100, verbose: false}}\n"
        "      - CMAOptimizer: {init: {sigma0: 1.5, popsize: 200, verbose: false}}\n"
        "      - DualAnnealing: {init: {maxfun: 5000}}\n"
        "exit_conditions: 'MaxFuncCalls(fmax=20000)'\n")
    adapted = bbob.adapt_run_file(run_file, 10, 20_000, 0.3)
    opts = adapted["opt_selector"]["CycleSelector"]["avail_opts"]
    assert [o["CMAOptimizer"]["init"]["sigma0"] for o in opts[:2]] == [3.0, 3.0]
    assert [o["CMAOptimizer"]["init"]["popsize"] for o in opts[:2]] == [100, 200]
    assert opts[2]["DualAnnealing"]["init"]["maxfun"] == 5000  # a quarter of 20,000
    small = bbob.adapt_run_file(run_file, 2, 400, 0.3)
    assert small["opt_selector"]["CycleSelector"]["avail_opts"][2]["DualAnnealing"][
        "init"]["maxfun"] == 100


def test_the_recommended_file_needs_no_adapting_of_units(bbob: ModuleType) -> None:
    """examples/recommended.yml (the default portfolio) has no number in the task's units:
    its CMA-ES step is relative to the box (sigma_rel) and stays as written."""
    import yaml

    recommended = ROOT / "examples" / "recommended.yml"
    adapted = bbob.adapt_run_file(recommended, 10, 20_000, 0.3)
    assert "sigma0" not in yaml.safe_dump(adapted["opt_selector"])
    assert "sigma_rel" in yaml.safe_dump(adapted["opt_selector"])


def test_default_method_runs_the_portfolio_glompo_run_gives(bbob: ModuleType,
                                                            tmp_path: Path) -> None:
    """``--methods default``: a run file with no opt_selector, so the installed plugins'
    default portfolio runs, on the bbob box and budget, observed by COCO."""
    assert bbob.resolve_method("default") == ("glompo-default", "default")
    spec = bbob.RunSpec(1, 2, 6, "glompo-default", 1, 200, results_dir=str(tmp_path),
                        run_file="default")
    assert spec.parallel == 4
    result = bbob.execute(spec)
    assert result.status == "ok", result.error
    assert result.evals == 200 and result.info["manager_f_counter"] == 200
    assert "CMAPopulationSelector" in result.info["opt_selector"]  # glompo-cma's default
    assert result.gap is not None and result.gap < 1.0  # instance 6: asked for by number
    assert list((tmp_path / "glompo-default" / "f001_d02_i06_s1").glob("*.info"))


# --------------------------------------------------------------------------- merge
def _run(bbob: ModuleType, function: int, method: str, instance: int, gap: float,
         parallel: int = 1) -> Any:
    spec = bbob.RunSpec(function, 2, instance, method, 1, 400,
                        run_file="x.yml" if parallel > 1 else None)
    trace = {str(n): gap * (2.0 if n < 400 else 1.0) for n in bbob.checkpoints(2, 400, parallel)}
    return bbob.RunResult.of(spec, "ok", f_opt=0.0, gap=gap, evals=400, wall_s=1.0,
                             trace=trace)


def test_merge_joins_pieces_and_later_runs_replace_earlier(
        bbob: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def write(name: str, runs: list[Any], methods: list[str]) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"settings": {"methods": methods},
                                    "runs": [asdict(r) for r in runs]}))
        return path

    first = write("a.json", [_run(bbob, 1, "bipop", 1, 1.0), _run(bbob, 1, "bipop", 2, 10.0),
                             _run(bbob, 15, "bipop", 1, 100.0)], ["bipop"])
    second = write("b.json", [_run(bbob, 1, "bipop", 2, 1e-3),  # replaces instance 2
                              _run(bbob, 15, "g", 1, 1.0, parallel=4)], ["g"])
    out = tmp_path / "merged.json"
    assert bbob.merge([first, second], out, tmp_path / "merged.md") == 0
    data = json.loads(out.read_text())
    assert len(data["runs"]) == 4
    assert data["settings"]["methods"] == ["bipop", "g"]
    assert data["settings"]["instances"] == [1, 2]
    rows = {(r["view"], r["multiplier"], r["group"], r["method"]): r for r in data["summary"]}
    sep = rows[("evaluations", 200, "separable", "bipop")]
    assert sep["mean"] == pytest.approx((math.log10(1 + 1e-8) + math.log10(1e-3 + 1e-8)) / 2)
    assert rows[("evaluations", 200, "all", "bipop")]["runs"] == 3
    # equal rounds: g runs 4 at a time, so 50 rounds x 2 D are its 400 evaluations
    assert rows[("rounds", 50, "multimodal", "g")]["mean"] == pytest.approx(
        math.log10(1.0 + 1e-8))
    assert rows[("evaluations", 50, "multimodal", "g")]["mean"] == pytest.approx(
        math.log10(2.0 + 1e-8))
    assert rows[("rounds", 100, "multimodal", "g")]["mean"] is None
    assert ("evaluations", 50, "separable", "g") not in rows  # g ran no separable problem
    assert "| evaluations | 200 x D | separable |" in (tmp_path / "merged.md").read_text()
    assert "multimodal" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit, match=r"bad\.json: not a JSON file written by"):
        bbob.merge([bad], None, None)


# ------------------------------------------------------------------------- bbob_judge
def test_judge_compares_matched_runs_per_group_with_intervals_over_instances(
        bbob: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge = importlib.import_module("benchmarks.bbob_judge")
    # budget 400 = 200 x D in 2-D: each run's trace has its gap at 400 and twice it before
    runs = [_run(bbob, 1, "g", i, 1e-4) for i in (1, 2, 3)]
    runs += [_run(bbob, 1, "bipop", i, 1e-2) for i in (1, 2, 3)]
    runs += [_run(bbob, 15, "g", i, 10.0) for i in (1, 2)]
    runs += [_run(bbob, 15, "bipop", i, 1.0) for i in (1, 2)]
    runs += [_run(bbob, 15, "g", 3, 1e-6)]  # no bipop run of this problem: not counted
    path = tmp_path / "runs.json"
    path.write_text(json.dumps({"settings": {}, "runs": [asdict(r) for r in runs]}))
    results, _ = bbob.load_runs([path])
    rows = {(r.multiplier, r.group): r for r in judge.judge(results, "g", "bipop", [100, 200])}
    sep = rows[(200, "separable")]
    assert (sep.runs, sep.instances) == (3, 3)
    assert sep.diff == pytest.approx(math.log10(1e-4 + 1e-8) - math.log10(1e-2 + 1e-8))
    assert sep.diff_low == pytest.approx(sep.diff) and sep.diff_high == pytest.approx(sep.diff)
    assert (sep.better, sep.worse) == (3, 0)
    multi = rows[(200, "multimodal")]
    assert (multi.runs, multi.better, multi.worse) == (2, 0, 2)  # instance 3 unmatched
    both = rows[(200, "all")]
    assert both.runs == 5 and both.diff_low < both.diff < both.diff_high  # instances vary
    # a smaller budget is read from the same runs' anytime record (twice the final gap)
    assert rows[(100, "separable")].mean == pytest.approx(math.log10(2e-4 + 1e-8))
    assert judge.main([str(path), "--method", "g", "--against", "bipop",
                       "--multipliers", "200", "--markdown", str(tmp_path / "j.md")]) == 0
    assert "| 2 | 200 x D | all | 5 (3) |" in (tmp_path / "j.md").read_text()
    capsys.readouterr()
    assert judge.main([str(path), "--method", "nope", "--against", "bipop"]) == 2
    assert "methods in the files: bipop, g" in capsys.readouterr().err


def test_single_run_check_solves_the_sphere_with_both_implementations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single = importlib.import_module("benchmarks.cma_single_run")
    out = tmp_path / "single.json"
    assert single.main(["--functions", "1", "--dim", "2", "--instance", "1", "--starts", "2",
                        "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["implementation"] for row in rows] == ["pycma", "CMAOptimizer"]
    for row in rows:  # f_opt read from COCO's file: a solved sphere has a gap below 1e-4
        assert row["below_1e-4"] == 2 and row["mean"] < -4 and row["mean_evals"] > 0
        assert len(row["gaps"]) == 2
    assert "CMAOptimizer" in capsys.readouterr().out
