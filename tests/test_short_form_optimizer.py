"""A third-party optimizer in the short form: its own options, then ``**kwargs``.

``def __init__(self, step=0.1, **kwargs): super().__init__(**kwargs)`` is the documented
way to write an optimizer (issue 16 item 4): the manager's runtime arguments, ``workers``
and ``seed`` reach :class:`BaseOptimizer` through ``**kwargs``. These tests drive such a
class, defined here, everywhere the manager builds optimizers: a real run, the
conformance kit, a checkpoint and its resume, and the argument checks of ``setup()``, of
run files and of the constructor, which still catch a misspelt option (its own or the
base's) before the first evaluation.
"""

from __future__ import annotations

import inspect
import itertools
import math
import textwrap
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from glompo_core import GloMPOManager, hookimpl
from glompo_core._setup_checks import init_argument_names, optimizer_argument_problems
from glompo_core.checkpointing import CheckpointingControl, read_manifest
from glompo_core.errors import RunFileError
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizers import BaseOptimizer, RandomOptimizer, evaluate_population
from glompo_core.optimizers.baseoptimizer import RUNTIME_ARGUMENTS
from glompo_core.result import MinimizeResult
from glompo_core.runfile import load_run_file
from glompo_core.selectors import CycleSelector
from glompo_core.testing import parametrize_with_checks
from tests.helpers import plugin_manager

#: ``(opt_id, n_iter, step)`` of every HillClimber whose minimize continued a checkpoint.
RESUMED: list[tuple[int | None, int, float]] = []
#: ``(opt_id, workers, has a results queue)`` of every HillClimber the manager started.
STARTED: list[tuple[int | None, int, bool]] = []
_LOCK = threading.Lock()


class HillClimber(BaseOptimizer):
    """Gaussian hill climbing, written in the short form.

    Parameters
    ----------
    step
        Standard deviation of the steps, as a fraction of each parameter's range.
    popsize
        Steps tried (evaluated at once) per iteration.
    iters
        Iterations before it reports convergence; None: until stopped.
    **kwargs
        Handed to :class:`BaseOptimizer` (``workers``, ``seed``, the runtime arguments).
    """

    def __init__(self, step: float = 0.1, popsize: int = 4, iters: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}")
        self.step = float(step)
        self.popsize = int(popsize)
        self.iters = iters
        self.x: np.ndarray | None = None
        self.fx = math.inf
        self.n_iter = 0
        self._in_progress = False
        self._stop = False

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        """Climb from ``x0`` (or, resumed from a checkpoint, from where it was)."""
        lo, hi = np.asarray(bounds, dtype=float).T
        with _LOCK:
            STARTED.append((self.opt_id, self.workers, self._results_queue is not None))
        self._stop = False
        if self.is_restart and self._in_progress and self.x is not None:
            with _LOCK:
                RESUMED.append((self.opt_id, self.n_iter, self.step))
            self._FROM_CHECKPOINT = False
        else:
            self.x = np.clip(np.asarray(x0, dtype=float), lo, hi)
            self.fx = function(self.x.tolist())
            self._update_incumbent(self.x, self.fx)
            self.n_iter = 0
        self._in_progress = True
        while not self._stop and (self.iters is None or self.n_iter < self.iters):
            assert self.x is not None
            trials = np.clip(self.x + self.rng.normal(0.0, self.step * (hi - lo),
                                                      (self.popsize, len(lo))), lo, hi)
            values = evaluate_population(function, trials, self.workers)
            for x, fx in zip(trials, values):
                self._update_incumbent(x, fx)
            best = int(np.argmin(values))
            if values[best] < self.fx:
                self.x, self.fx = trials[best], float(values[best])
            self.n_iter += 1
            self.check_messages()
            self._pause_signal.wait()
        self._in_progress = False
        if not self._stop:
            self.message_manager(0, f"HillClimber finished its {self.iters} iterations")
        return MinimizeResult(success=not self._stop, x=self.incumbent["x"],
                              fx=self.incumbent["fx"], stats={"iterations": self.n_iter})

    def callstop(self, reason: str = "") -> None:
        """End the climb at the end of the current iteration."""
        self._stop = True


