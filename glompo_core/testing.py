"""Helpers for testing GloMPO components and plugins.

:class:`FakeManagerView` stands in for a running manager, so a stopper, exit
condition, generator or selector can be tested without starting a run::

    >>> import numpy as np
    >>> from glompo_core.testing import FakeManagerView
    >>> from glompo_core.exit_conditions import MaxFuncCalls
    >>> MaxFuncCalls(fmax=10)(FakeManagerView(f_counter=12))
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glompo_core.optimizerlogger import BaseLogger
from glompo_core.result import Result

__all__ = ["FakeManagerView"]


@dataclass
class FakeManagerView:
    """A plain-data stand-in for :class:`~glompo_core.protocols.ManagerView`.

    Every attribute can be set at construction; ``opt_log`` defaults to an empty
    :class:`BaseLogger` over ``bounds``.
    """

    bounds: Any = ((-1.0, 1.0), (-1.0, 1.0))
    f_counter: int = 0
    o_counter: int = 0
    converged: int = 0
    opt_crashed: bool = False
    stopped_opts: dict[int, float] = field(default_factory=dict)
    hunt_counter: int = 0
    t_start: float | None = None
    t_used: float = 0.0
    max_jobs: int = 1
    last_opt_spawn: tuple[int, int] = (0, 0)
    result: Result = field(default_factory=Result)
    task: Any = None
    opt_log: BaseLogger = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.bounds = np.asarray(self.bounds, dtype=float)
        if self.opt_log is None:
            self.opt_log = BaseLogger(self.n_parms)

    @property
    def n_parms(self) -> int:
        """Number of parameters (rows of ``bounds``)."""
        return len(self.bounds)
