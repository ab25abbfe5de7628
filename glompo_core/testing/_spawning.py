"""Conformance checks of generators and selectors (see :mod:`glompo_core.testing`).

Each check takes an *instance*, made as a user makes it, and works on fresh copies. Both
kinds are driven through a seeded scenario: a run that grows (optimizers start, their
evaluations, failed ones among them, fill the log, the best improves), seen through a
:class:`~glompo_core.testing.FakeManagerView`; a selector is asked with 1 to 4 free slots.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glompo_core.optimizerlogger import BaseLogger
from glompo_core.result import Result
from glompo_core.testing._common import differ, fresh, name_of, pickled, same, scramble, seed
from glompo_core.testing._harness import FakeManagerView

__all__ = [
    "GENERATOR_BOUNDS",
    "GENERATOR_CHECKS",
    "SELECTOR_CHECKS",
    "check_generator_pickles",
    "check_generator_points_in_bounds",
    "check_generator_protocol",
    "check_generator_seeded",
    "check_selector_pickles",
    "check_selector_protocol",
    "check_selector_returns_copies",
    "check_selector_seeded",
]

#: Bounds of the generator scenario (2 parameters, not symmetric about 0): a generator
#: built with its own bounds must be given these (or None, to use the run's).
GENERATOR_BOUNDS = np.array([[-2.0, 3.0], [10.0, 12.0]])
_SEED = 12345
_STEPS = 12
_BATCH = 8


class ScenarioTask:
    """The scenario's task (``manager.task``): a sphere centred inside the bounds."""

    centre = np.array([0.5, 11.0])

    def __call__(self, x: Sequence[float]) -> float:
        return float(np.sum((np.asarray(x, dtype=float) - self.centre) ** 2))


def _views(bounds: np.ndarray, step_hook: Callable[[FakeManagerView, int], None]) -> None:
    """Grow a run step by step and call ``step_hook(view, step)`` after each step."""
    rng = np.random.default_rng(_SEED)
    task = ScenarioTask()
    log = BaseLogger(len(bounds))
    lo, hi = bounds[:, 0], bounds[:, 1]
    best_x: np.ndarray | None = None
    best_fx = float("inf")
    call_id = 0
    stopped: dict[int, float] = {}
    for step in range(_STEPS):
        n_opts = (step + 1) // 2
        if step and step % 2 == 1:
            log.add_optimizer(n_opts, "RandomOptimizer", float(step))
        if n_opts:
            x = lo + (hi - lo) * rng.random((_BATCH, len(bounds)))
            fx = np.array([task(row) for row in x])
            fx[step % _BATCH] = np.nan
            fx[(step + 1) % _BATCH] = np.inf
            log.put_iteration(n_opts, np.arange(call_id + 1, call_id + _BATCH + 1), x, fx)
            call_id += _BATCH
            i = int(np.nanargmin(np.where(np.isfinite(fx), fx, np.nan)))
            if fx[i] < best_fx:
                best_x, best_fx = x[i].copy(), float(fx[i])
        if step % 4 == 3:
            stopped[n_opts] = best_fx
        result = Result(x=best_x, fx=best_fx,
                        origin={"opt_id": n_opts, "type": "RandomOptimizer"} if n_opts else {})
        view = FakeManagerView(bounds=bounds, f_counter=call_id, o_counter=n_opts,
                               converged=step // 5, stopped_opts=dict(stopped),
                               t_used=1.5 * step, max_jobs=4,
                               last_opt_spawn=(call_id, n_opts), result=result, task=task,
                               opt_log=log)
        step_hook(view, step)


def _bounds_of(gen: Any) -> np.ndarray:
    own = getattr(gen, "bounds", None)
    if own is not None:
        own = np.asarray(own, dtype=float)
        if own.shape != GENERATOR_BOUNDS.shape:
            raise AssertionError(
                f"{name_of(gen)} was built with bounds of shape {own.shape}; the scenario has 2 "
                "parameters: build it with bounds=glompo_core.testing.GENERATOR_BOUNDS or None")
        return own
    return GENERATOR_BOUNDS


def _generate_all(gen: Any) -> list[np.ndarray]:
    bounds = _bounds_of(gen)
    points: list[np.ndarray] = []

    def ask(view: FakeManagerView, step: int) -> None:
        try:
            point = gen.generate(view)
        except Exception as exc:
            raise AssertionError(f"{name_of(gen)}.generate() raised {type(exc).__name__}: "
                                 f"{exc} at step {step + 1} of the scenario (a growing run "
                                 "with NaN and +inf values in its log)") from exc
        points.append(np.array(point, dtype=float, copy=True))

    _views(bounds, ask)
    return points


