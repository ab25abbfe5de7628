"""Optimizer arguments (``init`` and ``call``) checked against the optimizer's class.

:func:`optimizer_argument_problems` checks the ``init`` and ``call`` arguments of an
optimizer against its class's signatures, before any optimizer is built. The ``__init__``
signatures are read along the class's MRO for as long as an ``__init__`` takes
``**kwargs`` and hands them on to ``super().__init__(..., **kwargs)`` (as plugin
optimizers do down to :class:`~glompo_core.optimizers.BaseOptimizer`). A class whose
``__init__`` keeps its ``**kwargs`` for its own use (a library's options) may declare
which names they accept with a classmethod::

    @classmethod
    def known_init_options(cls, init_kwargs: Mapping[str, Any]) -> Collection[str] | None:
        ...  # the names its **kwargs accept, given the other arguments (None: any)

Without it, such a class's arguments are not checked before it is built (it checks
them itself when it is created).
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import textwrap
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

#: ``__init__`` arguments the manager gives every optimizer itself.
RUNTIME_ARGUMENTS = ("_opt_id", "_signal_pipe", "_results_queue", "_pause_flag",
                     "_is_log_detailed", "_backend")

#: ``__init__`` arguments the manager takes out of ``init_kwargs`` (the optimizer's slots).
SLOT_ARGUMENTS = ("workers", "_workers")

#: How many leading arguments of ``minimize`` the manager gives (function, x0, bounds).
_MINIMIZE_GIVEN = 3


@dataclass(frozen=True)
class ArgumentProblem:
    """An optimizer argument that would fail when the optimizer is built or started.

    Attributes
    ----------
    part
        ``'init'`` (constructor arguments) or ``'call'`` (arguments of ``minimize``).
    key
        The argument's name.
    message
        What is wrong and how to fix it (without the name), e.g. ``"not an argument of
        RandomOptimizer; did you mean 'popsize'?"``.
    """

    part: str
    key: str
    message: str


def optimizer_argument_problems(cls: type, init: Mapping[Any, Any],
                                call: Mapping[Any, Any]) -> list[ArgumentProblem]:
    """Check an optimizer's ``init`` and ``call`` arguments against its signatures.

    Parameters
    ----------
    cls
        The optimizer class.
    init
        Its constructor arguments (``init_kwargs``).
    call
        Arguments of its ``minimize`` (``call_kwargs``), given after function, x0 and
        bounds.

    Returns
    -------
    list of ArgumentProblem
        One per argument that is unknown or set by the manager, in the order given;
        empty when every argument is accepted or the class's arguments cannot be
        checked (see the module's docstring).
    """
    problems: list[ArgumentProblem] = []
    accepted = init_argument_names(cls, init)
    for raw in init:
        key = str(raw)
        if key in RUNTIME_ARGUMENTS:
            problems.append(ArgumentProblem("init", key, "set by the manager for every "
                                                         "optimizer; remove it"))
        elif accepted is not None and key not in accepted and key not in SLOT_ARGUMENTS:
            problems.append(ArgumentProblem("init", key, _unknown(
                key, {*accepted, "workers"}, cls.__name__,
                nothing=f"not an argument of {cls.__name__}, which takes none")))
    given, accepted_call = minimize_argument_names(cls)
    for raw in call:
        key = str(raw)
        if key in given:
            problems.append(ArgumentProblem(
                "call", key, f"given to {cls.__name__}.minimize() by the manager; remove it"))
        elif accepted_call is not None and key not in accepted_call:
            problems.append(ArgumentProblem(
                "call", key, _unknown(
                    key, accepted_call, f"{cls.__name__}.minimize()",
                    nothing=f"not an argument of {cls.__name__}.minimize(), which takes only "
                            f"{', '.join(given)} (given by the manager); remove it")))
    return problems


def _unknown(key: str, accepted: Collection[str], owner: str, nothing: str) -> str:
    """``not an argument of OWNER; did you mean 'x'?``, or the accepted names, or ``nothing``.

    Underscored names (the manager's) are never suggested or listed.
    """
    public = sorted(name for name in accepted if not name.startswith("_"))
    close = difflib.get_close_matches(key, public, n=1)
    if close:
        return f"not an argument of {owner}; did you mean {close[0]!r}?"
    if not public:
        return nothing
    return f"not an argument of {owner}, which accepts: {', '.join(public)}"


def init_argument_names(cls: type, init: Mapping[Any, Any]) -> Collection[str] | None:
    """The ``__init__`` arguments ``cls`` accepts, or None when they cannot be known.

    Reads the signatures along the MRO while each ``__init__`` takes ``**kwargs`` and
    hands them to the next one; stops at :class:`BaseOptimizer` (whose ``**kwargs``
    accept nothing more) or at an ``__init__`` without ``**kwargs``. Where an
    ``__init__`` keeps its ``**kwargs`` for itself, the class's ``known_init_options``
    classmethod (if any) says what they accept.

    Parameters
    ----------
    cls
        The optimizer class.
    init
        The arguments given (a ``known_init_options`` may depend on them).

    Returns
    -------
    Collection[str] or None
        The accepted names; None when any name may be accepted.
    """
    from glompo_core.optimizers.baseoptimizer import BaseOptimizer

    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        if klass is object:
            return names
        params = _init_parameters(klass)
        if params is None:
            return None
        own, var_keyword = params
        names.update(own)
        if var_keyword is None or klass is BaseOptimizer:
            return names
        if _forwards_kwargs(klass, var_keyword):
            continue
        declare = getattr(cls, "known_init_options", None)
        if not callable(declare):
            return None
        extra = declare(init)
        return None if extra is None else names | set(extra)
    return names


def minimize_argument_names(cls: type) -> tuple[tuple[str, ...], Collection[str] | None]:
    """The names of the arguments the manager gives ``minimize`` and of those it accepts.

    Parameters
    ----------
    cls
        The optimizer class.

    Returns
    -------
    tuple
        The names of the first three arguments (function, x0, bounds: given by the
        manager) and the names ``call_kwargs`` may use (None: any, ``minimize`` takes
        ``**kwargs``).
    """
    method = getattr(cls, "minimize", None)
    try:
        signature = inspect.signature(method)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return (), None
    params = list(signature.parameters.values())
    if not isinstance(inspect.getattr_static(cls, "minimize", None), (staticmethod, classmethod)):
        params = params[1:]  # self
    if any(p.kind is p.VAR_KEYWORD for p in params):
        named = tuple(p.name for p in params if p.kind is not p.VAR_KEYWORD)
        return named[:_MINIMIZE_GIVEN], None
    given = tuple(p.name for p in params[:_MINIMIZE_GIVEN])
    rest = [p.name for p in params[_MINIMIZE_GIVEN:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return given, rest


@functools.lru_cache(maxsize=256)
def _init_parameters(klass: type) -> tuple[tuple[str, ...], str | None] | None:
    """Names of ``klass.__init__``'s keyword-passable arguments and of its ``**kwargs``."""
    try:
        signature = inspect.signature(vars(klass)["__init__"])
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())[1:]  # self
    names = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    var_keyword = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
    return names, var_keyword


@functools.lru_cache(maxsize=256)
def _forwards_kwargs(klass: type, var_keyword: str) -> bool:
    """True if ``klass.__init__`` passes ``**var_keyword`` on to an ``__init__``.

    Read from the source (``super().__init__(..., **kwargs)`` or
    ``Base.__init__(self, ..., **kwargs)``); False when the source cannot be read.
    """
    try:
        source = textwrap.dedent(inspect.getsource(vars(klass)["__init__"]))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "__init__":
            for keyword in node.keywords:
                if keyword.arg is None and isinstance(keyword.value, ast.Name) \
                        and keyword.value.id == var_keyword:
                    return True
    return False
