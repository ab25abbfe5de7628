"""The default portfolio: a run file without ``opt_selector`` takes the selector (and the
stoppers, when it has none) that the first plugin answering ``glompo_default_portfolio``
gives, says so, and records it; without an answer the error says what to do.

The plugins here are stand-ins registered in a fresh registry (never the machine's entry
points); glompo-cma's own answer is tested in plugins/glompo-cma/tests/test_portfolio.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import glompo_core.plugins
import glompo_core.runfile
from glompo_core import hookimpl
from glompo_core._portfolio import ask_default_portfolio
from glompo_core.cli import main
from glompo_core.errors import PluginError, RunFileError
from glompo_core.exit_conditions import MaxFuncCalls, TargetCost
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.runfile import RunFile, build_manager, default_portfolio, load_run_file
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import BestUnmoving
from tests._plugin_fixtures import write_run_file

NO_SELECTOR = """
    task: Rastrigin
    task_kwargs: {{dims: 3}}
    working_dir: {working_dir}
    backend: threads
    max_jobs: 2
    seed: 3
    exit_conditions: "MaxFuncCalls(fmax={fmax}) | TargetCost(target=0.0, atol=0.001)"
    summary_files: 1
    """


def portfolio(popsize: int, calls: int = 300) -> dict[str, Any]:
    """A portfolio of random search, told apart by its popsize."""
    return {"opt_selector": {"CycleSelector": {"avail_opts": [
                {"RandomOptimizer": {"init": {"popsize": popsize, "iters": 20}}}]}},
            "stoppers": f"BestUnmoving(calls={calls}, tol=0.01)"}


class Answering:
    """A plugin giving ``answer`` as the default portfolio, recording what it was asked."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.asked: list[dict[str, Any]] = []

    @hookimpl
    def glompo_default_portfolio(self, n_parms: int | None, budget: int | None,
                                 available: Any) -> Any:
        self.asked.append({"n_parms": n_parms, "budget": budget,
                           "random": available("optimizer", "RandomOptimizer"),
                           "missing": available("optimizer", "NoSuchOptimizer")})
        return self.answer


class First(Answering):
    @hookimpl(tryfirst=True)
    def glompo_default_portfolio(self, n_parms: int | None, budget: int | None,
                                 available: Any) -> Any:
        return super().glompo_default_portfolio(n_parms, budget, available)


class Last(Answering):
    """Like glompo-cma's implementation: trylast, so that other plugins come first."""

    @hookimpl(trylast=True)
    def glompo_default_portfolio(self, n_parms: int | None, budget: int | None,
                                 available: Any) -> Any:
        return super().glompo_default_portfolio(n_parms, budget, available)


def registry(*plugins: tuple[str, Any]) -> PluginManager:
    return PluginManager(load_entrypoints=False, plugins=plugins)


def no_selector(tmp_path: Path, fmax: int = 400, extra: str = "") -> Path:
    return write_run_file(tmp_path, NO_SELECTOR.format(working_dir=tmp_path / "out",
                                                       fmax=fmax) + extra)


