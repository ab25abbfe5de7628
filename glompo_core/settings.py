"""Every setting of a run, listed once.

:class:`RunSettings` is a dataclass with one field per argument of
:meth:`GloMPOManager.setup() <glompo_core.GloMPOManager.setup>` (but
``plugin_manager``, which says where names are looked up, not how the run goes), in the
order of that signature. Each field carries its documentation and its rules as
metadata (:class:`SettingInfo`, listed by :func:`setting_infos`); from this one table
come

- ``setup()``'s checks and defaults (:meth:`RunSettings.checked`),
- the settings a checkpoint saves (``GloMPOManager._STATE_ATTRS``),
- the settings :meth:`~glompo_core.GloMPOManager.load_checkpoint` may override
  (:func:`resume_overrides`),
- the plain keys of a run file (``runfile._SETTINGS``: :func:`run_file_settings`),
- the plain entries of the summary's ``Settings`` section (:func:`summary_entries`).

A new setting is one new field here (and its argument in ``setup()``'s signature, which
the spec fixes).

Threads: these are plain functions of their arguments; the manager calls them from the
thread that sets it up (``setup()``, ``load_checkpoint()``) or under its lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from glompo_core.checkpointing import CheckpointingControl
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import Backend, ExitCondition, Generator, Selector, Stopper

__all__ = ["RunSettings", "SettingInfo", "resume_overrides", "run_file_settings",
           "setting_infos", "summary_entries"]

_BOOL = (bool,)
_INT = (int,)
_NUM = (int, float)
_STR = (str,)


@dataclass
class _Context:
    """What a check may need besides its value: the registry and the settings checked so far."""

    pm: PluginManager
    values: dict[str, Any]  # the raw values of every setting
    checked: dict[str, Any] = field(default_factory=dict)  # the settings checked so far
    backend_obj: Any = None  # the backend built by the check of 'backend'
    resuming: bool = False  # checking a resume's overrides (no default exit conditions)


Check = Callable[[Any, _Context], Any]


@dataclass(frozen=True)
class SettingInfo:
    """One run setting: what it is and where it goes.

    Attributes
    ----------
    name
        The argument of ``setup()`` (and the run-file key, for a plain setting).
    annotation
        Its type, as written in :class:`RunSettings`.
    default
        Its default in ``setup()`` (:data:`dataclasses.MISSING` if it has none).
    doc
        One line on what it does.
    attr
        The manager's attribute (and the checkpoint's state key) holding it.
    run_file
        The types a run file may give for it, if it is a plain run-file key (None for a
        key the run file builds itself, or no key).
    nullable
        A plain run-file key that may be ``null``.
    resume
        ``load_checkpoint(**overrides)`` may change it.
    summary
        ``(rank, label)`` of its entry in the summary's ``Settings`` section, if it has
        a plain one (the rank orders the section).
    check
        Checks and normalises a value (None: taken as it is).
    """

    name: str
    annotation: str
    default: Any
    doc: str
    attr: str
    run_file: tuple[type, ...] | None
    nullable: bool
    resume: bool
    summary: tuple[int, str] | None
    check: Check | None


def _meta(*, doc: str, check: Check | None = None, run_file: tuple[type, ...] | None = None,
          nullable: bool = False, resume: bool = True, summary: tuple[int, str] | None = None,
          attr: str | None = None) -> dict[str, Any]:
    """A setting's rules, as the metadata of its field (see :class:`SettingInfo`)."""
    return {"glompo_setting": {"doc": doc, "check": check, "run_file": run_file,
                               "nullable": nullable, "resume": resume, "summary": summary,
                               "attr": attr}}


# ----------------------------------------------------------------------------- checks
# Each takes the value and the context; the imports are deferred so that this module
# imports nothing of the core at module level (run files read its table cheaply).
def _task(value: Any, ctx: _Context) -> Any:
    from glompo_core import _setup_checks as checks

    return checks.resolve_task(value, ctx.pm)


