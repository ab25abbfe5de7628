"""Validation and resolution of :meth:`GloMPOManager.setup` arguments.

Every check raises before anything runs, with a message naming the argument, what
is wrong and how to fix it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from glompo_core import _validation as validation
from glompo_core._combinable import Combinable
from glompo_core._workdir import WorkingDirLock, lock_working_dir
from glompo_core.optimizerlogger import BaseLogger
from glompo_core.plugins import PluginManager


def resolve_task(task: Any, pm: PluginManager) -> Any:
    if isinstance(task, str):
        factory = pm.get("task", task, source="task")
        return factory()
    if not callable(task):
        raise TypeError(f"task must be callable (fx = task(x)) or a registered task name, "
                        f"got {task!r}")
    return task


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
        raise ValueError(f"bounds must be finite; parameter(s) {bad} are not")
    fixed = np.nonzero(arr[:, 0] == arr[:, 1])[0]
    if fixed.size:
        raise ValueError(f"bounds of parameter(s) {fixed.tolist()} have min == max: do not fix "
                         "a parameter through its bounds; fix it inside the task and leave it "
                         "out of the optimization")
    wrong = np.nonzero(arr[:, 0] > arr[:, 1])[0]
    if wrong.size:
        i = int(wrong[0])
        raise ValueError(f"bounds of parameter(s) {wrong.tolist()} have min > max (e.g. "
                         f"parameter {i}: {tuple(arr[i])}); write each pair as (min, max)")
    dims = getattr(task, "dims", None)
    if isinstance(dims, (int, np.integer)) and dims != len(arr):
        raise ValueError(f"the task has {dims} parameters but {len(arr)} bounds were given")
    return arr


def check_selector(selector: Any, pm: PluginManager) -> Any:
    if isinstance(selector, (str, type)):
        raise TypeError("opt_selector must be a selector instance with its optimizers, e.g. "
                        "CycleSelector('RandomOptimizer'); got "
                        f"{getattr(selector, '__name__', selector)!r}")
    if not callable(getattr(selector, "select_optimizer", None)):
        raise TypeError(f"opt_selector must have select_optimizer(); got {selector!r}")
    return selector


def check_max_jobs(max_jobs: Any) -> int:
    if max_jobs is None:
        return max(1, (os.cpu_count() or 2) - 1)
    return positive_int(max_jobs, "max_jobs")


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
    if value is None:
        if default is None:
            return None
        value = default
    if isinstance(value, str):
        from glompo_core.expressions import parse_expression

        value = parse_expression(value, kind, pm, bounds=bounds)
    label = kind.replace("_", " ")
    if not isinstance(value, Combinable) or value.kind != kind:
        raise TypeError(f"expected {label}s (combined with & and |) or an expression string; "
                        f"got {value!r}")
    return value


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
    return validation.positive_int(value, name, what="a whole number >= 1")


def positive_number(value: Any, name: str) -> float:
    """A number > 0; ``inf`` is accepted (e.g. ``status_interval=inf``: never)."""
    return validation.positive_number(value, name, finite=False, what="a number > 0")


def check_summary_files(value: Any, pm: PluginManager) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not 0 <= value <= 3:
        raise ValueError(f"summary_files must be 0 (nothing), 1 (YAML summary), 2 (+ trajectory "
                         f"plots) or 3 (+ HDF5 log); got {value!r}")
    if value >= 3 and "filelogger" not in {n.lower() for n in pm.names("logger")}:
        raise ValueError("summary_files=3 writes the HDF5 log with the FileLogger of the "
                         "glompo-hdf5 plugin, which is not installed: pip install glompo-hdf5 "
                         "(or use summary_files <= 2)")
    if value >= 2:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise ValueError("summary_files >= 2 draws trajectory plots with matplotlib, which "
                             "is not installed: pip install matplotlib (or use "
                             "summary_files=1)")
    return int(value)


def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    return validation.non_negative_int(seed, "seed", what="a whole number >= 0 or None")


def prepare_working_dir(path: Path, overwrite: bool, names: Sequence[str]) -> WorkingDirLock:
    """Create ``path`` and take its lock, then refuse or delete an earlier run's results.

    The lock comes first: a directory another run holds is refused (naming its pid and
    host) before anything in it is deleted, even with ``overwrite``. Returns the held
    lock; the caller releases it when the run ends. On an error it is released here.
    """
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"working_dir {path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
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


def make_logger(summary_files: int, n_parms: int, window: int | None, pm: PluginManager,
                exit_conditions: Any) -> BaseLogger:
    expected = _expected_rows(exit_conditions)
    if summary_files >= 3:
        # the file holds every row: plots read it back, memory stays bounded
        cls = pm.get("logger", "FileLogger", source="summary_files=3")
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
