"""Evaluation backends: where the task is evaluated (the optimizers always run in threads)."""

from glompo_core.backends._processes import (
    ProcessesBackend,
    ProcessesForcedBackend,
    RemoteTaskError,
)
from glompo_core.backends._threads import ThreadsBackend

__all__ = ["ProcessesBackend", "ProcessesForcedBackend", "RemoteTaskError", "ThreadsBackend"]
