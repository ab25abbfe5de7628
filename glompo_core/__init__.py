"""GloMPO: Globally Managed Parallel Optimization.

A manager runs several child optimizers in parallel on one task, watches them,
stops those that stall, starts new ones, shares the best point and ends on exit
conditions. Components are plugins found by name.

>>> from glompo_core import GloMPOManager, hookimpl  # doctest: +SKIP
"""

from glompo_core._version import __version__
from glompo_core.errors import (
    CheckpointingError,
    GloMPOError,
    PluginError,
    RunFileError,
    UnknownComponentError,
)
from glompo_core.hookspecs import hookimpl, hookspec
from glompo_core.manager import GloMPOManager
from glompo_core.optimizers import BaseOptimizer, MinimizeResult
from glompo_core.result import Result

__all__ = [
    "BaseOptimizer",
    "CheckpointingError",
    "GloMPOError",
    "GloMPOManager",
    "MinimizeResult",
    "PluginError",
    "Result",
    "RunFileError",
    "UnknownComponentError",
    "__version__",
    "hookimpl",
    "hookspec",
]
