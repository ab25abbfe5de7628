"""Per-optimizer print streams (``split_printstreams=True``).

While a run is active, ``sys.stdout`` and ``sys.stderr`` are replaced by routers
that send what each optimizer thread prints to its own files
``glompo_optimizer_printstreams/printstream_<id>.out`` and ``.err`` (four-digit id),
and everything else to the original streams. Files are created on the first write,
so an optimizer that prints nothing leaves no empty file. Output written directly
to the file descriptors (for instance by a subprocess) is not captured.
"""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["PrintStreamRouter", "route_thread_to"]

_local = threading.local()


class _LazyFile(io.TextIOBase):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, s: str) -> int:
        if not s:
            return 0
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
        return self._file.write(s)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()


class _Router(io.TextIOBase):
    def __init__(self, original: Any, attr: str) -> None:
        self.original = original
        self.attr = attr

    def _target(self) -> Any:
        return getattr(_local, self.attr, None) or self.original

    def write(self, s: str) -> int:
        return self._target().write(s)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return bool(getattr(self.original, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.original, "encoding", "utf-8"))

    def fileno(self) -> int:
        return int(self.original.fileno())


class PrintStreamRouter:
    """Installs the routers for the duration of a run (a context manager)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> PrintStreamRouter:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Router(sys.stdout, "out")
        sys.stderr = _Router(sys.stderr, "err")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None


class route_thread_to:  # noqa: N801 - used as a context manager, like contextlib helpers
    """Send the current thread's prints to ``printstream_<opt_id>.out/.err`` in ``directory``."""

    def __init__(self, directory: Path, opt_id: int) -> None:
        self.out = _LazyFile(Path(directory) / f"printstream_{opt_id:04d}.out")
        self.err = _LazyFile(Path(directory) / f"printstream_{opt_id:04d}.err")

    def __enter__(self) -> route_thread_to:
        _local.out, _local.err = self.out, self.err
        return self

    def __exit__(self, *exc: object) -> None:
        _local.out = _local.err = None
        self.out.close()
        self.err.close()
