"""glompo-scipy: registration, the GloMPO contract, manager runs, stop, checkpoints."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import glompo_scipy
import glompo_scipy.hooks
import numpy as np
import pytest
from glompo_scipy import (
    COBYLA,
    COBYQA,
    LBFGSB,
    METHOD_CLASSES,
    SLSQP,
    TNC,
    DifferentialEvolution,
    DualAnnealing,
    NelderMead,
    Powell,
    ScipyOptimizer,
    TrustConstr,
)

from glompo_core import GloMPOManager, __version__
from glompo_core.checkpointing import CheckpointingControl, read_manifest
from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal, ThreadPipe
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
from glompo_core.testing import BatchRecordingTask, Inbox, parametrize_with_checks
from glompo_core.testing import wired as wire

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PM = PluginManager(load_entrypoints=False, plugins=[("scipy", glompo_scipy.hooks)])
CENTRE = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
BOUNDS5 = [(-2.0, 2.0)] * 5


def shifted_sphere(x: Any) -> float:
    """5-D sphere with its minimum 0 at CENTRE (not at the centre of the bounds)."""
    return float(np.sum((np.asarray(x, dtype=float) - CENTRE) ** 2))


class Recorder(BatchRecordingTask):
    """A task recording every point (on the shifted sphere by default); ``batches`` holds
    the sizes of the populations evaluated (glompo_core.testing.BatchRecordingTask)."""

    def __init__(self, f: Callable[[np.ndarray], float] = shifted_sphere,
                 delay: float = 0.0) -> None:
        super().__init__(f, delay=delay)


def wired(cls: type, **kwargs: Any) -> tuple[Any, ThreadPipe, Inbox, threading.Event]:
    """An optimizer wired as the manager wires it (glompo_core.testing.wired): the optimizer,
    the manager's end of its pipe, the inbox of its messages, its pause event."""
    w = wire(cls, kwargs)
    return w.opt, w.pipe, w.inbox, w.pause


# ------------------------------------------------------------------------ registration


ALIASES = {"nelder-mead": NelderMead, "NelderMead": NelderMead, "powell": Powell,
           "cobyla": COBYLA, "cobyqa": COBYQA, "l-bfgs-b": LBFGSB, "LBFGSB": LBFGSB,
           "slsqp": SLSQP, "tnc": TNC, "trust-constr": TrustConstr, "TrustConstr": TrustConstr,
           "ScipyOptimizer": ScipyOptimizer, "DifferentialEvolution": DifferentialEvolution,
           "differential-evolution": DifferentialEvolution, "DualAnnealing": DualAnnealing,
           "dual-annealing": DualAnnealing}


@pytest.mark.parametrize(("name", "cls"), ALIASES.items())
def test_every_name_resolves(name: str, cls: type) -> None:
    assert PM.get("optimizer", name) is cls


@pytest.mark.parametrize(("alias", "method"), [
    ("nelder-mead", "Nelder-Mead"), ("powell", "Powell"), ("cobyla", "COBYLA"),
    ("cobyqa", "COBYQA"), ("l-bfgs-b", "L-BFGS-B"), ("slsqp", "SLSQP"), ("tnc", "TNC"),
    ("trust-constr", "trust-constr")])
def test_a_method_name_in_a_run_file_builds_that_method(alias: str, method: str) -> None:
    selector = CycleSelector({alias: {}}, plugin_manager=PM)  # as a run file writes it
    cls, init, _ = selector.avail_opts[0]
    opt = cls(**init)
    assert isinstance(opt, ScipyOptimizer) and opt.method == method
    assert ScipyOptimizer(method=alias).method == method  # same spelling as scipy's


def test_the_generic_class_defaults_to_nelder_mead_and_takes_any_case() -> None:
    assert ScipyOptimizer().method == "Nelder-Mead"
    assert ScipyOptimizer(method="l-bfgs-B").method == "L-BFGS-B"
    assert NelderMead(method="nelder-mead").method == "Nelder-Mead"


def test_registered_through_the_installed_entry_point() -> None:
    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="glompo")}
    if eps.get("scipy") != "glompo_scipy.hooks":
        pytest.skip("glompo-scipy is not installed: pip install -e plugins/glompo-scipy")
    pm = PluginManager()
    assert pm.get("optimizer", "nelder-mead") is NelderMead
    info = next(p for p in pm.plugins() if p.name == "scipy")
    assert (info.status, info.distribution, info.version) == ("active", "glompo-scipy",
                                                              __version__)
    assert sorted(info.components["optimizer"]) == sorted(
        ["ScipyOptimizer", "DifferentialEvolution", "DualAnnealing",
         *(c.__name__ for c in METHOD_CLASSES)])


