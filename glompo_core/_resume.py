"""Checkpoint and resume: what a checkpoint holds, and how a manager is rebuilt from one.

:meth:`GloMPOManager.checkpoint <glompo_core.GloMPOManager.checkpoint>` and
:meth:`GloMPOManager.load_checkpoint <glompo_core.GloMPOManager.load_checkpoint>` are
thin methods over :func:`write` and :func:`load`. The tarball itself (manifest,
checksums, naming, pruning) is :mod:`glompo_core.checkpointing`'s.

Threads and locks
-----------------
:func:`write` runs in the manager's thread; it pauses every optimizer at an iteration
boundary (:func:`pause_all`: asked under the manager's lock, waited for without it, as
the optimizers need the lock to reach the boundary), saves under the manager's lock, and
resumes them (:func:`resume_all`) whatever happens. :func:`load` runs in the thread
that builds the manager, before any optimizer thread exists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core._decisions import ask_pause, launch, stop_optimizer
from glompo_core._slot import OptRecord
from glompo_core.errors import GloMPOError
from glompo_core.plugins import PluginManager, get_plugin_manager
from glompo_core.status import run_time

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["checkpoint_due", "load", "missing_plugin_message", "pause_all", "resume_all",
           "resume_optimizers", "write"]


def pause_all(m: GloMPOManager) -> list[OptRecord]:
    """Pause every live optimizer at its next iteration boundary; return those paused."""
    with m._lock:
        for rec in m._opts.values():
            ask_pause(m, rec)
        asked = [rec for rec in m._opts.values() if rec.pause_requested]
    deadline = time.time() + m.pause_timeout
    for rec in asked:
        while not rec.pause_ack.is_set() and rec.thread is not None \
                and rec.thread.is_alive() and time.time() < deadline:
            rec.pause_ack.wait(0.05)
    return [rec for rec in asked if rec.pause_ack.is_set()]


def resume_all(m: GloMPOManager, paused: list[OptRecord]) -> None:
    """Let the paused optimizers go on (or stop them, if the run is ending meanwhile)."""
    with m._lock:
        m._checkpoint_pending = False
        if m.exit_reason is not None:  # the run ends: stop them before they may go on
            for rec in m._opts.values():
                if rec.alive and not rec.stop_requested:
                    stop_optimizer(m, rec, "the run is ending", record=False)
        for rec in m._opts.values():
            if rec.pause_requested:
                rec.pause_requested = False
                rec.pause_flag.set()
    for rec in paused:
        m._fire("glompo_optimizer_resumed", opt_id=rec.opt_id)


def write(m: GloMPOManager) -> Path | None:
    """Write a checkpoint of ``m`` (see :meth:`GloMPOManager.checkpoint`)."""
    import tempfile

    import dill

    from glompo_core import checkpointing as chk

    control = m.checkpoint_control or chk.CheckpointingControl()
    m.last_checkpoint = time.time()
    m.last_chkpt_fcall = m.f_counter
    directory = m.working_dir / Path(control.checkpointing_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paused = pause_all(m)
    try:
        # observers (the scope) must have seen every batch the checkpoint holds
        m._drain_events(0, budget=None)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=directory) as tmp_name:
            tmp = Path(tmp_name)
            with m._lock:
                m.opt_log.flush()
                manifest = _save_state(m, tmp, paused, control, dill)
            m._chkpt_count += 1
            name = control.name(m._chkpt_count)
            path = chk.write_checkpoint(tmp, directory / name, manifest)
        m._written_checkpoints.append(path.name)
        m.checkpoint_history.add(str(path))
        for old in chk.prune(directory, control.keep_past, path, m._written_checkpoints):
            m._written_checkpoints.remove(old.name)
            m.checkpoint_history.discard(str(old))
        m.logger.info("checkpoint written: %s (f_counter=%d)", path, m.f_counter)
        m._fire("glompo_checkpoint_written", path=str(path))
        return path
    except Exception as exc:
        m.logger.exception("checkpoint failed")
        if control.raise_checkpoint_fail:
            from glompo_core.errors import CheckpointingError

            raise CheckpointingError(f"checkpoint failed: {exc}") from exc
        return None
    finally:
        resume_all(m, paused)


def _save_state(m: GloMPOManager, tmp: Path, paused: list[OptRecord], control: Any,
                dill: Any) -> dict[str, Any]:
    """Write every part of a checkpoint into ``tmp``; return the manifest (under lock)."""
    from glompo_core import checkpointing as chk

    state = {name: getattr(m, name) for name in m._STATE_ATTRS}
    kept = {}
    for key, value in m._backend_kwargs.items():
        try:
            dill.dumps(value)
            kept[key] = value
        except Exception:
            m.logger.warning("backend_kwargs[%r] does not pickle and is left out of the "
                             "checkpoint: give it again with load_checkpoint(..., "
                             "backend_kwargs=...)", key)
    state["_backend_kwargs"] = kept
    state["t_used"] = run_time(m.t_used, m.t_start, m.t_end)[0]
    # the evaluations the checkpoint's log holds (others may still be running in an
    # optimizer that did not pause in time: it restarts from its best point)
    state["f_counter"] = m._done
    state["session_end"] = time.time()
    records = []
    (tmp / "optimizers").mkdir()
    for oid, rec in m._opts.items():
        info = {"opt_id": oid, "type": rec.type, "cls": type(rec.optimizer),
                "status": rec.status, "workers": rec.workers,
                "init_kwargs": rec.init_kwargs, "call_kwargs": rec.call_kwargs,
                "x0": rec.x0, "t_start": rec.t_start, "t_end": rec.t_end,
                "end_reason": rec.end_reason, "converged_msg": rec.converged_msg,
                "restart": None}
        if (rec.alive or rec.cut) and not rec.stop_requested:
            can = getattr(rec.optimizer, "can_checkpoint", True)
            # an optimizer cut by the run's end is saved as it stands (between two
            # evaluations): resumed, it starts a new iteration
            if (rec in paused or rec.cut) and can:
                try:
                    rec.optimizer.checkpoint_save(tmp / "optimizers" / f"opt_{oid}.pkl")
                    info["restart"] = "state"
                except Exception:
                    m.logger.exception("optimizer %d could not be saved; it will "
                                       "restart from its best point", oid)
            if info["restart"] is None:
                info["restart"] = "best"
                best = m.opt_log.get_best_iter(oid)
                info["best_x"] = best["x"]
                reason = ("it cannot be saved mid-run" if not can
                          else "it did not reach an iteration boundary in time")
                if can or oid not in m._warned_unsaveable:  # once per optimizer
                    m._warned_unsaveable.add(oid)
                    m.logger.warning("optimizer %d (%s): %s; on resume it restarts "
                                     "from its best point", oid, rec.type, reason)
        records.append(info)
    state["optimizers"] = records
    with open(tmp / "manager.pkl", "wb") as file:
        dill.dump(state, file, recurse=True)
    (tmp / "log").mkdir()
    m.opt_log.checkpoint_save(tmp / "log")
    task_mode = "none"
    if not control.force_task_save:
        try:
            data = dill.dumps(m.task, recurse=True)
            (tmp / "task.pkl").write_bytes(data)
            task_mode = "pickle"
        except Exception as exc:
            m.logger.info("the task does not pickle (%r); trying task.checkpoint_save",
                          exc)
    if task_mode == "none" and callable(getattr(m.task, "checkpoint_save", None)):
        (tmp / "task").mkdir()
        m.task.checkpoint_save(tmp / "task")
        task_mode = "files"
    if task_mode == "none":
        m.logger.warning("the task could not be saved: resuming needs task=")
    if m.scope is not None and callable(getattr(m.scope, "checkpoint_save", None)):
        (tmp / "scope").mkdir()
        try:
            m.scope.checkpoint_save(tmp / "scope")
        except Exception:  # an observer never costs the run its checkpoint
            m.logger.exception("the visualisation's state could not be saved; the "
                               "checkpoint is written without it")
    return chk.core_manifest(
        checksum=m.checksum, f_counter=m._done, o_counter=m.o_counter,
        task=task_mode, plugins=_plugin_versions(m),
        # where the task's module and the run file were: glompo resume finds them there
        **chk.run_origin(m.task, m.working_dir, control,
                         m.run_file_dir),
        optimizers=[{"opt_id": r["opt_id"], "type": r["type"], "status": r["status"],
                     "restart": r["restart"], "module": r["cls"].__module__}
                    for r in records])


def _plugin_versions(m: GloMPOManager) -> dict[str, str]:
    """Versions of the active plugins' distributions."""
    out = {}
    for info in m._pm.plugins():
        if info.status == "active":
            out[info.distribution] = info.version
    return out


