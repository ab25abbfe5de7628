"""Tests of AdaptiveSelector: a portfolio that shifts its slots to what works during a run."""

from __future__ import annotations

import doctest
import pickle
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dill
import numpy as np
import pytest

from glompo_core import GloMPOManager
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.optimizers import RandomOptimizer
from glompo_core.plugins import PluginManager
from glompo_core.result import MinimizeResult
from glompo_core.runfile import load_run_file
from glompo_core.selectors import AdaptiveSelector, IterSpawnStop
from glompo_core.selectors import _adaptive as adaptive_module
from tests.helpers import DummyA, DummyB, DummyC, sphere


class FakeRun:
    """Plays the manager: starts what the selector proposes and logs the results."""

    def __init__(self, selector: AdaptiveSelector) -> None:
        self.selector = selector
        self.log = BaseLogger(n_parms=1)
        self.view = SimpleNamespace(o_counter=0, f_counter=0, opt_log=self.log)
        self.started: list[int] = []  # index in avail_opts of each started optimizer

    def start(self, outcome: Callable[[int], tuple[float, int]], slots: int = 1) -> int | None:
        """Ask for an optimizer; if one starts, log ``outcome(arm) = (best fx, evaluations)``."""
        choice = self.selector.select_optimizer(self.view, self.log, slots)
        if choice is None or isinstance(choice, bool):
            return None
        cls, init, _ = choice
        arm = next(i for i, spec in enumerate(self.selector.avail_opts)
                   if spec[0] is cls and spec[1] == init)
        self.view.o_counter += 1
        opt_id = self.view.o_counter
        self.log.add_optimizer(opt_id, cls.__name__, 0.0)
        self.log.put_metadata(opt_id, "init_kwargs", dict(init, workers=init.get("workers", 1)))
        fx, n = outcome(arm)
        ids = np.arange(self.view.f_counter + 1, self.view.f_counter + n + 1)
        self.log.put_iteration(opt_id, ids, np.zeros((n, 1)), np.full(n, fx))
        self.view.f_counter += n
        self.started.append(arm)
        return arm


def noisy(means: Sequence[float], seed: int = 0, evals: Sequence[int] | None = None
          ) -> Callable[[int], tuple[float, int]]:
    """Outcomes: arm i's best is ``means[i]`` plus noise of scale 1, after ``evals[i]`` calls."""
    rng = np.random.default_rng(seed)
    costs = list(evals) if evals is not None else [10] * len(means)
    return lambda arm: (float(means[arm] + rng.normal()), costs[arm])


# =================================================================== the bandit, by a fake log


def test_slots_shift_to_the_configuration_that_finds_better_values() -> None:
    sel = AdaptiveSelector(DummyA, DummyB, DummyC)
    sel.set_seed(1)
    run = FakeRun(sel)
    outcome = noisy([5.0, 0.0, 5.0])  # DummyB's optimizers end far lower
    for _ in range(60):
        run.start(outcome)
    counts = Counter(run.started)
    assert counts[1] >= 40, counts
    assert min(counts.values()) >= 2, counts  # the others are still tried now and then
    # and the stats say why
    stats = sel.arm_stats(run.log)
    assert [s["starts"] for s in stats] == [counts[0], counts[1], counts[2]]
    assert stats[1]["credit"] > 2 * max(stats[0]["credit"], stats[2]["credit"])


def test_the_scale_of_the_function_values_does_not_matter() -> None:
    def sequence(scale: float, shift: float) -> list[int]:
        sel = AdaptiveSelector(DummyA, DummyB)
        sel.set_seed(4)
        run = FakeRun(sel)
        base = noisy([1.0, 0.0], seed=3)
        for _ in range(30):
            run.start(lambda arm: (shift + scale * base(arm)[0], 10))
        return run.started

    reference = sequence(1.0, 0.0)
    assert reference.count(1) > reference.count(0)
    assert sequence(1e6, -3e9) == reference == sequence(1e-6, 42.0)


def test_every_configuration_is_started_min_starts_times_first() -> None:
    sel = AdaptiveSelector(DummyA, DummyB, DummyC, min_starts=2)
    sel.set_seed(0)
    run = FakeRun(sel)
    outcome = noisy([0.0, 100.0, 100.0])  # DummyA is far better from the first result on
    for _ in range(6):
        run.start(outcome)
    assert run.started == [0, 1, 2, 0, 1, 2]
    run.start(outcome)
    assert run.started[-1] == 0