class WideRandom(RandomOptimizer):
    """A short-form subclass of a short-form subclass (RandomOptimizer)."""

    def __init__(self, spread: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spread = spread


class ShortFormPlugin:
    """Registers the short-form classes under names, for run files."""

    @hookimpl
    def glompo_register_optimizers(self, register: Callable[..., None]) -> None:
        register("HillClimber", HillClimber)
        register("WideRandom", WideRandom)


class CountingSphere:
    """A 3-D sphere that counts its evaluations."""

    def __init__(self) -> None:
        self._count = itertools.count()
        self.calls = 0

    def __call__(self, x: Sequence[float]) -> float:
        self.calls = next(self._count) + 1
        return float(np.sum((np.asarray(x, dtype=float) - 0.3) ** 2))


BOUNDS = [(-2.0, 2.0)] * 3


def new_manager(tmp_path: Path, task: Any, **kw: Any) -> GloMPOManager:
    settings: dict[str, Any] = dict(
        task=task, bounds=BOUNDS,
        opt_selector=CycleSelector((HillClimber, {"step": 0.05, "popsize": 4})),
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=600), split_printstreams=False, seed=7,
        summary_files=0)
    settings.update(kw)
    return GloMPOManager.new_manager(**settings)


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    STARTED.clear()
    RESUMED.clear()


# ================================================================== the signature itself
def test_the_short_form_takes_the_runtime_arguments_by_keyword() -> None:
    pause = threading.Event()
    opt = HillClimber(0.2, _opt_id=3, _signal_pipe=None, _results_queue=None,
                      _pause_flag=pause, _is_log_detailed=True, _workers=2, _backend="threads",
                      seed=4)
    assert (opt.step, opt.opt_id, opt.workers, opt.seed) == (0.2, 3, 2, 4)
    assert opt._pause_signal is pause and opt.is_log_detailed


def test_the_base_keeps_the_specs_positional_order() -> None:
    params = list(inspect.signature(BaseOptimizer.__init__).parameters)[1:]
    assert tuple(params[:len(RUNTIME_ARGUMENTS)]) == RUNTIME_ARGUMENTS == (
        "_opt_id", "_signal_pipe", "_results_queue", "_pause_flag", "_is_log_detailed",
        "_workers", "_backend")
    pause = threading.Event()
    from tests.helpers import StepOptimizer  # a long-form subclass still works

    opt = StepOptimizer(5, None, None, pause, False, 3, "threads", step=0.5)
    assert (opt.opt_id, opt.workers, opt.step) == (5, 3, 0.5) and opt._pause_signal is pause


# ================================================================ the conformance kit
@parametrize_with_checks([(HillClimber, {"seed": 1, "step": 0.05}, {"iters": 5}),
                          (WideRandom, {"seed": 2, "popsize": 3}, {"iters": 5})],
                         plugin_manager=plugin_manager(("shortform", ShortFormPlugin())))
def test_short_form_optimizers_pass_the_conformance_kit(optimizer: type,
                                                        check: Callable[[type], None]) -> None:
    check(optimizer)


# ========================================================================= a real run
def test_a_short_form_optimizer_runs_through_the_manager(tmp_path: Path) -> None:
    task = CountingSphere()
    manager = new_manager(tmp_path, task)
    result = manager.start_manager()
    assert manager.f_counter >= 600 and task.calls >= 600
    assert result.fx < 0.05  # the climb found the sphere's minimum region
    ids = sorted(opt_id or 0 for opt_id, _, _ in STARTED)
    assert ids and ids == list(range(1, len(ids) + 1))  # built with the manager's _opt_id
    assert all(queue for _, _, queue in STARTED)  # and its results queue
    assert manager.opt_log.get_metadata(1, "type") == "HillClimber"


