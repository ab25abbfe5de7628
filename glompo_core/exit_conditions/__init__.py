"""Exit conditions: when the whole run ends.

Combine them with ``&`` and ``|``; each reads a read-only view of the manager, and
tells how close it is with ``progress(manager)`` (a fraction, or None: cannot tell)::

    >>> from glompo_core.exit_conditions import MaxFuncCalls, MaxSeconds
    >>> from glompo_core.testing import FakeManagerView
    >>> cond = MaxFuncCalls(fmax=1000) | MaxSeconds(overall_max=60)
    >>> cond(FakeManagerView(f_counter=400, t_used=15.0)), cond.progress(
    ...     FakeManagerView(f_counter=400, t_used=15.0))
    (False, 0.4)
"""

from glompo_core.exit_conditions._kills_after_convergence import KillsAfterConvergence
from glompo_core.exit_conditions._max_func_calls import MaxFuncCalls
from glompo_core.exit_conditions._max_kills import MaxKills
from glompo_core.exit_conditions._max_opts_started import MaxOptsStarted
from glompo_core.exit_conditions._max_seconds import MaxSeconds
from glompo_core.exit_conditions._n_opt_converged import NOptConverged
from glompo_core.exit_conditions._target_cost import TargetCost
from glompo_core.exit_conditions.baseexitcondition import BaseExitCondition

__all__ = [
    "BaseExitCondition",
    "KillsAfterConvergence",
    "MaxFuncCalls",
    "MaxKills",
    "MaxOptsStarted",
    "MaxSeconds",
    "NOptConverged",
    "TargetCost",
]