def test_greedy_without_exploration_and_never_starved_with_it() -> None:
    def share_of_worse(exploration: float) -> int:
        sel = AdaptiveSelector(DummyA, DummyB, exploration=exploration)
        sel.set_seed(2)
        run = FakeRun(sel)
        outcome = noisy([0.0, 2.0], seed=5)
        for _ in range(80):
            run.start(outcome)
        return run.started.count(1)

    greedy, default, wide = share_of_worse(0.0), share_of_worse(1.0), share_of_worse(3.0)
    assert greedy == 1  # tried once (min_starts), never again
    assert 2 <= default <= 2 * np.log(80) + 1 < wide  # about 2 c**2 ln N of N starts


def test_credit_is_per_evaluation_spent() -> None:
    # equally good results, but DummyA's optimizers need ten times the evaluations
    def counts(per_evaluation: bool) -> Counter[int]:
        total: Counter[int] = Counter()
        for seed in range(5):
            sel = AdaptiveSelector(DummyA, DummyB, per_evaluation=per_evaluation)
            sel.set_seed(seed)
            run = FakeRun(sel)
            outcome = noisy([0.0, 0.0], seed=seed, evals=[1000, 100])
            for _ in range(40):
                run.start(outcome)
            total.update(run.started)
        return total

    cheap_wins = counts(True)
    assert cheap_wins[1] >= 2 * cheap_wins[0], cheap_wins
    assert counts(False)[1] < cheap_wins[1] - 30


def test_the_credit_is_the_success_rate_relative_to_the_run() -> None:
    sel = AdaptiveSelector(DummyA, DummyB, DummyC, elite_fraction=0.5)
    sel.set_seed(0)
    run = FakeRun(sel)
    results = iter([(0.0, 10), (1.0, 20), (2.0, 30), (3.0, 10)])
    for _ in range(4):  # A, B, C, then A (a success as B's, at half the evaluations)
        run.start(lambda arm: next(results))
    assert run.started == [0, 1, 2, 0]
    stats = sel.arm_stats(run.log)
    # elite: the best 2 of 4 (fx 0 and 1): A has 1 of 2, B 1 of 1, C 0 of 1
    assert [(s["starts"], s["elite"], s["evaluations"]) for s in stats] == [
        (2, 1, 20), (1, 1, 20), (1, 0, 30)]
    # the run: 2 successes in 4 optimizers of 17.5 evaluations on average
    assert [s["credit"] for s in stats] == pytest.approx([
        (1 / 2) / (2 / 4) * 17.5 / 10, (1 / 1) / (2 / 4) * 17.5 / 20, 0.0])
    bonus = [np.sqrt(2 * np.log(4) / n) for n in (2, 1, 1)]
    assert [s["bound"] for s in stats] == pytest.approx(
        [s["credit"] + b for s, b in zip(stats, bonus)])


def test_seeded_choices_repeat_and_seeds_differ() -> None:
    def sequence(seed: int) -> list[int]:
        sel = AdaptiveSelector(DummyA, DummyB, DummyC)
        sel.set_seed(seed)
        run = FakeRun(sel)
        for _ in range(30):
            run.start(lambda arm: (1.0, 10))  # all equal: every choice is a tie
        return run.started

    assert sequence(7) == sequence(7)
    assert len({tuple(sequence(seed)) for seed in range(5)}) > 1


@pytest.mark.parametrize("pickler", [pickle, dill])
def test_checkpoint_round_trip_continues_the_same_way(pickler: Any) -> None:
    sel = AdaptiveSelector(DummyA, (DummyB, {"workers": 1}, {}), DummyC,
                           allow_spawn=IterSpawnStop(max_calls=10_000))
    sel.set_seed(5)
    run = FakeRun(sel)
    outcome = noisy([1.0, 0.0, 2.0], seed=8)
    for _ in range(15):
        run.start(outcome)
    copy_sel = pickler.loads(pickler.dumps(sel))
    copy_run = FakeRun(copy_sel)
    copy_run.log = pickler.loads(pickler.dumps(run.log))
    copy_run.view = SimpleNamespace(o_counter=run.view.o_counter, f_counter=run.view.f_counter,
                                    opt_log=copy_run.log)
    assert copy_sel.arm_stats(copy_run.log) == sel.arm_stats(run.log)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(15):
        run.start(lambda arm: (float(arm + rng_a.normal()), 10))
        copy_run.start(lambda arm: (float(arm + rng_b.normal()), 10))
    assert copy_run.started == run.started[15:]