def _seeded_points(gen: Any, scrambled: bool = False) -> list[np.ndarray]:
    copy_ = fresh(gen)
    if scrambled:
        scramble(copy_)
    seed(copy_, _SEED)
    return _generate_all(copy_)


# ------------------------------------------------------------------------------ generators

def check_generator_protocol(gen: Any) -> None:
    """``generate(manager)`` returns a 1-D array of ``manager.n_parms`` finite floats.

    Raises
    ------
    AssertionError
        No ``generate(manager)`` method, an exception, or a point of the wrong shape.
    """
    name = name_of(gen)
    method = getattr(gen, "generate", None)
    if not callable(method):
        raise AssertionError(f"{name} has no generate(manager) method")
    try:
        inspect.signature(method).bind("manager")
    except TypeError as exc:
        raise AssertionError(f"{name}.generate cannot be called as generate(manager): "
                             f"{exc}") from exc
    for i, point in enumerate(_seeded_points(gen)):
        if point.shape != (2,):
            raise AssertionError(f"{name}.generate() returned shape {point.shape} at call "
                                 f"{i + 1}; expected (n_parms,) = (2,)")
        if not np.all(np.isfinite(point)):
            raise AssertionError(f"{name}.generate() returned {point.tolist()} at call {i + 1}: "
                                 "a starting point must be finite")


def check_generator_points_in_bounds(gen: Any) -> None:
    """Every point generated lies inside the run's bounds (an optimizer starts there).

    Raises
    ------
    AssertionError
        A point outside the bounds, with the call that made it.
    """
    bounds = _bounds_of(gen)
    for i, point in enumerate(_seeded_points(gen)):
        if np.any(point < bounds[:, 0]) or np.any(point > bounds[:, 1]):
            raise AssertionError(f"{name_of(gen)}.generate() returned {point.tolist()} at call "
                                 f"{i + 1}, outside the bounds {bounds.tolist()}: clip or "
                                 "redraw points that leave the bounds")


def check_generator_seeded(gen: Any) -> None:
    """Two copies seeded alike (``set_seed``) generate the same points, though every other
    random source (numpy's and Python's global state, generators it holds) moved on
    before the second was seeded.

    Raises
    ------
    AssertionError
        Different points from equally seeded copies.
    """
    first, second = _seeded_points(gen), _seeded_points(gen, scrambled=True)
    if not same(first, second):
        raise AssertionError(f"two copies of {name_of(gen)} seeded alike generated different "
                             f"points ({differ(first, second)}): draw every random number "
                             "from self.rng, which set_seed() resets")


def check_generator_pickles(gen: Any) -> None:
    """A copy pickled mid-run (a checkpoint) goes on generating what the original does.

    Raises
    ------
    AssertionError
        It does not pickle, or the copy generates other points.
    """
    original = fresh(gen)
    seed(original, _SEED)
    _generate_all(original)
    restored = pickled(original)
    again, copy_again = _generate_all(original), _generate_all(restored)
    if not same(again, copy_again):
        raise AssertionError(f"{name_of(gen)} unpickled mid-run generates other points than "
                             f"the original ({differ(copy_again, again)}): pickle every state "
                             "its points depend on (its random generator included)")


GENERATOR_CHECKS: tuple[Callable[..., None], ...] = (
    check_generator_protocol,
    check_generator_points_in_bounds,
    check_generator_seeded,
    check_generator_pickles,
)


# ------------------------------------------------------------------------------- selectors

def _select_all(sel: Any, mutate: bool = False) -> list[Any]:
    """The selector's answer at each step; every optimizer it names is started (logged)."""
    answers: list[Any] = []
    started = [0]

    def ask(view: FakeManagerView, step: int) -> None:
        slots = step % 4 + 1
        try:
            choice = sel.select_optimizer(view, view.opt_log, slots)
        except Exception as exc:
            raise AssertionError(f"{name_of(sel)}.select_optimizer() raised "
                                 f"{type(exc).__name__}: {exc} at step {step + 1} of the "
                                 "scenario") from exc
        _check_choice(sel, choice, step, answers)
        if isinstance(choice, tuple):
            started[0] += 1
            answers.append((choice[0], dict(choice[1]), dict(choice[2])))
            if mutate:
                choice[1]["glompo_conformance_mutated"] = True
                choice[2]["glompo_conformance_mutated"] = True
        else:
            answers.append(choice)

    _views(GENERATOR_BOUNDS, ask)
    return answers


