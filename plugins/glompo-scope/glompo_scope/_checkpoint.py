"""The scope's files in a checkpoint directory, and their format.

``scope.json`` holds the format version, the picture settings, the counters, the
streams' descriptions and the names of the movie segments; ``streams.npz`` the points
and markers; ``movie/`` the segments themselves.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from glompo_scope._common import ScopeError

__all__ = ["STATE_VERSION", "read_arrays", "read_state", "saved_segment", "write_state"]

STATE_FILE = "scope.json"
ARRAYS_FILE = "streams.npz"
MOVIE_DIR = "movie"
STATE_VERSION = 1


def write_state(path: Path, *, settings: dict[str, Any], counters: dict[str, int],
                streams: list[dict[str, Any]], arrays: dict[str, np.ndarray],
                segments: Sequence[Path]) -> None:
    """Write a scope's state into the directory ``path`` (created if needed).

    ``counters`` are ``x_max``, ``n_streams`` and ``n_frames``; the existing
    ``segments`` are copied.
    """
    path.mkdir(parents=True, exist_ok=True)
    np.savez(path / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]
    kept = [s for s in segments if s.exists()]
    if kept:
        (path / MOVIE_DIR).mkdir(exist_ok=True)
        for segment in kept:
            shutil.copyfile(segment, path / MOVIE_DIR / segment.name)
    state = {"version": STATE_VERSION, "settings": settings, **counters,
             "streams": streams, "segments": [s.name for s in kept]}
    (path / STATE_FILE).write_text(json.dumps(state, indent=1))


def read_state(path: Path) -> dict[str, Any]:
    """The description ``scope.json`` in ``path`` holds.

    Raises
    ------
    ScopeError
        The file is missing or unreadable, or of another format version.
    """
    try:
        state: dict[str, Any] = json.loads((path / STATE_FILE).read_text())
    except FileNotFoundError:
        raise ScopeError(f"{path} holds no saved scope ({STATE_FILE} is missing)") from None
    except (OSError, ValueError) as exc:
        raise ScopeError(f"the saved scope in {path} cannot be read: {exc}") from None
    if state.get("version") != STATE_VERSION:
        raise ScopeError(f"the saved scope in {path} has format {state.get('version')!r}; "
                         f"this glompo-scope reads format {STATE_VERSION}")
    return state


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The points and markers saved in ``path``."""
    with np.load(path / ARRAYS_FILE) as arrays:
        return {name: arrays[name] for name in arrays.files}


def saved_segment(path: Path, name: str) -> Path:
    """Where the movie segment ``name`` of the state in ``path`` is."""
    return path / MOVIE_DIR / name