def test_one_version_and_the_core_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == glompo_scipy.__version__ == __version__
    assert "glompo-core>=0.1,<0.2" in project["dependencies"]
    assert project["entry-points"]["glompo"] == {"scipy": "glompo_scipy.hooks"}
    assert (ROOT / "glompo_scipy" / "py.typed").exists()


@pytest.mark.parametrize("code", [
    "import glompo_scipy.hooks", "import glompo_scipy",
    "from glompo_core.plugins import PluginManager; import glompo_scipy.hooks as h; "
    "PluginManager(load_entrypoints=False, plugins=[('s', h)])"])
def test_registration_imports_no_scipy(code: str) -> None:
    probe = f"{code}; import sys; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out == ["False"]


# ------------------------------------------------------------------- conformance kit

# Methods that evaluate one point at a time cannot pass check_workers_population.
SEQUENTIAL: list[Any] = [(cls, {}) for cls in (NelderMead, Powell, COBYLA, COBYQA,
                                                TrustConstr)] + [
    (ScipyOptimizer, {"method": "Powell"})]
POPULATION: list[Any] = [(cls, {}) for cls in (LBFGSB, SLSQP, TNC)] + [
    (DifferentialEvolution, {"seed": 1}), (DualAnnealing, {"seed": 1}, {"maxiter": 20})]


@parametrize_with_checks(SEQUENTIAL, plugin_manager=PM, skip={"check_workers_population"})
def test_conformance_sequential(optimizer: type, check: Callable[[type], None]) -> None:
    check(optimizer)


@parametrize_with_checks(POPULATION, plugin_manager=PM)
def test_conformance(optimizer: type, check: Callable[[type], None]) -> None:
    check(optimizer)


# --------------------------------------------------------------------- manager runs


def one_optimizer_run(tmp_path: Path, name: str, init: dict[str, Any], *, max_jobs: int = 1,
                      task: Callable[[Any], float] = shifted_sphere,
                      **kwargs: Any) -> GloMPOManager:
    """A manager run of exactly one optimizer, which ends when that optimizer ends."""
    settings: dict[str, Any] = dict(
        task=task, bounds=BOUNDS5,
        opt_selector=CycleSelector((name, init), allow_spawn=NOptimizersSpawnStop(max_opts=1),
                                   plugin_manager=PM),
        working_dir=tmp_path / "run", max_jobs=max_jobs, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=60_000), split_printstreams=False, seed=1,
        plugin_manager=PM)
    settings.update(kwargs)
    manager = GloMPOManager.new_manager(**settings)
    manager.start_manager()
    return manager


@pytest.mark.parametrize(("name", "init"), [
    ("nelder-mead", {"xatol": 1e-6, "fatol": 1e-10}), ("powell", {}), ("cobyla", {}),
    ("cobyqa", {}), ("l-bfgs-b", {}), ("slsqp", {}), ("tnc", {}), ("trust-constr", {}),
    ("ScipyOptimizer", {"method": "Powell"}), ("DifferentialEvolution", {"workers": 4}),
    ("DualAnnealing", {"maxiter": 50})])
def test_each_method_finds_the_5d_sphere_minimum_through_the_manager(
        tmp_path: Path, name: str, init: dict[str, Any]) -> None:
    manager = one_optimizer_run(tmp_path, name, init, max_jobs=int(init.get("workers", 1)))
    assert manager.optimizer_status() == {1: "converged"}
    assert manager.result.fx < 1e-4 and manager.result.x is not None
    np.testing.assert_allclose(manager.result.x, CENTRE, atol=1e-2)
    converged = manager.opt_log.get_metadata(1, "end_cond")
    assert converged.startswith("converged: scipy ")


def test_differential_evolution_evaluates_each_generation_at_once() -> None:
    task = Recorder()
    opt = DifferentialEvolution(workers=4, seed=3, popsize=6, maxiter=5, polish=False)
    res = opt.minimize(task, [1.0] * 5, BOUNDS5)
    assert task.batches == [30] * 6  # the initial population, then 5 generations
    assert res.stats is not None and res.stats["evaluations"] == 180 == len(task.xs)


def test_gradient_methods_batch_their_finite_differences() -> None:
    task = Recorder()
    LBFGSB(workers=5).minimize(task, [1.0] * 5, BOUNDS5)
    if not task.batches:
        pytest.skip("scipy < 1.16 has no workers option for finite differences")
    assert max(task.batches) == 5  # one forward difference per parameter