def load(m: GloMPOManager, path: str | os.PathLike[str],
         task_loader: Callable[[Path], Any] | None, task: Any,
         plugin_manager: PluginManager | None, glompo_kwargs: dict[str, Any]) -> None:
    """Initialise ``m`` from the checkpoint ``path`` (see :meth:`GloMPOManager.load_checkpoint`)."""
    import tempfile

    import dill

    from glompo_core import _setup_checks as checks
    from glompo_core import checkpointing as chk
    from glompo_core._workdir import lock_working_dir
    from glompo_core.errors import CheckpointingError

    if m._is_initialised:
        raise GloMPOError("this manager is already initialised; create a new one")
    for forbidden in ("bounds", "opt_log"):
        if forbidden in glompo_kwargs:
            raise ValueError(f"{forbidden} cannot be changed when resuming a checkpoint")
    m._checkpoint_dir = tempfile.TemporaryDirectory(prefix="glompo-resume-")
    tmp = Path(m._checkpoint_dir.name)
    manifest = chk.read_checkpoint(Path(path), tmp)
    try:
        with open(tmp / "manager.pkl", "rb") as file:
            state = dill.load(file)
        with open(tmp / "log" / "opt_log", "rb") as file:
            log_cls = dill.load(file)["class"]
    except (ModuleNotFoundError, AttributeError, ImportError) as exc:
        raise CheckpointingError(missing_plugin_message(manifest, exc)) from None
    except Exception as exc:
        raise CheckpointingError(f"{path}: the manager's state cannot be read: "
                                 f"{type(exc).__name__}: {exc}") from None
    m._pm = plugin_manager or get_plugin_manager()
    if task is None and task_loader is not None and (tmp / "task").is_dir():
        task = task_loader(tmp / "task")
    if task is None and (tmp / "task.pkl").exists():
        try:
            task = dill.loads((tmp / "task.pkl").read_bytes())
        except Exception as exc:
            raise CheckpointingError(f"the task saved in {path} cannot be unpickled "
                                     f"({exc!r}); pass task= or task_loader=") from None
    if task is None:
        raise CheckpointingError(f"{path} holds no usable task ({manifest.get('task')}): "
                                 "pass task= (or task_loader= for task files)")
    m.task = task
    for name in m._STATE_ATTRS:
        if name in state:  # checkpoints of older versions lack newer settings
            setattr(m, name, state[name])
    m.t_used = float(state["t_used"])
    m.opt_session_ends = list(m.opt_session_ends)
    if len(m.opt_session_ends) < len(m.opt_session_starts):
        m.opt_session_ends.append(state["session_end"])
    m.opt_log = log_cls.checkpoint_load(tmp / "log")
    _apply_overrides(m, glompo_kwargs)
    m.scope = None
    m._scope_state = tmp / "scope" if (tmp / "scope").is_dir() else None
    m._wire(done=m.f_counter)
    m._restore = _restore_plan(m, state["optimizers"], tmp)
    m.checkpoint_history = set(m.checkpoint_history) | {str(Path(path).resolve())}
    if "working_dir" not in glompo_kwargs:
        _warn_if_not_beside(m, Path(path), manifest)
    checks.ensure_writable_dir(m.working_dir)  # refused before anything runs
    # last: nothing that can fail follows the lock; released by the run's end or close()
    m._workdir_lock = lock_working_dir(m.working_dir)
    m._resumed = True
    m._is_initialised = True
    m.logger.info("loaded checkpoint %s: f_counter=%d, %d optimizers to resume",
                  path, m.f_counter, len(m._restore))


