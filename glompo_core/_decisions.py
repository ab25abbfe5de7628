"""The manager's decisions: record a batch, stop, exit, spawn, launch, abandon.

Every function takes the manager (``m``) and reads and changes its state; the manager
calls them from its loop, its optimizers' slots call them through
:class:`~glompo_core._view.SlotCallbacks` (``admit``, ``process_batch``,
``process_message``, ``note_iteration``).

Threads and locks
-----------------
``m._lock`` (re-entrant) guards the manager's state: counters, ``exit_reason``, the
optimizer records, the in-memory log and the components' state. Every function that
reads or changes them from an optimizer thread takes it (:func:`admit`,
:func:`process_batch`, :func:`process_message`, the end of :func:`run_optimizer`) and the
manager's thread takes it around its decisions. Functions marked "needs the lock"
assert it (:func:`assert_locked`) when :data:`CHECK_LOCKS` is true (the test suite).
A wrapper's own lock is taken before the manager's, never the other way: never call a
``FunctionWrapper`` method while holding ``m._lock`` (:func:`check_timeouts` reads the
wrappers first, then takes the lock). Lifecycle events are queued (``m._events``, an
:class:`~glompo_core._events.EventQueue`) under the lock and fired by the manager's
thread, never from here.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from glompo_core._evaluation import EvaluationError
from glompo_core._events import Wake
from glompo_core._slot import OptRecord, build_slot, run_minimize
from glompo_core.budget import fill_budget_argument
from glompo_core.errors import EvaluationRefused, EvaluationTimeout, GloMPOError
from glompo_core.optimizers.baseoptimizer import ManagerMessage, Signal
from glompo_core.result import Result

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

#: Assert that the functions documented as "needs the lock" hold the manager's lock (set
#: by the test suite; also on when the environment variable GLOMPO_CHECK_LOCKS is 1).
CHECK_LOCKS = os.environ.get("GLOMPO_CHECK_LOCKS", "") == "1"


def child_seed(seed: int | None, *key: int) -> int | None:
    """The seed of one component of a seeded run (None if the run is not seeded)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


def seed_components(m: GloMPOManager) -> None:
    """Give the generator, the selector and every stopper its child seed (setup())."""
    components: tuple[Any, ...] = (m.x0_generator, m.opt_selector)
    for i, comp in enumerate(components):
        if callable(getattr(comp, "set_seed", None)):
            comp.set_seed(child_seed(m.seed, 0, i))
    if m.stoppers is not None:
        for j, leaf in enumerate(m.stoppers.leaves()):
            set_seed = getattr(leaf, "set_seed", None)
            if callable(set_seed):
                set_seed(child_seed(m.seed, 2, j))


def backend_kills_hung(backend: Any) -> bool:
    """Whether ``backend`` abandons a hung evaluation itself (its declared
    ``kills_hung_evaluations``; undeclared: True, the optimizer is left to it)."""
    return bool(getattr(backend, "kills_hung_evaluations", True))


def assert_locked(m: GloMPOManager) -> None:
    """Raise if the caller does not hold the manager's lock (when :data:`CHECK_LOCKS`)."""
    if CHECK_LOCKS and not m._lock._is_owned():  # type: ignore[attr-defined]
        raise AssertionError(f"{traceback.extract_stack(limit=2)[0].name} needs the "
                             "manager's lock")


def admit(m: GloMPOManager, opt_id: int) -> None:
    """Admit one evaluation of optimizer ``opt_id``, or refuse it (optimizer thread).

    The budget is counted here, before the evaluation starts: once the run's exit
    is decided or the optimizer was told to stop, nothing more is started.
    """
    with m._lock:
        rec = m._opts[opt_id]
        if m.exit_reason is not None or rec.stop_requested or rec.abandoned:
            raise EvaluationRefused(m.exit_reason or rec.end_reason or "stopped")
        m.f_counter += 1
        check_exit(m)


def note_iteration(m: GloMPOManager, opt_id: int) -> None:
    """Optimizer ``opt_id`` reached an iteration boundary having had a value."""
    rec = m._opts.get(opt_id)
    if rec is not None and not rec.iterated:
        with m._lock:
            rec.iterated = True
            m._crashes_in_a_row = 0


