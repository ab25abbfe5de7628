"""Shared helpers of the test suite (importable, not a conftest)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from glompo_core import BaseOptimizer, MinimizeResult, hookimpl
from glompo_core.plugins import PluginManager


def sphere(x: Sequence[float]) -> float:
    return float(np.sum(np.asarray(x) ** 2))


class SleepySphere:
    """A sphere that sleeps ``delay`` seconds per call."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay

    def __call__(self, x: Sequence[float]) -> float:
        time.sleep(self.delay)
        return sphere(x)


class DetailedSphere:
    """A task with a detailed_call returning (fx, norm, label)."""

    detailed_call_headers = ("norm", "label")

    def __call__(self, x: Sequence[float]) -> float:
        return sphere(x)

    def detailed_call(self, x: Sequence[float]) -> tuple[float, float, str]:
        return sphere(x), float(np.linalg.norm(x)), "ok"


class Recorder:
    """A run-scoped plugin recording every lifecycle hook call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _rec(self, name: str, **kw: Any) -> None:
        with self.lock:
            self.calls.append((name, kw))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    @hookimpl
    def glompo_run_started(self, manager: Any) -> None:
        self._rec("run_started")

    @hookimpl
    def glompo_run_finished(self, manager: Any, result: Any, reason: str) -> None:
        self._rec("run_finished", result=result, reason=reason)

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int, optimizer_type: str, x0: Any) -> None:
        self._rec("optimizer_started", opt_id=opt_id, type=optimizer_type, x0=x0)

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: Any, x: Any, fx: Any,
                               extras: Any) -> None:
        self._rec("batch", opt_id=opt_id, call_ids=np.array(call_ids), n=len(fx),
                  x=np.array(x), fx=np.array(fx),
                  extras=None if extras is None else [list(e) for e in extras])

    def history(self, opt_id: int, track: str) -> Any:
        """Every evaluation of ``opt_id`` seen through the hooks: 'x', 'fx' or 'extra_<i>'."""
        batches = [kw for name, kw in self.calls if name == "batch" and kw["opt_id"] == opt_id]
        if track.startswith("extra_"):
            i = int(track[6:]) - 1
            return [v for b in batches for v in b["extras"][i]]
        return np.concatenate([b[track] for b in batches])

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int, reason: str) -> None:
        self._rec("stopped", opt_id=opt_id, reason=reason)

    @hookimpl
    def glompo_optimizer_converged(self, opt_id: int, reason: str) -> None:
        self._rec("converged", opt_id=opt_id, reason=reason)

    @hookimpl
    def glompo_optimizer_crashed(self, opt_id: int, error: str) -> None:
        self._rec("crashed", opt_id=opt_id, error=error)

    @hookimpl
    def glompo_best_improved(self, opt_id: int, fx: float, call_id: int) -> None:
        self._rec("best", opt_id=opt_id, fx=fx, call_id=call_id)


def plugin_manager(*plugins: tuple[str, Any]) -> PluginManager:
    """A fresh registry with the built-ins and the given plugins, no entry points."""
    return PluginManager(load_entrypoints=False, plugins=plugins)


class StepOptimizer(BaseOptimizer):
    """A deterministic test optimizer: evaluates x0 + k * step, one point per iteration.

    Records injections; prints a line per iteration when ``chatty``.
    """

    def __init__(self, _opt_id: int | None = None, _signal_pipe: Any = None,
                 _results_queue: Any = None, _pause_flag: Any = None,
                 _is_log_detailed: bool = False, _workers: int = 1, _backend: str = "threads",
                 step: float = 0.01, iters: int | None = None, chatty: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(_opt_id, _signal_pipe, _results_queue, _pause_flag, _is_log_detailed,
                         _workers, _backend, **kwargs)
        self.step = step
        self.iters = iters
        self.chatty = chatty
        self.injected: list[tuple[Any, float]] = []
        self.received_bounds: Any = None
        self.received_x0: Any = None
        self._stop = False

    def minimize(self, function: Callable[[Sequence[float]], float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> MinimizeResult:
        self.received_bounds = [tuple(b) for b in bounds]
        self.received_x0 = np.array(x0)
        b = np.asarray(bounds)
        x = np.array(x0, dtype=float)
        k = 0
        while not self._stop and (self.iters is None or k < self.iters):
            if self.workers > 1:
                from glompo_core.optimizers import evaluate_population

                xs = np.clip(x + self.step * np.arange(self.workers)[:, None], b[:, 0], b[:, 1])
                for xi, fx in zip(xs, evaluate_population(function, xs, self.workers)):
                    self._update_incumbent(xi, fx)
            else:
                fx = function(x)  # type: ignore[arg-type]  # arrays are accepted
                self._update_incumbent(x, fx)
            if self.chatty:
                print(f"iteration {k} fx={self.incumbent['fx']}")
            x = np.clip(x + self.step, b[:, 0], b[:, 1])
            k += 1
            self.check_messages()
            self._pause_signal.wait()
        if not self._stop:
            self.message_manager(0, "step budget used")
        return MinimizeResult(True, self.incumbent["x"], self.incumbent["fx"])

    def inject(self, x: Sequence[float], fx: float) -> None:
        self.injected.append((np.array(x), fx))
        super().inject(x, fx)

    def callstop(self, reason: str = "") -> None:
        self._stop = True


class ScaledStepOptimizer(StepOptimizer):
    scaling = "linear"


class StepPlugin:
    """Registers the test optimizers by name."""

    @hookimpl
    def glompo_register_optimizers(self, register: Callable[..., None]) -> None:
        register("StepOptimizer", StepOptimizer)
        register("ScaledStepOptimizer", ScaledStepOptimizer)


def running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``procs`` that still run (a zombie waiting to be reaped has ended)."""
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


