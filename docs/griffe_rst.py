"""Griffe extension: the Sphinx/reST bits of GloMPO's docstrings, rewritten as Markdown.

GloMPO's docstrings are numpydoc, read by mkdocstrings as they are; but their prose
uses a few reST constructs that Markdown does not know. This extension (listed under
``extensions`` in ``mkdocs.yml``) rewrites, in every docstring once the code is loaded:

- roles: ``:class:`~a.b.C` `` becomes an *optional* cross-reference (a link where the
  target is documented on the site, plain code elsewhere: never a broken link),
  ``:math:`x` `` becomes inline math;
- ``.. math::`` blocks become display math, ``.. warning::`` / ``.. note::`` admonitions;
- a paragraph ending in ``::`` and the indented literal block after it become a fenced
  code block;
- reST simple tables (``====  ====``) become Markdown tables, auto-numbered list items
  (``#.``) numbered ones;
- citations ``.. [KEY] text`` become bold labels, and ``[KEY]_`` references ``[KEY]``.

:func:`rst_to_markdown` is also used by ``docs/gen_pages.py`` for module docstrings it
places on pages itself.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable

import griffe

__all__ = ["RstToMarkdown", "rst_to_markdown"]

_ROLE = re.compile(r":(?P<role>[a-z]+):`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?P<name>[a-z]+)::\s*(?P<rest>.*)$")
_CITATION = re.compile(r"^(?P<indent>\s*)\.\. \[(?P<key>[^\]]+)\]\s+(?P<rest>.*)$")
_CITE_REF = re.compile(r"\[(?P<key>[A-Za-z0-9]+)\]_")
_AUTO_ENUM = re.compile(r"^(?P<indent>\s*)#\. ")
_TABLE_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")
_ADMONITIONS = {"warning": "warning", "note": "note", "caution": "warning",
                "important": "important", "tip": "tip", "seealso": "info"}

Resolver = Callable[[str], str | None]


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block(lines: list[str], start: int, min_indent: int) -> tuple[list[str], int]:
    """The indented block beginning at ``start`` (blank lines inside it kept)."""
    end = start
    last = start
    while end < len(lines):
        line = lines[end]
        if line.strip():
            if _indent_of(line) < min_indent:
                break
            last = end + 1
        end += 1
    return lines[start:last], last


def _guess_language(code: str) -> str:
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    if first.startswith(">>>"):
        return "pycon"
    if re.search(r"^\s*\[[\w.-]+(\.[\w-]+)*\]\s*$", code, flags=re.M) or " = \"" in first:
        return "toml" if not re.search(r"^\s*(from|import|def|@)\b", code, flags=re.M) \
            else "python"
    if re.search(r"^\s*(from|import|def|class|@)\b", code, flags=re.M) or "(" in first:
        return "python"
    if re.match(r"^[\w-]+:(\s|$)", first):
        return "yaml"
    return "text"


def _fence(code_lines: list[str], indent: str, language: str | None = None) -> list[str]:
    code = textwrap.dedent("\n".join(code_lines)).strip("\n")
    lang = language or _guess_language(code)
    return [f"{indent}```{lang}", *(indent + line if line else "" for line in
                                     code.splitlines()), f"{indent}```"]


def _table(rows: list[str]) -> list[str]:
    """A reST simple table (rules of ``=``) as a Markdown table."""
    rule = next(r for r in rows if _TABLE_RULE.match(r))
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
    body = [r for r in rows if not _TABLE_RULE.match(r) and r.strip()]
    indent = " " * _indent_of(rule)

    def cells(row: str) -> list[str]:
        out = []
        for i, (start, _) in enumerate(spans):
            stop = spans[i + 1][0] if i + 1 < len(spans) else None
            out.append(row[start:stop].strip().replace("|", "\\|"))
        return out

    n_rules = sum(1 for r in rows if _TABLE_RULE.match(r))
    header, data = (body[0], body[1:]) if n_rules >= 3 else (None, body)
    head = cells(header) if header is not None else [""] * len(spans)
    out = [indent + "| " + " | ".join(head) + " |",
           indent + "| " + " | ".join("---" for _ in spans) + " |"]
    out += [indent + "| " + " | ".join(cells(r)) + " |" for r in data]
    return out


def _convert_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            indent = directive["indent"]
            name = directive["name"]
            body, end = _block(lines, i + 1, len(indent) + 1)
            if name == "math":
                parts = [directive["rest"]] if directive["rest"] else []
                parts += [b.strip() for b in body if b.strip()]
                out += [f"{indent}$$", *(indent + p for p in parts), f"{indent}$$"]
            elif name in _ADMONITIONS:
                content = textwrap.dedent("\n".join(
                    ([directive["rest"]] if directive["rest"] else []) + body)).strip("\n")
                out.append(f'{indent}!!! {_ADMONITIONS[name]}')
                out += [f"{indent}    {c}" if c else "" for c in content.splitlines()]
            else:  # unknown directive: keep its content as text
                out += body
            out.append("")
            i = end
            continue
        citation = _CITATION.match(line)
        if citation:
            body, end = _block(lines, i + 1, len(citation["indent"]) + 1)
            text_ = " ".join([citation["rest"], *(b.strip() for b in body)])
            out += [f"{citation['indent']}- **[{citation['key']}]** {text_}"]
            i = end
            continue
        if _TABLE_RULE.match(line) and (not out or not out[-1].strip()):
            rows = []
            while i < len(lines) and lines[i].strip():
                rows.append(lines[i])
                i += 1
            out += _table(rows)
            continue
        if _AUTO_ENUM.match(line):  # reST auto-numbered list item
            out.append(_AUTO_ENUM.sub(r"\g<indent>1. ", line))
            i += 1
            continue
        stripped = line.rstrip()
        if stripped.endswith("::") and not stripped.lstrip().startswith(">>>"):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and _indent_of(lines[j]) > _indent_of(line):
                body, end = _block(lines, j, _indent_of(lines[j]))
                head = stripped[:-2].rstrip()
                if head.strip():
                    out.append(head + ":")
                out.append("")
                out += _fence(body, " " * _indent_of(line))
                out.append("")
                i = end
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _convert_roles(text: str, resolve: Resolver | None) -> str:
    def role(match: re.Match[str]) -> str:
        name, body = match["role"], match["body"]
        if name == "math":
            return f"${body}$"
        titled = _TITLED.match(body)
        if titled:
            title, target = titled["title"], titled["target"]
        else:
            target = body.lstrip("~")
            title = target.rsplit(".", 1)[-1] if body.startswith("~") else target
        if name in ("meth", "func"):
            title += "()"
        identifier = (resolve(target) if resolve is not None else None) or target
        code = f"<code>{html.escape(title)}</code>"
        if not identifier.startswith("glompo"):
            return f"`{title}`"
        return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'

    # keep code spans untouched: a role inside ``...`` is an example, not a reference
    parts = re.split(r"(``[^`]*``)", text)
    return "".join(p if p.startswith("``") else _CITE_REF.sub(r"[\g<key>]", _ROLE.sub(role, p))
                   for p in parts)


_FIELD = re.compile(r"^:(param|parameter|arg|type|returns?|rtype|raises?|yields?)\b[^:]*:")


def _hoist_after_fields(text: str) -> str:
    """Move paragraphs that follow a Sphinx field list (``:param x:``) before it.

    In reST a field list ends at the first unindented paragraph; griffe's Sphinx parser
    would instead append that paragraph to the last field's description.
    """
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if _FIELD.match(line)), None)
    if first is None:
        return text
    fields: list[str] = []
    after: list[str] = []
    in_field = False
    for line in lines[first:]:
        if _FIELD.match(line):
            in_field = True
            fields.append(line)
        elif not line.strip():
            in_field = False if fields and not fields[-1].strip() else in_field
            (fields if in_field else after).append(line)
        elif line.startswith((" ", "\t")) and in_field:
            fields.append(line)
        else:
            in_field = False
            after.append(line)
    head = lines[:first]
    moved = "\n".join(after).strip("\n")
    parts = ["\n".join(head).rstrip("\n")] + ([moved] if moved else []) + \
        ["\n".join(fields).strip("\n")]
    return "\n\n".join(p for p in parts if p) + "\n"


def rst_to_markdown(text: str, resolve: Resolver | None = None) -> str:
    """Rewrite the reST constructs of a docstring as Markdown (see the module docstring)."""
    return _convert_roles(_convert_blocks(_hoist_after_fields(text)), resolve)


def _resolver(obj: griffe.Object) -> Resolver:
    def resolve(name: str) -> str | None:
        if name.startswith("glompo"):
            return name
        head, _, rest = name.partition(".")
        try:
            path = obj.resolve(head)
        except Exception:
            path = None
        if path is None and obj.parent is not None:
            try:
                path = obj.parent.resolve(head)
            except Exception:
                path = None
        if path is None:
            return None
        return f"{path}.{rest}" if rest else path

    return resolve


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of a package once it is loaded (its tree complete)."""

    def __init__(self) -> None:
        super().__init__()
        self._done: set[int] = set()

    def _walk(self, obj: griffe.Object) -> None:
        if obj.docstring is not None and id(obj.docstring) not in self._done:
            self._done.add(id(obj.docstring))
            obj.docstring.value = rst_to_markdown(obj.docstring.value, _resolver(obj))
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member)

    # the event is ``on_package`` in recent griffe, ``on_package_loaded`` in older ones
    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._walk(pkg)

    def on_package_loaded(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._walk(pkg)
