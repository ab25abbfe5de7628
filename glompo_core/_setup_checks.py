"""Validation and resolution of :meth:`GloMPOManager.setup` arguments.

Every check raises before anything runs, with a message naming the argument, what
is wrong and how to fix it. An error raised while checking a setting carries the
setting's name in its attribute ``setting`` (see :func:`setting_of`), so that the run-file
loader can point at the line that gave it.

The checks of an optimizer's ``init`` and ``call`` arguments
(:func:`optimizer_argument_problems`, :func:`init_argument_names`, ...) live in
:mod:`glompo_core._optimizer_arguments` and are importable from here too.
"""

from __future__ import annotations

import difflib
import errno
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from glompo_core import _validation as validation
from glompo_core._combinable import Combinable
from glompo_core._install import install_hint
from glompo_core._optimizer_arguments import RUNTIME_ARGUMENTS as RUNTIME_ARGUMENTS
from glompo_core._optimizer_arguments import SLOT_ARGUMENTS as SLOT_ARGUMENTS
from glompo_core._optimizer_arguments import ArgumentProblem as ArgumentProblem
from glompo_core._optimizer_arguments import init_argument_names as init_argument_names
from glompo_core._optimizer_arguments import (
    minimize_argument_names as minimize_argument_names,
)
from glompo_core._optimizer_arguments import optimizer_argument_problems
from glompo_core._workdir import WorkingDirLock, lock_working_dir
from glompo_core.errors import UnknownComponentError
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager

_F = TypeVar("_F", bound=Callable[..., Any])


# -- which setting an error is about ----------------------------------------------------
def setting_of(exc: BaseException) -> str | None:
    """The :meth:`GloMPOManager.setup` setting an error was raised for, or None.

    Parameters
    ----------
    exc
        An error raised by ``setup()``.

    Returns
    -------
    str or None
        The argument's name (``'bounds'``, ``'max_jobs'``, ...), from the error's
        ``setting`` attribute. ``exc.setting_path`` may reach further into it, e.g.
        ``('bounds', 2)`` for the third pair of bounds.
    """
    value = getattr(exc, "setting", None)
    return value if isinstance(value, str) else None


def tag_setting(exc: BaseException, setting: str, *path: Any) -> BaseException:
    """Mark ``exc`` as raised for ``setting`` (unless it is marked already); return it."""
    if setting_of(exc) is None:
        try:
            exc.setting = setting  # type: ignore[attr-defined]
            exc.setting_path = (setting, *path)  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - an exception class with __slots__
            pass
    return exc


@contextmanager
def about(setting: str) -> Iterator[None]:
    """Mark every error raised in the block as raised for ``setting``."""
    try:
        yield
    except Exception as exc:
        tag_setting(exc, setting)
        raise