def _bounds(value: Any, ctx: _Context) -> np.ndarray:
    from glompo_core import _setup_checks as checks

    return checks.check_bounds(value, ctx.checked["task"])


def _selector(value: Any, ctx: _Context) -> Any:
    from glompo_core import _setup_checks as checks

    return checks.check_selector(value, ctx.pm)


def _working_dir(value: Any, ctx: _Context) -> Path:
    return Path(value).resolve()


def _max_jobs(value: Any, ctx: _Context) -> int:
    from glompo_core import _setup_checks as checks

    return checks.check_max_jobs(value)


def _backend(value: Any, ctx: _Context) -> str:
    from glompo_core import _setup_checks as checks

    ctx.backend_obj = checks.resolve_backend(value, ctx.values.get("backend_kwargs"), ctx.pm)
    return value if isinstance(value, str) else str(getattr(value, "name", "custom"))


def _condition(kind: str, default: str | None = None) -> Check:
    def check(value: Any, ctx: _Context) -> Any:
        from glompo_core import _setup_checks as checks

        return checks.resolve_condition(value, kind, ctx.pm, ctx.checked["bounds"],
                                        default=None if ctx.resuming else default)

    return check


def _generator(value: Any, ctx: _Context) -> Any:
    from glompo_core import _setup_checks as checks

    return checks.resolve_generator(value, ctx.pm)


def _flag(value: Any, ctx: _Context) -> bool:
    return bool(value)


def _float(value: Any, ctx: _Context) -> float:
    return float(value)


def _dict(value: Any, ctx: _Context) -> dict[str, Any]:
    return dict(value or {})


def _positive_int(name: str) -> Check:
    def check(value: Any, ctx: _Context) -> int:
        from glompo_core import _setup_checks as checks

        return checks.positive_int(value, name)

    return check


def _non_negative_int(name: str) -> Check:
    def check(value: Any, ctx: _Context) -> int:
        from glompo_core import _setup_checks as checks

        return checks.non_negative_int(value, name)

    return check


def _positive_number(name: str) -> Check:
    def check(value: Any, ctx: _Context) -> float:
        from glompo_core import _setup_checks as checks

        return checks.positive_number(value, name)

    return check


def _checkpoint_control(value: Any, ctx: _Context) -> Any:
    from glompo_core import _setup_checks as checks

    return checks.check_checkpoint_control(value)


def _summary_files(value: Any, ctx: _Context) -> int:
    from glompo_core import _setup_checks as checks

    return checks.check_summary_files(value, ctx.pm)


def _is_log_detailed(value: Any, ctx: _Context) -> bool:
    detailed = bool(value)
    if detailed and not callable(getattr(ctx.checked.get("task"), "detailed_call", None)):
        raise TypeError("is_log_detailed=True needs a task with a detailed_call(x) method "
                        "returning (fx, extra1, ...)")
    return detailed


def _end_timeout(value: Any, ctx: _Context) -> float:
    if value is None:  # a backend that kills what hangs (processes); threads cannot
        from glompo_core._decisions import backend_kills_hung

        return 10.0 if backend_kills_hung(ctx.backend_obj) else float("inf")
    return float(value)


def _visualisation(value: Any, ctx: _Context) -> bool:
    wanted = bool(value)
    if wanted and not ctx.pm.has_visualisation():
        from glompo_core._install import install_hint
        from glompo_core.errors import UnknownComponentError

        raise UnknownComponentError("visualisation=True needs the glompo-scope plugin, "
                                    "which is not installed: " + install_hint("glompo-scope"))
    return wanted


def _seed(value: Any, ctx: _Context) -> int | None:
    from glompo_core import _setup_checks as checks

    return checks.check_seed(value)


def _one_of_task_errors(value: Any, ctx: _Context) -> str:
    from glompo_core import _setup_checks as checks
    from glompo_core._evaluation import TASK_ERROR_MODES

    return checks.one_of(value, "task_errors", TASK_ERROR_MODES)


