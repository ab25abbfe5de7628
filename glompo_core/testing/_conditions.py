"""Conformance checks of stoppers and exit conditions (see :mod:`glompo_core.testing`).

Each check takes an *instance*, made as a user makes it; the checks work on fresh copies
(``copy.deepcopy``), so the instance given is never changed. Both kinds are driven
through a fixed, seeded scenario: a stopper through a growing log of three optimizers
(one improving, one stalled with failed evaluations, one stuck on a point), an exit
condition through a growing :class:`~glompo_core.testing.FakeManagerView`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core._combinable import Combinable
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition
from glompo_core.hookspecs import hookimpl
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.result import Result
from glompo_core.stoppers.basestopper import BaseStopper
from glompo_core.testing._common import (
    differ,
    fresh,
    name_of,
    pickled,
    same,
    scramble,
    seed,
    skip,
)
from glompo_core.testing._harness import FakeManagerView

if TYPE_CHECKING:
    from glompo_core.plugins import PluginManager

__all__ = [
    "CONDITION_CHECKS",
    "check_combinable",
    "check_condition_pickles",
    "check_condition_progress",
    "check_condition_protocol",
    "check_condition_reset",
    "check_condition_seeded",
    "check_expression_round_trip",
    "check_stopper_history_window",
]

#: Bounds of the scenarios (2 parameters): give these to components that take ``bounds``.
SCENARIO_BOUNDS = np.array([[-1.0, 1.0], [-1.0, 1.0]])
_SEED = 12345
_ROUNDS = 12
_BATCH = 10


class _Constant(BaseStopper):
    """A stopper with a fixed answer (the other side of the combination checks)."""

    def __init__(self, value: bool) -> None:
        super().__init__()
        self.value = value

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        return self.value


class _ConstantExit(BaseExitCondition):
    """An exit condition with a fixed answer."""

    def __init__(self, value: bool) -> None:
        super().__init__()
        self.value = value

    def __call__(self, manager: Any) -> bool:
        return self.value

    def progress(self, manager: Any) -> float:
        return 1.0 if self.value else 0.0


def _kind(cond: Any) -> str:
    kind = getattr(cond, "kind", None)
    if kind in ("stopper", "exit_condition"):
        return str(kind)
    if isinstance(cond, BaseStopper):
        return "stopper"
    if isinstance(cond, BaseExitCondition):
        return "exit_condition"
    params = _call_params(cond)
    return "stopper" if params is not None and len(params) >= 3 else "exit_condition"


def _call_params(cond: Any) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(cond).parameters.values())
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- scenarios

def _run_stopper(cond: Any, window: int | None = None) -> list[bool]:
    """Drive a stopper through the scenario: the answer for each optimizer after each round."""
    rng = np.random.default_rng(_SEED)
    log = BaseLogger(2, window=window)
    types = {1: "RandomOptimizer", 2: "RandomOptimizer", 3: "StepOptimizer"}
    for opt_id, opt_type in types.items():
        log.add_optimizer(opt_id, opt_type, 0.0)
    stuck = np.array([0.3, -0.2])
    call_id = 0
    answers: list[bool] = []
    for round_ in range(_ROUNDS):
        for opt_id in types:
            if opt_id == 1:  # improving, moving towards 0
                x = rng.uniform(-1, 1, (_BATCH, 2)) / (round_ + 1)
                fx = np.sum(x ** 2, axis=1)
            elif opt_id == 2:  # stalled around 0.5, with failed evaluations
                x = rng.uniform(-1, 1, (_BATCH, 2))
                fx = 0.5 + 0.001 * rng.random(_BATCH)
                fx[round_ % _BATCH] = np.nan
                fx[(round_ + 3) % _BATCH] = np.inf
            else:  # stuck on one point
                x = np.tile(stuck, (_BATCH, 1))
                fx = np.full(_BATCH, 0.13)
            ids = np.arange(call_id + 1, call_id + _BATCH + 1)
            call_id += _BATCH
            log.put_iteration(opt_id, ids, x, fx)
        best = int(log.get_best_iter()["opt_id"])
        for opt_id in types:
            answers.append(_answer(cond, cond(log, best, opt_id)))
    return answers


def _run_exit(cond: Any, progress: list[Any] | None = None) -> list[bool]:
    """Drive an exit condition through a growing run: its answer after each step (and,
    given a list ``progress``, what ``cond.progress`` answers after each answer)."""
    rng = np.random.default_rng(_SEED)
    log = BaseLogger(2)
    answers: list[bool] = []
    best = float("inf")
    stopped: dict[int, float] = {}
    for step in range(_ROUNDS):
        opt_id = step // 3 + 1
        if step % 3 == 0:
            log.add_optimizer(opt_id, "RandomOptimizer", float(step))
        x = rng.uniform(-1, 1, (_BATCH, 2))
        fx = np.sum(x ** 2, axis=1) + 1.0 / (step + 1)
        log.put_iteration(opt_id, np.arange(step * _BATCH + 1, (step + 1) * _BATCH + 1), x, fx)
        best = min(best, float(np.min(fx)))
        if step % 3 == 2:
            stopped[opt_id] = float(step)
        view = FakeManagerView(
            bounds=SCENARIO_BOUNDS, f_counter=(step + 1) * _BATCH, o_counter=opt_id,
            converged=step // 4, opt_crashed=False, stopped_opts=dict(stopped),
            hunt_counter=0, t_start=None, t_used=2.5 * step, max_jobs=2,
            last_opt_spawn=((step // 3) * 3 * _BATCH, opt_id),
            result=Result(x=None, fx=best, origin={"opt_id": 1}), opt_log=log)
        answers.append(_answer(cond, cond(view)))
        if progress is not None:
            progress.append(cond.progress(view))
    return answers


def _answer(cond: Any, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise AssertionError(f"{name_of(cond)} returned {value!r} ({type(value).__name__}); "
                             "a condition returns True or False")
    return bool(value)


def _run(cond: Any, window: int | None = None) -> list[bool]:
    try:
        if _kind(cond) == "stopper":
            return _run_stopper(cond, window)
        return _run_exit(cond)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{cond} raised {type(exc).__name__}: {exc} in the conformance "
                             "scenario (a growing run with NaN and +inf values among the "
                             "evaluations)") from exc


def _seeded_run(cond: Any, scrambled: bool = False) -> list[bool]:
    copy_ = fresh(cond)
    if scrambled:
        scramble(copy_)
    seed(copy_, _SEED)
    return _run(copy_)


# -------------------------------------------------------------------------------- checks

def check_condition_protocol(cond: Any) -> None:
    """It has the shape the manager calls, and answers True or False in a run.

    A stopper is called as ``stopper(log, best_opt_id, tested_opt_id)`` and may declare
    ``history_needed`` (None or a count of rows); an exit condition is called as
    ``condition(manager_view)``. Both subclass
    :class:`~glompo_core.stoppers.BaseStopper` or
    :class:`~glompo_core.exit_conditions.BaseExitCondition` (for ``&``, ``|``, ``str``
    and the summary) with the matching ``kind``.

    Raises
    ------
    AssertionError
        Not callable with those arguments, a non-bool answer, an exception in the
        scenario, a bad ``history_needed``, or not a subclass of the base.
    """
    name = name_of(cond)
    kind = _kind(cond)
    base = BaseStopper if kind == "stopper" else BaseExitCondition
    args = ("log", "best_opt_id", "tested_opt_id") if kind == "stopper" else ("manager",)
    try:
        inspect.signature(cond).bind(*args)
    except TypeError as exc:
        raise AssertionError(f"{name} cannot be called as {name}({', '.join(args)}): {exc}; "
                             f"define __call__(self, {', '.join(args)}) -> bool") from exc
    if not isinstance(cond, Combinable) or cond.kind != kind:
        raise AssertionError(f"{name} is not a {base.__name__}: subclass "
                             f"glompo_core.{kind}s.{base.__name__} so that it combines with "
                             "& and |, prints as an expression and reports its result in the "
                             "summary")
    if kind == "stopper":
        need = getattr(cond, "history_needed", None)
        if need is not None and (not isinstance(need, (int, np.integer)) or need < 0
                                 or isinstance(need, bool)):
            raise AssertionError(f"{name}.history_needed is {need!r}: it must be None (every "
                                 "row) or the number of recent rows the stopper reads")
    _run(fresh(cond))


def check_combinable(cond: Any) -> None:
    """``&`` and ``|`` combine it with another condition of its kind, lazily and correctly.

    In the scenario, ``c | True`` is always True and ``c & False`` always False;
    ``False | c`` and ``True & c`` answer as ``c`` alone does. ``str(c | other)`` is
    ``f"{c} | {other}"``.

    Raises
    ------
    AssertionError
        A combination answers wrongly, has the wrong kind, or prints wrongly.
    """
    name = name_of(cond)
    kind = _kind(cond)
    const: Callable[[bool], Any] = _Constant if kind == "stopper" else _ConstantExit
    alone = _seeded_run(cond)
    cases: list[tuple[str, Callable[[Any], Any], Callable[[bool], bool]]] = [
        ("c | True", lambda c: c | const(True), lambda a: True),
        ("c & False", lambda c: c & const(False), lambda a: False),
        ("False | c", lambda c: const(False) | c, lambda a: a),
        ("True & c", lambda c: const(True) & c, lambda a: a),
    ]
    for text, build, expected in cases:
        copy_ = fresh(cond)
        seed(copy_, _SEED)
        try:
            combined = build(copy_)
        except Exception as exc:
            raise AssertionError(f"{text} failed for c = {cond}: {type(exc).__name__}: {exc}; "
                                 f"subclass the base class of {kind.replace('_', ' ')}s") from exc
        if getattr(combined, "kind", None) != kind:
            raise AssertionError(f"{text} for c = {cond} has kind "
                                 f"{getattr(combined, 'kind', None)!r}, expected {kind!r}")
        got = _run(combined)
        want = [expected(a) for a in alone]
        if got != want:
            raise AssertionError(f"{text} for c = {cond} answered {got}, expected {want} "
                                 f"({differ(got, want)})")
    other = const(True)
    shown = str(fresh(cond) | other)
    # a combination by '&' is bracketed as the summary prints it
    printed = (f"[{cond}] | {other}" if len(cond.leaves()) > 1 and f"[{cond}]" in shown
               else f"{cond} | {other}")
    if shown != printed:
        raise AssertionError(f"str(c | other) is {shown!r}, expected {printed!r}: "
                             f"{name} must print as the expression it is")


class _Registers:
    """A plugin registering one condition class under its class name."""

    def __init__(self, kind: str, cls: type) -> None:
        self.kind = kind
        self.cls = cls

    @hookimpl
    def glompo_register_stoppers(self, register: Callable[..., None]) -> None:
        if self.kind == "stopper":
            register(self.cls.__name__, self.cls)

    @hookimpl
    def glompo_register_exit_conditions(self, register: Callable[..., None]) -> None:
        if self.kind == "exit_condition":
            register(self.cls.__name__, self.cls)


def _registry_for(cond: Any, plugin_manager: PluginManager | None) -> PluginManager:
    from glompo_core.plugins import PluginManager

    if plugin_manager is not None:
        return plugin_manager
    kind = _kind(cond)
    classes = {type(leaf) for leaf in cond.leaves()}
    pm = PluginManager(load_entrypoints=False)
    extra = [cls for cls in classes
             if not (pm.has(kind, cls.__name__) and pm.get(kind, cls.__name__) is cls)]
    if not extra:
        return pm
    return PluginManager(load_entrypoints=False,
                         plugins=[(f"conformance-{i}", _Registers(kind, cls))
                                  for i, cls in enumerate(extra)])


def check_expression_round_trip(cond: Any, *,
                                plugin_manager: PluginManager | None = None) -> None:
    """``str()`` is an expression that parses back into an equal condition.

    The summary prints a condition as its expression and a run file may hold it
    (``stoppers: "BestUnmoving(calls=100, tol=0.01) | MyStopper(k=2)"``):
    :func:`~glompo_core.expressions.parse_expression` must rebuild it from that text,
    printing the same text and answering the same in the scenario. Without
    ``plugin_manager`` the class is registered under its class name in a fresh registry.

    Raises
    ------
    AssertionError
        The text does not parse, names another class, loses an argument, or the
        rebuilt condition answers differently.
    """
    from glompo_core.expressions import parse_expression

    name = name_of(cond)
    kind = _kind(cond)
    if not isinstance(cond, Combinable):
        check_condition_protocol(cond)
    text = str(cond)
    bounds = next((leaf._init_args["bounds"] for leaf in cond.leaves()
                   if "bounds" in getattr(leaf, "_init_args", {})), None)
    pm = _registry_for(cond, plugin_manager)
    try:
        rebuilt = parse_expression(text, kind, pm,
                                   bounds=None if bounds is None else np.asarray(bounds))
    except Exception as exc:
        raise AssertionError(
            f"str({name}) is {text!r}, which does not parse back ({type(exc).__name__}: "
            f"{exc}). str() shows the __init__ parameters with the values given, each "
            "kept as an attribute of the same name (or in self._init_args) as a literal; "
            "a class is shown by its registered name") from exc
    if str(rebuilt) != text:
        raise AssertionError(f"str({name}) is {text!r}, but parsing it gives {str(rebuilt)!r}: "
                             "an argument is lost or changed between __init__ and str()")
    if [type(leaf) for leaf in rebuilt.leaves()] != [type(leaf) for leaf in cond.leaves()]:
        raise AssertionError(f"{text!r} parses into {[name_of(x) for x in rebuilt.leaves()]}, "
                             f"not {[name_of(x) for x in cond.leaves()]}")
    seed(rebuilt, _SEED)
    got, want = _run(rebuilt), _seeded_run(cond)
    if got != want:
        raise AssertionError(f"{text!r} parsed back answers differently in the scenario "
                             f"({differ(got, want)})")


def check_condition_reset(cond: Any) -> None:
    """``last_result`` holds the last answer and ``reset()`` forgets it (the summary reads it).

    Raises
    ------
    AssertionError
        ``last_result`` is not the last answer, or is not None after ``reset()``.
    """
    name = name_of(cond)
    copy_ = fresh(cond)
    seed(copy_, _SEED)
    if getattr(copy_, "last_result", None) is not None:
        raise AssertionError(f"{name}.last_result is {copy_.last_result!r} before any call; "
                             "expected None")
    answers = _run(copy_)
    if copy_.last_result is not answers[-1]:
        raise AssertionError(f"{name}.last_result is {copy_.last_result!r} after answering "
                             f"{answers[-1]!r}")
    copy_.reset()
    if copy_.last_result is not None:
        raise AssertionError(f"{name}.reset() left last_result = {copy_.last_result!r}; it "
                             "must forget the last answer (call super().reset())")


def check_condition_seeded(cond: Any) -> None:
    """Two copies seeded alike answer alike: a seeded run repeats exactly.

    Before the second copy is seeded, every other random source is moved on (numpy's
    and Python's global state, random generators it holds): only what ``set_seed``
    resets may decide its answers. Copies are seeded with ``set_seed`` where they have
    it (as the manager does from the run's ``seed``); a condition without random
    choices must answer the same anyway.

    Raises
    ------
    AssertionError
        Two equally seeded copies answer differently in the same scenario.
    """
    first, second = _seeded_run(cond), _seeded_run(cond, scrambled=True)
    if first != second:
        hint = ("draw random numbers from self.rng (glompo_core._seeding.Seeded) so the "
                "manager can seed it" if not hasattr(cond, "set_seed") else
                "draw every random number from self.rng")
        raise AssertionError(f"two copies of {cond} seeded alike answered differently "
                             f"({differ(first, second)}): {hint}")


def check_condition_pickles(cond: Any) -> None:
    """A copy pickled mid-run (a checkpoint) goes on answering as the original.

    Raises
    ------
    AssertionError
        It does not pickle, or the unpickled copy answers differently.
    """
    original = fresh(cond)
    seed(original, _SEED)
    first_half = _run(original)
    restored = pickled(original)
    again, copy_again = _run(original), _run(restored)
    if not same(again, copy_again):
        raise AssertionError(f"{cond} unpickled after {len(first_half)} answers answers "
                             f"differently from the original ({differ(copy_again, again)}): "
                             "pickle all the state its answers depend on (its random "
                             "generator included)")


def check_stopper_history_window(cond: Any) -> None:
    """A stopper reading only its ``history_needed`` most recent rows answers the same.

    The manager keeps only ``history_needed`` rows per optimizer in memory (the largest
    need of its stoppers); a stopper declaring a number must answer from those rows as
    it would from the whole history. Skipped for exit conditions and for stoppers
    declaring None (every row).

    Raises
    ------
    AssertionError
        Answers with the bounded log differ from those with the whole history.
    """
    if _kind(cond) != "stopper":
        skip(f"{name_of(cond)} is not a stopper")
    parts = cond.leaves() if isinstance(cond, Combinable) else [cond]
    needs: list[Any] = [getattr(part, "history_needed", None) for part in parts]
    if any(n is None for n in needs):
        skip(f"{cond}: history_needed is None: it reads every row")
    need = max(int(n) for n in needs)  # as the manager keeps the largest need
    whole = _seeded_run(cond)
    copy_ = fresh(cond)
    seed(copy_, _SEED)
    bounded = _run(copy_, window=max(1, int(need)))
    if whole != bounded:
        raise AssertionError(f"{cond} declares history_needed={need} but answers differently "
                             f"when the log keeps only that many rows ({differ(bounded, whole)}): "
                             "declare the number of rows it reads, or None")


def _is_fraction(value: Any) -> bool:
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)) and 0.0 <= float(value) <= 1.0)


def check_condition_progress(cond: Any) -> None:
    """``progress(manager)``, where an exit condition gives it, is a fraction that reads only.

    In the scenario, after each answer: ``progress`` is None ("cannot tell") or a
    number in [0, 1], and 1 whenever the condition has just answered True; calling it
    does not change the answers. A combination's parts are checked one by one (a
    combination with a part that cannot tell may answer less than 1 when met by that
    part); the combination itself must give None or values in [0, 1]. Skipped for
    stoppers and for exit conditions without ``progress`` (it is optional: the base
    class answers None).

    Raises
    ------
    AssertionError
        A value outside [0, 1] (or not a number), less than 1 when met, or answers that
        change when ``progress`` is called between them.
    """
    if _kind(cond) != "exit_condition":
        skip(f"{name_of(cond)} is not an exit condition: progress is for exit conditions")
    if not callable(getattr(cond, "progress", None)):
        skip(f"{name_of(cond)} has no progress method (it is optional)")
    parts = cond.leaves() if isinstance(cond, Combinable) else [cond]
    if len(parts) > 1:
        for part in parts:
            if callable(getattr(part, "progress", None)):
                check_condition_progress(part)
    name = name_of(cond)
    plain = _seeded_run(cond)
    copy_ = fresh(cond)
    seed(copy_, _SEED)
    values: list[Any] = []
    try:
        answers = _run_exit(copy_, values)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{cond}.progress raised {type(exc).__name__}: {exc} in the "
                             "conformance scenario; return None when it cannot tell") from exc
    if answers != plain:
        raise AssertionError(f"{cond} answers differently when progress is called between "
                             f"its answers ({differ(answers, plain)}): progress must only "
                             "read the manager and the condition, never change them")
    for step, (met, value) in enumerate(zip(answers, values, strict=True), start=1):
        if value is None:
            continue
        if not _is_fraction(value):
            raise AssertionError(f"{name}.progress returned {value!r} at step {step}: return "
                                 "a number in [0, 1] (clip it) or None when it cannot tell")
        if met and len(parts) == 1 and float(value) < 1.0 - 1e-9:
            raise AssertionError(f"{name}.progress returned {value!r} at step {step}, when the "
                                 "condition answered True: a condition met is 1.0 of the way")


#: The checks of stoppers and exit conditions, in the order they are listed.
CONDITION_CHECKS: tuple[Callable[..., None], ...] = (
    check_condition_protocol,
    check_combinable,
    check_expression_round_trip,
    check_condition_reset,
    check_condition_seeded,
    check_condition_pickles,
    check_condition_progress,
    check_stopper_history_window,
)
