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

    from glompo_core.control import RunControl
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


#: ``register(key, build, *, help, flag=None, metavar=None, from_flag=None)`` of
#: :func:`glompo_register_run_options`.
RegisterRunOption = Callable[..., None]


@hookspec
def glompo_register_run_options(register: RegisterRunOption) -> None:
    """Add a top-level run-file key (and a ``glompo run`` option) that starts a run service.

    :param register: ``register(key, build, *, help, flag=None, metavar=None,
        from_flag=None)``. ``key`` is the run-file key (lower case letters, digits and
        ``_``, starting with a letter; not one of the core's keys nor another plugin's).
        ``build(value)`` checks the key's value and returns the service: an object with
        lifecycle ``@hookimpl`` methods that the run registers for its duration (see
        :meth:`~glompo_core.plugins.PluginManager.add_observer`), or None when the value
        turns the service off (``dashboard: false``); it raises ``ValueError`` or
        ``TypeError`` with the problem and the fix, which the run file reports at the
        key's line. ``help`` is one line. ``flag`` (``"--dashboard"``) adds an option to
        ``glompo run`` taking one optional value (shown as ``metavar``);
        ``from_flag(text)`` turns that value (None when the option is given bare) into
        what the run file's key would hold, and it replaces the file's value.

    Called once per plugin manager, like the other registration hooks. A key or flag
    already taken marks the later plugin as failed, naming both. From Python, build the
    service yourself and register it with
    :meth:`GloMPOManager.add_observer <glompo_core.GloMPOManager.add_observer>` before
    ``start_manager()`` (it is removed when the run ends).
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


@hookspec(firstresult=True)
def glompo_default_portfolio(n_parms: int | None, budget: int | None,
                             available: Callable[[str, str], bool]) -> dict[str, Any] | None:
    """The default portfolio: what a run uses when its run file has no ``opt_selector``.

    :param n_parms: the number of parameters of the run's task (None if neither the run
        file's ``bounds`` nor the task tell it).
    :param budget: the run's evaluation budget by :func:`glompo_core.budget.run_budget`
        (the ``fmax`` of the ``MaxFuncCalls`` that ends the run), None if no number of
        evaluations ends it.
    :param available: ``available(kind, name)``: True if a component of ``kind``
        (``'optimizer'``, ``'selector'``, ``'stopper'``, ...) is registered as ``name``,
        by any plugin. Check other plugins' components with it, never by importing them.
    :return: run-file sections in run-file form, as YAML would load them: a mapping
        with the key ``opt_selector`` and, optionally, ``stoppers``; or None if this
        plugin gives no portfolio for such a run. The run file's validation builds them
        (its errors name "default portfolio from PLUGIN" instead of a line of the
        file); ``stoppers`` is used only when the run file gives none.

    ``firstresult``: the first implementation that returns a mapping wins, in pluggy's
    order of calling: implementations marked ``@hookimpl(tryfirst=True)`` first, then the
    plain ones, then ``@hookimpl(trylast=True)``; within each group the plugin registered
    last first (the order of entry-point loading is not defined, so a plugin that must
    win marks ``tryfirst=True``). glompo-cma gives the first-party default with
    ``trylast=True``, so any other plugin's plain implementation takes precedence over
    it. Called by ``glompo run`` and :func:`glompo_core.runfile.default_portfolio` once
    per run, before the run is set up; hook wrappers are refused.
    """


# --------------------------------------------------------------------------- lifecycle


@hookspec
def glompo_run_control(manager: ManagerView, control: RunControl) -> None:
    """The run's control: how a plugin asks the run to stop an optimizer, checkpoint or end.

    :param manager: read-only view of the manager.
    :param control: the run's :class:`~glompo_core.control.RunControl`
        (``stop_optimizer(opt_id, reason)``, ``checkpoint()``, ``end_run(reason)``); its
        methods may be called from any thread (a web server's, for instance) and return at
        once; the manager's loop carries the requests out.

    Called once per session, from the manager's thread, just before
    ``glompo_run_started``. Keep the object for the run's duration; the read-only view
    that components receive does not carry it.
    """


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
COMMAND_HOOKS = ("glompo_register_commands", "glompo_register_run_options")

SERVICE_HOOKS = ("glompo_create_visualisation", "glompo_default_portfolio")

LIFECYCLE_HOOKS = (
    "glompo_run_control",
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