def test_seeded_stochastic_optimizers_repeat_exactly() -> None:
    stochastic: list[tuple[type, dict[str, Any]]] = [(DifferentialEvolution, {"maxiter": 5}),
                                                     (DualAnnealing, {"maxiter": 5})]
    for cls, kwargs in stochastic:
        runs = []
        for seed in (7, 7, 8):
            task = Recorder()
            cls(seed=seed, **kwargs).minimize(task, [1.0] * 5, BOUNDS5)
            runs.append(np.array(task.xs))
        np.testing.assert_array_equal(runs[0], runs[1])
        assert runs[0].shape != runs[2].shape or not np.array_equal(runs[0], runs[2])


# ------------------------------------------------------------------ stop and messages


class StopsAt(Recorder):
    """A Recorder whose n-th evaluation sends the optimizer a stop through ``pipe``."""

    def __init__(self, pipe: ThreadPipe, n: int) -> None:
        super().__init__()
        self.stop_pipe, self.n = pipe, n

    def __call__(self, x: Sequence[float]) -> float:
        fx = super().__call__(x)
        if len(self.xs) == self.n:
            self.stop_pipe.send((Signal.STOP, "enough"))
        return fx


def test_stop_ends_nelder_mead_before_its_next_evaluation() -> None:
    """The stop is obeyed at the next evaluation, wherever scipy is in its iteration."""
    opt, pipe, _, _ = wired(NelderMead)
    task = StopsAt(pipe, 10)
    res = opt.minimize(task, [1.5] * 5, BOUNDS5)
    assert len(task.xs) == 10  # not one evaluation after the one that sent the stop
    assert not res.success and res.stats["message"] == "stopped by the manager: enough"
    best = min(shifted_sphere(x) for x in task.xs)
    assert res.fx == best  # nothing lost: the best point seen
    np.testing.assert_array_equal(res.x, task.xs[[shifted_sphere(x) for x in task.xs]
                                                 .index(best)])


def test_a_run_ending_stops_a_scipy_optimizer_promptly(tmp_path: Path) -> None:
    task = Recorder(delay=0.05)
    manager = one_optimizer_run(tmp_path, "nelder-mead", {}, task=task,
                                exit_conditions=MaxSeconds(session_max=1))
    # stopped when the run ended (not left running, or abandoned as hung), and every
    # evaluation it made is in the run's count
    assert manager.optimizer_status() == {1: "ended"}
    assert manager.f_counter == len(task.xs)
    assert manager.result.fx < shifted_sphere(np.full(5, 2.0))


def test_convergence_is_reported_with_scipys_message() -> None:
    opt, _, inbox, _ = wired(Powell)
    res = opt.minimize(shifted_sphere, [1.0] * 5, BOUNDS5)
    assert res.success
    assert inbox.items == [
        ManagerMessage(1, 0, "scipy Powell: Optimization terminated successfully.")]
    opt, _, inbox, _ = wired(NelderMead, maxfev=20)
    res = opt.minimize(shifted_sphere, [1.0] * 5, BOUNDS5)
    assert not res.success and res.stats is not None and res.stats["evaluations"] <= 21
    assert [m.key for m in inbox] == [0] and "Maximum number of function evaluations" in \
        inbox[0].message


def test_cobyla_and_trust_constr_never_leave_the_bounds() -> None:
    bounds = np.array([(10.0, 11.0), (-3.0, -2.5), (100.0, 200.0)])
    slope = np.array([-1.0, -1.0, 1.0]) / (bounds[:, 1] - bounds[:, 0])
    for cls in (COBYLA, TrustConstr):
        task = Recorder(lambda x: float(slope @ x))
        res = cls().minimize(task, bounds.mean(axis=1), bounds.tolist())
        xs = np.array(task.xs)
        assert np.all(xs >= bounds[:, 0]) and np.all(xs <= bounds[:, 1])
        assert res.fx == pytest.approx(slope @ [11.0, -2.5, 100.0], abs=1e-3)


# ----------------------------------------------------------------------- checkpoints