def test_a_proposal_waits_for_slots_and_is_not_redrawn() -> None:
    sel = AdaptiveSelector(DummyA, (DummyB, {"workers": 3}, {}))
    run = FakeRun(sel)
    assert run.start(lambda arm: (0.0, 5)) == 0
    assert run.start(lambda arm: (0.0, 5), slots=2) is None  # DummyB needs 3 slots
    assert run.start(lambda arm: (0.0, 5), slots=2) is None
    assert sel.arm_stats(run.log)[1]["starts"] == 0
    assert run.start(lambda arm: (0.0, 5), slots=3) == 1


def test_optimizers_it_did_not_start_are_attributed_by_their_metadata() -> None:
    # after a resume from an older checkpoint, or a selector swapped in: the log tells
    sel = AdaptiveSelector((DummyA, {"popsize": 4}, {}), (DummyA, {"popsize": 16}, {}),
                           DummyB)
    log = BaseLogger(n_parms=1)
    for opt_id, (name, init) in enumerate([("DummyA", {"popsize": 16, "maxfun": 3}),
                                           ("DummyA", {"popsize": 4}),
                                           ("DummyB", {}), ("Other", {})], start=1):
        log.add_optimizer(opt_id, name, 0.0)
        log.put_metadata(opt_id, "init_kwargs", dict(init, workers=1))
        log.put_iteration(opt_id, np.array([opt_id]), np.zeros((1, 1)), np.array([opt_id * 1.0]))
    stats = sel.arm_stats(log)
    assert [s["starts"] for s in stats] == [1, 1, 1]
    # the ranking includes the optimizer of no configuration (the worst of four)
    assert [s["quality"] for s in stats] == pytest.approx([2 / 3, 1.0, 1 / 3])


def test_bad_settings_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"min_starts must be an integer >= 1 .*got 0"):
        AdaptiveSelector(DummyA, min_starts=0)
    with pytest.raises(ValueError, match=r"elite_fraction .*a number in \(0, 1\]"):
        AdaptiveSelector(DummyA, elite_fraction=0)
    with pytest.raises(ValueError, match="exploration"):
        AdaptiveSelector(DummyA, exploration=-1)
    with pytest.raises(ValueError, match="per_evaluation must be true or false"):
        AdaptiveSelector(DummyA, per_evaluation="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one optimizer"):
        AdaptiveSelector()


def test_str_shows_the_settings_that_differ_from_the_defaults() -> None:
    assert str(AdaptiveSelector(DummyA, DummyB)) == "AdaptiveSelector(DummyA, DummyB)"
    assert str(AdaptiveSelector(DummyA, (DummyB, {"workers": 2}, {}), min_starts=2,
                                elite_fraction=0.5, exploration=0.0)) == (
        "AdaptiveSelector(DummyA, DummyB(init={'workers': 2}), min_starts=2, "
        "elite_fraction=0.5, exploration=0.0)")


def test_the_docstring_example_runs() -> None:
    result = doctest.testmod(adaptive_module, verbose=False)
    assert result.attempted >= 5 and result.failed == 0


# ============================================================================ in real runs


class RegionRandom(RandomOptimizer):
    """Random search within ``region`` times the box, around its centre (the sphere's minimum)."""

    def __init__(self, *args: Any, region: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        b = np.asarray(bounds, dtype=float)
        centre, half = b.mean(axis=1), (b[:, 1] - b[:, 0]) / 2 * self.region
        inner = np.stack([centre - half, centre + half], axis=1)
        start = np.clip(x0, inner[:, 0], inner[:, 1])
        return super().minimize(function, start.tolist(), [(lo, hi) for lo, hi in inner])


def run_manager(tmp_path: Path, selector: AdaptiveSelector, seed: int = 1,
                fmax: int = 800) -> GloMPOManager:
    manager = GloMPOManager.new_manager(
        task=sphere, bounds=[(-2.0, 2.0)] * 3, opt_selector=selector,
        working_dir=tmp_path / f"run{seed}", max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=fmax), split_printstreams=False, seed=seed,
        plugin_manager=PluginManager(load_entrypoints=False))
    manager.start_manager()
    return manager


