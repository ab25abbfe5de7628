"""GloMPOScope: the live plot of a GloMPO run, and its movie.

The scope draws every child optimizer's function values against the universal
evaluation number (the call id) and marks where optimizers were stopped by the
manager, converged, crashed, paused and checkpointed. The manager builds it through
the ``glompo_create_visualisation`` hook (``setup(visualisation=True,
visualisation_args={...})``) and registers it as a run-scoped plugin: its ``@hookimpl``
methods receive the run's lifecycle hooks, all from the manager's thread.

The class is put together from the package's modules: the live plot
(:mod:`glompo_scope._plot`: the data of the trajectories in
:mod:`glompo_scope._trajectories`, the figure in :mod:`glompo_scope._canvas`), the movie
(:mod:`glompo_scope._movie`: frames piped to ffmpeg as the run goes, in segments that a
checkpoint keeps, so that the movie of a resumed run shows the whole run) and the
checkpoint files (:mod:`glompo_scope._checkpoint`). This module ties them to the run's
hooks.

The ffmpeg binary is the system's (``shutil.which('ffmpeg')``) if there is one, else
the one shipped by imageio-ffmpeg; ``rcParams['animation.ffmpeg_path']`` set by the
user to an existing program takes precedence over both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glompo_core import hookimpl
from glompo_scope import _checkpoint
from glompo_scope._common import MOVIE_NAME, ScopeError
from glompo_scope._movie import free_name, require_ffmpeg
from glompo_scope._plot import ScopePlot

if TYPE_CHECKING:
    from matplotlib.animation import FFMpegWriter

    from glompo_core.protocols import ManagerView

__all__ = ["MOVIE_NAME", "GloMPOScope", "ScopeError"]


class GloMPOScope(ScopePlot):
    """Constructs and records the dynamic plot of the optimizers of a run.

    One line per optimizer: its function values (or, with ``elitism``, its best value
    so far) against the universal evaluation number. Markers show where the manager
    stopped an optimizer, where one converged or crashed, and the pauses and checkpoints.
    The manager creates the scope (``setup(visualisation=True, visualisation_args=...)``)
    and feeds it through lifecycle hooks; users need not call its methods.

    Parameters
    ----------
    x_range
        None: the x-axis grows from zero with the number of evaluations. ``(min, max)``:
        the x-axis is fixed to this range. An integer ``n``: only the last ``n``
        evaluations of the run are shown *and kept*: older points are discarded, so the
        scope holds at most ``n`` points at any time, whatever the length of the run.
    y_range
        Fixed ``(min, max)`` of the y-axis; by default it follows the data. With
        ``log_scale`` it is given in the plotted (logarithmic) units.
    log_scale
        Plot ``sign(f) * log10(1 + |f|)`` instead of ``f``: logarithmic for large
        values, defined for zero and negative ones.
    record_movie
        Record the plot into an MPEG-4 movie, written to the run's working directory
        as ``glompo_optimizer_scope.mp4`` when the run ends (never over an existing
        file: ``..._1.mp4`` and so on, logged).
    interactive_mode
        Show the plot in a window during the run, where a display exists. Without one
        (headless, ``DISPLAY`` unset) this is logged once and the scope draws off-screen
        (still recording the movie if asked).
    events_per_flush
        Number of events (iteration batches, optimizer starts and ends, pauses,
        checkpoints) between redraws; each redraw is one movie frame. Without a window
        or a movie nothing is drawn during the run: the figure is brought up to date
        at its end.
    elitism
        Plot each optimizer's best value so far instead of every value.
    writer_kwargs
        Arguments of :class:`matplotlib.animation.FFMpegWriter` (``fps``, ``codec``,
        ``bitrate``, ``extra_args``, ``metadata``).
    movie_kwargs
        Arguments of ``FFMpegWriter.setup``: ``outfile`` (a relative path is relative to
        the run's working directory) and ``dpi``.

    Raises
    ------
    ValueError
        An argument has a wrong value.
    TypeError
        ``writer_kwargs`` or ``movie_kwargs`` hold an unknown argument.
    ScopeError
        ``record_movie`` is True and no ffmpeg program can be found.

    Attributes
    ----------
    ax : matplotlib.axes.Axes
        Axes onto which the data are plotted.
    fig : matplotlib.figure.Figure
        Figure holding ``ax``.
    color_map : matplotlib.colors.ListedColormap
        The GloMPO colour sequence (optimizer ``i`` has colour ``i mod 20``).
    elitism, events_per_flush, log_scale, record_movie
        As the parameters.
    interactive_mode : bool
        True if the plot is really shown in a window (False headless, even if asked).
    gen_streams : dict[str, matplotlib.lines.Line2D]
        The marker plots: ``'stopped'``, ``'converged'``, ``'crashed'``, ``'paused'``,
        ``'checkpoint'``.
    opt_streams : dict[int, matplotlib.lines.Line2D]
        The trajectory of each optimizer, by optimizer id.
    leg_elements : list[matplotlib.lines.Line2D]
        The legend's entries: the marker kinds, then one per optimizer.
    logger : logging.Logger
        ``glompo.scope``.
    n_streams : int
        Number of optimizers in the plot.
    truncated : int or None
        ``x_range`` if it is an integer: the number of evaluations kept.
    x_max : int
        The farthest call id ever plotted.
    is_setup : bool
        True once :meth:`setup_moviemaker` has run: frames are being recorded.
    n_frames : int
        Movie frames recorded so far (including those of earlier sessions of the run).
    movie_path : pathlib.Path or None
        The movie written by :meth:`generate_movie`.

    Notes
    -----
    The plot is updated by the lifecycle hooks, from the manager's thread. If one of
    them raises, the error is logged by GloMPO with the plugin's name and the scope
    receives no further events (``glompo_run_finished`` included): before re-raising,
    the scope therefore closes its ffmpeg writer, writes the movie recorded so far and
    closes its figure itself.

    Examples
    --------
    The manager calls its hooks during a run; here by hand, off-screen (an Agg canvas,
    no window):

    >>> import numpy as np
    >>> from glompo_core.testing import FakeManagerView
    >>> from glompo_scope import GloMPOScope
    >>> scope = GloMPOScope(x_range=None, interactive_mode=False)
    >>> type(scope.fig.canvas).__name__
    'FigureCanvasAgg'
    >>> scope.glompo_run_started(manager=FakeManagerView())
    >>> scope.glompo_optimizer_started(opt_id=1, optimizer_type="CMAOptimizer")
    >>> scope.glompo_optimizer_started(opt_id=2, optimizer_type="RandomOptimizer")
    >>> scope.glompo_iteration_batch(opt_id=1, call_ids=np.array([1, 2, 3]),
    ...                              fx=np.array([5.0, 3.0, 4.0]))
    >>> scope.glompo_iteration_batch(opt_id=2, call_ids=np.array([4, 5]),
    ...                              fx=np.array([9.0, 8.5]))
    >>> scope.glompo_optimizer_stopped(opt_id=2)
    >>> scope.glompo_optimizer_converged(opt_id=1)
    >>> scope.n_streams, scope.x_max, scope.get_farthest_pt(2)
    (2, 5, (5, 8.5))
    >>> [entry.get_label() for entry in scope.leg_elements][-2:]
    ['1: CMAOptimizer', '2: RandomOptimizer']

    Nobody watches this figure, so it is brought up to date when the run ends (and then
    closed):

    >>> scope.glompo_run_finished()
    >>> scope.opt_streams[1].get_ydata().tolist()
    [5.0, 3.0, 4.0]
    >>> [kind for kind, line in scope.gen_streams.items() if len(line.get_xdata())]
    ['stopped', 'converged']
    >>> [int(x) for x in scope.gen_streams["stopped"].get_xdata()]   # at its last point
    [5]
    """

    # -------------------------------------------------------------------------- movie
    @property
    def _writer(self) -> FFMpegWriter | None:
        """The ffmpeg writer of the movie segment being recorded (None between segments)."""
        return self._movie.writer

    @property
    def _segment_dir(self) -> Any:
        """The temporary directory of the movie's segments (None if there is none)."""
        return self._movie.segment_dir

    def setup_moviemaker(self, path: Path | str | None = None) -> None:
        """Prepare the recording; frames are recorded from the next redraw on.

        Parameters
        ----------
        path
            Directory of the movie. The file name is that of ``movie_kwargs['outfile']``
            if given, else ``glompo_optimizer_scope.mp4``. Without ``path``,
            ``movie_kwargs['outfile']`` is used (relative to the run's working
            directory), else the working directory (or the current directory outside a
            run).

        Raises
        ------
        ScopeError
            No ffmpeg program can be found.
        """
        if self._movie.ffmpeg is None:
            self._movie.ffmpeg = require_ffmpeg()
        outfile = self.movie_kwargs.get("outfile")
        base = self._working_dir or Path.cwd()
        if path is not None:
            target = Path(path) / (Path(outfile).name if outfile else MOVIE_NAME)
        elif outfile:
            target = Path(outfile)
        else:
            target = base / MOVIE_NAME
        self._movie.target = target if target.is_absolute() else base / target
        self._movie.segments_dir()
        self.is_setup = True
        self.logger.info("recording the scope's movie (ffmpeg: %s) for %s", self._movie.ffmpeg,
                         self._movie.target)

    def generate_movie(self) -> Path | None:
        """Write the frames recorded so far into a single movie.

        The segments of every session of the run (see the module's notes) are joined
        without re-encoding. An existing file is never overwritten: the movie then goes
        to ``<name>_1.mp4`` (or ``_2``, ...) and this is logged.

        Returns
        -------
        pathlib.Path or None
            The movie, or None if no frame was recorded.

        Raises
        ------
        ScopeError
            :meth:`setup_moviemaker` was not called, or ffmpeg failed.
        """
        wanted = self._movie.target
        if wanted is None:
            raise ScopeError("generate_movie: call setup_moviemaker() first (or create the "
                             "scope with record_movie=True)")
        self._movie.finish_segment()
        segments = self._movie.recorded()
        if not segments:
            self.logger.warning("no frame of the scope was recorded: no movie is written")
            return None
        target = free_name(wanted)
        if target != wanted:
            self.logger.warning("%s already exists (the movie of another run?): this run's "
                                "movie is written to %s instead", wanted, target)
        self._movie.join(segments, target)
        self.movie_path = target
        self.logger.info("movie of the scope written: %s (%d frames)", target, self.n_frames)
        return target

    # --------------------------------------------------------------------- checkpoints
    def checkpoint_save(self, path: Path | str = "") -> None:
        """Save the scope's state into the directory ``path``, to resume the run later.

        The state holds the settings, every stream's data and markers, and the movie
        segments recorded so far (the current one is completed first, so the checkpoint
        holds every frame up to now). A run resumed from the checkpoint continues the
        same picture and, at its end, writes a movie of the whole run.

        Parameters
        ----------
        path
            Directory into which the files are written (created if needed).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.is_setup and not self._failed:
            try:
                if self._pending:
                    self._flush()
                self._movie.finish_segment()
            except Exception as exc:  # the data state is saved regardless
                self.logger.warning("the movie segment could not be completed for the "
                                    "checkpoint (%s); the checkpoint holds the frames before "
                                    "it", exc)
        streams, arrays = self._data.snapshot()
        _checkpoint.write_state(path, settings=self._settings(), streams=streams,
                                arrays=arrays, segments=self._movie.segments,
                                counters={"x_max": self.x_max, "n_streams": self.n_streams,
                                          "n_frames": self.n_frames})

    def checkpoint_load(self, path: Path | str) -> None:
        """Load a state saved by :meth:`checkpoint_save` into this (fresh) scope.

        The streams, the markers, the recorded movie segments and the settings that
        define the picture (``x_range``, ``y_range``, ``log_scale``, ``elitism``,
        ``writer_kwargs``, ``movie_kwargs``) are those of the saved scope;
        ``record_movie``, ``interactive_mode`` and ``events_per_flush`` are this
        scope's.

        Parameters
        ----------
        path
            Directory holding the files :meth:`checkpoint_save` wrote.

        Raises
        ------
        ScopeError
            No saved scope in ``path``, a state of another format, or this scope has
            already been used.
        """
        path = Path(path)
        state = _checkpoint.read_state(path)
        if self._data.streams or self.n_frames:
            raise ScopeError("checkpoint_load needs a fresh scope: this one already has data")
        saved = state["settings"]
        mine = self._settings()
        changed = sorted(k for k in saved if saved[k] != mine.get(k))
        if changed:
            self.logger.info("resuming the scope with the checkpoint's %s: %s",
                             ", ".join(changed), {k: saved[k] for k in changed})
        x_range = saved["x_range"]
        self._configure(x_range=tuple(x_range) if isinstance(x_range, list) else x_range,
                        y_range=saved["y_range"], log_scale=saved["log_scale"],
                        elitism=saved["elitism"], writer_kwargs=saved["writer_kwargs"],
                        movie_kwargs=saved["movie_kwargs"])
        self._style_axes()
        for stream in self._data.restore(state["streams"], _checkpoint.read_arrays(path)):
            self._canvas.add_line(stream)
        self._data.n_streams = int(state["n_streams"])
        self._data.x_max = int(state["x_max"])
        self.n_frames = int(state["n_frames"])
        for name in state["segments"]:
            source = _checkpoint.saved_segment(path, name)
            if not source.exists():
                self.logger.warning("movie segment %s is missing from the checkpoint: the "
                                    "movie will lack its frames", name)
                continue
            self._movie.keep(source, name)
        self._sync_artists()

    def load_state(self, path: Path | str) -> None:
        """Load a saved scope state (the reference's name of :meth:`checkpoint_load`)."""
        self.checkpoint_load(path)

    # -------------------------------------------------------------------------- hooks
    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Run a hook; if it fails, clean up before GloMPO logs the error and mutes us."""
        try:
            yield
        except Exception:
            self._fail()
            raise

    def _fail(self) -> None:
        """Last acts of a failed scope: GloMPO will not call it again, not even at the end."""
        if self._failed:
            return
        self._failed = True
        movie = None
        try:
            if self._movie.target is not None and (self.n_frames or self._movie.writer is not None):
                movie = self.generate_movie()
        except Exception as exc:
            self.logger.debug("no movie could be made after the failure: %s", exc)
        finally:
            self._movie.discard()
            self.close_fig()
        if movie is not None:
            self.logger.warning("the scope stops here; the movie of the run up to this point "
                                "is %s", movie)

    @hookimpl
    def glompo_run_started(self, manager: ManagerView) -> None:
        """Learn the working directory; start recording if ``record_movie``."""
        with self._guard():
            working_dir = getattr(manager, "working_dir", None)
            self._working_dir = None if working_dir is None else Path(working_dir)
            if self.record_movie and not self.is_setup:
                outfile = self.movie_kwargs.get("outfile")
                self.setup_moviemaker(None if outfile else self._working_dir)

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int, optimizer_type: str) -> None:
        """A new line for the new optimizer."""
        with self._guard():
            self.add_stream(opt_id, optimizer_type)

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: np.ndarray,
                               fx: np.ndarray) -> None:
        """Plot the batch's function values (or running best) at their call ids."""
        with self._guard():
            self.update_optimizer(opt_id, (call_ids, fx))

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int) -> None:
        """Mark the optimizer stopped by the manager."""
        with self._guard():
            self.update_kill(opt_id)

    @hookimpl
    def glompo_optimizer_converged(self, opt_id: int) -> None:
        """Mark the optimizer that converged."""
        with self._guard():
            self.update_norm_terminate(opt_id)

    @hookimpl
    def glompo_optimizer_crashed(self, opt_id: int) -> None:
        """Mark the optimizer that crashed."""
        with self._guard():
            self.update_crash_terminate(opt_id)

    @hookimpl
    def glompo_optimizer_paused(self, opt_id: int) -> None:
        """Mark the pause."""
        with self._guard():
            self.update_pause(opt_id)

    @hookimpl
    def glompo_checkpoint_written(self) -> None:
        """Mark the checkpoint on every optimizer still running."""
        with self._guard():
            for stream in list(self._data):
                if stream.end_kind is None and stream.last is not None:
                    self.update_checkpoint(stream.opt_id)

    @hookimpl
    def glompo_run_finished(self) -> None:
        """Final redraw; write the movie if recording; close the figure."""
        with self._guard():  # on failure, _fail() retries the movie and cleans up
            if self._pending or (self.is_setup and self.n_frames == 0):
                self._flush(force=True)  # the last events, and the final frame
            elif self._stale:
                self._sync_artists()
            if self.is_setup:
                self.generate_movie()
            self.close_fig()
            self._movie.discard()
