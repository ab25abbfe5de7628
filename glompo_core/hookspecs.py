"""The whole plugin contract: GloMPO's pluggy hook specifications.

A plugin is a module (or object) with functions marked ``@hookimpl`` whose names are
the hooks below; it is found through the entry-point group ``glompo``::

    # pyproject.toml of a plugin distribution
    [project.entry-points.glompo]
    myplugin = "glompo_myplugin.hooks"

    # glompo_myplugin/hooks.py
    from glompo_core import hookimpl

    @hookimpl
    def glompo_register_optimizers(register):
        from glompo_myplugin.optimizer import MyOptimizer
        register("MyOptimizer", MyOptimizer, aliases=("myopt",))

There are two kinds of hooks.

Registration hooks (``glompo_register_<kind>s``) are called once when the plugin
manager is built. Each receives ``register(name, component, *, aliases=(), summary=None)``
and contributes named components; run files and the CLI name components by these
names. Built-in components register through the same hooks.

``glompo_register_commands`` adds subcommands to the ``glompo`` command line
(``glompo log`` comes from glompo-hdf5 this way; the core's own commands register through
it too).

Lifecycle hooks (``glompo_<subject>_<event>``) announce what happens in a run. They are
called through pluggy's own hook calling (so ``tryfirst``/``trylast`` order them and
pluggy's tracing sees them), from the manager's thread, once per event (per iteration
batch, never per evaluation), and their return values are ignored. An exception raised
by an implementation is logged on ``glompo.plugins`` with the plugin's name, and that
plugin receives no further lifecycle calls in the run; the other implementations are
still called: observers never end a run. Hook wrappers (``@hookimpl(wrapper=True)`` or
``hookwrapper=True``) cannot be isolated that way and are refused when the plugin is
registered, as they are on registration hooks.
All hooks are called with keyword arguments; an implementation may accept any subset
of them (pluggy passes only the arguments it names), so hooks can grow new arguments
without breaking plugins. The manager passes every argument a hookspec declares: a
lifecycle call missing one is an error of the caller (``TypeError``), never of a plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import numpy as np

    from glompo_core.protocols import ManagerView
    from glompo_core.result import Result

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "glompo"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[..., None]

# --------------------------------------------------------------------------- registration


@hookspec
def glompo_register_optimizers(register: Register) -> None:
    """Register optimizer classes (subclasses of ``BaseOptimizer`` or alike).

    :param register: ``register(name, cls, *, aliases=(), summary=None)``. The name is
        conventionally the class name; lookup is case-insensitive.

    Called once per plugin manager. Raising marks the plugin as failed; its components
    are then not available and the failure is shown by ``glompo plugins``.
    """


@hookspec
def glompo_register_stoppers(register: Register) -> None:
    """Register stopper classes (subclasses of ``BaseStopper``).

    :param register: as for :func:`glompo_register_optimizers`.
    """


@hookspec
def glompo_register_exit_conditions(register: Register) -> None:
    """Register exit condition classes (subclasses of ``BaseExitCondition``).

    :param register: as for :func:`glompo_register_optimizers`.
    """


@hookspec
def glompo_register_generators(register: Register) -> None:
    """Register generator classes (subclasses of ``BaseGenerator``).

    :param register: as for :func:`glompo_register_optimizers`.
    """


@hookspec
def glompo_register_selectors(register: Register) -> None:
    """Register selector classes and spawn controls (subclasses of ``BaseSelector``).

    :param register: as for :func:`glompo_register_optimizers`.
    """


@hookspec
def glompo_register_loggers(register: Register) -> None:
    """Register logger classes (subclasses of ``BaseLogger``), such as an HDF5 file logger.

    :param register: as for :func:`glompo_register_optimizers`.
    """


@hookspec
def glompo_register_backends(register: Register) -> None:
    """Register evaluation backends: classes following the ``Backend`` protocol.

    :param register: as for :func:`glompo_register_optimizers`. The name is what
        ``setup(backend=...)`` and run files accept (e.g. ``'threads'``).
    """


@hookspec
def glompo_register_tasks(register: Register) -> None:
    """Register benchmark tasks (callables with ``bounds``) usable by name in run files.

    :param register: as for :func:`glompo_register_optimizers`.
    """


# --------------------------------------------------------------------------- commands

#: ``register(name, run, *, help, description=None, configure=None)`` of
#: :func:`glompo_register_commands`.
RegisterCommand = Callable[..., None]
#: What a command does: it gets the parsed arguments and returns the exit status.
CommandFunction = Callable[["argparse.Namespace"], int]


@hookspec
def glompo_register_commands(register: RegisterCommand) -> None:
    """Add subcommands to the ``glompo`` command line (``glompo NAME ...``).

    :param register: ``register(name, run, *, help, description=None, configure=None)``.
        ``name`` is the subcommand (lower case letters, digits and ``-``, starting with a
        letter); ``run(args)`` does the work with the parsed ``argparse.Namespace`` and
        returns the exit status (0 for success); ``help`` is its one line in
        ``glompo --help``; ``description`` the text atop ``glompo NAME --help`` (default:
        ``help``); ``configure(parser)`` adds the command's arguments (and nested
        subcommands) to its ``argparse.ArgumentParser``.

    Called once per plugin manager, like the other registration hooks. A name already
    taken (by the core's ``run``, ``resume``, ``checkpoint``, ``plugins`` or by another
    plugin) marks the later plugin as failed, naming both. ``configure`` is called each
    time the parser is built; if it raises, the command is left out with a warning
    naming the plugin, and the other commands work. ``run`` may raise
    :class:`~glompo_core.errors.GloMPOError` (or a subclass) for a failure the user can
    fix: ``glompo`` prints ``error: <message>`` without a traceback and exits 2.

    Import what the command needs inside ``run`` and ``configure``, not at the top of the
    module the hook imports: every registration hook runs whenever plugins are loaded.
    """


# --------------------------------------------------------------------------- run services


@hookspec(firstresult=True)
def glompo_create_visualisation(manager: ManagerView, settings: dict[str, Any]) -> Any:
    """Build the live visualisation of a run (``setup(visualisation=True)``).

    :param manager: read-only view of the manager.
    :param settings: the run's ``visualisation_args`` (e.g. ``{'record_movie': True}``).
    :return: an object implementing lifecycle hooks (``@hookimpl`` methods); the manager
        registers it for the run's duration so it sees every event, and unregisters it at
        the end. None if this plugin does not provide one.

    ``firstresult``: the first plugin that returns an object wins (glompo-scope provides
    ``GloMPOScope``). Called once per session, before ``glompo_run_started``. An
    exception ends the set-up with that error; one raised later by the object's hooks
    disables it for the rest of the run.
    """


# --------------------------------------------------------------------------- lifecycle


@hookspec
def glompo_run_started(manager: ManagerView) -> None:
    """The run started (a new run, or a run resumed from a checkpoint).

    :param manager: read-only view of the manager.

    Called once per session, from the manager's thread, before any optimizer starts.
    """


@hookspec
def glompo_run_finished(manager: ManagerView, result: Result, reason: str) -> None:
    """The run ended; every optimizer is stopped and joined, results are final.

    :param manager: read-only view of the manager.
    :param result: the run's result.
    :param reason: why the run ended (the exit condition, an interruption, ...).

    Called once per session, after the last iteration batch and before summary files
    are written.
    """


@hookspec
def glompo_optimizer_started(manager: ManagerView, opt_id: int, optimizer_type: str,
                             x0: np.ndarray, init_kwargs: dict[str, Any]) -> None:
    """A child optimizer started.

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    :param optimizer_type: its class name.
    :param x0: its starting point (in the task's units).
    :param init_kwargs: its configuration.
    """


@hookspec
def glompo_iteration_batch(manager: ManagerView, opt_id: int, call_ids: np.ndarray,
                           x: np.ndarray, fx: np.ndarray,
                           extras: Sequence[np.ndarray] | None) -> None:
    """An optimizer delivered a batch of evaluations (typically one iteration).

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    :param call_ids: universal evaluation numbers, shape (k,).
    :param x: evaluated points, shape (k, n_parms), in the task's units.
    :param fx: function values, shape (k,).
    :param extras: detailed-call extra columns (each of length k) or None.

    Called per batch, never per evaluation; the payload is not built when no plugin
    implements this hook.
    """


@hookspec
def glompo_optimizer_stopped(manager: ManagerView, opt_id: int, reason: str) -> None:
    """The manager stopped an optimizer (a stopper fired, a STOP file, the run ended).

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    :param reason: why it was stopped.
    """


@hookspec
def glompo_optimizer_converged(manager: ManagerView, opt_id: int, reason: str) -> None:
    """An optimizer ended by its own convergence criteria (message key 0).

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    :param reason: the optimizer's own explanation.
    """


@hookspec
def glompo_optimizer_crashed(manager: ManagerView, opt_id: int, error: str) -> None:
    """An optimizer raised an exception (or hung) and was ended; the run goes on.

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    :param error: the exception and its traceback, as text.
    """


@hookspec
def glompo_optimizer_paused(manager: ManagerView, opt_id: int) -> None:
    """An optimizer acknowledged a pause request (for instance while a checkpoint is taken).

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    """


@hookspec
def glompo_optimizer_resumed(manager: ManagerView, opt_id: int) -> None:
    """A paused optimizer was allowed to continue.

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer's ID.
    """


@hookspec
def glompo_best_improved(manager: ManagerView, opt_id: int, x: np.ndarray, fx: float,
                         call_id: int) -> None:
    """The best value of the whole run improved.

    :param manager: read-only view of the manager.
    :param opt_id: the optimizer which found it.
    :param x: the new best point.
    :param fx: its value.
    :param call_id: the evaluation's number.

    Called at most once per iteration batch.
    """


@hookspec
def glompo_checkpoint_written(manager: ManagerView, path: str) -> None:
    """A checkpoint was written completely to ``path``.

    :param manager: read-only view of the manager.
    :param path: the checkpoint file.
    """


REGISTRATION_HOOKS = {
    "optimizer": "glompo_register_optimizers",
    "stopper": "glompo_register_stoppers",
    "exit_condition": "glompo_register_exit_conditions",
    "generator": "glompo_register_generators",
    "selector": "glompo_register_selectors",
    "logger": "glompo_register_loggers",
    "backend": "glompo_register_backends",
    "task": "glompo_register_tasks",
}

#: Registration hooks that add something other than a named component.
COMMAND_HOOKS = ("glompo_register_commands",)

SERVICE_HOOKS = ("glompo_create_visualisation",)

LIFECYCLE_HOOKS = (
    "glompo_run_started",
    "glompo_run_finished",
    "glompo_optimizer_started",
    "glompo_iteration_batch",
    "glompo_optimizer_stopped",
    "glompo_optimizer_converged",
    "glompo_optimizer_crashed",
    "glompo_optimizer_paused",
    "glompo_optimizer_resumed",
    "glompo_best_improved",
    "glompo_checkpoint_written",
)