def test_a_short_form_optimizer_checkpoints_and_resumes(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_iter_frequency=200, naming_format="c_%(count)")
    first = new_manager(tmp_path, CountingSphere(), checkpoint_control=control,
                        opt_selector=CycleSelector((HillClimber, {"step": 0.05})))
    first.start_manager()
    path = Path(sorted(first.checkpoint_history)[-1])
    manifest = read_manifest(path)
    running = [o for o in manifest["optimizers"] if o["status"] == "running"]
    assert running and all(o["restart"] == "state" for o in running)

    resumed = GloMPOManager.load_manager(path, task=CountingSphere(),
                                         exit_conditions=MaxFuncCalls(fmax=900))
    before = resumed.f_counter
    resumed.start_manager()
    assert resumed.f_counter >= 900 > before
    # the optimizers running at the checkpoint continued their climbs from their state
    assert {opt_id for opt_id, _, _ in RESUMED} == {o["opt_id"] for o in running}
    assert all(n_iter > 0 and step == 0.05 for _, n_iter, step in RESUMED)


# ================================================================ misspelt arguments
def test_a_misspelt_option_is_refused_by_the_constructor_with_the_closest_name() -> None:
    with pytest.raises(TypeError, match=r"HillClimber got unexpected argument\(s\) 'stpe' "
                                        r"\(did you mean 'step'\?\)"):
        HillClimber(stpe=0.1)
    with pytest.raises(TypeError, match=r"'sed' \(did you mean 'seed'\?\)"):
        HillClimber(sed=1)  # the base's option, found along the MRO


def test_the_argument_check_reads_the_short_forms_and_the_bases_parameters() -> None:
    names = init_argument_names(HillClimber, {})
    assert names is not None and {"step", "popsize", "iters", "workers", "seed"} <= set(names)
    wide = init_argument_names(WideRandom, {})
    assert wide is not None and {"spread", "popsize", "iters", "seed"} <= set(wide)
    problems = optimizer_argument_problems(WideRandom, {"popsiz": 3, "sed": 1, "spread": 2},
                                           {})
    assert [(p.key, p.message) for p in problems] == [
        ("popsiz", "not an argument of WideRandom; did you mean 'popsize'?"),
        ("sed", "not an argument of WideRandom; did you mean 'seed'?")]


@pytest.mark.parametrize(("init", "hint"), [({"stpe": 0.1}, "step"), ({"worker": 2}, "workers"),
                                            ({"seeed": 1}, "seed")])
def test_setup_refuses_a_misspelt_option_before_the_first_evaluation(
        tmp_path: Path, init: dict[str, Any], hint: str) -> None:
    task = CountingSphere()
    key = next(iter(init))
    with pytest.raises(TypeError, match=rf"CycleSelector optimizer #1: init argument '{key}': "
                                        rf"not an argument of HillClimber; did you mean "
                                        rf"'{hint}'\?"):
        new_manager(tmp_path, task, opt_selector=CycleSelector((HillClimber, init)))
    assert task.calls == 0


def test_a_run_file_refuses_a_misspelt_option_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text(textwrap.dedent("""\
        task: Rastrigin
        task_kwargs: {dims: 3}
        exit_conditions: MaxFuncCalls(fmax=100)
        opt_selector:
          CycleSelector:
            avail_opts:
              - HillClimber: {init: {step: 0.05}}
              - WideRandom: {init: {spred: 2.0}}
        """))
    pm = plugin_manager(("shortform", ShortFormPlugin()))
    with pytest.raises(RunFileError, match=r"run\.yml:8: .*WideRandom\.init\.spred': not an "
                                           r"argument of WideRandom; did you mean 'spread'\?"):
        load_run_file(path, plugin_manager=pm)
    path.write_text(path.read_text().replace("spred", "spread"))
    selector = load_run_file(path, plugin_manager=pm)["opt_selector"]
    assert [spec[:2] for spec in selector.avail_opts] == [(HillClimber, {"step": 0.05}),
                                                         (WideRandom, {"spread": 2.0})]
