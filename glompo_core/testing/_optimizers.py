"""The conformance kit for optimizers (see :mod:`glompo_core.testing`): the checks and
their entry points, :func:`parametrize_with_checks` and :func:`check_optimizer`.

The harness they share (wiring, reports, time limits) is
:mod:`glompo_core.testing._optimizer_harness`.
"""

from __future__ import annotations

import functools
import inspect
import math
import tempfile
import time
import unittest
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal
from glompo_core.testing._harness import BatchRecordingTask as _BatchTask
from glompo_core.testing._harness import RecordingTask as _Task
from glompo_core.testing._harness import Wired as _Wired
from glompo_core.testing._harness import wires as _wires
from glompo_core.testing._optimizer_harness import (
    TASK_BOUNDS,
    TaskFailure,
    bounds_for,
    class_name,
    finish,
    raise_error,
    skip_check,
    sphere_for,
    time_limited,
    where,
    wire,
)

if TYPE_CHECKING:
    from glompo_core.plugins import PluginManager


# ================================================================================== checks


def check_registered(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                     plugin_manager: PluginManager | None = None,
                     name: str | None = None) -> None:
    """The optimizer is registered in ``plugin_manager`` and found by name.

    Parameters
    ----------
    cls
        The optimizer class.
    init_kwargs
        Unused (uniform signature of the checks).
    plugin_manager
        Where to look it up; without one the check is skipped.
    name
        The name it must be found by; default: any registered name (the class name
        is looked up first).

    Raises
    ------
    AssertionError
        Not registered, or the name resolves to another component.
    unittest.SkipTest
        No ``plugin_manager`` given.
    """
    if plugin_manager is None:
        skip_check("no plugin_manager given: registration is not checked")
    assert plugin_manager is not None
    names = plugin_manager.names("optimizer")
    if name is not None:
        if not plugin_manager.has("optimizer", name):
            raise AssertionError(f"no optimizer is registered as {name!r}; registered: {names}")
        found = plugin_manager.get("optimizer", name)
        if found is not cls:
            raise AssertionError(f"the optimizer registered as {name!r} is {found!r}, not "
                                 f"{cls!r}")
        return
    mine = [n for n in names if plugin_manager.get("optimizer", n) is cls]
    if not mine:
        raise AssertionError(f"{class_name(cls)} is not registered as an optimizer (registered: "
                             f"{names}); register it in a glompo_register_optimizers hook")
    info = plugin_manager.info("optimizer", mine[0])
    for alias in info.aliases:
        if plugin_manager.get("optimizer", alias) is not cls:
            raise AssertionError(f"alias {alias!r} of {mine[0]!r} does not resolve to {cls!r}")


@time_limited("timeout")
def check_minimizes_sphere(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                           budget: int = 5000, timeout: float = 60.0) -> None:
    """Stand-alone, the optimizer minimizes a 3-D sphere and returns its best point.

    The sphere's minimum is inside the bounds, off-centre; ``x0`` is far from it. The
    optimizer is stopped (``Signal.STOP``) after ``budget`` evaluations if it has not
    converged. The best value must be below 1 % of ``f(x0)``, and the returned
    ``MinimizeResult`` must hold the best evaluated point and its value.

    Raises
    ------
    AssertionError
        Not minimized, a wrong result, an exception, or no return within ``timeout``.
    """
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    wired = wire(cls, init_kwargs)
    task = _Task(sphere, budget=budget, pipe=wired.pipe)
    wired.start(task, x0, bounds)
    finish(wired, timeout, f"starting ({task.n_evals} evaluations made)")
    raise_error(wired, "on a sphere")
    name = class_name(cls)
    if not task.fxs:
        raise AssertionError(f"{name}.minimize() returned without evaluating the function")
    best = min(task.fxs)
    target = 0.01 * sphere(x0)
    if not best <= target:
        raise AssertionError(f"{name} did not minimize a 3-D sphere: best value {best:.4g} "
                             f"after {len(task.fxs)} evaluations, expected <= {target:.4g} "
                             f"(1 % of f(x0))")
    result = wired.result
    fx = getattr(result, "fx", None)
    x = getattr(result, "x", None)
    if fx is None or x is None:
        raise AssertionError(f"{name}.minimize() returned {result!r}; it must return a "
                             "MinimizeResult with x and fx")
    if not math.isclose(float(fx), best, rel_tol=1e-9, abs_tol=1e-12):
        raise AssertionError(f"{name}.minimize() returned fx={fx!r} but the best value it "
                             f"evaluated is {best!r}")
    if not math.isclose(sphere(np.asarray(x, dtype=float)), float(fx), rel_tol=1e-9,
                        abs_tol=1e-12):
        raise AssertionError(f"{name}.minimize() returned x={x!r} whose value is "
                             f"{sphere(np.asarray(x, dtype=float))!r}, not fx={fx!r}")


