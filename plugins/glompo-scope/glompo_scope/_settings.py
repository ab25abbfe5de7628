"""The settings that define the scope's picture and its movie's format, validated.

These are the settings a checkpoint keeps (a resumed run continues the same picture);
``record_movie``, ``interactive_mode`` and ``events_per_flush`` belong to a session and
are not here.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MOVIE_ARGS", "Picture", "check_range", "positive_int", "writer_arguments"]

#: The arguments of ``FFMpegWriter.setup`` that ``movie_kwargs`` may hold.
MOVIE_ARGS = ("outfile", "dpi")


def writer_arguments() -> list[str]:
    """The arguments of :class:`matplotlib.animation.FFMpegWriter` (``writer_kwargs``)."""
    from matplotlib.animation import FFMpegWriter

    return [p for p in inspect.signature(FFMpegWriter.__init__).parameters if p != "self"]


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_range(value: Any, name: str) -> tuple[float, float]:
    """``value`` as a finite ``(min, max)`` pair with ``min < max``; ValueError otherwise."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be None or a (min, max) pair of numbers, "
                         f"got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be a finite (min, max) pair with min < max, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class Picture:
    """The validated picture settings (see :class:`~glompo_scope.GloMPOScope`).

    Build it with :meth:`validate`; ``truncated`` is ``x_range`` when that is an integer.
    """

    x_range: tuple[float, float] | int | None
    truncated: int | None
    y_range: tuple[float, float] | None
    log_scale: bool
    elitism: bool
    writer_kwargs: dict[str, Any] = field(default_factory=dict)
    movie_kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def validate(cls, *, x_range: Any, y_range: Any, log_scale: bool, elitism: bool,
                 writer_kwargs: dict[str, Any] | None,
                 movie_kwargs: dict[str, Any] | None) -> Picture:
        """Check the settings; raise ValueError (a bad value) or TypeError (an unknown
        writer or movie argument) with a message naming the setting."""
        truncated: int | None = None
        checked_x: tuple[float, float] | int | None
        if x_range is None:
            checked_x = None
        elif not isinstance(x_range, bool) and isinstance(x_range, numbers.Integral):
            if x_range < 1:
                raise ValueError(f"x_range as an integer is the number of evaluations shown "
                                 f"and must be positive, got {x_range!r}")
            checked_x = truncated = int(x_range)
        else:
            checked_x = check_range(x_range, "x_range")
        checked_y = None if y_range is None else check_range(y_range, "y_range")
        writer = dict(writer_kwargs or {})
        known = writer_arguments()
        unknown = sorted(set(writer) - set(known))
        if unknown:
            raise TypeError(f"writer_kwargs: FFMpegWriter takes no argument {unknown[0]!r}; "
                            f"it takes {', '.join(known)}")
        movie = dict(movie_kwargs or {})
        unknown = sorted(set(movie) - set(MOVIE_ARGS))
        if unknown:
            raise TypeError(f"movie_kwargs: FFMpegWriter.setup takes no argument "
                            f"{unknown[0]!r}; it takes {', '.join(MOVIE_ARGS)}")
        return cls(x_range=checked_x, truncated=truncated, y_range=checked_y,
                   log_scale=bool(log_scale), elitism=bool(elitism), writer_kwargs=writer,
                   movie_kwargs=movie)
