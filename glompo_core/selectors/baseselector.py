"""The base class of selectors (which optimizer starts next) and of spawn controls."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from glompo_core._seeding import Seeded

if TYPE_CHECKING:
    from glompo_core.optimizerlogger import BaseLogger
    from glompo_core.plugins import PluginManager
    from glompo_core.protocols import ManagerView

__all__ = ["BaseSelector", "OptimizerSpec", "SpawnControl"]

#: What a selector returns: the class and its init and call keyword arguments.
OptimizerSpec = tuple[type, dict[str, Any], dict[str, Any]]
AvailOpt = type | str | tuple[Any, ...] | dict[Any, Any]


class SpawnControl(ABC):
    """Decides whether new optimizers may still be started (``allow_spawn`` of selectors).

    Once a spawn control returns False, the selector starts no optimizer again.

    Examples
    --------
    A control of one's own: start optimizers only while the best value is above a
    target.

    >>> from glompo_core.result import Result
    >>> from glompo_core.testing import FakeManagerView
    >>> class UntilBelow(SpawnControl):
    ...     def __init__(self, target: float) -> None:
    ...         self.target = target
    ...     def __call__(self, manager):
    ...         return manager.result.fx > self.target
    >>> control = UntilBelow(target=0.5)
    >>> control(FakeManagerView(result=Result(fx=2.0))), str(control)
    (True, 'UntilBelow(target=0.5)')
    """

    @abstractmethod
    def __call__(self, manager: ManagerView) -> bool:
        """Return True if a new optimizer may be started now."""

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def _normalise(opt: AvailOpt, plugin_manager: PluginManager | None, where: str) -> OptimizerSpec:
    """Turn a class, name, ``(cls, init, call)`` tuple or ``{Name: {init, call}}`` into a spec."""
    init: dict[str, Any] = {}
    call: dict[str, Any] = {}
    cls_or_name: Any
    if isinstance(opt, dict):
        if len(opt) != 1:
            raise ValueError(f"{where}: an optimizer given as a mapping has exactly one key, "
                             f"its name, e.g. {{CMAOptimizer: {{init: {{sigma0: 0.3}}}}}}; "
                             f"got keys {list(opt)}")
        (cls_or_name, conf), = opt.items()
        conf = conf or {}
        unknown = set(conf) - {"init", "call"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} for optimizer "
                             f"{cls_or_name!r}; use 'init' (constructor arguments) and 'call' "
                             "(arguments of minimize)")
        init = dict(conf.get("init") or {})
        call = dict(conf.get("call") or {})
    elif isinstance(opt, tuple):
        if not 1 <= len(opt) <= 3:
            raise ValueError(f"{where}: an optimizer tuple is (class, init_kwargs, call_kwargs)")
        cls_or_name = opt[0]
        init = dict(opt[1] or {}) if len(opt) > 1 else {}
        call = dict(opt[2] or {}) if len(opt) > 2 else {}
    else:
        cls_or_name = opt
    if isinstance(cls_or_name, str):
        if plugin_manager is None:
            from glompo_core.plugins import get_plugin_manager

            plugin_manager = get_plugin_manager()
        cls = plugin_manager.get("optimizer", cls_or_name, source=where)
    elif isinstance(cls_or_name, type):
        cls = cls_or_name
    else:
        raise TypeError(f"{where}: expected an optimizer class or name, got {cls_or_name!r}")
    for attr in ("minimize", "callstop"):
        if not callable(getattr(cls, attr, None)):
            raise TypeError(f"{where}: {cls!r} is not an optimizer (it has no {attr}())")
    return cls, init, call


class BaseSelector(Seeded, ABC):
    """Base of every selector: chooses the type and configuration of each new optimizer.

    Parameters
    ----------
    *avail_opts
        The optimizers to choose from. Each is a class, a registered name, a tuple
        ``(class_or_name, init_kwargs, call_kwargs)`` or, as in run files, a mapping
        ``{Name: {init: {...}, call: {...}}}``.
    allow_spawn
        Optional :class:`SpawnControl` (or list of them, all of which must allow). When it
        returns False, no more optimizers start.
    plugin_manager
        Where names are looked up (default: :func:`~glompo_core.plugins.get_plugin_manager`).

    Examples
    --------
    A selector of one's own implements :meth:`choose`; the base class does the rest
    (spawn controls, free slots, copies of the arguments):

    >>> from glompo_core.optimizers import RandomOptimizer
    >>> from glompo_core.testing import FakeManagerView
    >>> class Narrowing(BaseSelector):   # the first for 1000 evaluations, then the second
    ...     def choose(self, manager, log):
    ...         return self.avail_opts[0 if manager.f_counter < 1000 else 1]
    >>> sel = Narrowing((RandomOptimizer, {"iters": 500}), (RandomOptimizer, {"iters": 50}))
    >>> [sel.select_optimizer(FakeManagerView(f_counter=n), None, slots_available=1)[1]
    ...  for n in (10, 2000)]
    [{'iters': 500}, {'iters': 50}]
    """

    def __init__(self, *avail_opts: AvailOpt,
                 allow_spawn: SpawnControl | Sequence[SpawnControl] | None = None,
                 plugin_manager: PluginManager | None = None) -> None:
        self.logger = logging.getLogger("glompo.selector")
        if not avail_opts:
            raise ValueError(f"{type(self).__name__} needs at least one optimizer to choose from")
        self.avail_opts: list[OptimizerSpec] = [
            _normalise(opt, plugin_manager, f"{type(self).__name__} optimizer #{i + 1}")
            for i, opt in enumerate(avail_opts)
        ]
        if allow_spawn is None:
            self.allow_spawn: list[SpawnControl] = []
        elif isinstance(allow_spawn, Sequence):
            self.allow_spawn = list(allow_spawn)
        else:
            self.allow_spawn = [allow_spawn]
        for control in self.allow_spawn:
            if not callable(control):
                raise TypeError(f"allow_spawn must be a SpawnControl, got {control!r}")
        self._spawn_over = False

    def spawning_allowed(self, manager: ManagerView) -> bool:
        """False once any spawn control has refused (it never allows again)."""
        if self._spawn_over:
            return False
        if not all(control(manager) for control in self.allow_spawn):
            self._spawn_over = True
        return not self._spawn_over

    def select_optimizer(self, manager: ManagerView, log: BaseLogger,
                         slots_available: int) -> OptimizerSpec | None | bool:
        """Return the next optimizer ``(cls, init_kwargs, call_kwargs)``.

        Returns None when the chosen optimizer needs more worker slots than
        ``slots_available`` (the manager asks again later), and False when spawning is
        over (the run ends when the last optimizer finishes).
        """
        if not self.spawning_allowed(manager):
            return False
        choice = self.choose(manager, log)
        if choice is None or isinstance(choice, bool):
            return None if choice is None or choice else False
        cls, init, call = choice
        if int(init.get("workers", 1)) > slots_available:
            return None
        self.commit(choice)
        return cls, dict(init), dict(call)

    @abstractmethod
    def choose(self, manager: ManagerView, log: BaseLogger) -> OptimizerSpec | None | bool:
        """Propose the next optimizer (without committing to it; see :meth:`commit`)."""

    def commit(self, choice: OptimizerSpec) -> None:
        """Called when the proposed optimizer is actually started (advance cycles here)."""

    def __str__(self) -> str:
        return type(self).__name__