@time_limited("timeout")
def check_respects_bounds(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                          budget: int = 1000, timeout: float = 60.0) -> None:
    """The optimizer never evaluates a point outside the bounds it was given.

    The task (a linear slope) pushes it against a corner of asymmetric bounds.

    Raises
    ------
    AssertionError
        A point outside the bounds was evaluated (the first one is shown).
    """
    scaling = getattr(cls, "scaling", None)
    if scaling in ("linear", "std"):
        bounds = bounds_for(cls)
    else:
        bounds = np.array([(10.0, 11.0), (-3.0, -2.5), (100.0, 200.0)])
    lo, hi = bounds[:, 0], bounds[:, 1]
    slope = np.array([1.0, -1.0, 1.0]) / (hi - lo)
    x0 = lo + 0.5 * (hi - lo)
    wired = wire(cls, init_kwargs)
    task = _Task(lambda x: float(slope @ x), budget=budget, pipe=wired.pipe)
    wired.start(task, x0, bounds)
    finish(wired, timeout, "starting")
    raise_error(wired, "on a bounded linear task")
    for i, x in enumerate(task.xs):
        if x.shape != lo.shape or np.any(x < lo) or np.any(x > hi):
            raise AssertionError(f"{class_name(cls)} evaluated {x.tolist()} (evaluation {i + 1}), "
                                 f"outside its bounds {bounds.tolist()}")


@time_limited("timeout")
def check_pause(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                timeout: float = 10.0) -> None:
    """A pause request is acknowledged (message key 1) and nothing is evaluated while paused.

    Driven as the manager does: clear the pause event, send ``(Signal.PAUSE,)``, wait
    for the acknowledgement; then set the event and the optimizer must continue.

    Raises
    ------
    AssertionError
        No acknowledgement, an evaluation while paused, or no resumption.
    """
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    wired = wire(cls, init_kwargs)
    task = _Task(sphere, delay=0.002)
    wired.start(task, x0, bounds)
    name = class_name(cls)
    try:
        if not task.wait_for_evals(3, timeout):
            raise AssertionError(f"{name} made fewer than 3 evaluations in {timeout} s")
        wired.pause.clear()
        wired.pipe.send((Signal.PAUSE,))
        if not wired.inbox.wait_for_key(1, timeout):
            raise_error(wired, "while a pause was requested")
            raise AssertionError(f"{name} did not acknowledge a pause request (message key 1) "
                                 f"within {timeout} s; call check_messages() every iteration")
        n_paused = task.n_evals
        time.sleep(0.3)
        if task.n_evals != n_paused:
            raise AssertionError(f"{name} made {task.n_evals - n_paused} evaluation(s) while "
                                 "paused; call self._pause_signal.wait() every iteration")
        wired.pause.set()
        if not task.wait_for_evals(n_paused + 1, timeout):
            raise AssertionError(f"{name} did not continue within {timeout} s after the pause "
                                 "was released")
    finally:
        stopped = wired.stop(timeout)
    if not stopped:
        finish(wired, 0, "a stop request")
    raise_error(wired, "around a pause")


