"""Exceptions raised by GloMPO."""

from __future__ import annotations

__all__ = [
    "EXIT_STATUS",
    "CheckpointingError",
    "EvaluationRefused",
    "EvaluationTimeout",
    "GloMPOError",
    "PluginError",
    "RunFileError",
    "UnknownComponentError",
    "WorkingDirLockedError",
]

#: The exit status of ``glompo run`` / ``glompo resume`` for each way a run can end
#: (``Result.stats["end_state"]``): 0 for a normal end (an exit condition, or nothing left
#: to start), the shell's 128 + signal number for an interrupt, and small numbers for runs
#: that could not do their job.
EXIT_STATUS: dict[str, int] = {
    "normal": 0,
    "error": 1,
    "crash_loop": 3,
    "task_failing": 4,
    "SIGHUP": 129,
    "SIGINT": 130,
    "SIGTERM": 143,
}


class GloMPOError(Exception):
    """Base class of every error GloMPO raises on purpose."""


class PluginError(GloMPOError):
    """A plugin failed to load, registered a bad component, or clashed with another plugin."""


class UnknownComponentError(GloMPOError, LookupError):
    """A component name (optimizer, stopper, ...) is not registered by any installed plugin.

    The message lists the installed names, suggests the closest and says which
    distribution to install when a first-party plugin provides the name.
    """

    def __str__(self) -> str:  # plain text, never quoted as KeyError would
        return str(self.args[0]) if self.args else ""


class RunFileError(GloMPOError, ValueError):
    """A run file (YAML) is malformed: the message names the file, the line and the key."""


class CheckpointingError(GloMPOError):
    """A checkpoint could not be written or read."""


class WorkingDirLockedError(GloMPOError):
    """Another run holds the working directory (its lock file ``.glompo.lock``).

    The message names the holder's pid and host. Nothing was deleted or written.
    """


class EvaluationTimeout(GloMPOError, TimeoutError):
    """One evaluation of the task ran past ``force_terminations_after`` and was abandoned."""


class EvaluationRefused(BaseException):
    """Raised by the function an optimizer minimises when the run no longer needs an evaluation.

    The run's exit was decided, or the optimizer was told to stop: the evaluation is not
    started. It derives from :class:`BaseException` (like :class:`KeyboardInterrupt`) so
    that an optimizer's ``except Exception`` around a function call does not swallow it;
    it ends the optimizer's ``minimize`` as a stop does, and the manager records the
    optimizer as stopped, never as crashed.
    """
