"""Requests to a running manager: stop an optimizer, write a checkpoint, end the run.

:class:`RunControl` is the one way in for everything that asks a run to do something
from outside its decisions: a web dashboard (from its server's threads), the
``STOP_<id>`` and ``CHKPT`` files of the working directory, and the signal handlers
(SIGINT, SIGTERM, SIGHUP). Every manager has one (``manager.control``); plugins receive
it through the lifecycle hook ``glompo_run_control`` when a run starts. The read-only
:class:`~glompo_core.protocols.ManagerView` given to stoppers, exit conditions,
generators and selectors does not carry it: components observe, they do not steer.

Threads and locks
-----------------
A request is put on a :class:`queue.SimpleQueue` and returns at once: ``SimpleQueue.put``
takes no lock that a signal handler could find held by the thread it interrupted, so
the same call serves the handlers, any thread of the process and the manager's own.
:meth:`RunControl.stop_optimizer` answers from the optimizer's record without the
manager's lock (a dictionary lookup and two flags; its answer may be a moment old). The
requests are carried out, in the order they came, by the manager's loop thread only
(:meth:`RunControl.carry_out`, once per turn of the loop, about every 50 ms), which
takes the manager's lock around each decision, exactly as its own decisions do.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from glompo_core import _decisions

if TYPE_CHECKING:
    from glompo_core.manager import GloMPOManager

__all__ = ["RunControl"]

#: Signals handled while a run is on (in the main thread): a checkpoint (if the run has
#: checkpointing), then the run ends with the signal's exit status.
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
_log = logging.getLogger("glompo.manager")


@dataclass(frozen=True)
class _Request:
    """One queued request: ``kind`` is ``'stop'``, ``'checkpoint'`` or ``'end'``."""

    kind: str
    opt_id: int = 0
    reason: str = ""
    state: str = "SIGTERM"  # 'end': the key of errors.EXIT_STATUS the run ends with


class RunControl:
    """Ask a running manager to stop an optimizer, write a checkpoint or end the run.

    Created by the manager (``manager.control``); every method may be called from any
    thread and returns at once: the request is carried out by the manager's loop thread
    soon after (within one turn of its loop). Requests made before
    :meth:`~glompo_core.GloMPOManager.start_manager` wait for the run to start.

    Parameters
    ----------
    manager
        The manager whose run this controls.

    Examples
    --------
    A plugin that ends the run when a file appears in its working directory keeps the
    control it receives when the run starts:

    >>> from glompo_core import hookimpl
    >>> class EndOnRequest:
    ...     control = None
    ...
    ...     @hookimpl
    ...     def glompo_run_control(self, manager, control):
    ...         self.control = control  # later, from any thread: control.end_run("...")
    """

    def __init__(self, manager: GloMPOManager) -> None:
        self._m = manager
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()

    # ----------------------------------------------------------------- any thread
    def stop_optimizer(self, opt_id: int, reason: str = "user request") -> bool:
        """Ask the manager to stop optimizer ``opt_id``.

        The optimizer is stopped as a stopper stops one: it starts no evaluation after
        the stop, its record's end condition is ``reason``, and plugins hear
        ``glompo_optimizer_stopped``.

        Parameters
        ----------
        opt_id
            The optimizer's ID.
        reason
            Why it is stopped (recorded in the log and passed to the plugins).

        Returns
        -------
        bool
            True if the stop was queued; False if no optimizer has this ID, or it has
            already ended or been told to stop.
        """
        if isinstance(opt_id, bool) or not isinstance(opt_id, int):
            raise TypeError(f"opt_id must be an int (an optimizer's ID), not {opt_id!r}")
        rec = self._m._opts.get(opt_id)
        if rec is None or not rec.alive or rec.stop_requested:
            return False
        self._requests.put(_Request("stop", opt_id=opt_id, reason=str(reason)))
        return True

    def checkpoint(self) -> None:
        """Ask the manager to write a checkpoint (soon after, from its loop thread).

        The checkpoint goes where ``checkpoint_control`` says (the defaults of
        :class:`~glompo_core.checkpointing.CheckpointingControl` if the run has none).
        A request arriving once the run is ending is dropped: the run's final checkpoint
        (if it has checkpointing) is written anyway.
        """
        self._requests.put(_Request("checkpoint"))

    def end_run(self, reason: str = "user request") -> None:
        """Ask the manager to end the run, as SIGTERM does.

        Nothing new starts; if the run has checkpointing a final checkpoint is written
        (the optimizers are paused for it), then every optimizer is stopped. The run's
        end state is ``'SIGTERM'`` and its exit status
        ``errors.EXIT_STATUS['SIGTERM']`` (143). The first reason to end a run wins: a
        request arriving once the run is ending changes nothing.

        Parameters
        ----------
        reason
            Why the run ends (the run's exit reason is ``end of run requested
            (<reason>)``).
        """
        self._requests.put(_Request("end", reason=f"end of run requested ({reason})",
                                    state="SIGTERM"))

    def __repr__(self) -> str:
        return f"RunControl({self._m!r})"

    # ---------------------------------------------------------- signal handlers
    def _signal(self, signum: int, frame: Any) -> None:
        """The handler of SIGINT, SIGTERM and SIGHUP: the run ends with the signal's status."""
        name = signal.Signals(signum).name
        self._requests.put(_Request("end", reason=f"interrupted by {name}", state=name))

    def install_signal_handlers(self) -> dict[int, Any]:
        """Handle :data:`SIGNALS` by :meth:`end_run`'s path (main thread only).

        Returns
        -------
        dict
            The handlers replaced, for :meth:`restore_signal_handlers` (empty outside the
            main thread, where Python allows no handler).
        """
        if threading.current_thread() is not threading.main_thread():
            return {}
        saved: dict[int, Any] = {}
        for sig in (getattr(signal, name) for name in SIGNALS if hasattr(signal, name)):
            try:
                saved[sig] = signal.signal(sig, self._signal)
            except (ValueError, OSError):
                pass
        return saved

    @staticmethod
    def restore_signal_handlers(saved: dict[int, Any]) -> None:
        """Put back the handlers :meth:`install_signal_handlers` replaced."""
        for sig, old in saved.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError):
                pass

    # ------------------------------------------------------ the manager's thread
    def check_files(self) -> None:
        """Turn the ``STOP_<id>`` and ``CHKPT`` files of the working directory into requests.

        Each file is deleted once read (a ``STOP_`` file naming no live optimizer too).
        Called by the manager's loop about once a second.
        """
        working_dir = self._m.working_dir
        for path in working_dir.glob("STOP_*"):
            try:
                opt_id = int(path.name[5:])
            except ValueError:
                continue
            if self.stop_optimizer(opt_id, f"user request ({path.name} file)"):
                _log.info("STOP file found: stopping optimizer %d", opt_id)
            path.unlink(missing_ok=True)
        if (working_dir / "CHKPT").exists():
            _log.info("CHKPT file found: writing a checkpoint")
            (working_dir / "CHKPT").unlink(missing_ok=True)
            self.checkpoint()

    def carry_out(self) -> None:
        """Carry out every request queued so far, in order (the manager's loop thread).

        A stop is carried out under the manager's lock, if the optimizer is still alive;
        a checkpoint is written if the run is not ending; the end of the run is decided
        (once: the first reason wins) keeping the optimizers for a final checkpoint.
        """
        m = self._m
        while True:
            try:
                req = self._requests.get_nowait()
            except queue.Empty:
                return
            if req.kind == "end":
                if m.exit_reason is not None:
                    continue
                if m.checkpoint_control is not None:
                    _log.info("%s: writing a checkpoint before stopping", req.reason)
                _decisions.request_exit(m, req.reason, state=req.state, checkpoint=True)
            elif req.kind == "stop":
                with m._lock:
                    rec = m._opts.get(req.opt_id)
                    if rec is not None and rec.alive and not rec.stop_requested:
                        _log.info("stopping optimizer %d: %s", req.opt_id, req.reason)
                        _decisions.stop_optimizer(m, rec, req.reason)
            elif m.exit_reason is None:  # checkpoint
                m.checkpoint()