@time_limited("limit", extra=30.0)
def check_callstop(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                   limit: float = 2.0, delay: float = 0.005) -> None:
    """``Signal.STOP`` sent from another thread ends ``minimize`` within ``limit`` seconds.

    The task sleeps ``delay`` seconds per evaluation; ``minimize`` must then return a
    result (not raise).

    Raises
    ------
    AssertionError
        Not ended in time, or it raised.
    """
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    wired = wire(cls, init_kwargs)
    task = _Task(sphere, delay=delay)
    wired.start(task, x0, bounds)
    name = class_name(cls)
    if not task.wait_for_evals(3, 30.0):
        wired.stop(limit)
        raise_error(wired, "before it was stopped")
        raise AssertionError(f"{name} made fewer than 3 evaluations in 30 s")
    t0 = time.monotonic()
    wired.pipe.send((Signal.STOP, "conformance check: stop"))
    ended = wired.join(limit)
    elapsed = time.monotonic() - t0
    if not ended:
        raise AssertionError(f"{name}.minimize() did not return within {limit} s of a stop "
                             "signal; callstop() must end the loop at the next iteration")
    raise_error(wired, "after a stop signal instead of returning")
    if getattr(wired.result, "fx", None) is None:
        raise AssertionError(f"{name}.minimize() returned {wired.result!r} after a stop "
                             f"signal ({elapsed:.2f} s); it must return a MinimizeResult")


@time_limited("timeout")
def check_inject(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                 timeout: float = 10.0) -> None:
    """``Signal.INJECT`` with a better point updates the incumbent; a worse one does not.

    Raises
    ------
    AssertionError
        The incumbent is not the injected point.
    """
    bounds = bounds_for(cls)
    sphere, centre, x0 = sphere_for(bounds)
    wired = wire(cls, init_kwargs)
    # The 4th evaluation waits for the injection: an optimizer that converges in a few
    # dozen evaluations (L-BFGS-B on the sphere) cannot end before the message is sent.
    task = _Task(sphere, delay=0.001, hold_at=4, hold_timeout=timeout)
    wired.start(task, x0, bounds)
    name = class_name(cls)
    x_inj = bounds[:, 0] + 0.7 * (bounds[:, 1] - bounds[:, 0])
    fx_inj = -1e9
    try:
        if not task.wait_for_evals(3, timeout):
            raise AssertionError(f"{name} made fewer than 3 evaluations in {timeout} s")
        wired.pipe.send((Signal.INJECT, x_inj.copy(), fx_inj))
        task.released.set()
        deadline = time.monotonic() + timeout
        while wired.opt.incumbent["fx"] != fx_inj:
            if time.monotonic() > deadline or not wired.thread or not wired.thread.is_alive():
                raise AssertionError(f"{name} did not take an injected better point as its "
                                     f"incumbent within {timeout} s (incumbent: "
                                     f"{wired.opt.incumbent!r})")
            time.sleep(0.005)
    finally:
        task.released.set()  # never leave the optimizer waiting
        stopped = wired.stop(timeout)
    if not stopped:
        finish(wired, 0, "a stop request")
    raise_error(wired, "after an injection")
    incumbent = wired.opt.incumbent
    if incumbent["fx"] != fx_inj or not np.allclose(incumbent["x"], x_inj):
        raise AssertionError(f"{name}'s incumbent is {incumbent!r} after injecting x="
                             f"{x_inj.tolist()}, fx={fx_inj}")
    wired.opt.inject(centre, 1e9)
    if wired.opt.incumbent["fx"] != fx_inj:
        raise AssertionError(f"{name}.inject() replaced the incumbent fx={fx_inj} by a worse "
                             "point (fx=1e9)")


