"""Stopper and exit-condition expressions: parsed without eval, round trip with str()."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from glompo_core import hookimpl
from glompo_core.errors import UnknownComponentError
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds, TargetCost
from glompo_core.expressions import parse_expression
from glompo_core.plugins import PluginManager
from glompo_core.stoppers import (
    BaseStopper,
    BestUnmoving,
    EvaluationsUnmoving,
    MinFuncCalls,
    ParameterDistance,
)

BOUNDS = np.array([[-1.0, 1.0], [-2.0, 2.0]])


@pytest.fixture(scope="module")
def pm() -> PluginManager:
    return PluginManager(load_entrypoints=False)


def _stoppers() -> list:
    return [
        BestUnmoving(calls=100, tol=0.01),
        BestUnmoving(calls=100, tol=0.01) & MinFuncCalls(min_pts=50),
        BestUnmoving(calls=100) | MinFuncCalls(min_pts=5) & EvaluationsUnmoving(calls=9, tol=0.1),
        (BestUnmoving(calls=100) | MinFuncCalls(min_pts=5)) & EvaluationsUnmoving(calls=9),
        ParameterDistance(BOUNDS, relative_distance=0.05, test_all=True) | BestUnmoving(calls=3),
        (BestUnmoving(calls=1) & MinFuncCalls(min_pts=2))
        | (EvaluationsUnmoving(calls=3) & MinFuncCalls(min_pts=4)),
    ]


def _exit_conditions() -> list:
    return [
        MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60),
        MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60) & TargetCost(target=-1.5),
        (MaxFuncCalls(fmax=10) | TargetCost(target=0.0, atol=0.001)) & MaxSeconds(overall_max=5),
    ]


CASES = [("stopper", c) for c in _stoppers()] + [("exit_condition", c) for c in _exit_conditions()]


@pytest.mark.parametrize(("kind", "cond"), CASES, ids=lambda v: str(v)[:50])
def test_round_trip_of_str(pm: PluginManager, kind: str, cond: Any) -> None:
    text = str(cond)
    parsed = parse_expression(text, kind, pm, bounds=BOUNDS)
    assert str(parsed) == text
    assert parsed.kind == kind
    assert [type(leaf) for leaf in parsed.leaves()] == [type(leaf) for leaf in cond.leaves()]


@pytest.mark.parametrize(("kind", "cond"), CASES, ids=lambda v: str(v)[:50])
def test_round_trip_of_the_summary_form(pm: PluginManager, kind: str, cond: Any) -> None:
    """The summary prints '= True' per condition, '[ ]' groups and newlines: accepted."""
    summary = cond.str_with_result()
    assert "= None" in summary
    parsed = parse_expression(summary, kind, pm, bounds=BOUNDS)
    assert str(parsed) == str(cond)


def test_summary_annotations_and_line_breaks(pm: PluginManager) -> None:
    text = ("[BestUnmoving(calls=10, tol=0) = True |\n"
            "MinFuncCalls(min_pts=5) = False] &\n"
            "EvaluationsUnmoving(calls=3, tol=0) = None")
    parsed = parse_expression(text, "stopper", pm)
    assert str(parsed) == ("[BestUnmoving(calls=10, tol=0) | MinFuncCalls(min_pts=5)] & "
                           "EvaluationsUnmoving(calls=3, tol=0)")


def test_keyword_values_true_false_none_are_kept(pm: PluginManager) -> None:
    """Only the summary's annotations are dropped, not 'overall_max=None' or 'test_all=True'."""
    cond = parse_expression("MaxSeconds(session_max=60, overall_max=None) = True", "exit_condition",
                            pm)
    assert isinstance(cond, MaxSeconds)
    assert str(cond) == "MaxSeconds(session_max=60, overall_max=None)"
    stop: Any = parse_expression("ParameterDistance(bounds, relative_distance=0.1, test_all=True)",
                            "stopper", pm, bounds=BOUNDS)
    assert stop.test_all is True
    stop = parse_expression("ParameterDistance(bounds, relative_distance=0.1, test_all = False)"
                            " = True", "stopper", pm, bounds=BOUNDS)
    assert stop.test_all is False


