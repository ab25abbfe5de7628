"""Exceptions raised by GloMPO."""

from __future__ import annotations

__all__ = [
    "CheckpointingError",
    "EvaluationTimeout",
    "GloMPOError",
    "PluginError",
    "RunFileError",
    "UnknownComponentError",
]


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


class EvaluationTimeout(GloMPOError, TimeoutError):
    """One evaluation of the task ran past ``force_terminations_after`` and was abandoned."""