def process_batch(m: GloMPOManager, opt_id: int, x: np.ndarray, fx: np.ndarray,
                  extras: list[list[Any]] | None,
                  errors: Sequence[EvaluationError] = ()) -> None:
    """Record a batch (called in the optimizer's thread) and take the decisions it triggers.

    The evaluations are numbered here (``call_id``), so the log's rows are always
    the call_ids 1 to ``n`` without a gap, in the order they reached the manager.
    """
    with m._lock:
        call_ids = np.arange(m._done + 1, m._done + len(fx) + 1, dtype=np.int64)
        for err in errors:
            err.call_id = int(call_ids[err.row])
        rec = m._opts[opt_id]
        log = m.opt_log
        if not log.has_iter_history(opt_id):
            headers = None
            if extras:
                names = getattr(m.task, "detailed_call_headers", None)
                headers = list(names) if names else [f"extra_{i + 1}"
                                                     for i in range(len(extras))]
            log.add_iter_history(opt_id, headers)
        prev_best = m.result.fx
        log.put_iteration(opt_id, call_ids, x, fx, extras)
        m._done += len(fx)
        if errors:
            record_failures(m, rec, errors)
        m.failures.success(len(fx) - len(errors))
        if m._listen_batch:
            m._events.hook("glompo_iteration_batch", opt_id=opt_id, call_ids=call_ids, x=x,
                           fx=fx, extras=extras)
        if log.best_fx < prev_best:
            new_best(m, log.get_best_iter())
        if m.stoppers is not None and \
                m.f_counter - m.last_hunt >= m.stopcheck_interval:
            hunt(m)
        control = m.checkpoint_control
        if control is not None and not m._checkpoint_pending and \
                m.f_counter - m.last_chkpt_fcall >= control.checkpoint_iter_frequency:
            # pause everyone at their next iteration boundary now, so the checkpoint is
            # taken close to the requested evaluation count however fast the task is
            m._checkpoint_pending = True
            for other in m._opts.values():
                ask_pause(m, other)
            m._events.wake(Wake.CHECKPOINT_DUE)
        check_exit(m)


def record_failures(m: GloMPOManager, rec: OptRecord, errors: Sequence[EvaluationError]) -> None:
    """Count failed evaluations, tell the user once per kind (needs the lock)."""
    assert_locked(m)
    for err in errors:
        rec.n_failed += 1
        m.opt_log.put_message(rec.opt_id, f"evaluation {err.call_id} failed: "
                              f"{err.line()}")
        if m.failures.add(rec.opt_id, err):
            m.logger.warning(
                "evaluation %d (optimizer %d) failed: %s; recorded as a failed evaluation "
                "(fx=NaN); further failures of this kind are counted, not shown",
                err.call_id, rec.opt_id, err.line())
            m.logger.info("traceback of the first %s at %s:\n%s", err.type, err.site,
                          err.traceback)
            m.opt_log.put_message(rec.opt_id, f"traceback of evaluation {err.call_id}:"
                                  f"\n{err.traceback}")
    limit = m.max_failures_in_a_row
    if limit and m.failures.in_a_row >= limit and m.exit_reason is None:
        first = m.failures.first()
        what = "every evaluation so far" if not m.failures.successes else \
            f"the last {m.failures.in_a_row} evaluations"
        request_exit(m, f"the task failed on {what} ({m.failures.in_a_row} in a "
                     f"row, max_failures_in_a_row={limit}); first error: "
                     f"{first.line() if first else '?'}", state="task_failing")


def new_best(m: GloMPOManager, best: dict[str, Any]) -> None:
    """Record a new best point, share it if asked (needs the lock)."""
    assert_locked(m)
    m.result = Result(x=np.array(best["x"]), fx=float(best["fx"]), stats={},
                      origin={"opt_id": best["opt_id"], "type": best["type"],
                              "call_id": best["call_id"]})
    m._events.hook("glompo_best_improved", opt_id=best["opt_id"], x=np.array(best["x"]),
                   fx=float(best["fx"]), call_id=best["call_id"])
    if m.share_best_solutions:
        for rec in m._opts.values():
            if rec.alive and not rec.stop_requested and rec.opt_id != best["opt_id"]:
                scaler = rec.wrapper.scaler
                rec.pipe.send((Signal.INJECT, scaler.from_task(np.array(best["x"])),
                               float(best["fx"])))