# ----------------------------------------------------------------------------- the table
@dataclass
class RunSettings:
    """Every setting of a run, with its documentation (see ``setup()`` for the details).

    Build a checked one with :meth:`checked`; :func:`setting_infos` lists the fields'
    rules.
    """

    task: Callable[[Sequence[float]], float] | str = field(metadata=_meta(
        doc="the function minimised, or a registered task name", check=_task, resume=False))
    bounds: Sequence[tuple[float, float]] | np.ndarray | None = field(metadata=_meta(
        doc="(min, max) of each parameter (None: the task's)", check=_bounds, resume=False))
    opt_selector: Selector = field(metadata=_meta(
        doc="the kind of each new optimizer", check=_selector))
    working_dir: str | Path = field(default=".", metadata=_meta(
        doc="directory of every output file", check=_working_dir, run_file=_STR))
    overwrite_existing: bool = field(default=False, metadata=_meta(
        doc="delete an earlier run's results in working_dir", check=_flag,
        run_file=_BOOL))
    max_jobs: int | None = field(default=None, metadata=_meta(
        doc="most evaluations at once (default: CPUs less one)", check=_max_jobs,
        run_file=_INT, nullable=True, summary=(5, "Max Jobs")))
    backend: str | Backend = field(default="processes", metadata=_meta(
        doc="where evaluations run", check=_backend, summary=(6, "Backend")))
    exit_conditions: ExitCondition | str | None = field(default=None, metadata=_meta(
        doc="when the run ends",
        check=_condition("exit_condition", default="MaxSeconds(session_max=86400)")))
    x0_generator: Generator | str | None = field(default=None, metadata=_meta(
        doc="starting points of new optimizers", check=_generator))
    stoppers: Stopper | str | None = field(default=None, metadata=_meta(
        doc="when an optimizer is stopped early", check=_condition("stopper")))
    share_best_solutions: bool = field(default=False, metadata=_meta(
        doc="send the best point to every optimizer", check=_flag, run_file=_BOOL,
        summary=(8, "Share Best Solutions")))
    stopcheck_interval: int = field(default=100, metadata=_meta(
        doc="evaluations between two checks of the stoppers",
        check=_positive_int("stopcheck_interval"), run_file=_INT,
        summary=(9, "Stopcheck Interval")))
    apply_stoppers_to_best: bool = field(default=False, metadata=_meta(
        doc="also stop the optimizer holding the best value", check=_flag,
        run_file=_BOOL, summary=(10, "Apply Stoppers to Best")))
    status_interval: float = field(default=600, metadata=_meta(
        doc="seconds between two status messages",
        check=_positive_number("status_interval"), run_file=_NUM))
    checkpoint_control: CheckpointingControl | Mapping[str, Any] | None = field(
        default=None, metadata=_meta(doc="checkpointing settings", check=_checkpoint_control))
    summary_files: int = field(default=0, metadata=_meta(
        doc="0 nothing, 1 YAML summary, 2 + plots, 3 + HDF5 log", check=_summary_files,
        run_file=_INT, summary=(14, "Summary Files")))
    is_log_detailed: bool = field(default=False, metadata=_meta(
        doc="log the extra values of task.detailed_call", check=_is_log_detailed,
        run_file=_BOOL, summary=(11, "Is Log Detailed")))
    force_terminations_after: float = field(default=-1, metadata=_meta(
        doc="seconds after which an evaluation has failed (> 0)", check=_float,
        run_file=_NUM, summary=(12, "Force Terminations After")))
    aggressive_stop: bool = field(default=False, metadata=_meta(
        doc="accepted for compatibility", check=_flag, run_file=_BOOL))
    end_timeout: float | None = field(default=None, metadata=_meta(
        doc="seconds to wait for each optimizer at the end", check=_end_timeout,
        run_file=_NUM, nullable=True, summary=(13, "End Timeout")))
    split_printstreams: bool = field(default=True, metadata=_meta(
        doc="each optimizer's output to its own files", check=_flag, run_file=_BOOL,
        summary=(15, "Split Printstreams")))
    visualisation: bool = field(default=False, metadata=_meta(
        doc="draw the run live (glompo-scope)", check=_visualisation))
    visualisation_args: dict[str, Any] | None = field(default=None, metadata=_meta(
        doc="arguments of the visualisation", check=_dict))
    seed: int | None = field(default=None, metadata=_meta(
        doc="seed of every random choice of the run", check=_seed, run_file=_INT,
        nullable=True, resume=False, summary=(7, "Seed")))
    backend_kwargs: dict[str, Any] | None = field(default=None, metadata=_meta(
        doc="arguments of the backend's constructor", check=_dict,
        attr="_backend_kwargs"))
    task_errors: str = field(default="record", metadata=_meta(
        doc="what an exception of the task does: 'record' or 'crash'",
        check=_one_of_task_errors, run_file=_STR))
    task_retries: int = field(default=0, metadata=_meta(
        doc="more attempts of a point that raised", check=_non_negative_int("task_retries"),
        run_file=_INT))
    max_failures_in_a_row: int = field(default=100, metadata=_meta(
        doc="end the run after this many failed evaluations in a row (0: never)",
        check=_non_negative_int("max_failures_in_a_row"), run_file=_INT))
    max_crashes_in_a_row: int = field(default=5, metadata=_meta(
        doc="end the run after this many optimizers crashed in a row (0: never)",
        check=_non_negative_int("max_crashes_in_a_row"), run_file=_INT))

    @classmethod
    def checked(cls, values: Mapping[str, Any], pm: PluginManager,
                only: Sequence[str] | None = None,
                known: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
        """Check and normalise settings, in the order of the fields.

        Parameters
        ----------
        values
            Raw values by setting name; a missing setting takes its default (when
            ``only`` is None).
        pm
            The registry component names are looked up in.
        only
            Check only these settings (a resume's overrides); the others are taken from
            ``known``.
        known
            The checked values of the settings not given (a resumed run's).

        Returns
        -------
        tuple
            The checked values by setting name, and the backend object built (None if
            ``backend`` was not checked).
        """
        ctx = _Context(pm=pm, values=dict(values), checked=dict(known or {}),
                       resuming=only is not None)
        for info in setting_infos():
            if only is not None and info.name not in only:
                continue
            if info.name in values:
                value = values[info.name]
            elif info.default is dataclasses.MISSING:
                raise TypeError(f"setup() missing required argument: {info.name!r}")
            else:
                value = info.default
            ctx.checked[info.name] = value if info.check is None else info.check(value, ctx)
        return ctx.checked, ctx.backend_obj


def setting_infos() -> Iterator[SettingInfo]:
    """The rules of every setting, in the order of ``setup()``'s signature."""
    for f in dataclasses.fields(RunSettings):
        meta = f.metadata["glompo_setting"]
        yield SettingInfo(name=f.name, annotation=str(f.type), default=f.default, doc=meta["doc"],
                          attr=meta["attr"] or f.name, run_file=meta["run_file"],
                          nullable=meta["nullable"], resume=meta["resume"],
                          summary=meta["summary"], check=meta["check"])


def resume_overrides() -> tuple[str, ...]:
    """The settings ``load_checkpoint(**overrides)`` may change."""
    return tuple(info.name for info in setting_infos() if info.resume)


def run_file_settings() -> dict[str, tuple[tuple[type, ...], bool]]:
    """The plain keys of a run file: key -> (allowed types, may be null)."""
    return {info.name: (info.run_file, info.nullable) for info in setting_infos()
            if info.run_file is not None}


def summary_entries(values: Mapping[str, Any]) -> list[tuple[int, str, Any]]:
    """The plain entries of the summary's ``Settings`` section: (rank, label, value).

    ``values`` maps setting names to the run's values (a snapshot of them).
    """
    return [(info.summary[0], info.summary[1], values[info.name])
            for info in setting_infos() if info.summary is not None]
