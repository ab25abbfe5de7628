"""What every module of glompo-scope shares: its error, the movie's name and its logger."""

from __future__ import annotations

import logging

__all__ = ["MOVIE_NAME", "ScopeError", "log"]

#: File name of the movie in the run's working directory.
MOVIE_NAME = "glompo_optimizer_scope.mp4"

#: The scope's logger, ``glompo.scope``.
log = logging.getLogger("glompo.scope")


class ScopeError(RuntimeError):
    """The scope cannot do what it was asked (no ffmpeg, a failed movie, a bad state)."""