def _for_setting(setting: str) -> Callable[[_F], _F]:
    """Decorator: errors raised by the check are marked as raised for ``setting``."""
    def decorate(check: _F) -> _F:
        @functools.wraps(check)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with about(setting):
                return check(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


@_for_setting("task")
def resolve_task(task: Any, pm: PluginManager) -> Any:
    if isinstance(task, str):
        factory = pm.get("task", task, source="task")
        return factory()
    if not callable(task):
        raise TypeError(f"task must be callable (fx = task(x)) or a registered task name, "
                        f"got {task!r}")
    return task


@_for_setting("bounds")
def check_bounds(bounds: Any, task: Any) -> np.ndarray:
    if bounds is None:
        bounds = getattr(task, "bounds", None)
        if bounds is None:
            raise ValueError("bounds are required: give a (min, max) pair per parameter "
                             "(the task has no 'bounds' attribute to take them from)")
    try:
        arr = np.array(bounds, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bounds must be a sequence of (min, max) pairs: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"bounds must be a non-empty sequence of (min, max) pairs, one per "
                         f"parameter; got an array of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = [i for i in range(len(arr)) if not np.all(np.isfinite(arr[i]))]
        raise tag_setting(ValueError(f"bounds must be finite; parameter(s) {bad} are not"),
                          "bounds", bad[0])
    fixed = np.nonzero(arr[:, 0] == arr[:, 1])[0]
    if fixed.size:
        raise tag_setting(ValueError(
            f"bounds of parameter(s) {fixed.tolist()} have min == max: do not fix a parameter "
            "through its bounds; fix it inside the task and leave it out of the optimization"),
            "bounds", int(fixed[0]))
    wrong = np.nonzero(arr[:, 0] > arr[:, 1])[0]
    if wrong.size:
        i = int(wrong[0])
        raise tag_setting(ValueError(
            f"bounds of parameter(s) {wrong.tolist()} have min > max (e.g. parameter {i}: "
            f"{tuple(arr[i].tolist())}); write each pair as (min, max)"), "bounds", i)
    dims = getattr(task, "dims", None)
    if isinstance(dims, (int, np.integer)) and dims != len(arr):
        raise ValueError(f"the task has {dims} parameters but {len(arr)} bounds were given")
    return arr


@_for_setting("opt_selector")
def check_selector(selector: Any, pm: PluginManager) -> Any:
    if isinstance(selector, (str, type)):
        raise TypeError("opt_selector must be a selector instance with its optimizers, e.g. "
                        "CycleSelector('RandomOptimizer'); got "
                        f"{getattr(selector, '__name__', selector)!r}")
    if not callable(getattr(selector, "select_optimizer", None)):
        raise TypeError(f"opt_selector must have select_optimizer(); got {selector!r}")
    specs = getattr(selector, "avail_opts", None)
    if isinstance(specs, list):  # the (class, init_kwargs, call_kwargs) of BaseSelector
        found: list[str] = []
        for i, spec in enumerate(specs):
            if not (isinstance(spec, tuple) and len(spec) == 3 and isinstance(spec[0], type)
                    and isinstance(spec[1], Mapping) and isinstance(spec[2], Mapping)):
                continue
            for problem in optimizer_argument_problems(*spec):
                found.append(f"{type(selector).__name__} optimizer #{i + 1}: "
                             f"{problem.part} argument {problem.key!r}: {problem.message}")
        if found:
            raise TypeError("\n".join(found))
    return selector


@_for_setting("max_jobs")
def check_max_jobs(max_jobs: Any) -> int:
    if max_jobs is None:
        return max(1, (os.cpu_count() or 2) - 1)
    return positive_int(max_jobs, "max_jobs")


@_for_setting("backend")
def resolve_backend(backend: Any, kwargs: dict[str, Any] | None, pm: PluginManager) -> Any:
    if isinstance(backend, str):
        factory = pm.get("backend", backend, source="backend")
        return factory(**(kwargs or {}))
    for attr in ("start", "evaluate", "evaluate_batch", "shutdown"):
        if not callable(getattr(backend, attr, None)):
            raise TypeError(f"backend must be a registered backend name ('threads', "
                            f"'processes', ...) or an object with {attr}(); got {backend!r}")
    return backend


def resolve_condition(value: Any, kind: str, pm: PluginManager, bounds: np.ndarray,
                      default: str | None = None) -> Combinable | None:
    with about(f"{kind}s"):  # exit_conditions, stoppers
        if value is None:
            if default is None:
                return None
            value = default
        if isinstance(value, str):
            from glompo_core.expressions import parse_expression

            value = parse_expression(value, kind, pm, bounds=bounds)
        label = kind.replace("_", " ")
        if not isinstance(value, Combinable) or value.kind != kind:
            raise TypeError(f"expected {label}s (combined with & and |) or an expression "
                            f"string; got {value!r}")
        return value


@_for_setting("x0_generator")
def resolve_generator(value: Any, pm: PluginManager) -> Any:
    if value is None:
        from glompo_core.generators import RandomGenerator

        return RandomGenerator()
    if isinstance(value, str):
        return pm.get("generator", value, source="x0_generator")()
    if not callable(getattr(value, "generate", None)):
        raise TypeError(f"x0_generator must have generate(manager); got {value!r}")
    return value


def positive_int(value: Any, name: str) -> int:
    with about(name):
        return validation.positive_int(value, name, what="a whole number >= 1")


def non_negative_int(value: Any, name: str) -> int:
    with about(name):
        return validation.non_negative_int(value, name, what="a whole number >= 0")


def one_of(value: Any, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise tag_setting(ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, "
                                     f"got {value!r}{hint}"), name)
    return str(value)


def positive_number(value: Any, name: str) -> float:
    """A number > 0; ``inf`` is accepted (e.g. ``status_interval=inf``: never)."""
    with about(name):
        return validation.positive_number(value, name, finite=False, what="a number > 0")


@_for_setting("summary_files")
def check_summary_files(value: Any, pm: PluginManager) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not 0 <= value <= 3:
        raise ValueError(f"summary_files must be 0 (nothing), 1 (YAML summary), 2 (+ trajectory "
                         f"plots) or 3 (+ HDF5 log); got {value!r}")
    if value >= 3 and file_logger(pm) is None:
        raise ValueError("summary_files=3 writes the log to a file (the HDF5 log of the "
                         "glompo-hdf5 plugin), and no logger that writes one is installed: "
                         f"{install_hint('glompo-hdf5')} (or use summary_files <= 2)")
    if value >= 2:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ValueError("summary_files >= 2 draws trajectory plots with matplotlib, which "
                             "is not installed: pip install matplotlib (or use "
                             "summary_files=1)")
    return int(value)


@_for_setting("seed")
def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    return validation.non_negative_int(seed, "seed", what="a whole number >= 0 or None")


@_for_setting("working_dir")
def ensure_writable_dir(path: Path, what: str = "working_dir") -> None:
    """Create directory ``path`` if needed and check that files can be written in it.

    Parameters
    ----------
    path
        The directory.
    what
        Its name in messages.

    Raises
    ------
    NotADirectoryError
        ``path``, or a directory above it, is a file.
    PermissionError, OSError
        ``path`` cannot be created, or a file cannot be written in it (read-only
        directory or file system, ...); the message names the directory and the reason.
    """
    fix = f"choose another {what} or make it writable"
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{what} {path} exists and is not a directory; choose "
                                 f"another {what}")
    if not path.is_dir():
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise NotADirectoryError(f"{what} {path} cannot be created: {parent} is a "
                                             f"file, not a directory; choose another {what}")
                break
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, f"{what} {path} cannot be created: {_reason(exc)}; {fix}") \
                from None
    try:
        handle, probe = tempfile.mkstemp(prefix=".glompo-write-test-", dir=path)
    except OSError as exc:
        raise _os_error(exc, f"{what} {path} is not writable: {_reason(exc, named=False)}; "
                             f"{fix}") from None
    os.close(handle)
    os.unlink(probe)