@time_limited("timeout")
def check_workers_population(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                             workers: int = 3, budget: int = 300,
                             timeout: float = 60.0) -> None:
    """With ``workers`` > 1, populations go through ``function.evaluate_population``.

    Inside a run the manager's function evaluates a population at once through the run's
    backend; :func:`~glompo_core.optimizers.evaluate_population` uses it.

    Raises
    ------
    AssertionError
        ``evaluate_population`` was never given more than one point.
    """
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    wired = wire(cls, init_kwargs, workers=workers)
    name = class_name(cls)
    if getattr(wired.opt, "workers", workers) != workers:
        raise AssertionError(f"{name} built with _workers={workers} has workers="
                             f"{wired.opt.workers}")
    task = _BatchTask(sphere, budget=budget, pipe=wired.pipe)
    wired.start(task, x0, bounds)
    finish(wired, timeout, "starting")
    raise_error(wired, f"with workers={workers}")
    if not task.batches or max(task.batches) < 2:
        raise AssertionError(
            f"{name} with workers={workers} never evaluated a population at once: "
            f"function.evaluate_population got batches {task.batches[:10]} and the function "
            f"was called {task.single_calls} time(s) point by point; evaluate each "
            "iteration's points with glompo_core.optimizers.evaluate_population(function, "
            "xs, self.workers)")


@time_limited("timeout")
def check_scaling(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                  fmax: int = 200, timeout: float = 60.0) -> None:
    """A short real GloMPOManager run gives the optimizer bounds per its declared scaling.

    ``scaling = 'linear'``: bounds [0, 1]; ``'std'``: [-1, 1]; otherwise the task's own
    bounds. ``x0`` must be inside those bounds, and every point the task receives (in
    the task's units) inside the task's bounds.

    Raises
    ------
    AssertionError
        Wrong bounds, a point outside the task's bounds, a crash, or a run that does
        not end within ``timeout``.
    """
    from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
    from glompo_core.manager import GloMPOManager
    from glompo_core.plugins import PluginManager
    from glompo_core.selectors import CycleSelector

    wire(cls, init_kwargs)  # built as the manager builds it: a bad __init__ is named
    seen: dict[str, np.ndarray] = {}

    def probe_minimize(self: Any, function: Any, x0: Any, bounds: Any, **kwargs: Any) -> Any:
        seen["bounds"] = np.array(bounds, dtype=float)
        seen["x0"] = np.array(x0, dtype=float)
        return cls.minimize(self, function, x0, bounds, **kwargs)  # type: ignore[attr-defined]

    probe = type(class_name(cls), (cls,), {"minimize": probe_minimize,
                                      "__module__": getattr(cls, "__module__", __name__)})
    sphere, _, _ = sphere_for(TASK_BOUNDS)
    task = _Task(sphere)
    name = class_name(cls)
    slots = max(1, int(dict(init_kwargs or {}).get("workers", 1)))
    with tempfile.TemporaryDirectory(prefix="glompo-conformance-") as workdir:
        manager = GloMPOManager.new_manager(
            task=task, bounds=TASK_BOUNDS.tolist(),
            opt_selector=CycleSelector((probe, dict(init_kwargs or {}))),
            working_dir=Path(workdir), max_jobs=slots, backend="threads",
            exit_conditions=MaxFuncCalls(fmax=fmax) | MaxSeconds(session_max=timeout),
            split_printstreams=False, summary_files=0, end_timeout=timeout,
            plugin_manager=PluginManager(load_entrypoints=False))
        manager.start_manager()
    status = manager.optimizer_status().get(1)
    if status is None:
        raise AssertionError(f"the manager did not start {name}: {manager.exit_reason}")
    if status == "crashed":
        messages = "; ".join(manager.opt_log.get_messages(1))
        raise AssertionError(f"{name} crashed in a GloMPOManager run: {messages}")
    if "bounds" not in seen:
        raise AssertionError(f"{name}.minimize() was not called by the manager")
    scaling = getattr(cls, "scaling", None)
    expected = {"linear": np.tile([0.0, 1.0], (3, 1)),
                "std": np.tile([-1.0, 1.0], (3, 1))}.get(str(scaling), TASK_BOUNDS)
    if seen["bounds"].shape != expected.shape or not np.allclose(seen["bounds"], expected):
        raise AssertionError(f"{name} (scaling={scaling!r}) was given bounds "
                             f"{seen['bounds'].tolist()}, expected {expected.tolist()}")
    if np.any(seen["x0"] < expected[:, 0]) or np.any(seen["x0"] > expected[:, 1]):
        raise AssertionError(f"{name} (scaling={scaling!r}) was given x0="
                             f"{seen['x0'].tolist()} outside {expected.tolist()}")
    if not task.xs:
        raise AssertionError(f"{name} evaluated nothing in a GloMPOManager run")
    lo, hi = TASK_BOUNDS[:, 0], TASK_BOUNDS[:, 1]
    tol = 1e-9 * (hi - lo)
    for x in task.xs:
        if np.any(x < lo - tol) or np.any(x > hi + tol):
            raise AssertionError(f"the task received {x.tolist()} from {name} "
                                 f"(scaling={scaling!r}), outside {TASK_BOUNDS.tolist()}")