@dataclass(frozen=True)
class Meeting:
    """What one evaluation of a :class:`Rendezvous` saw."""

    ticket: int  #: its place in the order the evaluations started (1, 2, ...)
    met: bool  #: the other evaluations of its group started while it ran
    crowd: int  #: evaluations it saw running at once, itself included (never over-counted)
    pid: int  #: the process that ran it


class Rendezvous:
    """A task that measures concurrency: its evaluations wait for each other in groups.

    Each evaluation takes the next ticket (1, 2, ...) in ``folder`` and waits until
    every ticket of its group is taken (1..group, group+1..2*group, ...), then returns
    the sphere of ``x``. Evaluations that run at once meet at once, whatever the load of
    the machine; evaluations run one after the other never meet: each waits
    ``patience`` seconds and is recorded as not met. It keeps its records in files, so
    it works in threads, processes and on Dask workers. Run a multiple of ``group``
    evaluations, in a fresh folder.
    """

    def __init__(self, folder: str | Path, group: int = 2, patience: float = 30.0) -> None:
        self.folder = str(folder)
        self.group = group
        self.patience = patience
        Path(folder).mkdir(parents=True, exist_ok=True)

    def _running(self) -> int:
        return sum(1 for name in os.listdir(self.folder) if name.startswith("inside-"))

    def __call__(self, x: Sequence[float]) -> float:
        ticket = 1
        while True:  # the next free ticket, atomically, across processes
            try:
                os.close(os.open(os.path.join(self.folder, f"ticket-{ticket}"),
                                 os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                break
            except FileExistsError:
                ticket += 1
        inside = os.path.join(self.folder, f"inside-{ticket}")
        open(inside, "w").close()  # removed on the way out: present = running now
        crowd = self._running()
        closing = os.path.join(self.folder, f"ticket-{-(-ticket // self.group) * self.group}")
        deadline = time.monotonic() + self.patience
        while not os.path.exists(closing) and time.monotonic() < deadline:
            time.sleep(0.001)
            crowd = max(crowd, self._running())
        met = os.path.exists(closing)
        with open(os.path.join(self.folder, f"seen-{ticket}"), "w") as file:
            file.write(f"{int(met)} {max(crowd, self._running())} {os.getpid()}")
        os.remove(inside)
        return float(np.sum(np.asarray(x, dtype=float) ** 2))

    #: the extra column of :meth:`detailed_call`
    detailed_call_headers = ("pid",)

    def detailed_call(self, x: Sequence[float]) -> tuple[float, int]:
        """The value and the process that evaluated it."""
        return self(x), os.getpid()

    def meetings(self) -> list[Meeting]:
        """What each finished evaluation saw, in ticket order."""
        out = []
        for name in os.listdir(self.folder):
            if name.startswith("seen-"):
                met, crowd, pid = Path(self.folder, name).read_text().split()
                out.append(Meeting(int(name[5:]), met == "1", int(crowd), int(pid)))
        return sorted(out, key=lambda m: m.ticket)

class DummyA:
    """A minimal optimizer: only what selectors check for (DummyB, DummyC: two more kinds)."""

    def __init__(self, workers: int = 1, **kwargs: Any) -> None:
        self.workers = workers

    def minimize(self, function: Callable[..., float], x0: Sequence[float],
                 bounds: Sequence[tuple[float, float]]) -> None:
        return None

    def callstop(self, reason: str = "") -> None:
        return None


class DummyB(DummyA):
    pass


class DummyC(DummyA):
    pass
