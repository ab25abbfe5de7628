"""The live plot of a scope: its data, its figure and when it is redrawn.

:class:`ScopePlot` is the part of :class:`~glompo_scope.GloMPOScope` that a run feeds
(optimizers added, points, ends and marks), built from the data of the trajectories
(:mod:`glompo_scope._trajectories`) and the figure (:mod:`glompo_scope._canvas`). Every
redraw of a recording scope is one movie frame. :class:`~glompo_scope.GloMPOScope` adds
the movie, the checkpoints and the run's hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_scope._canvas import Canvas, window_problem
from glompo_scope._common import log
from glompo_scope._movie import MovieRecorder, require_ffmpeg
from glompo_scope._settings import Picture, positive_int
from glompo_scope._trajectories import Trajectories

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = ["ScopePlot"]


class ScopePlot:
    """The plot of the optimizers of a run, redrawn every ``events_per_flush`` events.

    The parameters and attributes are those of :class:`~glompo_scope.GloMPOScope`,
    which is the class to use.
    """

    def __init__(self, x_range: tuple[float, float] | int | None = 300,
                 y_range: tuple[float, float] | None = None, log_scale: bool = False,
                 record_movie: bool = False, interactive_mode: bool = False,
                 events_per_flush: int = 10, elitism: bool = False,
                 writer_kwargs: dict[str, Any] | None = None,
                 movie_kwargs: dict[str, Any] | None = None) -> None:
        self.logger = log
        self._configure(x_range=x_range, y_range=y_range, log_scale=log_scale,
                        elitism=elitism, writer_kwargs=writer_kwargs,
                        movie_kwargs=movie_kwargs)
        self.events_per_flush = positive_int(events_per_flush, "events_per_flush")
        self.record_movie = bool(record_movie)
        self._movie = MovieRecorder(require_ffmpeg() if self.record_movie else None)
        self._data = Trajectories()
        self.n_frames = 0
        self.is_setup = False
        self.movie_path: Path | None = None
        self._pending = 0  # events since the last redraw
        self._stale = False  # the artists lag behind the data (nobody was looking)
        self._closed = False
        self._failed = False
        self._working_dir: Path | None = None

        self.interactive_mode = False
        problem = window_problem() if interactive_mode else None
        if interactive_mode and problem is not None:
            self.logger.warning("interactive_mode: the scope cannot show a window because %s; "
                                "it draws off-screen%s", problem,
                                " and keeps recording the movie" if self.record_movie else "")
        self._canvas = Canvas(pyplot=bool(interactive_mode) and problem is None)
        self.interactive_mode = self._canvas.pyplot
        self.color_map: ListedColormap = self._canvas.color_map
        self.fig: Figure = self._canvas.fig
        self.ax: Axes = self._canvas.ax
        self._style_axes()
        self.gen_streams: dict[str, Line2D] = self._canvas.gen_streams
        self.leg_elements: list[Line2D] = self._canvas.leg_elements
        self.opt_streams: dict[int, Line2D] = self._canvas.opt_streams
        self._canvas.add_markers()
        self._canvas.update_legend()
        if self.interactive_mode:
            self.fig.show()

    # ------------------------------------------------------------------------ settings
    def _configure(self, *, x_range: Any, y_range: Any, log_scale: bool, elitism: bool,
                   writer_kwargs: dict[str, Any] | None,
                   movie_kwargs: dict[str, Any] | None) -> None:
        """Validate and set the settings that define the picture and the movie's format."""
        picture = Picture.validate(x_range=x_range, y_range=y_range, log_scale=log_scale,
                                   elitism=elitism, writer_kwargs=writer_kwargs,
                                   movie_kwargs=movie_kwargs)
        self.x_range: tuple[float, float] | int | None = picture.x_range
        self.truncated: int | None = picture.truncated
        self.y_range: tuple[float, float] | None = picture.y_range
        self.log_scale = picture.log_scale
        self.elitism = picture.elitism
        self.writer_kwargs = picture.writer_kwargs
        self.movie_kwargs = picture.movie_kwargs

    def _settings(self) -> dict[str, Any]:
        x_range = list(self.x_range) if isinstance(self.x_range, tuple) else self.x_range
        return {"x_range": x_range, "y_range": None if self.y_range is None
                else list(self.y_range), "log_scale": self.log_scale,
                "elitism": self.elitism, "writer_kwargs": self.writer_kwargs,
                "movie_kwargs": self.movie_kwargs}

    def _style_axes(self) -> None:
        self._canvas.style(truncated=self.truncated, elitism=self.elitism,
                           log_scale=self.log_scale, x_range=self.x_range,
                           y_range=self.y_range)

    # ------------------------------------------------------------------------ streams
    @property
    def x_max(self) -> int:
        """The farthest call id ever plotted."""
        return self._data.x_max

    @property
    def n_streams(self) -> int:
        """Number of optimizers in the plot."""
        return self._data.n_streams

    @property
    def points_in_memory(self) -> int:
        """Number of evaluations the scope holds (at most ``truncated`` if set)."""
        return self._data.points_in_memory

    def add_stream(self, opt_id: int, opt_type: str | None = None) -> None:
        """Register and set up a new optimizer in the scope.

        Parameters
        ----------
        opt_id
            Unique, GloMPO assigned, optimizer identification key.
        opt_type
            Name of the optimizer type or configuration; used in the legend only.
        """
        if opt_id in self._data:
            self.logger.debug("optimizer %d is already in the scope", opt_id)
            return
        self._canvas.add_line(self._data.add(int(opt_id), opt_type, self.color_map.N))
        self._event()

    def update_optimizer(self, opt_id: int, pt: tuple[Any, Any]) -> None:
        """Add evaluations to the ``opt_id`` optimizer's plot.

        Parameters
        ----------
        opt_id
            The optimizer (added with :meth:`add_stream` if it is new).
        pt
            ``(call_ids, fx)``: one evaluation (two numbers) or arrays of equal length.

        Raises
        ------
        ValueError
            ``call_ids`` and ``fx`` do not have the same length.
        """
        x = np.atleast_1d(np.asarray(pt[0])).astype(np.int64, copy=False).ravel()
        fx = np.atleast_1d(np.asarray(pt[1], dtype=float)).ravel()
        if len(x) != len(fx):
            raise ValueError(f"update_optimizer: {len(x)} call ids but {len(fx)} function "
                             "values")
        if len(x) == 0:
            return
        if opt_id not in self._data:
            self.add_stream(opt_id)
        self._data.extend(opt_id, x, fx, elitism=self.elitism, log_scale=self.log_scale,
                          truncated=self.truncated)
        self._event()

    def _end(self, opt_id: int, kind: str) -> None:
        if not self._data.end(opt_id, kind):
            self.logger.debug("%s: optimizer %d is not in the scope", kind, opt_id)
        self._event()

    def _mark(self, opt_id: int, kind: str) -> None:
        self._data.mark(opt_id, kind)
        self._event()

    def update_kill(self, opt_id: int) -> None:
        """Show that the manager stopped the ``opt_id`` optimizer, at its final point."""
        self._end(opt_id, "stopped")

    def update_norm_terminate(self, opt_id: int) -> None:
        """Show that the ``opt_id`` optimizer converged, at its final point."""
        self._end(opt_id, "converged")

    def update_crash_terminate(self, opt_id: int) -> None:
        """Show that the ``opt_id`` optimizer crashed, at its final point."""
        self._end(opt_id, "crashed")

    def update_pause(self, opt_id: int) -> None:
        """Show a pause of the ``opt_id`` optimizer at the point it has reached."""
        self._mark(opt_id, "paused")

    def update_checkpoint(self, opt_id: int) -> None:
        """Show a checkpoint at the point the ``opt_id`` optimizer has reached."""
        self._mark(opt_id, "checkpoint")

    def get_farthest_pt(self, opt_id: int) -> tuple[int, float] | None:
        """Return the farthest evaluated point ``(call_id, plotted value)`` of ``opt_id``.

        Returns
        -------
        tuple or None
            None if the optimizer is unknown or has no evaluation yet. The point is
            remembered even once the window (``truncated``) has discarded it.
        """
        return self._data.farthest(opt_id)

    # ------------------------------------------------------------------------ drawing
    def _event(self) -> None:
        self._pending += 1
        if self._pending >= self.events_per_flush:
            self._flush()

    def _flush(self, *, force: bool = False) -> None:
        """Redraw: update the artists, refresh a shown window, record a movie frame.

        Without a window or a movie nobody sees the figure during the run: the artists
        are then only marked out of date (and updated at the end of the run, or when
        ``force``), which makes such a scope nearly free.
        """
        self._pending = 0
        if self._closed:
            return
        if not (force or self.interactive_mode or self.is_setup):
            self._stale = True
            return
        self._sync_artists()
        if self.interactive_mode:
            self._canvas.refresh()
        if self.is_setup:
            self._movie.grab(self.fig, self.writer_kwargs,
                             self.movie_kwargs.get("dpi", self.fig.dpi))
            self.n_frames += 1

    def _sync_artists(self) -> None:
        """Give the artists the current data, limits and legend."""
        self._stale = False
        self._canvas.sync(self._data, x_range=self.x_range, truncated=self.truncated,
                          y_range=self.y_range)

    def close_fig(self) -> None:
        """Close the figure at the end of the run.

        pyplot keeps the figures it shows alive as long as the process lives; a loop of
        runs would accumulate them. The scope's figure is off-screen (not pyplot's)
        unless it is shown, and is then closed here. Closing is final: later updates
        change the data only.
        """
        if self._closed:
            return
        if self._stale:
            self._sync_artists()
        self._closed = True
        self._canvas.close()