def hunt(m: GloMPOManager) -> None:
    """Apply the stoppers to every live optimizer (needs the lock)."""
    assert_locked(m)
    assert m.stoppers is not None
    m.hunt_counter += 1
    m.last_hunt = m.f_counter
    best_id = int(m.opt_log.get_best_iter()["opt_id"])
    for rec in list(m._opts.values()):
        if not rec.alive or rec.stop_requested:
            continue
        if rec.opt_id == best_id and not m.apply_stoppers_to_best:
            continue
        m.stoppers.reset()
        try:
            stop = m.stoppers(m.opt_log, best_id, rec.opt_id)
        except Exception:
            m.logger.exception("the stoppers raised while testing optimizer %d; "
                               "it is not stopped", rec.opt_id)
            continue
        if stop:
            reason = m.stoppers.str_with_result()
            m.logger.info("stopping optimizer %d: %s", rec.opt_id,
                          reason.replace("\n", " "))
            stop_optimizer(m, rec, reason)


def check_exit(m: GloMPOManager) -> None:
    """Evaluate the exit conditions; decide the run's end if they hold (needs the lock)."""
    assert_locked(m)
    if m.exit_reason is not None or m.exit_conditions is None:
        return
    m.exit_conditions.reset()
    try:
        done = m.exit_conditions(m._view)
    except Exception as exc:
        m.logger.exception("the exit conditions raised; ending the run")
        request_exit(m, f"exit conditions raised {exc!r}", state="error")
        return
    if done:
        request_exit(m, m.exit_conditions.str_with_result(), converged=True)


def request_exit(m: GloMPOManager, reason: str, *, converged: bool = False,
                 state: str = "normal", checkpoint: bool = False) -> None:
    """Decide the run's end (once: the first reason wins) and stop the optimizers.

    Takes the lock itself, so the check and the decision are one step whatever the
    calling thread. ``state`` is the key of :data:`~glompo_core.errors.EXIT_STATUS`.
    With ``checkpoint`` (an interrupt), or ``converged`` and ``checkpoint_at_conv``,
    the optimizers are kept for a final checkpoint (if the run has checkpointing).
    """
    with m._lock:
        if m.exit_reason is not None:
            return
        m.exit_reason = reason
        m.end_state = state
        m.logger.info("exit: %s", reason.replace("\n", " "))
        control = m.checkpoint_control
        keep = checkpoint or (converged and control is not None
                              and control.checkpoint_at_conv)
        if control is not None and keep:
            # keep the optimizers (paused) for a final checkpoint, so the finished run
            # can be resumed later with a larger budget; they are stopped after it
            m._final_checkpoint = True
            for rec in m._opts.values():
                ask_pause(m, rec)
            m._events.wake(Wake.FINAL_CHECKPOINT)
            return
        for rec in m._opts.values():
            if rec.alive and not rec.stop_requested:
                stop_optimizer(m, rec, "the run is ending", record=False)


def stop_optimizer(m: GloMPOManager, rec: OptRecord, reason: str, record: bool = True) -> None:
    """Tell an optimizer to stop; it starts no evaluation after this (needs the lock)."""
    assert_locked(m)
    rec.stop_requested = True
    rec.end_reason = reason
    rec.pipe.send((Signal.STOP, reason))
    rec.pause_flag.set()
    if not record:
        m.opt_log.put_metadata(rec.opt_id, "end_cond", reason)
    else:
        m.stopped_opts[rec.opt_id] = time.time()
        m.opt_log.put_metadata(rec.opt_id, "end_cond", reason)
        m._events.hook("glompo_optimizer_stopped", opt_id=rec.opt_id, reason=reason)


def process_message(m: GloMPOManager, msg: ManagerMessage) -> None:
    """Handle an optimizer's message: converged (0), paused (1), text (9), other."""
    with m._lock:
        rec = m._opts.get(msg.opt_id)
        if msg.key == 0:
            if rec is not None and rec.converged_msg is None and not rec.stop_requested:
                rec.converged_msg = str(msg.message or "converged")
                m.converged += 1
                m.opt_log.put_metadata(msg.opt_id, "end_cond",
                                       f"converged: {rec.converged_msg}")
                m._events.hook("glompo_optimizer_converged", opt_id=msg.opt_id,
                               reason=rec.converged_msg)
                check_exit(m)
        elif msg.key == 1:
            if rec is not None:
                rec.pause_ack.set()
            m._events.hook("glompo_optimizer_paused", opt_id=msg.opt_id)
        elif msg.key == 9:
            m.opt_log.put_message(msg.opt_id, str(msg.message))
        else:
            m.opt_log.put_message(msg.opt_id, f"[{msg.key}] {msg.message}")


