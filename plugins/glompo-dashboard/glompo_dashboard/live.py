"""The live dashboard: an observer of a run's lifecycle hooks that serves the page.

From a run file, ``dashboard: {port: 8765}`` (or ``glompo run --dashboard [PORT]``)
registers a :class:`Dashboard` for the run. From Python, give one to the manager before
``start_manager()``; the manager removes it when the run ends::

    from glompo_dashboard import Dashboard

    manager = GloMPOManager.new_manager(...)
    manager.add_observer(Dashboard(port=8765), "dashboard")
    manager.start_manager()  # serves the page while the run runs

When the run starts, the server starts in a thread of the manager's process, bound to
127.0.0.1 (``host`` to change it), with a new random token; its URL is logged, printed
to stderr and written to ``dashboard_url.txt`` in the run's working directory (readable by
its owner only). When the run ends the server stops, its thread is joined, the port is
free and the URL file is removed.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core import hookimpl
from glompo_core.errors import GloMPOError
from glompo_core.protocols import ManagerView
from glompo_dashboard.server import DashboardServer, bind_socket, make_app
from glompo_dashboard.state import RunState

__all__ = ["URL_FILE", "Dashboard", "run_facts"]

URL_FILE = "dashboard_url.txt"
_log = logging.getLogger("glompo.dashboard")


def _leaves(conditions: Any) -> list[Any]:
    if conditions is None:
        return []
    leaves = getattr(conditions, "leaves", None)
    try:
        return list(leaves()) if callable(leaves) else [conditions]
    except Exception:
        return [conditions]


def _progress(condition: Any, manager: Any) -> float | None:
    """``condition.progress(manager)`` if it has one (third-party conditions need not)."""
    method = getattr(condition, "progress", None)
    if not callable(method):
        return None
    try:
        value = method(manager)
    except Exception:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(out, 0.0), 1.0) if np.isfinite(out) else None


def run_facts(manager: ManagerView, rates: deque[tuple[float, int]],
              process: Any = None) -> dict[str, Any]:
    """The run panel's facts read from a manager view.

    Parameters
    ----------
    manager
        The run's :class:`~glompo_core.protocols.ManagerView`.
    rates
        Recent ``(time, f_counter)`` samples (appended to; kept short) for evaluations/s.
    process
        A ``psutil.Process`` for CPU and memory (None: not shown).

    Returns
    -------
    dict
        Elapsed and estimated remaining seconds, evaluations/s, ``max_jobs``,
        ``workers_busy``, ``failed_evaluations``, each exit condition with its progress
        (None when it cannot tell) and the overall progress, CPU and memory.
    """
    now = time.time()
    f_counter = int(manager.f_counter)
    rates.append((now, f_counter))
    while len(rates) > 2 and now - rates[0][0] > 10:
        rates.popleft()
    (t0, n0), (t1, n1) = rates[0], rates[-1]
    t_start = manager.t_start
    elapsed = float(manager.t_used) + (now - t_start if t_start else 0.0)
    conditions = manager.exit_conditions
    exits = [{"name": str(c), "progress": _progress(c, manager)} for c in _leaves(conditions)]
    overall = _progress(conditions, manager) if conditions is not None else None
    budget = manager.run_budget
    if conditions is None and isinstance(budget, int) and budget > 0:
        # a stand-in view without conditions: the evaluation budget that ends the run
        overall = min(1.0, f_counter / budget)
        exits = [{"name": f"evaluation budget: {f_counter:,} of {budget:,}",
                  "progress": overall}]
    remaining = elapsed * (1 - overall) / overall if overall and overall < 1 else None
    facts: dict[str, Any] = {
        "elapsed": elapsed, "evals_per_s": (n1 - n0) / (t1 - t0) if t1 > t0 else None,
        "max_jobs": manager.max_jobs,
        "workers_busy": manager.workers_busy,
        "failed_evaluations": manager.failed_evaluations,
        "exit_conditions": exits, "exit_progress": overall, "remaining": remaining,
        "f_counter_manager": f_counter,
    }
    if process is not None:
        try:
            facts["cpu"] = process.cpu_percent(None)
            facts["memory_mb"] = process.memory_info().rss / 2**20
        except Exception:
            pass
    return facts


class Dashboard:
    """Serves a live page of the run it observes (register it as an observer of a run).

    Parameters
    ----------
    port
        TCP port (a taken port: the next free one is used, and it says which); 0: any.
    host
        Interface to bind; ``127.0.0.1`` keeps the page on this machine (reach it from a
        laptop with ``ssh -L PORT:127.0.0.1:PORT host``).
    max_points
        Trajectory points kept per optimizer (down-sampled beyond).
    interval
        Seconds between two batches of events sent to the page.
    quiet
        Do not print the URL to stderr (it is still logged and written to the URL file).
    """

    def __init__(self, port: int = 8765, host: str = "127.0.0.1", *, max_points: int = 2000,
                 interval: float = 0.5, quiet: bool = False) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port={port!r}: give a TCP port number, 0 to 65535 (0: any free)")
        if not isinstance(host, str) or not host:
            raise ValueError(f"host={host!r}: give an interface address such as 127.0.0.1")
        if not isinstance(interval, (int, float)) or not interval > 0:
            raise ValueError(f"interval={interval!r}: give seconds between updates, > 0")
        self.port, self.host, self.interval, self.quiet = port, host, float(interval), quiet
        self.state = RunState(max_points=max_points)
        self.token = ""
        self.url = ""
        self.url_file: Path | None = None
        self.server: DashboardServer | None = None
        self.control: Any = None
        self._manager: Any = None
        self._rates: deque[tuple[float, int]] = deque(maxlen=64)
        self._tick_lock = threading.Lock()
        self._last_tick = 0.0
        self._process: Any = None
        self._bound: Any = None  # the manager (view) this dashboard serves
        self._active = False  # between its run's start and end

    # -- lifecycle hooks ---------------------------------------------------------------------
    def _mine(self, manager: Any) -> bool:
        """True for the manager this dashboard serves (the first one it hears from).

        A dashboard left registered with a plugin manager after its run ignores the runs
        of other managers: each run has a dashboard of its own.
        """
        if self._bound is None:
            self._bound = manager
        return manager is self._bound

    @hookimpl
    def glompo_run_started(self, manager: Any) -> None:
        """Start the server (a new token per session) and say where it is."""
        import psutil

        if not self._mine(manager) or self._active:
            return
        self._active = True
        self._manager = manager
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        self.state.update_run(status="running", reason="", started=time.time())
        self.token = secrets.token_urlsafe(24)
        try:
            sock = bind_socket(self.host, self.port, say=self._say)
        except GloMPOError as exc:  # no port: the run goes on without its page
            self._active = False
            self._say(f"the dashboard is off for this run: {exc}")
            return
        stopping = threading.Event()
        app = make_app(self.state, self.token, control=lambda: self.control,
                       interval=self.interval, stopping=stopping, tick=self.tick)
        self.server = DashboardServer(app, sock, stopping)
        self.server.start()
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        self.url = f"http://{shown}:{self.server.port}/?token={self.token}"
        self._say(f"GloMPO dashboard: {self.url}")
        working_dir = getattr(manager, "working_dir", None)
        if working_dir is not None:
            self.url_file = Path(working_dir) / URL_FILE
            self._write_url_file(self.url_file)

    def _write_url_file(self, path: Path) -> None:
        replaced = path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"{self.url}\n")
        if replaced:
            _log.info("%s held the URL of an earlier session; it now holds this one's", path)

    def _say(self, text: str) -> None:
        if text.startswith(("port ", "the dashboard is off")):
            _log.warning(text)
        else:
            _log.info(text)
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    @hookimpl(specname="glompo_run_control")
    def keep_run_control(self, manager: Any, control: Any) -> None:
        """Keep the run's control (``glompo_run_control``) for the page's buttons."""
        if self._mine(manager):
            self.control = control

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int, optimizer_type: str,
                                 init_kwargs: dict[str, Any]) -> None:
        """A new row of the table."""
        if self._active:
            self.state.optimizer_started(opt_id, optimizer_type, init_kwargs)

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: np.ndarray, x: np.ndarray,
                               fx: np.ndarray) -> None:
        """A point of the optimizer's trajectory (the batch's lowest value)."""
        if self._active:
            self.state.batch(opt_id, call_ids, x, fx)

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int, reason: str) -> None:
        """The optimizer's status and a stop marker."""
        if self._active:
            self.state.optimizer_ended(opt_id, "stopped", reason)

    @hookimpl
    def glompo_optimizer_converged(self, opt_id: int, reason: str) -> None:
        """The optimizer's status and a convergence marker."""
        if self._active:
            self.state.optimizer_ended(opt_id, "converged", reason)

    @hookimpl
    def glompo_optimizer_crashed(self, opt_id: int, error: str) -> None:
        """The optimizer's status and a crash marker."""
        if self._active:
            self.state.optimizer_ended(opt_id, "crashed", error)

    @hookimpl
    def glompo_best_improved(self, opt_id: int, x: np.ndarray, fx: float,
                             call_id: int) -> None:
        """The run's best point."""
        if self._active:
            self.state.set_best(opt_id, np.asarray(x, dtype=float).ravel().tolist(), fx, call_id)

    @hookimpl
    def glompo_checkpoint_written(self, path: str) -> None:
        """A checkpoint marker."""
        if self._active:
            self.state.checkpoint(str(path))

    @hookimpl
    def glompo_run_finished(self, manager: Any, reason: str) -> None:
        """The run ended: last facts, then the server stops and the URL file goes."""
        if not self._active or manager is not self._bound:
            return
        self._active = False
        self.tick(force=True)
        self.state.update_run(status="finished", reason=reason)
        self.close()

    # -- the server's side -------------------------------------------------------------------
    def tick(self, force: bool = False) -> None:
        """Refresh the run panel's facts (at most once per ``interval``; any thread)."""
        manager = self._manager
        if manager is None:
            return
        with self._tick_lock:
            now = time.monotonic()
            if not force and now - self._last_tick < self.interval:
                return
            self._last_tick = now
            try:
                facts = run_facts(manager, self._rates, self._process)
            except Exception:  # a fact that cannot be read: the panel keeps the last ones
                _log.debug("run facts could not be read", exc_info=True)
                return
        self.state.update_run(**facts)

    def close(self) -> None:
        """Stop the server and remove the URL file (idempotent)."""
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        if self.url_file is not None:
            self.url_file.unlink(missing_ok=True)
            self.url_file = None
        self.control = None
