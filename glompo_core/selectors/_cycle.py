"""CycleSelector, plus the description helper shared by the other selectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from glompo_core.selectors.baseselector import (
    AvailOpt,
    BaseSelector,
    OptimizerSpec,
    SpawnControl,
)

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView

SpawnArg = SpawnControl | Sequence[SpawnControl] | None

__all__ = ["CycleSelector"]


def _spec_str(spec: OptimizerSpec) -> str:
    """``Name`` or ``Name(init={...}, call={...})`` of one available optimizer."""
    cls, init, call = spec
    parts = [f"{key}={val!r}" for key, val in (("init", init), ("call", call)) if val]
    return f"{cls.__name__}({', '.join(parts)})" if parts else cls.__name__


def _describe(selector: BaseSelector, **settings: Any) -> str:
    """``ClassName(opt, opt, setting=value, allow_spawn=[...])`` for the run summary."""
    parts = [_spec_str(spec) for spec in selector.avail_opts]
    parts += [f"{key}={val!r}" for key, val in settings.items()]
    if selector.allow_spawn:
        parts.append(f"allow_spawn=[{', '.join(str(c) for c in selector.allow_spawn)}]")
    return f"{type(selector).__name__}({', '.join(parts)})"


class CycleSelector(BaseSelector):
    """Start the available optimizers in turn, looping back to the first after the last.

    Parameters
    ----------
    *avail_opts
        The optimizers, in the order they are started. Each is a class, a registered
        name, a tuple ``(class_or_name, init_kwargs, call_kwargs)`` or a run-file mapping
        ``{Name: {init: {...}, call: {...}}}``.
    allow_spawn
        Optional :class:`SpawnControl` (or list of them) that ends spawning.
    plugin_manager
        Where names are looked up (default: the process-wide plugin manager).

    Notes
    -----
    The cycle advances only when the proposed optimizer is actually started: if it needs
    more ``workers`` than there are free slots, :meth:`select_optimizer` returns None and
    the same optimizer is proposed again next time, so the order is never skipped.

    Examples
    --------
    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.selectors import CycleSelector, NOptimizersSpawnStop
    >>> from glompo_core.testing import FakeManagerView
    >>> sel = CycleSelector(RandomOptimizer, (RandomOptimizer, {"iters": 50}),
    ...                     allow_spawn=NOptimizersSpawnStop(max_opts=3))
    >>> view = FakeManagerView()
    >>> for started in range(4):
    ...     view.o_counter = started   # what the manager counts as it starts them
    ...     print(sel.select_optimizer(view, view.opt_log, slots_available=1))
    (<class 'glompo_core.optimizers.random.RandomOptimizer'>, {}, {})
    (<class 'glompo_core.optimizers.random.RandomOptimizer'>, {'iters': 50}, {})
    (<class 'glompo_core.optimizers.random.RandomOptimizer'>, {}, {})
    False

    An optimizer needing more workers than are free is proposed again later, in turn:

    >>> sel = CycleSelector((RandomOptimizer, {"workers": 4}), RandomOptimizer)
    >>> print(sel.select_optimizer(view, view.opt_log, slots_available=2))
    None
    >>> sel.select_optimizer(view, view.opt_log, slots_available=4)[1]
    {'workers': 4}
    """

    def __init__(self, *avail_opts: AvailOpt, allow_spawn: SpawnArg = None,
                 plugin_manager: PluginManager | None = None) -> None:
        super().__init__(*avail_opts, allow_spawn=allow_spawn, plugin_manager=plugin_manager)
        self.index = 0

    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec:
        """Propose the optimizer at the current position of the cycle."""
        return self.avail_opts[self.index]

    def commit(self, choice: OptimizerSpec) -> None:
        """Advance the cycle once the proposal has been started."""
        self.index = (self.index + 1) % len(self.avail_opts)

    def __str__(self) -> str:
        return _describe(self)