@pytest.fixture
def cli_pm(monkeypatch: pytest.MonkeyPatch) -> PluginManager:
    """The CLI's registry: built-ins plus a trylast default portfolio of random search."""
    pm = registry(("fallback", Last(portfolio(popsize=7))))
    monkeypatch.setattr(glompo_core.runfile, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(sys, "path", list(sys.path))  # run files add their directory
    return pm


# ============================================================================ glompo run


def test_glompo_run_says_whose_default_once_also_when_verbose(
        tmp_path: Path, cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    """At -v the run file's INFO record says it on the console: the line is not doubled."""
    code = main(["run", str(no_selector(tmp_path)), "--no-progress", "-v"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (out + err).count("no opt_selector") == 1, out + err


def test_glompo_run_uses_the_default_says_whose_and_records_it(
        tmp_path: Path, cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    path = no_selector(tmp_path)
    code = main(["run", str(path), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("best fx: ") and "default portfolio" not in out  # said on stderr
    said = [line for line in err.splitlines() if "default portfolio" in line]
    assert len(said) == 1, err
    assert said[0].startswith("glompo: no opt_selector in the run file: using the default "
                              "portfolio from fallback (")
    # the equivalent run-file text, on that one line
    assert ("opt_selector: {CycleSelector: {avail_opts: [{RandomOptimizer: {init: "
            "{popsize: 7, iters: 20}}}]}}; stoppers: BestUnmoving(calls=300, tol=0.01)"
            in said[0])
    summary = yaml.safe_load((tmp_path / "out" / "glompo_manager_log.yml").read_text())
    record = summary["Settings"]["Default Portfolio"]
    assert record["From"].startswith("plugin 'fallback' (")
    assert record["Sections"] == portfolio(popsize=7)
    assert summary["Settings"]["Stoppers"] == "BestUnmoving(calls=300, tol=0.01)"
    used = summary["Settings"]["Optimizer Selector"]["Available Optimizers"]
    assert used == {0: {"type": "RandomOptimizer", "init_kwargs": {"popsize": 7, "iters": 20},
                        "call_kwargs": {}}}
    assert summary["Solution"]["origin"]["type"] == "RandomOptimizer"


def test_a_run_file_with_a_selector_is_not_given_the_default(
        tmp_path: Path, cli_pm: PluginManager, capsys: pytest.CaptureFixture[str]) -> None:
    path = no_selector(tmp_path, extra="opt_selector: {CycleSelector: {avail_opts: "
                                       "[RandomOptimizer]}}\n")
    assert main(["run", str(path), "--no-progress"]) == 0
    _, err = capsys.readouterr()
    assert "default portfolio" not in err
    summary = yaml.safe_load((tmp_path / "out" / "glompo_manager_log.yml").read_text())
    assert summary["Settings"]["Default Portfolio"] is None
    assert summary["Settings"]["Stoppers"] is None  # the default's stoppers are not taken
    asker = cli_pm.hook_manager.get_plugin("fallback")
    assert isinstance(asker, Last) and asker.asked == []


def test_glompo_run_without_any_answer_says_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    pm = registry(("declines", Answering(None)))
    monkeypatch.setattr(glompo_core.runfile, "get_plugin_manager", lambda: pm)
    monkeypatch.setattr(glompo_core.plugins, "get_plugin_manager", lambda: pm)
    path = no_selector(tmp_path)
    assert main(["run", str(path), "--no-progress"]) == 2
    _, err = capsys.readouterr()
    text = " ".join(err.split())
    assert f"error: {path}:1: the run file has no 'opt_selector' and no installed plugin " \
           "gives a default portfolio" in text
    assert "give an opt_selector" in text
    assert "pip install ./plugins/glompo-cma ./plugins/glompo-scipy" in text
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


# ============================================================================ the hook


def test_the_hook_is_asked_with_the_runs_size_and_budget(tmp_path: Path) -> None:
    plugin = Answering(portfolio(popsize=5))
    kwargs = load_run_file(no_selector(tmp_path, fmax=1234), plugin_manager=registry(
        ("p", plugin)))
    assert plugin.asked == [{"n_parms": 3, "budget": 1234, "random": True, "missing": False}]
    assert isinstance(kwargs["opt_selector"], CycleSelector)
    assert kwargs["opt_selector"].avail_opts == [(RandomOptimizer,
                                                  {"popsize": 5, "iters": 20}, {})]
    assert isinstance(kwargs["stoppers"], BestUnmoving)


def test_bounds_given_in_the_file_set_n_parms_and_no_budget_is_none(tmp_path: Path) -> None:
    plugin = Answering(portfolio(popsize=5))
    path = write_run_file(tmp_path, """
        task: Rastrigin
        task_kwargs: {dims: 4}
        bounds: [-1, 1]
        exit_conditions: "MaxSeconds(session_max=60)"
        """)
    load_run_file(path, plugin_manager=registry(("p", plugin)))
    assert plugin.asked[0]["n_parms"] == 4 and plugin.asked[0]["budget"] is None


@pytest.mark.parametrize("order", ["first-registered", "last-registered"])
def test_a_plain_plugin_takes_precedence_over_a_trylast_one(tmp_path: Path,
                                                            order: str) -> None:
    fallback, other = Last(portfolio(popsize=7)), Answering(portfolio(popsize=11))
    plugins = [("fallback", fallback), ("other", other)]
    pm = registry(*(plugins if order == "first-registered" else plugins[::-1]))
    run = RunFile(no_selector(tmp_path))
    kwargs = load_run_file(run, plugin_manager=pm)
    assert kwargs["opt_selector"].avail_opts[0][1]["popsize"] == 11
    assert run.default_portfolio is not None and run.default_portfolio.plugin == "other"
    assert fallback.asked == []  # firstresult: the call stops at the first answer
    # the same answer as pluggy's own firstresult call of the hook
    called = pm.hook_manager.hook.glompo_default_portfolio(n_parms=3, budget=400,
                                                           available=pm.has)
    assert called == portfolio(popsize=11)


def test_tryfirst_beats_a_plain_plugin_registered_later(tmp_path: Path) -> None:
    pm = registry(("first", First(portfolio(popsize=13))),
                  ("plain", Answering(portfolio(popsize=11))),
                  ("fallback", Last(portfolio(popsize=7))))
    found = ask_default_portfolio(pm, 3, None)
    assert found is not None and found.plugin == "first"
    assert found.sections == portfolio(popsize=13)


def test_a_plugin_returning_none_leaves_the_choice_to_the_next(tmp_path: Path) -> None:
    declines = Answering(None)
    pm = registry(("fallback", Last(portfolio(popsize=7))), ("declines", declines))
    found = ask_default_portfolio(pm, 3, 100)
    assert declines.asked and found is not None and found.plugin == "fallback"


def test_the_files_stoppers_are_kept(tmp_path: Path) -> None:
    run = RunFile(no_selector(tmp_path, extra='stoppers: "BestUnmoving(calls=50, tol=0.5)"\n'))
    kwargs = load_run_file(run, plugin_manager=registry(("p", Answering(portfolio(5)))))
    assert str(kwargs["stoppers"]) == "BestUnmoving(calls=50, tol=0.5)"
    assert run.default_portfolio is not None
    assert run.default_portfolio.used == ("opt_selector",)
    assert "stoppers" not in run.default_portfolio.as_summary()["Sections"]


def test_errors_in_the_default_point_at_the_plugin_not_at_a_line(tmp_path: Path) -> None:
    bad = {"opt_selector": {"CycleSelector": {"avail_opts": [
        {"RandomOptimizer": {"init": {"popsise": 10}}}]}}}
    path = no_selector(tmp_path)
    with pytest.raises(RunFileError) as info:
        load_run_file(path, plugin_manager=registry(("broken", Answering(bad))))
    message = str(info.value)
    assert message.startswith(f"{path} (default portfolio from broken (")
    assert "key 'opt_selector.CycleSelector.avail_opts[0].RandomOptimizer.init.popsise'" \
        in message
    assert f"{path}:" not in message  # no line of the file is blamed


def test_setup_errors_in_the_default_point_at_the_plugin(tmp_path: Path) -> None:
    bad = {"opt_selector": {"CycleSelector": {"avail_opts": ["RandomOptimizer"]}},
           "stoppers": "BestUnmoving(calls=-5, tol=0.01)"}
    path = no_selector(tmp_path)
    with pytest.raises(RunFileError, match=r"\(default portfolio from broken \(.*\): "
                                           r"key 'stoppers'"):
        build_manager(path, plugin_manager=registry(("broken", Answering(bad))))


@pytest.mark.parametrize(("answer", "problem"), [
    ("CycleSelector", "returned str 'CycleSelector'; return a mapping of run-file sections"),
    ({"opt_selector": "CycleSelector", "exit_conditions": "MaxFuncCalls(fmax=1)"},
     "returned the section(s) ['exit_conditions']; a default portfolio gives only "
     "opt_selector, stoppers"),
    ({"stoppers": "BestUnmoving(calls=1)"}, "returned no 'opt_selector'"),
])
def test_a_malformed_answer_names_the_plugin(tmp_path: Path, answer: Any,
                                             problem: str) -> None:
    with pytest.raises(PluginError) as info:
        ask_default_portfolio(registry(("odd", Answering(answer))), 3, None)
    assert str(info.value).startswith("plugin 'odd': glompo_default_portfolio ")
    assert problem in str(info.value)


def test_an_implementation_that_raises_names_its_plugin() -> None:
    class Raising:
        @hookimpl
        def glompo_default_portfolio(self, n_parms: int | None) -> Any:
            raise RuntimeError(f"cannot size {n_parms}")

    with pytest.raises(PluginError, match=r"plugin 'raising' failed giving the default "
                                          r"portfolio: RuntimeError: cannot size 3"):
        ask_default_portfolio(registry(("raising", Raising())), 3, None)


def test_the_answer_is_a_copy() -> None:
    answer = portfolio(popsize=5)
    found = ask_default_portfolio(registry(("p", Answering(answer))), 3, None)
    assert found is not None
    found.sections["opt_selector"]["CycleSelector"]["avail_opts"].clear()
    assert answer == portfolio(popsize=5)


# ============================================================================ from Python


def test_default_portfolio_from_python() -> None:
    plugin = Answering(portfolio(popsize=9, calls=77))
    budget = MaxFuncCalls(fmax=5000) | TargetCost(target=0.0)
    out = default_portfolio([(-1, 1)] * 6, budget, plugin_manager=registry(("p", plugin)))
    assert set(out) == {"opt_selector", "stoppers"}
    assert out["opt_selector"].avail_opts == [(RandomOptimizer, {"popsize": 9, "iters": 20},
                                               {})]
    assert str(out["stoppers"]) == "BestUnmoving(calls=77, tol=0.01)"
    assert plugin.asked[0]["n_parms"] == 6 and plugin.asked[0]["budget"] == 5000
    only = default_portfolio([(-1, 1)] * 2, stoppers=False,
                             plugin_manager=registry(("p", Answering(portfolio(3)))))
    assert set(only) == {"opt_selector"}


def test_default_portfolio_from_python_without_an_answer() -> None:
    with pytest.raises(RunFileError, match=r"^default_portfolio\(\): no installed plugin "
                                           r"gives a default portfolio: give an opt_selector"):
        default_portfolio([(-1, 1)] * 2, plugin_manager=registry())


# ============================================================================ resume


def test_a_resumed_run_still_records_its_default_portfolio(tmp_path: Path) -> None:
    from glompo_core import GloMPOManager

    pm = registry(("fallback", Last(portfolio(popsize=7))))
    path = no_selector(tmp_path, fmax=200, extra="checkpoint_control: {checkpoint_at_conv: "
                                                  "true, naming_format: final}\n")
    first = build_manager(path, plugin_manager=pm)
    first.start_manager()
    checkpoint = tmp_path / "out" / "checkpoints" / "final.tar.gz"
    assert checkpoint.is_file()

    resumed = GloMPOManager()
    resumed.load_checkpoint(checkpoint, plugin_manager=pm, working_dir=str(tmp_path / "again"),
                            exit_conditions=MaxFuncCalls(fmax=400))
    assert resumed.default_portfolio == first.default_portfolio
    resumed.start_manager()
    summary = yaml.safe_load((tmp_path / "again" / "glompo_manager_log.yml").read_text())
    assert summary["Settings"]["Default Portfolio"]["Sections"] == portfolio(popsize=7)