def _check_choice(sel: Any, choice: Any, step: int, before: list[Any]) -> None:
    name = name_of(sel)
    where = f"at step {step + 1} of the scenario"
    if choice is None:
        return
    if choice is False:
        return
    if before and before[-1] is False:
        raise AssertionError(f"{name}.select_optimizer() returned {choice!r} {where} after "
                             "returning False: False means spawning is over for good")
    if not (isinstance(choice, tuple) and len(choice) == 3):
        raise AssertionError(f"{name}.select_optimizer() returned {choice!r} {where}; "
                             "expected (cls, init_kwargs, call_kwargs), None (no room now) or "
                             "False (spawning over)")
    cls, init, call = choice
    if not (isinstance(cls, type) and callable(getattr(cls, "minimize", None))):
        raise AssertionError(f"{name}.select_optimizer() returned {cls!r} {where} as the "
                             "optimizer class; expected a class with minimize()")
    if not isinstance(init, dict) or not isinstance(call, dict):
        raise AssertionError(f"{name}.select_optimizer() returned init_kwargs {init!r} and "
                             f"call_kwargs {call!r} {where}; both must be dicts")


def _seeded_choices(sel: Any, mutate: bool = False, scrambled: bool = False) -> list[Any]:
    copy_ = fresh(sel)
    if scrambled:
        scramble(copy_)
    seed(copy_, _SEED)
    return _select_all(copy_, mutate)


def check_selector_protocol(sel: Any) -> None:
    """``select_optimizer(manager, log, slots_available)`` answers as the manager expects.

    Each answer is ``(cls, init_kwargs, call_kwargs)`` (an optimizer class and two
    dicts), None (nothing fits in the free slots now) or False (spawning is over, and
    stays over).

    Raises
    ------
    AssertionError
        Another answer, an exception, or an answer after False.
    """
    method = getattr(sel, "select_optimizer", None)
    if not callable(method):
        raise AssertionError(f"{name_of(sel)} has no select_optimizer(manager, log, "
                             "slots_available) method")
    _seeded_choices(sel)


def check_selector_returns_copies(sel: Any) -> None:
    """Changing the kwargs a selector returned (the manager passes them on) changes none of
    its later choices.

    Raises
    ------
    AssertionError
        A later choice carries the change: return ``dict(init_kwargs)``, not the stored one.
    """
    clean, mutated = _seeded_choices(sel), _seeded_choices(sel, mutate=True)
    if not same(clean, mutated):
        raise AssertionError(f"{name_of(sel)} returns its own init_kwargs/call_kwargs dicts: "
                             f"changing one changed a later choice ({differ(mutated, clean)}); "
                             "return copies")


def check_selector_seeded(sel: Any) -> None:
    """Two copies seeded alike (``set_seed``) choose alike, though every other random
    source moved on before the second was seeded.

    Raises
    ------
    AssertionError
        Different choices from equally seeded copies.
    """
    first, second = _seeded_choices(sel), _seeded_choices(sel, scrambled=True)
    if not same(first, second):
        raise AssertionError(f"two copies of {name_of(sel)} seeded alike chose differently "
                             f"({differ(first, second)}): draw every random number from "
                             "self.rng, which set_seed() resets")


def check_selector_pickles(sel: Any) -> None:
    """A copy pickled mid-run (a checkpoint) goes on choosing as the original does.

    Raises
    ------
    AssertionError
        It does not pickle, or the copy chooses differently.
    """
    original = fresh(sel)
    seed(original, _SEED)
    _select_all(original)
    restored = pickled(original)
    again, copy_again = _select_all(original), _select_all(restored)
    if not same(again, copy_again):
        raise AssertionError(f"{name_of(sel)} unpickled mid-run chooses differently from the "
                             f"original ({differ(copy_again, again)}): pickle all of its state")


SELECTOR_CHECKS: tuple[Callable[..., None], ...] = (
    check_selector_protocol,
    check_selector_returns_copies,
    check_selector_seeded,
    check_selector_pickles,
)
