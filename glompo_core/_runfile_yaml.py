"""Reading a run file: its YAML, where each key stands, ``--set`` overrides and errors.

:class:`RunFile` (public as :class:`glompo_core.runfile.RunFile`) holds the file's data
and the line of every key, so that every error names ``FILE:LINE: key 'KEY'``;
:mod:`glompo_core.runfile` loads the run from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from glompo_core.errors import RunFileError

if TYPE_CHECKING:
    from glompo_core._portfolio import DefaultPortfolio


#: How RunFile.where names keys a default portfolio supplied (not lines of the file).
_SUPPLIED = "default portfolio from "


class _LineLoader(yaml.SafeLoader):
    """Safe loader that remembers the line of every key."""


def _compose_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int],
                   duplicates: list[tuple[tuple[Any, ...], int, int]]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            sub = (*path, key)
            if isinstance(key, str) and key in seen:
                duplicates.append((sub, seen[key], line))
                continue
            if isinstance(key, str):
                seen[key] = line
            lines[sub] = line
            _compose_lines(value_node, sub, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _compose_lines(item, (*path, i), lines, duplicates)


class RunFile:
    """A parsed run file: its data and where each key stands.

    Parameters
    ----------
    path
        The YAML file.
    overrides
        ``key=value`` settings (``--set``), the value parsed as YAML; dotted keys reach
        into mappings (``task_kwargs.dims=10``).
    """

    #: The default portfolio :func:`load_run_file` took because the file has no
    #: ``opt_selector`` (None if it has one).
    default_portfolio: DefaultPortfolio | None = None

    def __init__(self, path: str | Path, overrides: list[str] | None = None) -> None:
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RunFileError(f"cannot read run file {self.path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise RunFileError(f"{self.path}: not a text file in UTF-8 ({exc.reason} at byte "
                               f"{exc.start})") from None
        self.lines: dict[tuple[Any, ...], int] = {}
        self.overridden: dict[tuple[Any, ...], str] = {}
        try:
            node = yaml.compose(text, Loader=_LineLoader)
            data = yaml.load(text, Loader=_LineLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{self.path}:{mark.line + 1}" if mark is not None else str(self.path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise RunFileError(f"{where}: not valid YAML: {problem}") from None
        if node is not None:
            duplicates: list[tuple[tuple[Any, ...], int, int]] = []
            _compose_lines(node, (), self.lines, duplicates)
            if duplicates:
                key, first, again = duplicates[0]
                raise RunFileError(f"{self.path}:{again}: key '{_key_text(key)}': given twice "
                                   f"(first on line {first}); keep one")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RunFileError(f"{self.path}:1: a run file is a mapping of settings "
                               f"(task: ..., opt_selector: ...), not a {type(data).__name__}")
        for item in overrides or []:
            self._override(data, item)
        self.data: dict[str, Any] = data
        #: (name, observer) of the run services its plugin keys built (load_run_file)
        self.observers: list[tuple[str, Any]] = []

    @classmethod
    def from_settings(cls, source: str | Path, overrides: list[str],
                      task: str | None = None) -> RunFile:
        """A run file made only of ``key=value`` settings, read as ``--set`` reads them.

        ``glompo resume`` builds the task it is given on the command line from one, so
        ``--set task=...`` means what ``task:`` means in a run file; ``task`` is the
        value of ``--task`` (a name or ``module:callable``, taken as written). Errors
        name ``source`` and the option that gave the key.
        """
        run = cls.__new__(cls)
        run.path = Path(source)
        run.lines = {}
        run.overridden = {}
        data: dict[str, Any] = {}
        for item in overrides:
            run._override(data, item)
        if task is not None:
            data["task"] = task
            run.overridden[("task",)] = f"--task {task}"
        run.data = data
        run.observers = []
        return run

    def _override(self, data: dict[str, Any], item: str) -> None:
        if "=" not in item:
            raise RunFileError(f"--set {item!r}: write key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        parts = key.strip().split(".")
        if not all(parts):
            raise RunFileError(f"--set {item!r}: write key=value (dotted keys reach into "
                               "mappings, e.g. task_kwargs.dims=10)")
        target = data
        for part in parts[:-1]:
            if target.get(part) is None:
                target[part] = {}
            target = target[part]
            if not isinstance(target, dict):
                raise RunFileError(f"--set {item!r}: {part!r} is not a mapping")
        target[parts[-1]] = value
        self.overridden[tuple(parts)] = item.strip()

    def where(self, *path: Any) -> str:
        """``file:line`` of a key path (the nearest known line), or the ``--set`` giving it."""
        for n in range(1, len(path) + 1):
            item = self.overridden.get(tuple(path[:n]))
            if item is not None:
                return f"{self.path} ({item})" if item.startswith(("--", _SUPPLIED)) \
                    else f"{self.path} (--set {item})"
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)

    def error(self, message: str, *path: Any) -> RunFileError:
        """A :class:`RunFileError` naming the file, line and key."""
        key = _key_text(path)
        prefix = f"{self.where(*path)}: " + (f"key '{key}': " if key else "")
        return RunFileError(prefix + message)


def _key_text(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
