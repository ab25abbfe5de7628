"""The end of a run: stop and join the optimizers, finalise the result, write the outputs.

Threads and locks
-----------------
Called by the manager's thread only, once per session, when the loop is over (an
``ExitStack`` callback of ``start_manager``, so also after an error). The optimizers are
told to stop under ``m._lock``; they are joined without it (they need it to finish their
last batch). Statuses and the result's statistics are settled under the lock, after
every optimizer thread ended or was abandoned; the outputs (log metadata, summary,
plots) are written after that, from what is then final.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from glompo_core import status
from glompo_core._decisions import stop_optimizer
from glompo_core.errors import EXIT_STATUS, GloMPOError
from glompo_core.status import run_time

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager


def shutdown(m: GloMPOManager) -> None:
    """End the session: stop and join the optimizers, settle the result, write the outputs."""
    with m._lock:
        for rec in m._opts.values():
            if rec.alive and not rec.stop_requested:
                stop_optimizer(m, rec, "the run is ending", record=False)
    deadline = time.time() + m.end_timeout
    for rec in list(m._opts.values()):
        if rec.thread is None or rec.abandoned:
            continue
        while rec.thread.is_alive():
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            rec.thread.join(min(remaining, 1.0))
            m._drain_events(0)
        if rec.thread.is_alive():
            with m._lock:
                rec.abandoned = True
            lost = rec.wrapper.abandon(GloMPOError(
                f"the run ended before this evaluation finished (end_timeout="
                f"{m.end_timeout} s)"))
            m.logger.warning("optimizer %d did not stop within end_timeout=%s s; "
                             "abandoned with %d evaluation(s) under way (recorded as "
                             "failed)", rec.opt_id, m.end_timeout, lost)
    try:
        m._backend_obj.shutdown()
    except Exception:
        m.logger.exception("backend shutdown failed")
    m.t_end = time.time()
    m.opt_session_ends.append(m.t_end)
    try:
        status.add_usage_sample(m)
    except Exception:
        m.logger.debug("resource usage could not be recorded", exc_info=True)
    with m._lock:
        for rec in m._opts.values():
            if rec.status == "running":
                rec.status = "stopped" if rec.opt_id in m.stopped_opts else "ended"
        finalise_result(m)
    m._drain_events(0, budget=None)
    m._fire("glompo_run_finished", result=m.result, reason=m.exit_reason or "")
    try:
        write_manager_metadata(m)
        m.opt_log.flush()
    except Exception:
        m.logger.exception("the log could not be flushed")
    if m.summary_files >= 1:
        try:
            m.write_summary_file()
        except Exception:
            m.logger.exception("the summary file could not be written")
    if m.summary_files >= 2:
        try:
            from glompo_core.plotting import plot_trajectories

            plot_trajectories(m.opt_log, m.working_dir, m._opts_end_status())
        except Exception:
            m.logger.exception("the trajectory plots could not be made")
    try:
        m.opt_log.close()
    except Exception:
        m.logger.exception("the log could not be closed")
    if m.scope is not None:
        m._pm.remove_observer(m._scope_name())
    if m.failures.total:
        m.logger.warning("%d failed evaluation(s) of %d:\n%s", m.failures.total,
                         m.f_counter, "\n".join(m.failures.lines()))
    m.logger.info("run ended: %s; %d evaluations, best fx=%s",
                  (m.exit_reason or "").replace("\n", " "), m.f_counter,
                  m.result.fx)
    m.close()  # last: the working directory is free for another run


def write_manager_metadata(m: GloMPOManager) -> None:
    """Give the log the run's settings and state (the summary's facts) as metadata."""
    from glompo_core.summary import summary_dict

    for section, content in summary_dict(m).items():
        m.opt_log.put_manager_metadata(section, content)
    m.opt_log.put_manager_metadata("checksum", m.checksum)


def finalise_result(m: GloMPOManager) -> None:
    """Fill the result's statistics from the final counters (needs the lock)."""
    elapsed, session = run_time(m.t_used, m.t_start, m.t_end)
    statuses = [rec.status for rec in m._opts.values()]
    m.result.stats = {
        "f_counter": m.f_counter,
        "o_counter": m.o_counter,
        "optimizers_stopped": len(m.stopped_opts),
        "optimizers_converged": m.converged,
        "optimizers_crashed": statuses.count("crashed"),
        "failed_evaluations": m.failures.total,
        "end_state": m.end_state,
        "exit_status": EXIT_STATUS.get(m.end_state, 1),
        "t_used": elapsed,
        "t_session": session,
        "exit_reason": m.exit_reason,
    }
