"""RandomSelector: a uniformly random choice among the available optimizers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glompo_core.selectors._cycle import SpawnArg, _describe
from glompo_core.selectors.baseselector import AvailOpt, BaseSelector, OptimizerSpec

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView

__all__ = ["RandomSelector"]


class RandomSelector(BaseSelector):
    """Start an optimizer chosen uniformly at random among the available ones.

    Parameters
    ----------
    *avail_opts
        The optimizers to choose from. Each is a class, a registered name, a tuple
        ``(class_or_name, init_kwargs, call_kwargs)`` or a run-file mapping
        ``{Name: {init: {...}, call: {...}}}``. Listing one twice doubles its chance.
    allow_spawn
        Optional :class:`SpawnControl` (or list of them) that ends spawning.
    plugin_manager
        Where names are looked up (default: the process-wide plugin manager).

    Notes
    -----
    The draw uses :attr:`rng`, which the manager seeds, so a seeded run repeats. A drawn
    optimizer stays proposed until it is started: if it needs more ``workers`` than
    there are free slots, :meth:`select_optimizer` returns None and the same optimizer
    is proposed next time, so optimizers needing many workers are not crowded out by
    small ones when slots are scarce.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.selectors import RandomSelector
    >>> from glompo_core.testing import FakeManagerView
    >>> sel = RandomSelector((RandomOptimizer, {"iters": 10}), (RandomOptimizer, {"iters": 20}))
    >>> sel.set_seed(1)   # the manager seeds it from the run's seed
    >>> view = FakeManagerView()
    >>> picks = [sel.select_optimizer(view, view.opt_log, 1)[1]["iters"] for _ in range(200)]
    >>> sorted(set(picks)), 70 < picks.count(10) < 130
    ([10, 20], True)
    """

    def __init__(self, *avail_opts: AvailOpt, allow_spawn: SpawnArg = None,
                 plugin_manager: PluginManager | None = None) -> None:
        super().__init__(*avail_opts, allow_spawn=allow_spawn, plugin_manager=plugin_manager)
        self._pending: OptimizerSpec | None = None

    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec:
        """Propose a random optimizer (the same one until it is started)."""
        if self._pending is None:
            self._pending = self.avail_opts[int(self.rng.integers(len(self.avail_opts)))]
        return self._pending

    def commit(self, choice: OptimizerSpec) -> None:
        """Forget the proposal once it has been started, so the next one is drawn afresh."""
        self._pending = None

    def __str__(self) -> str:
        return _describe(self)