@time_limited("timeout")
def check_convergence_message(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                              converge_kwargs: Mapping[str, Any] | None = None,
                              budget: int = 20000, timeout: float = 60.0) -> None:
    """The optimizer reports its own convergence to the manager with message key 0.

    ``converge_kwargs`` are added to ``init_kwargs`` (for optimizers that only converge
    with some setting, e.g. ``{'iters': 5}`` or ``{'maxfevals': 500}``). The optimizer
    must send a ``ManagerMessage`` with key 0 and return by itself within ``budget``
    evaluations.

    Raises
    ------
    AssertionError
        No key 0 message, or ``minimize`` did not return by itself.
    """
    kwargs = {**dict(init_kwargs or {}), **dict(converge_kwargs or {})}
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    wired = wire(cls, kwargs)
    task = _Task(sphere, budget=budget, pipe=wired.pipe)
    wired.start(task, x0, bounds)
    finish(wired, timeout, "starting")
    raise_error(wired, "before converging")
    name = class_name(cls)
    zeros = [m for m in wired.inbox.items if isinstance(m, ManagerMessage) and m.key == 0]
    if not zeros:
        hint = ("it was stopped after the evaluation budget: make it converge quickly with "
                "converge_kwargs (e.g. {'iters': 5} or {'maxfevals': 500})"
                if task.stop_sent else "it returned without reporting why")
        raise AssertionError(f"{name} did not report convergence (message key 0 through "
                             f"message_manager) in {len(task.xs)} evaluations; {hint}")
    if zeros[0].opt_id != 1:
        raise AssertionError(f"{name} reported convergence with opt_id={zeros[0].opt_id}, "
                             "expected its own _opt_id (1)")


