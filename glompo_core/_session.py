"""The start of a session (a run, or a resumed run): log file, backend, visualisation.

Threads and locks
-----------------
Called by the manager's thread only, once per session, at the top of ``start_manager``,
before any optimizer thread exists: nothing here takes ``m._lock``. The lifecycle hooks
``glompo_run_control`` and ``glompo_run_started`` are fired from here, after the log file
is open and the backend started, so an observer sees a run that can evaluate.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from glompo_core import _resume, status
from glompo_core._finish import write_manager_metadata

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager


def begin(m: GloMPOManager) -> None:
    """Open the log, start the backend and the visualisation, resume or start."""
    m._pm.unmute_all()
    m._listen_batch = m._pm.has_listeners("glompo_iteration_batch")
    m.t_start = time.time()
    m.opt_session_starts.append(m.t_start)
    m.last_status = m.t_start
    m._last_file_check = 0.0
    open_log_file(m)
    m._backend_obj.start(m.task, m.max_jobs, detailed=m.is_log_detailed,
                         timeout=m.force_terminations_after
                         if m.allow_forced_terminations else None)
    if m.visualisation:
        start_visualisation(m)
    m._fire("glompo_run_control", control=m.control)
    m._fire("glompo_run_started")
    m.logger.info("run %s", "resumed" if m._resumed else "started")
    status.report(m)
    m.last_checkpoint = m.t_start
    m.last_chkpt_fcall = m.f_counter
    if m._restore:
        _resume.resume_optimizers(m)
    elif m.checkpoint_control is not None and \
            m.checkpoint_control.checkpoint_at_init and not m._resumed:
        m.checkpoint()


def open_log_file(m: GloMPOManager) -> None:
    """Open the log's file (if it writes one, as it names it): appended to when resuming."""
    filename = m.opt_log.filename
    if filename is None:
        return
    log_path = m.working_dir / filename
    if m._resumed and log_path.exists():
        m.opt_log.open(log_path, "a", m.checksum)
        m.opt_log.truncate_after(m.f_counter)  # rows written after the checkpoint
    else:
        if m._resumed:
            m.logger.warning("no %s in %s to append to: a new log file starts at "
                             "evaluation %d", filename, m.working_dir, m.f_counter + 1)
        m.opt_log.open(log_path, "w", m.checksum)
    write_manager_metadata(m)


def start_visualisation(m: GloMPOManager) -> None:
    """Create the visualisation (glompo-scope), restored from a checkpoint if saved."""
    m.scope = m._pm.create_visualisation(m._view, m.visualisation_args)
    if m.scope is None:
        return
    state = m._scope_state
    if state is not None and callable(getattr(m.scope, "checkpoint_load", None)):
        m.scope.checkpoint_load(state)
    m._pm.add_observer(m.scope, m._scope_name())
    m._listen_batch = m._pm.has_listeners("glompo_iteration_batch")