def test_bounds_are_substituted(pm: PluginManager) -> None:
    cond: Any = parse_expression("ParameterDistance(bounds, relative_distance=0.05)", "stopper", pm,
                            bounds=BOUNDS)
    assert isinstance(cond, ParameterDistance)
    np.testing.assert_array_equal(np.asarray(cond.bounds), BOUNDS)
    assert str(cond) == "ParameterDistance(bounds, relative_distance=0.05, test_all=False)"
    cond = parse_expression("ParameterDistance(bounds=bounds, relative_distance=0.05)", "stopper",
                            pm, bounds=BOUNDS)
    np.testing.assert_array_equal(np.asarray(cond.bounds), BOUNDS)


def test_bounds_without_bounds_is_an_error(pm: PluginManager) -> None:
    with pytest.raises(ValueError, match=r"'bounds' in .* needs the run's bounds"):
        parse_expression("ParameterDistance(bounds, relative_distance=0.05)", "stopper", pm)


class AnyArgs(BaseStopper):
    """A test stopper accepting any literal arguments (to check how they are read)."""

    def __init__(self, limit: float = 0.0, values: object = (), label: object = None) -> None:
        super().__init__()
        self.limit, self.values, self.label = limit, values, label

    def __call__(self, log: object, best_opt_id: int, tested_opt_id: int) -> bool:
        return False


class AnyArgsPlugin:
    @hookimpl
    def glompo_register_stoppers(self, register: Any) -> None:
        register("AnyArgs", AnyArgs)


def test_literal_arguments() -> None:
    pm = PluginManager(load_entrypoints=False, plugins=[("anyargs", AnyArgsPlugin())])
    text = "AnyArgs(-inf, values=[1, -2.5, inf, (3, 'a')], label={'k': None})"
    cond: Any = parse_expression(text, "stopper", pm)
    assert cond.limit == float("-inf")
    assert cond.values == [1, -2.5, float("inf"), (3, "a")]
    assert cond.label == {"k": None}
    for value in (float("inf"), float("-inf"), [0.5, float("inf")], "text", None, True, 3):
        text = str(AnyArgs(limit=1, values=value))
        assert str(parse_expression(text, "stopper", pm)) == text
    cond = parse_expression("TypeStopper(opt_type='RandomOptimizer')", "stopper", pm)
    assert str(cond) == "TypeStopper(opt_type='RandomOptimizer')"
    with pytest.raises(ValueError, match="only literal arguments"):
        parse_expression("AnyArgs(values={[1]: 2})", "stopper", pm)
    with pytest.raises(ValueError, match="only literal arguments"):
        parse_expression("AnyArgs(values=nan)", "stopper", pm)


def test_precedence_and_binds_tighter_than_or(pm: PluginManager) -> None:
    cond: Any = parse_expression("BestUnmoving(calls=1) | MinFuncCalls(min_pts=2) & "
                            "EvaluationsUnmoving(calls=3)", "stopper", pm)
    assert type(cond).__name__ == "_Or"
    assert isinstance(cond.first, BestUnmoving)
    assert type(cond.second).__name__ == "_And"
    assert str(cond) == ("BestUnmoving(calls=1, tol=0) | [MinFuncCalls(min_pts=2) & "
                         "EvaluationsUnmoving(calls=3, tol=0)]")
    grouped = parse_expression("(BestUnmoving(calls=1) | MinFuncCalls(min_pts=2)) & "
                               "EvaluationsUnmoving(calls=3)", "stopper", pm)
    assert type(grouped).__name__ == "_And"
    bracketed = parse_expression("[BestUnmoving(calls=1) | MinFuncCalls(min_pts=2)] & "
                                 "EvaluationsUnmoving(calls=3)", "stopper", pm)
    assert str(bracketed) == str(grouped)


def test_bare_name_without_arguments(pm: PluginManager) -> None:
    cond = parse_expression("LastPointsInvalid | TimeAnnealing", "stopper", pm)
    assert str(cond) == "LastPointsInvalid(n_iters=1) | TimeAnnealing(crit_ratio=1)"


def test_case_insensitive_names(pm: PluginManager) -> None:
    assert isinstance(parse_expression("maxfunccalls(fmax=3)", "exit_condition", pm),
                      MaxFuncCalls)