@time_limited("timeout")
def check_checkpoint(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                     budget: int = 200, timeout: float = 60.0) -> None:
    """``checkpoint_save`` (by ``Signal.CHECKPOINT``) and ``checkpoint_load`` round trip.

    The optimizer is sent a checkpoint request, which it must honour (message key 2)
    and keep running; the file loaded with ``checkpoint_load`` gives an instance of the
    class, flagged ``is_restart``, which continues minimizing: it evaluates points and
    returns no worse than the incumbent it was saved with. Skipped for classes with
    ``can_checkpoint = False``.

    Raises
    ------
    AssertionError
        No checkpoint written, or the loaded optimizer does not continue.
    """
    if not getattr(cls, "can_checkpoint", True):
        skip_check(f"{class_name(cls)}.can_checkpoint is False")
    name = class_name(cls)
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)
    with tempfile.TemporaryDirectory(prefix="glompo-conformance-") as workdir:
        path = Path(workdir) / "optimizer.pkl"
        wired = wire(cls, init_kwargs)
        wired.pipe.send((Signal.CHECKPOINT, path))
        task = _Task(sphere, budget=budget, pipe=wired.pipe)
        wired.start(task, x0, bounds)
        finish(wired, timeout, "starting")
        raise_error(wired, "while checkpointing")
        keys = wired.inbox.keys()
        if 2 not in keys:
            detail = [m.message for m in wired.inbox.items
                      if isinstance(m, ManagerMessage) and m.key == 3]
            raise AssertionError(f"{name} did not confirm a checkpoint (message key 2): "
                                 f"{detail[0] if detail else 'no reply'}")
        if not path.exists():
            raise AssertionError(f"{name} confirmed a checkpoint but wrote no file at {path}")
        manager_end, opt_end, inbox, pause = _wires()
        try:
            loaded = cls.checkpoint_load(  # type: ignore[attr-defined]
                path, _opt_id=2, _signal_pipe=opt_end, _results_queue=inbox,
                _pause_flag=pause)
        except Exception as exc:
            raise AssertionError(f"{name}.checkpoint_load() failed on the file written by "
                                 f"checkpoint_save(): {type(exc).__name__}: {exc}") from exc
    if not isinstance(loaded, cls):
        raise AssertionError(f"{name}.checkpoint_load() returned {type(loaded)!r}")
    if not getattr(loaded, "is_restart", False):
        raise AssertionError(f"the optimizer loaded by {name}.checkpoint_load() is not "
                             "flagged is_restart")
    restored: Any = loaded
    saved_fx = float(restored.incumbent["fx"])
    wired2 = _Wired(loaded, manager_end, inbox, pause)
    task2 = _Task(sphere, budget=budget, pipe=wired2.pipe)
    wired2.start(task2, x0, bounds)
    finish(wired2, timeout, "starting from a checkpoint")
    raise_error(wired2, "after checkpoint_load()")
    if not task2.xs:
        raise AssertionError(f"{name} loaded from a checkpoint evaluated nothing")
    fx = getattr(wired2.result, "fx", None)
    if fx is None or not float(fx) <= saved_fx:
        raise AssertionError(f"{name} loaded from a checkpoint returned fx={fx!r}, worse than "
                             f"the incumbent it was saved with ({saved_fx!r})")