def _apply_overrides(m: GloMPOManager, overrides: dict[str, Any]) -> None:
    """Check the settings a resume changes by their rules (glompo_core.settings); rebuild
    the backend (its objects are not saved) and what follows from the settings."""
    from glompo_core.settings import RunSettings, resume_overrides, setting_infos

    allowed = resume_overrides()
    for key in overrides:
        if key not in allowed:
            raise ValueError(f"{key!r} cannot be set when resuming a checkpoint")
    infos = {info.name: info for info in setting_infos()}
    known = {name: getattr(m, info.attr, info.default) for name, info in infos.items()}
    names = (*overrides, *(() if "backend" in overrides else ("backend",)))
    values, m._backend_obj = RunSettings.checked({**known, **overrides}, m._pm, only=names,
                                                 known=known)
    for name in names:
        setattr(m, infos[name].attr, values[name])
    m._derive_settings()


def _warn_if_not_beside(m: GloMPOManager, path: Path, manifest: dict[str, Any]) -> None:
    """Warn when the recorded working_dir is not the run directory holding ``path``."""
    from glompo_core import checkpointing as chk
    from glompo_core.errors import CheckpointingError

    try:
        run_dir = chk.run_dir_of(path, manifest)
    except CheckpointingError:
        return  # a loose checkpoint: no run directory to compare with
    if run_dir.resolve() != m.working_dir:
        m.logger.warning(
            "resuming %s writes into the working_dir recorded in the checkpoint, %s, not "
            "into %s, the run directory that holds the checkpoint; pass "
            "working_dir=%r to write beside the checkpoint", path, m.working_dir,
            run_dir, str(run_dir))


