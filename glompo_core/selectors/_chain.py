"""ChainSelector: one optimizer after the other as the evaluation count grows."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from glompo_core._validation import number
from glompo_core.selectors._cycle import SpawnArg, _describe
from glompo_core.selectors.baseselector import AvailOpt, BaseSelector, OptimizerSpec

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView

__all__ = ["ChainSelector"]


class ChainSelector(BaseSelector):
    """Start the i-th available optimizer until ``f_counter`` reaches the i-th threshold.

    Parameters
    ----------
    *avail_opts
        The optimizers, in the order they take over. Each is a class, a registered name,
        a tuple ``(class_or_name, init_kwargs, call_kwargs)`` or a run-file mapping
        ``{Name: {init: {...}, call: {...}}}``.
    fcall_thresholds
        Evaluation counts at which the selection moves on to the next optimizer: one
        fewer than there are optimizers, non-negative and strictly increasing.
    allow_spawn
        Optional :class:`SpawnControl` (or list of them) that ends spawning.
    plugin_manager
        Where names are looked up (default: the process-wide plugin manager).

    Notes
    -----
    With thresholds ``[t0, t1, ...]`` the first optimizer is proposed while
    ``f_counter < t0``, the second while ``t0 <= f_counter < t1``, and so on; the last
    one from the last threshold on. Several thresholds passed between two spawns skip
    the optimizers in between. If the proposal needs more ``workers`` than there are
    free slots, :meth:`select_optimizer` returns None and the optimizer for the
    evaluation count at the next request is proposed.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.selectors import ChainSelector
    >>> from glompo_core.testing import FakeManagerView
    >>> sel = ChainSelector((RandomOptimizer, {"iters": 1000}), (RandomOptimizer, {"iters": 50}),
    ...                     fcall_thresholds=[5000])
    >>> view = FakeManagerView(f_counter=1200)
    >>> sel.select_optimizer(view, view.opt_log, slots_available=1)[1]
    {'iters': 1000}
    >>> view.f_counter = 5000
    >>> sel.select_optimizer(view, view.opt_log, slots_available=1)[1]
    {'iters': 50}
    """

    def __init__(self, *avail_opts: AvailOpt, fcall_thresholds: Sequence[float],
                 allow_spawn: SpawnArg = None,
                 plugin_manager: PluginManager | None = None) -> None:
        if isinstance(fcall_thresholds, (str, bytes)) or \
                not isinstance(fcall_thresholds, Sequence):
            raise ValueError(f"fcall_thresholds must be a list of evaluation counts, "
                             f"got {fcall_thresholds!r}")
        thresholds = list(fcall_thresholds)
        if len(thresholds) != len(avail_opts) - 1:
            raise ValueError(f"fcall_thresholds must have one value fewer than there are "
                             f"optimizers ({len(avail_opts)} optimizers, so "
                             f"{max(len(avail_opts) - 1, 0)} thresholds); got "
                             f"{len(thresholds)}")
        for value in thresholds:
            try:
                number(value, "fcall_thresholds", minimum=0)
            except ValueError:
                raise ValueError(f"fcall_thresholds must contain finite numbers >= 0, "
                                 f"got {value!r}") from None
        if any(b <= a for a, b in itertools.pairwise(thresholds)):
            raise ValueError(f"fcall_thresholds must be strictly increasing, got {thresholds}")
        super().__init__(*avail_opts, allow_spawn=allow_spawn, plugin_manager=plugin_manager)
        self.fcall_thresholds = thresholds

    def index(self, f_counter: int) -> int:
        """Position in ``avail_opts`` of the optimizer for ``f_counter`` evaluations."""
        return bisect.bisect_right(self.fcall_thresholds, f_counter)

    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec:
        """Propose the optimizer whose evaluation range contains ``manager.f_counter``."""
        return self.avail_opts[self.index(manager.f_counter)]

    def __str__(self) -> str:
        return _describe(self, fcall_thresholds=self.fcall_thresholds)
