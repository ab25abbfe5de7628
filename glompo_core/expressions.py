"""Parse stopper and exit-condition expressions, as the summary prints them, without ``eval``.

>>> from glompo_core.expressions import parse_expression
>>> cond = parse_expression("MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60)",
...                         "exit_condition")
>>> print(cond)
MaxFuncCalls(fmax=1000) | MaxSeconds(session_max=60, overall_max=None)

The grammar is Python's for ``|``, ``&``, parentheses and calls with literal
arguments; square brackets group as the summary prints them; ``bounds`` stands for
the run's bounds and ``inf`` for infinity. ``= True``/``= False``/``= None`` result
annotations of the summary are ignored, so an expression can be copied from a
summary file back into a run file.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize
from typing import TYPE_CHECKING, Any

from glompo_core._combinable import Combinable

if TYPE_CHECKING:
    import numpy as np

    from glompo_core.plugins import PluginManager

__all__ = ["parse_expression"]

_RESULTS = ("True", "False", "None")
_OTHER_KIND = {"stopper": "exit_condition", "exit_condition": "stopper"}


def _strip_results(text: str) -> str:
    """Join lines and drop the summary's ``= True``/``= False``/``= None`` annotations.

    Only annotations outside parentheses are dropped, so keyword arguments such as
    ``overall_max=None`` keep their value.
    """
    line = " ".join(text.splitlines()).strip()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, SyntaxError):
        return line  # ast.parse reports the problem
    cuts: list[tuple[int, int]] = []
    depth = 0
    for tok, nxt in itertools.pairwise(tokens):
        if tok.type != tokenize.OP:
            continue
        if tok.string == "(":
            depth += 1
        elif tok.string == ")":
            depth -= 1
        elif (tok.string == "=" and depth == 0 and nxt.type == tokenize.NAME
              and nxt.string in _RESULTS):
            cuts.append((tok.start[1], nxt.end[1]))
    for start, end in reversed(cuts):
        line = line[:start].rstrip() + line[end:]
    return line.strip()


def _article(kind: str) -> str:
    label = kind.replace("_", " ")
    return ("an " if label[0] in "aeiou" else "a ") + label


def _literal(node: ast.AST, bounds: Any, text: str) -> Any:
    if isinstance(node, ast.Name):
        if node.id == "bounds":
            if bounds is None:
                raise ValueError(f"'bounds' in {text!r} needs the run's bounds")
            return bounds
        if node.id == "inf":
            return float("inf")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Name) and node.operand.id == "inf":
        return float("-inf")
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, bounds, text) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"only literal arguments (numbers, strings, lists, True/False/None, "
                         f"bounds, inf) are allowed in {text!r}; found "
                         f"{ast.unparse(node)!r}") from None


def parse_expression(text: str, kind: str, plugin_manager: PluginManager | None = None, *,
                     bounds: np.ndarray | None = None, source: str | None = None
                     ) -> Combinable:
    """Build a stopper or exit-condition expression from its text.

    Parameters
    ----------
    text
        E.g. ``"BestUnmoving(calls=100, tol=0.01) & MinFuncCalls(min_pts=50)"``.
    kind
        ``'stopper'`` or ``'exit_condition'``: where names are looked up.
    plugin_manager
        Registry of names (default: the installed plugins).
    bounds
        The run's bounds, substituted for the name ``bounds``.
    source
        Where the text comes from (e.g. ``'run.yml:12, key 'stoppers''``), quoted in
        errors.

    Raises
    ------
    ValueError
        Malformed text, with what was expected; a stopper in an exit-condition
        expression or vice versa.
    UnknownComponentError
        A name nobody registered.
    """
    if plugin_manager is None:
        from glompo_core.plugins import get_plugin_manager

        plugin_manager = get_plugin_manager()
    clean = _strip_results(text)
    if not clean:
        raise ValueError(f"empty {kind.replace('_', ' ')} expression")
    try:
        tree = ast.parse(clean, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {kind.replace('_', ' ')} expression {text!r}: {exc.msg} "
                         f"at column {exc.offset}; write e.g. 'A(x=1) | B(y=2) & C()'") from None
    pm = plugin_manager
    origin = f"{source}, expression {text!r}" if source else f"expression {text!r}"

    def lookup(name: str) -> type:
        other = _OTHER_KIND.get(kind)
        if other is not None and not pm.has(kind, name) and pm.has(other, name):
            raise ValueError(
                f"{name!r} is {_article(other)}, not {_article(kind)} (in {text!r}): stoppers "
                "(which stop one optimizer) and exit conditions (which end the run) do not "
                "mix in one expression; give them as 'stoppers' and 'exit_conditions'")
        return pm.get(kind, name, source=origin)

    def build(node: ast.AST) -> Combinable:
        if isinstance(node, ast.List) and len(node.elts) == 1:
            return build(node.elts[0])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd)):
            left, right = build(node.left), build(node.right)
            return left | right if isinstance(node.op, ast.BitOr) else left & right
        if isinstance(node, ast.Name):
            cls = lookup(node.id)
            return _instantiate(cls, [], {}, node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            cls = lookup(node.func.id)
            args = [_literal(a, bounds, text) for a in node.args]
            kwargs = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise ValueError(f"'**' is not allowed in {text!r}")
                kwargs[kw.arg] = _literal(kw.value, bounds, text)
            return _instantiate(cls, args, kwargs, node.func.id)
        raise ValueError(f"unexpected {ast.unparse(node)!r} in {text!r}: an expression combines "
                         "Name(arg=value) terms with '|' (or), '&' (and) and brackets")

    result = build(tree.body)
    if result.kind != kind:
        raise ValueError(f"{text!r} is not {_article(kind)} expression")
    return result


def _instantiate(cls: type, args: list[Any], kwargs: dict[str, Any], name: str) -> Combinable:
    try:
        obj = cls(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None
    if not isinstance(obj, Combinable):
        raise ValueError(f"{name} cannot be combined with & and |")
    return obj