def record_crash(m: GloMPOManager, rec: OptRecord, message: str) -> None:
    """An optimizer crashed: record it, end a crash loop (needs the lock)."""
    assert_locked(m)
    m.opt_crashed = True
    rec.status = "crashed"
    rec.end_reason = message
    last = message.strip().splitlines()[-1] if message.strip() else "?"
    m.logger.error("optimizer %d (%s) crashed: %s (its traceback is in its messages)",
                   rec.opt_id, rec.type, last)
    m.logger.info("traceback of optimizer %d:\n%s", rec.opt_id, message)
    m.opt_log.put_message(rec.opt_id, f"crashed: {message}")
    m.opt_log.put_metadata(rec.opt_id, "end_cond", "crashed")
    m._events.hook("glompo_optimizer_crashed", opt_id=rec.opt_id, error=message)
    if rec.iterated:
        m._crashes_in_a_row = 0
        return
    if m._crashes_in_a_row == 0:
        m._first_crash_in_row = f"optimizer {rec.opt_id} ({rec.type}): {last}"
    m._crashes_in_a_row += 1
    limit = m.max_crashes_in_a_row
    if limit and m._crashes_in_a_row >= limit:
        request_exit(m, f"{m._crashes_in_a_row} optimizers in a row crashed before "
                     f"finishing an iteration (max_crashes_in_a_row={limit}); the "
                     f"first: {m._first_crash_in_row}", state="crash_loop")


def ask_pause(m: GloMPOManager, rec: OptRecord) -> None:
    """Ask a live optimizer to pause at its next iteration boundary (needs the lock)."""
    if rec.alive and not rec.stop_requested and not rec.pause_requested:
        rec.pause_requested = True
        rec.pause_ack.clear()
        rec.pipe.send((Signal.PAUSE,))  # the optimizer clears its flag, acks and waits


def slots_used(m: GloMPOManager) -> int:
    """The workers of the live optimizers (compared with ``max_jobs``)."""
    return sum(rec.workers for rec in m._opts.values() if rec.alive)


def spawn_as_needed(m: GloMPOManager) -> None:
    """Start optimizers while slots are free and the selector gives one (manager's thread)."""
    # the optimizers of one round start together (a gate), so the first one cannot
    # run ahead while the others are still being built
    gate = threading.Event()
    m._gate = gate
    try:
        while m.spawning_opts and m.exit_reason is None \
                and not m._checkpoint_pending:
            free = m.max_jobs - slots_used(m)
            if free <= 0:
                return
            with m._lock:
                choice = m.opt_selector.select_optimizer(m._view, m.opt_log, free)
            if choice is False:
                m.spawning_opts = False
                m.logger.info("the selector allows no new optimizers")
                return
            if choice is None:
                if not any(rec.alive for rec in m._opts.values()):
                    request_exit(m, "the selector's optimizers need more workers than "
                                 f"max_jobs={m.max_jobs}; nothing can start")
                return
            cls, init, call = cast("tuple[type, dict[str, Any], dict[str, Any]]", choice)
            start_optimizer(m, cls, dict(init), dict(call))
    finally:
        m._gate = None
        gate.set()


def start_optimizer(m: GloMPOManager, cls: type, init: dict[str, Any],
                    call: dict[str, Any]) -> None:
    """Number a new optimizer, draw its starting point and launch it."""
    with m._lock:
        m.o_counter += 1
        opt_id = m.o_counter
        x0 = np.asarray(m.x0_generator.generate(m._view), dtype=float).ravel()
        if x0.shape != (m.n_parms,) or np.any(x0 < m.bounds[:, 0]) or \
                np.any(x0 > m.bounds[:, 1]):
            raise GloMPOError(f"the generator {m.x0_generator} returned {x0.tolist()}, "
                              "which is not a point within the bounds")
        m.last_opt_spawn = (m.f_counter, m.o_counter)
    launch(m, opt_id, cls, init, call, x0)