@time_limited("timeout")
def check_nan_and_raise(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                        budget: int = 100, timeout: float = 30.0) -> None:
    """Failed evaluations never crash or hang the optimizer.

    Inside a run an evaluation that fails is recorded by the manager and reaches the
    optimizer as a value: NaN when the task returns NaN, ``+inf`` when the task raised
    or timed out. The optimizer must take both as very bad values and go on. Three
    tasks are tried, each stopped (``Signal.STOP``) after ``budget`` evaluations:

    1. a task that returns NaN for every point: ``minimize`` must return a result,
       not raise;
    2. a task that returns ``+inf`` for every other point (a sphere elsewhere):
       ``minimize`` must return a result whose ``fx`` is the best finite value;
    3. a task that raises after 5 evaluations (only when the optimizer is used
       stand-alone): it may let the task's exception propagate, or go on; any other
       exception is a failure.

    Each must end within ``timeout`` seconds.

    Raises
    ------
    AssertionError
        A hang, an exception on NaN or +inf, a result of +inf although finite values
        were evaluated, or another exception than the task's.
    """
    name = class_name(cls)
    bounds = bounds_for(cls)
    sphere, _, x0 = sphere_for(bounds)

    def run(f: Callable[[np.ndarray], float], what: str) -> tuple[_Wired, _Task]:
        wired = wire(cls, init_kwargs)
        task = _Task(f, budget=budget, pipe=wired.pipe)
        wired.start(task, x0, bounds)
        if not wired.join(timeout):
            wired.stop(1.0)
            raise AssertionError(f"{name} hangs on {what}: still running after {timeout} s "
                                 f"and {task.n_evals} evaluations{where(wired)}")
        return wired, task

    survive = ("; inside a run, failed evaluations reach the optimizer as NaN or +inf and it "
               "must treat them as very bad values and go on")
    wired, _ = run(lambda x: float("nan"), "a task returning NaN")
    raise_error(wired, f"on a task returning NaN{survive}")

    def half_infinite(x: np.ndarray) -> float:
        return float("inf") if len(task_inf.xs) % 2 == 0 else sphere(x)

    task_inf: _Task
    wired = wire(cls, init_kwargs)
    task_inf = _Task(half_infinite, budget=budget, pipe=wired.pipe)
    wired.start(task_inf, x0, bounds)
    if not wired.join(timeout):
        wired.stop(1.0)
        raise AssertionError(f"{name} hangs on a task returning +inf for every other point: "
                             f"still running after {timeout} s and {task_inf.n_evals} "
                             f"evaluations{where(wired)}")
    raise_error(wired, f"on a task returning +inf for every other point{survive}")
    finite = [fx for fx in task_inf.fxs.copy() if math.isfinite(fx)]
    fx = getattr(wired.result, "fx", None)
    if finite and (fx is None or not math.isfinite(float(fx))):
        raise AssertionError(f"{name}.minimize() returned fx={fx!r} on a task returning +inf "
                             f"for every other point, though it evaluated {len(finite)} "
                             f"finite values (best {min(finite)!r}); +inf must never replace "
                             "a finite best")

    def failing(x: np.ndarray) -> float:
        if len(task_raise.xs) > 5:
            raise TaskFailure("conformance check: the task failed")
        return sphere(x)

    task_raise: _Task
    wired = wire(cls, init_kwargs)
    task_raise = _Task(failing, budget=budget, pipe=wired.pipe)
    wired.start(task_raise, x0, bounds)
    if not wired.join(timeout):
        wired.stop(1.0)
        raise AssertionError(f"{name} hangs on a task that raises: still running after "
                             f"{timeout} s and {task_raise.n_evals} evaluations{where(wired)}")
    error = wired.error
    if error is not None:
        chain: list[BaseException] = []
        cause: BaseException | None = error
        while cause is not None and len(chain) < 20:
            chain.append(cause)
            if cause.__cause__ is not None:
                cause = cause.__cause__
            else:
                cause = None if cause.__suppress_context__ else cause.__context__
        if not any(isinstance(e, TaskFailure) for e in chain):
            raise AssertionError(f"{name} raised {type(error).__name__}: {error} on a task "
                                 "that raises, not the task's exception") from error


#: Every check, in the order :func:`parametrize_with_checks` lists them.
ALL_CHECKS: tuple[Callable[..., None], ...] = (
    check_registered,
    check_minimizes_sphere,
    check_respects_bounds,
    check_pause,
    check_callstop,
    check_inject,
    check_workers_population,
    check_scaling,
    check_convergence_message,
    check_checkpoint,
    check_nan_and_raise,
)


# ============================================================================ entry points

OptimizerEntry = type | tuple[type, Mapping[str, Any]] | tuple[type, Mapping[str, Any],
                                                                  Mapping[str, Any]]


def _normalise(entry: Any) -> tuple[type, dict[str, Any], dict[str, Any] | None]:
    if isinstance(entry, type):
        return entry, {}, None
    if isinstance(entry, tuple) and len(entry) in (2, 3) and isinstance(entry[0], type):
        init = dict(entry[1] or {})
        conv = dict(entry[2]) if len(entry) == 3 and entry[2] is not None else None
        return entry[0], init, conv
    raise TypeError("each optimizer must be a class, (class, init_kwargs) or (class, "
                    f"init_kwargs, converge_kwargs); got {entry!r}")