def _restore_plan(m: GloMPOManager, records: list[dict[str, Any]],
                  tmp: Path) -> list[dict[str, Any]]:
    """The optimizers to resume; those that had ended get their records back."""
    plan = []
    for info in records:
        if info["restart"] is None:  # ended before the checkpoint: keep its record
            m._opts[info["opt_id"]] = OptRecord.ended(info)
            continue
        entry = dict(info)
        entry["path"] = tmp / "optimizers" / f"opt_{info['opt_id']}.pkl"
        plan.append(entry)
    # max_jobs may have shrunk: share the slots equally among resumed optimizers
    total = sum(int(e["workers"]) for e in plan)
    if plan and total > m.max_jobs:
        share = max(1, m.max_jobs // len(plan))
        m.logger.warning("max_jobs=%d is smaller than the %d slots of the resumed "
                         "optimizers: each gets %d", m.max_jobs, total, share)
        for e in plan:
            e["workers"] = share
    return plan


def missing_plugin_message(manifest: dict[str, Any], exc: BaseException) -> str:
    """What a checkpoint needs that cannot be imported, and how to install it."""
    module = getattr(exc, "name", None) or str(exc)
    needed = [o for o in manifest.get("optimizers", [])
              if str(o.get("module", "")).split(".")[0] == str(module).split(".")[0]]
    text = f"the checkpoint needs {module!r}, which cannot be imported ({exc})"
    if needed:
        text += f"; it is the module of optimizer(s) {sorted({o['type'] for o in needed})}"
    from glompo_core._install import install_hint
    from glompo_core.plugins import FIRST_PARTY

    for o in needed:
        dist = FIRST_PARTY.get(str(o["type"]).lower())
        if dist:
            text += f": {install_hint(dist)}"
            break
    return text + ". Installed versions when it was written: " + \
        ", ".join(f"{k} {v}" for k, v in manifest.get("plugins", {}).items())


def resume_optimizers(m: GloMPOManager) -> None:
    """Start the optimizers a checkpoint saved (called by start_manager after a load)."""
    plan, m._restore = m._restore, []
    for entry in plan:
        cls = entry["cls"]
        init = dict(entry["init_kwargs"], workers=entry["workers"])
        if entry["restart"] == "state":
            launch(m, entry["opt_id"], cls, init, entry["call_kwargs"], entry["x0"],
                   restart=entry["path"], t_start=entry["t_start"])
        else:
            x0 = entry.get("best_x")
            x0 = np.asarray(entry["x0"] if x0 is None else x0, dtype=float)
            m.logger.warning("optimizer %d (%s) restarts from its best point",
                             entry["opt_id"], entry["type"])
            launch(m, entry["opt_id"], cls, init, entry["call_kwargs"], x0,
                   t_start=entry["t_start"])


def checkpoint_due(m: GloMPOManager) -> str | None:
    """Why a checkpoint is due (``'time'``, ``'evaluations'``), or None."""
    control = m.checkpoint_control
    if control is None:
        return None
    now = time.time()
    if m._checkpoint_pending:
        return "evaluations"
    if now - m.last_checkpoint >= control.checkpoint_time_frequency:
        return "time"
    if m.f_counter - m.last_chkpt_fcall >= control.checkpoint_iter_frequency:
        return "evaluations"
    return None