@pytest.mark.parametrize("text", [
    "BestUnmoving(calls=len([1, 2]))",
    "BestUnmoving(calls=int('3'))",
    "BestUnmoving(calls=__import__('os').getpid())",
    "BestUnmoving(calls=MinFuncCalls(min_pts=1))",
])
def test_function_calls_inside_arguments_are_refused(pm: PluginManager, text: str) -> None:
    with pytest.raises(ValueError, match=r"only literal arguments .* are allowed"):
        parse_expression(text, "stopper", pm)


@pytest.mark.parametrize("text", [
    "glompo_core.stoppers.BestUnmoving(calls=1)",
    "BestUnmoving(calls=1).__class__",
    "BestUnmoving(calls=1).__init__.__globals__",
])
def test_attribute_access_is_refused(pm: PluginManager, text: str) -> None:
    with pytest.raises(ValueError, match=r"unexpected .* an expression combines"):
        parse_expression(text, "stopper", pm)


def test_dunder_import_is_refused(pm: PluginManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "antigravity", raising=False)
    with pytest.raises(UnknownComponentError, match="unknown stopper '__import__'"):
        parse_expression("__import__('antigravity')", "stopper", pm)
    with pytest.raises(ValueError, match="only literal arguments"):
        parse_expression("BestUnmoving(calls=__import__('antigravity'))", "stopper", pm)
    assert "antigravity" not in sys.modules


@pytest.mark.parametrize(("text", "pattern"), [
    ("BestUnmoving(calls=1) + MinFuncCalls(min_pts=1)", "unexpected"),
    ("BestUnmoving(calls=1) or MinFuncCalls(min_pts=1)", "unexpected"),
    ("lambda: BestUnmoving(calls=1)", "unexpected"),
    ("BestUnmoving(calls=1)(3)", "unexpected"),
    ("[BestUnmoving(calls=1), MinFuncCalls(min_pts=1)]", "unexpected"),
    ("BestUnmoving(**{'calls': 1})", r"'\*\*' is not allowed"),
    ("BestUnmoving(calls=1) |", "cannot parse stopper expression"),
    ("BestUnmoving(calls=1); import os", "cannot parse stopper expression"),
    ("", "empty stopper expression"),
    ("  = True", "empty stopper expression"),
])
def test_malformed_expressions(pm: PluginManager, text: str, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        parse_expression(text, "stopper", pm)


def test_unknown_names_are_unknown_component_errors(pm: PluginManager) -> None:
    with pytest.raises(UnknownComponentError,
                       match=r"unknown stopper 'BestUnmovin' \(from expression .*"
                             r"Did you mean 'BestUnmoving'"):
        parse_expression("BestUnmovin(calls=10) | MinFuncCalls(min_pts=1)", "stopper", pm)
    with pytest.raises(UnknownComponentError, match=r"from run.yml:4, key 'stoppers', expression"):
        parse_expression("Nope(x=1)", "stopper", pm, source="run.yml:4, key 'stoppers'")


def test_wrong_arguments_name_the_component(pm: PluginManager) -> None:
    with pytest.raises(ValueError, match=r"BestUnmoving: .*unexpected keyword argument 'call'"):
        parse_expression("BestUnmoving(call=10)", "stopper", pm)
    with pytest.raises(ValueError, match="MaxFuncCalls: "):
        parse_expression("MaxFuncCalls(fmax=-3)", "exit_condition", pm)


def test_mixing_stoppers_and_exit_conditions_is_an_error(pm: PluginManager) -> None:
    with pytest.raises(ValueError, match="'MaxFuncCalls' is an exit condition, not a stopper"):
        parse_expression("BestUnmoving(calls=10) | MaxFuncCalls(fmax=100)", "stopper", pm)
    with pytest.raises(ValueError, match="'BestUnmoving' is a stopper, not an exit condition"):
        parse_expression("MaxFuncCalls(fmax=100) & BestUnmoving(calls=10)", "exit_condition", pm)
    with pytest.raises(ValueError, match="is a stopper, not an exit condition"):
        parse_expression("MinFuncCalls(min_pts=3)", "exit_condition", pm)
