"""The :class:`TypeStopper` stopper."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core.stoppers.basestopper import BaseStopper

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger

__all__ = ["TypeStopper"]


class TypeStopper(BaseStopper):
    """Select optimizers of one type, to apply other stoppers to that type only.

    Parameters
    ----------
    opt_type
        The optimizer class targeted, or its class name (as written in run files).

    Notes
    -----
    Returns True when the class name of the tested optimizer (its ``type``
    metadata in the log) equals the name of ``opt_type``. Matching is by exact class
    name, so subclasses of ``opt_type`` are not matched. False if the optimizer has
    no recorded type.

    Examples
    --------
    Apply each stopper to one type of optimizer only:

    >>> import numpy as np
    >>> from glompo_core.optimizerlogger import BaseLogger
    >>> log = BaseLogger(n_parms=2)
    >>> log.add_optimizer(1, "CMAOptimizer", t_start=0.0)
    >>> log.add_optimizer(2, "RandomOptimizer", t_start=0.0)
    >>> TypeStopper("CMAOptimizer")(log, best_opt_id=2, tested_opt_id=1)
    True
    >>> from glompo_core.stoppers import BestUnmoving, MinFuncCalls
    >>> stopper = (TypeStopper("CMAOptimizer") & MinFuncCalls(min_pts=1)
    ...            | TypeStopper("RandomOptimizer") & BestUnmoving(calls=1000))
    >>> log.put_iteration(1, np.array([1]), np.zeros((1, 2)), np.array([3.0]))
    >>> stopper(log, best_opt_id=2, tested_opt_id=1), stopper(log, best_opt_id=1, tested_opt_id=2)
    (True, False)
    """

    opt_type: type | str
    type_name: str

    def __init__(self, opt_type: type | str) -> None:
        super().__init__()
        if isinstance(opt_type, type):
            name = opt_type.__name__
        elif isinstance(opt_type, str) and opt_type.strip():
            name = opt_type.strip()
        else:
            raise ValueError("opt_type must be an optimizer class or a non-empty class name, "
                             f"got {opt_type!r}")
        self.opt_type = opt_type
        self.type_name = name
        # Show the class by its quoted name, so the printed expression parses back.
        self._init_args["opt_type"] = name

    @property
    def history_needed(self) -> int:
        """None of the evaluations: only the optimizer's metadata is read."""
        return 0

    def __call__(self, log: BaseLogger, best_opt_id: int, tested_opt_id: int) -> bool:
        try:
            opt_type = log.get_metadata(tested_opt_id, "type")
        except KeyError:
            return False
        if isinstance(opt_type, type):
            opt_type = opt_type.__name__
        return str(opt_type) == self.type_name