def regions(manager: GloMPOManager) -> list[float]:
    log = manager.opt_log
    return [log.get_metadata(oid, "init_kwargs")["region"] for oid in log.opt_ids]


def portfolio() -> AdaptiveSelector:
    return AdaptiveSelector((RegionRandom, {"region": 1.0, "iters": 5, "popsize": 4}),
                            (RegionRandom, {"region": 0.05, "iters": 5, "popsize": 4}))


def test_a_run_gives_most_optimizers_to_the_better_configuration(tmp_path: Path) -> None:
    manager = run_manager(tmp_path, portfolio())
    started = regions(manager)
    assert len(started) == 40  # 800 evaluations of 20 per optimizer
    assert started[:2] == [1.0, 0.05]  # each one tried first
    assert started.count(0.05) >= 30, Counter(started)  # a cycle would give it 20
    assert started.count(1.0) >= 2


def test_a_seeded_run_repeats(tmp_path: Path) -> None:
    first = regions(run_manager(tmp_path / "a", portfolio(), seed=3, fmax=400))
    second = regions(run_manager(tmp_path / "b", portfolio(), seed=3, fmax=400))
    assert first == second


def test_run_file_form(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text(textwrap.dedent(f"""
        task: Rastrigin
        task_kwargs: {{dims: 2}}
        working_dir: {tmp_path / 'rf'}
        max_jobs: 1
        seed: 2
        exit_conditions: MaxFuncCalls(fmax=300)
        opt_selector:
          AdaptiveSelector:
            avail_opts:
              - RandomOptimizer: {{init: {{popsize: 4, iters: 5}}}}
              - RandomOptimizer: {{init: {{popsize: 10, iters: 2}}}}
            min_starts: 2
            exploration: 0.5
        """).lstrip("\n"))
    pm = PluginManager(load_entrypoints=False)
    kwargs = load_run_file(path, plugin_manager=pm)
    selector = kwargs["opt_selector"]
    assert isinstance(selector, AdaptiveSelector)
    assert selector.avail_opts == [(RandomOptimizer, {"popsize": 4, "iters": 5}, {}),
                                   (RandomOptimizer, {"popsize": 10, "iters": 2}, {})]
    assert (selector.min_starts, selector.exploration) == (2, 0.5)
    manager = GloMPOManager.new_manager(**kwargs)
    manager.start_manager()
    popsizes = [manager.opt_log.get_metadata(oid, "init_kwargs")["popsize"]
                for oid in manager.opt_log.opt_ids]
    assert popsizes[:4] == [4, 10, 4, 10]
    assert [s["starts"] for s in selector.arm_stats(manager.opt_log)] == [
        popsizes.count(4), popsizes.count(10)]


def test_a_resumed_run_keeps_what_the_selector_learnt(tmp_path: Path) -> None:
    from glompo_core.checkpointing import CheckpointingControl

    first = GloMPOManager.new_manager(
        task=sphere, bounds=[(-2.0, 2.0)] * 3, opt_selector=portfolio(),
        working_dir=tmp_path / "run", max_jobs=1, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=400), split_printstreams=False, seed=4,
        checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=200),
        plugin_manager=PluginManager(load_entrypoints=False))
    first.start_manager()
    path = Path(sorted(first.checkpoint_history)[0])
    second = GloMPOManager.load_manager(path, exit_conditions=MaxFuncCalls(fmax=800))
    selector = second.opt_selector
    assert isinstance(selector, AdaptiveSelector)
    learnt = selector.arm_stats(second.opt_log)
    assert sum(s["starts"] for s in learnt) == second.o_counter >= 10
    assert learnt[1]["elite"] > learnt[0]["elite"]
    second.start_manager()
    started = regions(second)
    stats = selector.arm_stats(second.opt_log)
    assert [s["starts"] for s in stats] == [started.count(1.0), started.count(0.05)]
    assert started.count(0.05) >= 0.7 * len(started), Counter(started)