def test_checkpoint_does_not_wait_and_resume_restarts_from_the_best(tmp_path: Path) -> None:
    control = CheckpointingControl(checkpoint_iter_frequency=150, naming_format="c_%(count)")
    one_optimizer_run(tmp_path, "nelder-mead", {}, checkpoint_control=control,
                      exit_conditions=MaxFuncCalls(fmax=200), task=Recorder(delay=0.001))
    path = tmp_path / "run" / "checkpoints" / "c_001.tar.gz"
    manifest = read_manifest(path)
    assert [(o["type"], o["restart"]) for o in manifest["optimizers"]] == [("NelderMead", "best")]
    task = Recorder()
    resumed = GloMPOManager.load_manager(path, task=task, plugin_manager=PM,
                                         exit_conditions=MaxFuncCalls(fmax=400))
    entry = resumed._restore[0]
    best = resumed.opt_log.get_best_iter(1)
    np.testing.assert_array_equal(entry["best_x"], best["x"])
    resumed.start_manager()
    np.testing.assert_array_equal(task.xs[0], best["x"])  # restarted from its best point
    assert resumed.optimizer_status() == {1: "converged"}  # it ran on, to its own end
    assert resumed.f_counter == manifest["f_counter"] + len(task.xs)
    assert resumed.result.fx < min(best["fx"], 1e-6)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("cls", "kwargs", "match"), [
    (ScipyOptimizer, {"method": "nelder_mead"}, "unknown scipy.optimize.minimize method "
                                                "'nelder_mead'; did you mean 'Nelder-Mead'"),
    (ScipyOptimizer, {"method": "BFGS"}, "Methods offered .*Nelder-Mead, Powell"),
    (NelderMead, {"method": "Powell"}, "NelderMead always uses method 'Nelder-Mead'"),
    (NelderMead, {"xtol": 1e-3}, "unknown option\\(s\\) for scipy Nelder-Mead: 'xtol' "
                                 "\\(did you mean 'xatol'\\?\\)"),
    (LBFGSB, {"bounds": [(0, 1)]}, "'bounds' cannot be given to scipy L-BFGS-B"),
    (LBFGSB, {"callback": print}, "'callback' cannot be given"),
    (SLSQP, {"jac": "cs"}, "jac must be '2-point', '3-point', a callable or None"),
    (DifferentialEvolution, {"popsise": 5}, "did you mean 'popsize'"),
    (DifferentialEvolution, {"rng": 1}, "give seed as the optimizer's own argument"),
    (DualAnnealing, {"x0": [0.0]}, "the starting point is given to minimize"),
    (DualAnnealing, {"seed": -1}, "seed must be None or an integer >= 0"),
])
def test_bad_input_names_the_argument(cls: type, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize(("cls", "init", "key", "message"), [
    (NelderMead, {"xtol": 1e-3}, "xtol", "did you mean 'xatol'?"),
    (ScipyOptimizer, {"method": "Powell", "xatol": 1e-3}, "xatol", "did you mean 'xtol'?"),
    (ScipyOptimizer, {"maxfevs": 10}, "maxfevs", "did you mean 'maxfev'?"),  # Nelder-Mead's
    (DifferentialEvolution, {"popsise": 5}, "popsise", "did you mean 'popsize'?"),
    (DualAnnealing, {"maxfunn": 100}, "maxfunn", "did you mean 'maxfun'?"),
    (DualAnnealing, {"sed": 1}, "sed", "did you mean 'seed'?"),
])
def test_a_misspelt_option_is_refused_before_the_run(cls: type, init: dict[str, Any], key: str,
                                                     message: str) -> None:
    # known_init_options: setup() and run files check scipy's options before the run starts
    from glompo_core._setup_checks import optimizer_argument_problems

    problems = optimizer_argument_problems(cls, init, {})
    assert [(p.key, p.message) for p in problems] == [
        (key, f"not an argument of {cls.__name__}; {message}")]


@pytest.mark.parametrize(("cls", "init"), [
    (ScipyOptimizer, {"method": "Powell", "xtol": 1e-3, "workers": 2, "seed": 1, "tol": 0.1}),
    (DifferentialEvolution, {"popsize": 5, "maxiter": 3, "seed": 1}),
    (DualAnnealing, {"maxfun": 100, "no_local_search": True}),
    (ScipyOptimizer, {"method": "nelder_mead", "anything": 1}),  # the method is reported
    (LBFGSB, {"bounds": [(0, 1)]}),  # reported with its reason when the optimizer is built
])
def test_accepted_options_pass_the_check_before_the_run(cls: type,
                                                        init: dict[str, Any]) -> None:
    from glompo_core._setup_checks import optimizer_argument_problems

    assert optimizer_argument_problems(cls, init, {}) == []


def test_cobyqa_on_an_old_scipy_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from glompo_scipy import _minimize

    monkeypatch.setattr(_minimize, "_scipy_version", lambda: (1, 13))
    with pytest.raises(ValueError, match=r"method 'COBYQA' needs scipy >= 1\.14.*pip install"):
        COBYQA()
    assert NelderMead().method == "Nelder-Mead"


def test_options_reach_scipy() -> None:
    task = Recorder()
    res = ScipyOptimizer(method="Nelder-Mead", maxiter=7).minimize(task, [1.0] * 5, BOUNDS5)
    assert res.stats is not None and res.stats["iterations"] == 7
    res = SLSQP(tol=1e-12, jac="3-point").minimize(shifted_sphere, [1.0] * 5, BOUNDS5)
    assert res.fx < 1e-12