def launch(m: GloMPOManager, opt_id: int, cls: type, init: dict[str, Any], call: dict[str, Any],
           x0: np.ndarray, restart: Path | None = None,
           t_start: float | None = None) -> None:
    """Build (or reload from ``restart``) optimizer ``opt_id`` and start its thread."""
    init = dict(init)
    with m._lock:
        workers = int(init.pop("workers", init.pop("_workers", 1)))
        share = None if restart is not None else fill_budget_argument(
            cls, init, m.exit_conditions, m.f_counter, m.max_jobs, workers)
        if share is not None:  # the rule of glompo_core.budget
            m.logger.info("optimizer %d: %s", opt_id, share.describe())
        headers = getattr(m.task, "detailed_call_headers", None)
        rec = build_slot(
            m._callbacks, opt_id, cls, init, call, x0, bounds=m.bounds,
            backend=m._backend_obj, backend_name=m.backend, workers=workers,
            detailed=m.is_log_detailed, retries=m.task_retries,
            crash=m.task_errors == "crash", n_extras=len(headers) if headers else None,
            seed=child_seed(m.seed, 1, opt_id), restart=restart)
        if t_start is not None:
            rec.t_start = t_start
        m._opts[opt_id] = rec
        if m._checkpoint_pending:  # asked while it was being built: pause it too
            ask_pause(m, rec)
        if opt_id not in m.opt_log.opt_ids:
            m.opt_log.add_optimizer(opt_id, cls.__name__, rec.t_start)
            m.opt_log.put_metadata(opt_id, "init_kwargs", dict(init, workers=workers))
            m.opt_log.put_metadata(opt_id, "x0", x0.tolist())
    if restart is None:
        m.logger.info("starting optimizer %d: %s %s", opt_id, cls.__name__, init)
        m._fire("glompo_optimizer_started", opt_id=opt_id, optimizer_type=cls.__name__,
                x0=x0.copy(), init_kwargs=dict(init, workers=workers))
    else:
        m.logger.info("resuming optimizer %d (%s) from its checkpoint", opt_id,
                      cls.__name__)
    thread = threading.Thread(target=run_optimizer, args=(m, rec, m._gate),
                              name=f"glompo-opt{opt_id}", daemon=True)
    rec.thread = thread
    thread.start()


def run_optimizer(m: GloMPOManager, rec: OptRecord, gate: threading.Event | None = None) -> None:
    """The optimizer's thread: run it, then record how it ended (under the lock)."""
    if gate is not None:
        gate.wait()
    printstreams = m.working_dir / "glompo_optimizer_printstreams"
    status, message = run_minimize(rec, printstreams if m.split_printstreams else None)
    with m._lock:
        if rec.abandoned:  # recorded as crashed when it was abandoned
            return
        rec.t_end = time.time()
        if status == "crashed":
            record_crash(m, rec, message)
        elif status == "refused" and not rec.stop_requested and m._final_checkpoint:
            rec.cut = True  # saved as it stands by the final checkpoint, then ended
        elif rec.stop_requested or status == "refused":
            rec.status = "stopped" if rec.opt_id in m.stopped_opts else "ended"
            if message:
                m.opt_log.put_message(rec.opt_id, message)
        else:
            if rec.converged_msg is None:
                rec.converged_msg = "minimize() returned"
                m.converged += 1
                m.opt_log.put_metadata(rec.opt_id, "end_cond", "converged")
                m._events.hook("glompo_optimizer_converged", opt_id=rec.opt_id,
                               reason=rec.converged_msg)
            rec.status = "converged"
        if status != "crashed" and rec.iterated:
            m._crashes_in_a_row = 0
        m.opt_log.put_metadata(rec.opt_id, "t_end", rec.t_end)
        m.opt_log.put_metadata(rec.opt_id, "n_failed", rec.n_failed)
        if not m.opt_log.build_traj_plot:
            m.opt_log.clear_cache(rec.opt_id)
        check_exit(m)
    m._events.wake(Wake.OPTIMIZER_ENDED)


def check_timeouts(m: GloMPOManager) -> None:
    """Abandon optimizers whose evaluation ran past force_terminations_after (threads).

    A thread cannot be killed: the evaluation under way is recorded as failed (an
    :class:`~glompo_core.errors.EvaluationTimeout`) and its optimizer is abandoned
    as crashed. Process backends kill the hung evaluation themselves, and the
    optimizer goes on.
    """
    if not m.allow_forced_terminations or backend_kills_hung(m._backend_obj):
        return
    now = time.monotonic()
    hung = []
    for rec in list(m._opts.values()):  # not under the lock: the wrapper's comes first
        started = rec.wrapper.oldest_inflight() if rec.alive else None
        if started is not None and now - started > m.force_terminations_after:
            with m._lock:
                if rec.alive:
                    rec.abandoned = True
                    hung.append(rec)
    for rec in hung:
        msg = (f"an evaluation ran past force_terminations_after="
               f"{m.force_terminations_after} s: abandoned (a thread cannot be killed; "
               "it may still finish in the background)")
        rec.wrapper.abandon(EvaluationTimeout(msg))
        with m._lock:
            rec.end_reason = msg
            rec.pipe.send((Signal.STOP, msg))
            record_crash(m, rec, msg)