def _reason(exc: OSError, named: bool = True) -> str:
    """Why an OS call failed; with the file it failed on when ``named``."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EROFS:
        reason = "the file system is read-only"
    return f"{reason} ({exc.filename})" if named and exc.filename else reason


def _os_error(exc: OSError, message: str) -> OSError:
    """An error of the same kind as ``exc`` (PermissionError, ...) with ``message``."""
    try:
        return type(exc)(message)
    except TypeError:  # pragma: no cover - an OSError subclass with other arguments
        return OSError(message)


@_for_setting("working_dir")
def prepare_working_dir(path: Path, overwrite: bool, names: Sequence[str]) -> WorkingDirLock:
    """Create ``path`` and take its lock, then refuse or delete an earlier run's results.

    The lock comes first: a directory another run holds is refused (naming its pid and
    host) before anything in it is deleted, even with ``overwrite``. Returns the held
    lock; the caller releases it when the run ends. On an error it is released here.
    """
    ensure_writable_dir(path)
    lock = lock_working_dir(path)
    try:
        found = [path / n for n in names if (path / n).exists()]
        if not found:
            return lock
        if not overwrite:
            listed = ", ".join(p.name for p in found)
            raise FileExistsError(f"working_dir {path} holds results of an earlier run "
                                  f"({listed}); choose another working_dir, move those files, "
                                  "or pass overwrite_existing=True to delete them")
        for p in found:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
    except BaseException:
        lock.release()
        raise
    return lock


def make_checksum() -> str:
    return uuid.uuid4().hex


def history_window(stoppers: Combinable | None) -> int | None:
    """Rows per optimizer the stoppers read (None: all)."""
    if stoppers is None:
        return 2
    needs: list[int] = []
    for leaf in stoppers.leaves():
        need = getattr(leaf, "history_needed", None)
        if need is None:
            return None
        needs.append(int(need))
    return max(2, *needs)


def file_logger(pm: PluginManager) -> Any:
    """The logger of ``summary_files=3``: the first registered logger (by canonical name)
    that writes a file (its class names one: ``filename``); None if none is registered."""
    for name in pm.names("logger"):
        cls = pm.get("logger", name)
        if getattr(cls, "filename", None) is not None:
            return cls
    return None


def make_logger(summary_files: int, n_parms: int, window: int | None, pm: PluginManager,
                exit_conditions: Any) -> BaseLogger:
    expected = _expected_rows(exit_conditions)
    if summary_files >= 3:
        # the file holds every row: plots read it back, memory stays bounded
        cls = file_logger(pm)
        if cls is None:
            raise UnknownComponentError("summary_files=3 needs a logger that writes a file "
                                        "and none is registered")
        logger: BaseLogger = cls(n_parms, expected, False, window=window)
        return logger
    return BaseLogger(n_parms, expected, summary_files >= 2, window=window)


def _expected_rows(exit_conditions: Any) -> int:
    if exit_conditions is None:
        return 10_000
    for leaf in exit_conditions.leaves():
        fmax = getattr(leaf, "fmax", None)
        if isinstance(fmax, (int, np.integer)):
            return int(fmax)
    return 10_000


@_for_setting("checkpoint_control")
def check_checkpoint_control(value: Any) -> Any:
    """None, a CheckpointingControl, or a mapping of its arguments (run files)."""
    from glompo_core.checkpointing import CheckpointingControl

    if value is None or isinstance(value, CheckpointingControl):
        return value
    if isinstance(value, dict):
        try:
            return CheckpointingControl(**value)
        except TypeError as exc:
            raise ValueError(f"checkpoint_control: {exc}") from None
    raise TypeError(f"checkpoint_control must be a CheckpointingControl (or a mapping of its "
                    f"arguments), got {value!r}")