def _bind(check: Callable[..., None], init_kwargs: dict[str, Any],
          converge_kwargs: dict[str, Any] | None,
          plugin_manager: PluginManager | None) -> Callable[[type], None]:
    """``check`` with its arguments bound, called as ``check(cls)``."""
    params = inspect.signature(check).parameters
    extra: dict[str, Any] = {}
    if "plugin_manager" in params:
        extra["plugin_manager"] = plugin_manager
    if "converge_kwargs" in params:
        extra["converge_kwargs"] = converge_kwargs
    bound = functools.partial(check, init_kwargs=init_kwargs, **extra)
    functools.update_wrapper(bound, check)
    return bound


def _label(cls: type, init_kwargs: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in init_kwargs.items())
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{class_name(cls)}({shown})" if shown else class_name(cls)


def _selected(skip: Collection[str]) -> list[Callable[..., None]]:
    names = {c.__name__ for c in ALL_CHECKS}
    unknown = set(skip) - names
    if unknown:
        raise ValueError(f"unknown check(s) in skip: {sorted(unknown)}; known: {sorted(names)}")
    return [c for c in ALL_CHECKS if c.__name__ not in skip]


def parametrize_with_checks(optimizers: Iterable[OptimizerEntry], *,
                            plugin_manager: PluginManager | None = None,
                            skip: Collection[str] = ()) -> Any:
    """A ``pytest.mark.parametrize`` over (optimizer, check) pairs for each given optimizer.

    Parameters
    ----------
    optimizers
        Each a class, ``(class, init_kwargs)`` or ``(class, init_kwargs,
        converge_kwargs)`` (see :func:`check_convergence_message`).
    plugin_manager
        Registry in which :func:`check_registered` looks the classes up; without one that
        check is skipped.
    skip
        Names of checks to leave out (e.g. ``{"check_checkpoint"}``).

    Returns
    -------
    pytest.MarkDecorator
        Parametrizes the arguments ``optimizer`` (the class) and ``check`` (the check with
        its arguments bound); the test calls ``check(optimizer)``. Test ids read
        ``<Class(init_kwargs)>-<check name>``.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> @parametrize_with_checks([(RandomOptimizer, {"seed": 1}, {"iters": 5})])
    ... def test_conformance(optimizer, check):
    ...     check(optimizer)
    """
    import pytest

    checks = _selected(skip)
    params = []
    seen: dict[str, int] = {}
    for entry in optimizers:
        cls, init, conv = _normalise(entry)
        label = _label(cls, init)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        for check in checks:
            params.append(pytest.param(cls, _bind(check, init, conv, plugin_manager),
                                       id=f"{label}-{check.__name__}"))
    return pytest.mark.parametrize(("optimizer", "check"), params)


def check_optimizer(cls: type, init_kwargs: Mapping[str, Any] | None = None, *,
                    converge_kwargs: Mapping[str, Any] | None = None,
                    plugin_manager: PluginManager | None = None,
                    skip: Collection[str] = ()) -> dict[str, str]:
    """Run every check on one optimizer, without pytest.

    Parameters
    ----------
    cls, init_kwargs, converge_kwargs, plugin_manager, skip
        See :func:`parametrize_with_checks`.

    Returns
    -------
    dict
        ``{check name: 'passed' or 'skipped: <reason>'}``.

    Raises
    ------
    AssertionError
        The first failing check, its name first.
    """
    outcome: dict[str, str] = {}
    for check in _selected(skip):
        bound = _bind(check, dict(init_kwargs or {}),
                      None if converge_kwargs is None else dict(converge_kwargs),
                      plugin_manager)
        try:
            bound(cls)
        except unittest.SkipTest as exc:
            outcome[check.__name__] = f"skipped: {exc}"
            continue
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc
        outcome[check.__name__] = "passed"
    return outcome
