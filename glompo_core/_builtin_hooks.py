"""GloMPO's built-in components, registered through the same hooks as third-party plugins."""

from __future__ import annotations

from collections.abc import Callable

from glompo_core.hookspecs import hookimpl

Register = Callable[..., None]


@hookimpl
def glompo_register_optimizers(register: Register) -> None:
    from glompo_core.optimizers import RandomOptimizer

    register("RandomOptimizer", RandomOptimizer, aliases=("random",))


@hookimpl
def glompo_register_stoppers(register: Register) -> None:
    from glompo_core import stoppers

    for name in stoppers.__all__:
        if name != "BaseStopper":
            register(name, getattr(stoppers, name))


@hookimpl
def glompo_register_exit_conditions(register: Register) -> None:
    from glompo_core import exit_conditions

    for name in exit_conditions.__all__:
        if name != "BaseExitCondition":
            register(name, getattr(exit_conditions, name))


@hookimpl
def glompo_register_generators(register: Register) -> None:
    from glompo_core import generators

    for name in generators.__all__:
        if name != "BaseGenerator":
            register(name, getattr(generators, name))


@hookimpl
def glompo_register_selectors(register: Register) -> None:
    from glompo_core import selectors

    for name in selectors.__all__:
        if name not in ("BaseSelector", "SpawnControl", "OptimizerSpec"):
            register(name, getattr(selectors, name))


@hookimpl
def glompo_register_loggers(register: Register) -> None:
    from glompo_core.optimizerlogger import BaseLogger

    register("BaseLogger", BaseLogger, aliases=("memory",))


@hookimpl
def glompo_register_backends(register: Register) -> None:
    from glompo_core.backends import ProcessesBackend, ProcessesForcedBackend, ThreadsBackend

    register("threads", ThreadsBackend)
    register("processes", ProcessesBackend)
    register("processes_forced", ProcessesForcedBackend)


@hookimpl
def glompo_register_tasks(register: Register) -> None:
    from glompo_core.benchmarks import TASKS

    for task in TASKS:
        register(task.__name__, task)


@hookimpl
def glompo_register_commands(register: Register) -> None:
    from glompo_core.cli import _register_commands

    _register_commands(register)
