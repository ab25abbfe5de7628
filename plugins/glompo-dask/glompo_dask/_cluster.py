"""Setting up the cluster for a run: workers, the task on them, restarting workers.

Used by :class:`~glompo_dask.backend.DaskBackend` on the manager's side. The functions
take a connected :class:`distributed.Client`; :mod:`distributed` and :mod:`cloudpickle`
are imported only when they run, so importing this module stays light.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

    from glompo_dask._worker import TaskPlugin

__all__ = ["WAIT_TIMEOUTS", "address", "by_value_module", "dashboard_link", "install_task",
           "new_plugin_name", "raise_if_glompo_dask_missing", "restart_later",
           "wait_for_workers"]

_log = logging.getLogger("glompo.backends")

#: Errors ``Future.result(timeout=...)`` raises when the time is up (asyncio's differs
#: from the builtin before Python 3.11).
WAIT_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

_by_value_lock = threading.Lock()


def address(client: Client) -> str:
    """The address of the scheduler ``client`` is connected to."""
    return str(getattr(client.scheduler, "address", "?"))


def dashboard_link(client: Client) -> str:
    """The link to the cluster's dashboard, or ``'not available'``."""
    try:
        link = client.dashboard_link
    except Exception:
        link = None
    return str(link) if link else "not available"


def raise_if_glompo_dask_missing(exc: BaseException) -> None:
    """Explain an error of the workers that cannot import glompo_dask itself."""
    if "No module named 'glompo_dask" in str(exc):
        raise RuntimeError("glompo-dask must be installed where the Dask workers run (pip "
                           f"install glompo-dask there): the workers report {exc!r}") from exc


def wait_for_workers(client: Client, startup_timeout: float) -> None:
    """Wait until a first worker joins the scheduler.

    Raises
    ------
    RuntimeError
        No worker joined within ``startup_timeout`` seconds.
    """
    if client.nthreads():
        return
    _log.info("dask backend: waiting up to %s s for a first worker to join %s",
              startup_timeout, address(client))
    try:
        client.wait_for_workers(1, timeout=startup_timeout)
    except WAIT_TIMEOUTS:
        raise RuntimeError(
            f"no Dask worker joined the scheduler at {address(client)} within "
            f"startup_timeout={startup_timeout} s: start workers (dask worker "
            f"{address(client)}) or scale the cluster up "
            "(cluster.scale(jobs=...))") from None


# -- sending the task -----------------------------------------------------------------------
def _importable(module: str) -> bool:
    """On a worker: True if ``module`` can be imported there (nothing is imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or not a module path
        return False


def _module_of(task: Any) -> str | None:
    """Name of the module defining the task (its class, or the function itself)."""
    name = getattr(task, "__module__", None)
    if not isinstance(name, str) or name in ("__main__", "builtins") or name not in sys.modules:
        return None  # cloudpickle sends what __main__ defines by value anyway
    return name


def by_value_module(client: Client, task: Any) -> str | None:
    """The module of ``task`` to send by value: one a worker cannot import, else None."""
    module = _module_of(task)
    if module is None:
        return None
    try:
        found = client.run(_importable, module)
    except Exception as exc:
        raise_if_glompo_dask_missing(exc)
        raise
    missing = sorted(worker for worker, ok in found.items() if not ok)
    if not missing:
        return None
    _log.info("dask backend: the task's module %r cannot be imported on %d worker(s); "
              "the task is sent by value", module, len(missing))
    return module


@contextmanager
def _pickled_by_value(module: str | None) -> Iterator[None]:
    """Within the block, cloudpickle serialises what ``module`` defines by value."""
    if module is None:
        yield
        return
    import cloudpickle

    with _by_value_lock:
        already = module in cloudpickle.list_registry_pickle_by_value()
        if not already:
            cloudpickle.register_pickle_by_value(sys.modules[module])
        try:
            yield
        finally:
            if not already:
                cloudpickle.unregister_pickle_by_value(sys.modules[module])


def _register(client: Client, plugin: TaskPlugin, name: str) -> None:
    """Register a worker plugin on every worker, present and future."""
    register = getattr(client, "register_plugin", None)
    if register is None:  # distributed < 2023.9.2
        register = client.register_worker_plugin  # type: ignore[attr-defined]
    register(plugin, name=name)


def new_plugin_name() -> str:
    """A name for the worker plugin holding a run's task, unique to the run."""
    return f"glompo-task-{uuid.uuid4().hex}"


def install_task(client: Client, task: Any, by_value: str | None, name: str) -> None:
    """Pickle ``task`` once and install it on every worker, present and future.

    Parameters
    ----------
    client
        The connected client.
    task
        The function being minimised.
    by_value
        A module whose contents are pickled by value (see :func:`by_value_module`).
    name
        The name of the worker plugin (see :func:`new_plugin_name`); it is registered
        with the scheduler even if a worker fails to install it.

    Raises
    ------
    RuntimeError
        The task could not be installed on the workers.
    """
    import cloudpickle

    from glompo_dask._worker import TaskPlugin

    with _pickled_by_value(by_value):
        payload = cloudpickle.dumps(task)
    try:
        _register(client, TaskPlugin(payload), name)
    except Exception as exc:
        raise_if_glompo_dask_missing(exc)
        raise RuntimeError(
            f"the task could not be installed on the Dask workers ({exc!r}): everything "
            "it uses must be importable where the workers run (install it there), or "
            "be defined in the script that starts the run") from exc
    _log.debug("dask backend: task installed on the workers as %s (%d bytes)", name,
               len(payload))


# -- workers running abandoned evaluations ----------------------------------------------------
def restart_later(client: Client, workers: Sequence[str]) -> None:
    """Restart ``workers`` (running abandoned evaluations) in a background thread."""
    restart = getattr(client, "restart_workers", None)
    if restart is None:
        _log.warning("dask backend: workers %s keep running abandoned evaluations (this "
                     "version of distributed cannot restart single workers)", workers)
        return
    workers = list(workers)

    def restart_them() -> None:
        try:
            status = restart(workers, raise_for_error=False)
        except Exception as exc:
            status = {w: repr(exc) for w in workers}
        failed = {w: s for w, s in dict(status or {}).items() if s != "OK"}
        if failed:
            _log.warning("dask backend: workers running abandoned evaluations could not "
                         "be restarted (no nanny?): %s", failed)

    threading.Thread(target=restart_them, name="glompo-dask-restart", daemon=True).start()
