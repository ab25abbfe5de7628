"""GloMPOScope driven by real (short) GloMPO runs, headless (Agg), threads backend."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import glompo_scope.hooks
import imageio_ffmpeg
import numpy as np
import pytest
from glompo_scope import MOVIE_NAME, GloMPOScope, ScopeError

from glompo_core import GloMPOManager, hookimpl
from glompo_core.checkpointing import CheckpointingControl
from glompo_core.exit_conditions import MaxFuncCalls
from glompo_core.plugins import PluginManager
from glompo_core.selectors import CycleSelector
from glompo_core.stoppers import MinFuncCalls

BOUNDS = [(-2.0, 2.0)] * 3


def sphere(x: Sequence[float]) -> float:
    return float(np.sum(np.asarray(x) ** 2))


class FailsOnce:
    """The sphere, but call number ``at`` raises."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, x: Sequence[float]) -> float:
        with self.lock:
            self.calls += 1
            n = self.calls
        if n == self.at:
            raise RuntimeError("the task failed")
        return sphere(x)


class Recorder:
    """What the run told its plugins: the batches and the optimizers' ends."""

    def __init__(self) -> None:
        self.batches: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.started: list[int] = []
        self.ends: dict[str, list[int]] = {"stopped": [], "converged": [], "crashed": []}
        self.scope_points: list[int] = []
        self.manager: GloMPOManager | None = None

    @hookimpl
    def glompo_optimizer_started(self, opt_id: int) -> None:
        self.started.append(opt_id)

    @hookimpl
    def glompo_iteration_batch(self, opt_id: int, call_ids: np.ndarray, fx: np.ndarray) -> None:
        self.batches.setdefault(opt_id, []).append((np.array(call_ids), np.array(fx)))
        if self.manager is not None and self.manager.scope is not None:
            self.scope_points.append(self.manager.scope.points_in_memory)

    @hookimpl
    def glompo_optimizer_stopped(self, opt_id: int) -> None:
        self.ends["stopped"].append(opt_id)

    @hookimpl
    def glompo_optimizer_converged(self, opt_id: int) -> None:
        self.ends["converged"].append(opt_id)

    @hookimpl
    def glompo_optimizer_crashed(self, opt_id: int) -> None:
        self.ends["crashed"].append(opt_id)

    def history(self, opt_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Its evaluations (none for an optimizer started as the budget ran out)."""
        parts = self.batches.get(opt_id) or [(np.empty(0, dtype=int), np.empty(0))]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    def n_events(self) -> int:
        """Events the scope counts in a run without checkpoints."""
        return (len(self.started) + sum(len(b) for b in self.batches.values())
                + sum(len(v) for v in self.ends.values()))


def run(tmp_path: Path, vis: dict[str, Any], *, scope_plugin: Any = None,
        **kw: Any) -> tuple[GloMPOManager, Recorder]:
    """A short seeded run with the scope; returns the manager and what the hooks saw."""
    rec = Recorder()
    pm = PluginManager(load_entrypoints=False,
                       plugins=[("scope", scope_plugin or glompo_scope.hooks), ("rec", rec)])
    settings: dict[str, Any] = dict(
        task=sphere, bounds=BOUNDS,
        opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 3})),
        working_dir=tmp_path / "run", max_jobs=2, backend="threads",
        exit_conditions=MaxFuncCalls(fmax=300), split_printstreams=False, seed=3,
        visualisation=True, visualisation_args=vis, plugin_manager=pm)
    settings.update(kw)
    manager = GloMPOManager.new_manager(**settings)
    rec.manager = manager
    manager.start_manager()
    return manager, rec


def line_xy(scope: GloMPOScope, opt_id: int) -> tuple[np.ndarray, np.ndarray]:
    line = scope.opt_streams[opt_id]
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


def markers(scope: GloMPOScope, kind: str) -> set[tuple[int, float]]:
    line = scope.gen_streams[kind]
    return {(int(x), float(y)) for x, y in zip(line.get_xdata(), line.get_ydata())}


def last_point(rec: Recorder, opt_id: int) -> tuple[int, float]:
    x, fx = rec.history(opt_id)
    return int(x[-1]), float(fx[-1])


def read_frames(path: Path) -> list[np.ndarray]:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = gen.send(None)
    width, height = meta["size"]
    return [np.frombuffer(f, dtype=np.uint8).reshape(height, width, 3) for f in gen]


# ---------------------------------------------------------------------------- streams
def test_streams_are_call_ids_against_fx(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None})
    scope = manager.scope
    assert isinstance(scope, GloMPOScope)
    assert sorted(scope.opt_streams) == rec.started == list(range(1, scope.n_streams + 1))
    total = 0
    for opt_id in rec.started:
        x, fx = rec.history(opt_id)
        sx, sy = line_xy(scope, opt_id)
        np.testing.assert_array_equal(sx, x)
        np.testing.assert_array_equal(sy, fx)
        if len(x):
            assert scope.get_farthest_pt(opt_id) == last_point(rec, opt_id)
        total += len(x)
    assert total == manager.f_counter == scope.x_max == scope.points_in_memory
    assert scope.opt_streams[1].get_color() != scope.opt_streams[2].get_color()
    labels = [e.get_label() for e in scope.leg_elements]
    assert labels[5:] == [f"{i}: RandomOptimizer" for i in rec.started]


def test_elitism_plots_each_optimizers_running_best(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None, "elitism": True})
    for opt_id in rec.started:
        x, fx = rec.history(opt_id)
        sx, sy = line_xy(manager.scope, opt_id)
        np.testing.assert_array_equal(sx, x)
        np.testing.assert_array_equal(sy, np.minimum.accumulate(fx))
    assert manager.scope.ax.get_ylabel() == "Best function value so far"


def test_log_scale_plots_signed_log10(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None, "log_scale": True})
    _, fx = rec.history(1)
    np.testing.assert_allclose(line_xy(manager.scope, 1)[1], np.log10(1 + fx))


# ---------------------------------------------------------------------------- markers
def test_a_stopped_optimizer_gets_a_kill_marker_at_its_last_point(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None}, stoppers=MinFuncCalls(min_pts=30),
                       stopcheck_interval=10, apply_stoppers_to_best=True)
    assert rec.ends["stopped"], "the stopper stopped nobody"
    assert markers(manager.scope, "stopped") == {last_point(rec, o) for o in rec.ends["stopped"]}
    assert not markers(manager.scope, "converged") and not markers(manager.scope, "crashed")


def test_a_converged_optimizer_gets_a_convergence_marker(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None},
                       opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 2, "iters": 10})))
    assert len(rec.ends["converged"]) >= 10
    assert markers(manager.scope, "converged") == {last_point(rec, o)
                                                   for o in rec.ends["converged"]}


def test_a_crash_gets_a_crash_marker_at_the_last_recorded_point(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None}, task=FailsOnce(at=25), max_jobs=1,
                       opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1})),
                       task_errors="crash")
    assert rec.ends["crashed"] == [1]
    x, fx = rec.history(1)
    assert x[-1] == 25 and np.isnan(fx[-1])  # call 25 raised: recorded as failed (NaN)
    assert markers(manager.scope, "crashed") == {(24, float(fx[-2]))}  # its last value
    assert len(line_xy(manager.scope, 2)[0]) == manager.f_counter - 25  # the run went on


def test_a_failed_evaluation_is_a_gap_in_the_line_and_the_optimizer_goes_on(
        tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": None}, task=FailsOnce(at=25), max_jobs=1,
                       opt_selector=CycleSelector(("RandomOptimizer", {"popsize": 1})))
    assert not rec.ends["crashed"] and manager.result.stats["failed_evaluations"] == 1
    x, fx = rec.history(1)
    assert np.isnan(fx[24]) and len(x) == manager.f_counter  # one optimizer, every call
    assert not markers(manager.scope, "crashed")


# ------------------------------------------------------------------------- the window
def test_an_integer_x_range_keeps_only_the_last_evaluations(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"x_range": 40}, exit_conditions=MaxFuncCalls(fmax=600),
                       stoppers=MinFuncCalls(min_pts=90), apply_stoppers_to_best=True,
                       stopcheck_interval=10)
    scope = manager.scope
    assert scope.truncated == 40 and scope.x_max == manager.f_counter
    assert len(rec.scope_points) > 100
    assert max(rec.scope_points) <= 40  # bounded at every moment of the run
    cutoff = scope.x_max - 40
    shown = 0
    for opt_id in rec.started:
        x, fx = rec.history(opt_id)
        sx, sy = line_xy(scope, opt_id)
        keep = x > cutoff
        np.testing.assert_array_equal(sx, x[keep])
        np.testing.assert_array_equal(sy, fx[keep])
        shown += len(sx)
    assert shown == scope.points_in_memory == 40
    assert scope.ax.get_xlim() == (cutoff, scope.x_max + 1)
    stopped = {last_point(rec, o) for o in rec.ends["stopped"]}
    assert markers(scope, "stopped") == {p for p in stopped if p[0] > cutoff}


def test_x_range_none_grows_and_a_pair_is_fixed(tmp_path: Path) -> None:
    grown, _ = run(tmp_path / "a", {"x_range": None})
    assert grown.scope.ax.get_xlim()[0] == 0 and grown.scope.ax.get_xlim()[1] >= 300
    fixed, _ = run(tmp_path / "b", {"x_range": (50, 150), "y_range": (0, 2)})
    assert fixed.scope.ax.get_xlim() == (50, 150) and fixed.scope.ax.get_ylim() == (0, 2)


# ----------------------------------------------------------------------------- movies
def test_the_movie_has_a_frame_per_flush_and_shows_the_plot(tmp_path: Path) -> None:
    manager, rec = run(tmp_path, {"record_movie": True, "events_per_flush": 5,
                                  "x_range": None})
    scope = manager.scope
    movie = tmp_path / "run" / MOVIE_NAME
    assert scope.movie_path == movie and movie.exists()
    events = rec.n_events()
    assert scope.n_frames == events // 5 + (events % 5 > 0)  # + the final frame
    n_frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(movie))
    assert n_frames == scope.n_frames and seconds == pytest.approx(n_frames / 5, abs=0.3)
    frames = read_frames(movie)
    assert len(frames) == n_frames and frames[0].shape == (600, 1000, 3)
    assert frames[-1].std() > 20  # not blank
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 1  # it moves
    from PIL import Image

    Image.fromarray(frames[-1]).save(tmp_path / "last_frame.png")
    assert scope._writer is None and scope._segment_dir is None  # ffmpeg and files closed


def test_an_existing_movie_is_never_overwritten(tmp_path: Path, caplog: Any) -> None:
    (tmp_path / "run").mkdir()
    old = tmp_path / "run" / MOVIE_NAME
    old.write_bytes(b"the movie of another run")
    # a new run refuses a working dir holding another run's movie, like any other output
    with pytest.raises(FileExistsError, match=MOVIE_NAME):
        run(tmp_path, {"record_movie": True, "events_per_flush": 20})
    # the scope itself never overwrites one either (e.g. the file appeared meanwhile)
    from glompo_scope.scope import GloMPOScope

    original = GloMPOScope.setup_moviemaker

    def appear_then_setup(self: Any, *args: Any, **kwargs: Any) -> Any:
        old.write_bytes(b"the movie of another run")
        return original(self, *args, **kwargs)

    old.unlink()
    GloMPOScope.setup_moviemaker = appear_then_setup  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.WARNING, logger="glompo.scope"):
            manager, _ = run(tmp_path, {"record_movie": True, "events_per_flush": 20})
    finally:
        GloMPOScope.setup_moviemaker = original  # type: ignore[method-assign]
    assert old.read_bytes() == b"the movie of another run"
    assert manager.scope.movie_path == tmp_path / "run" / "glompo_optimizer_scope_1.mp4"
    assert imageio_ffmpeg.count_frames_and_secs(str(manager.scope.movie_path))[0] > 0
    assert "already exists" in caplog.text and "glompo_optimizer_scope_1.mp4" in caplog.text


def test_movie_kwargs_outfile_is_relative_to_the_working_dir(tmp_path: Path) -> None:
    manager, _ = run(tmp_path, {"record_movie": True, "events_per_flush": 50,
                                "movie_kwargs": {"outfile": "movies/scope.mp4", "dpi": 50},
                                "writer_kwargs": {"fps": 10}})
    movie = tmp_path / "run" / "movies" / "scope.mp4"
    assert manager.scope.movie_path == movie
    assert read_frames(movie)[0].shape == (300, 500, 3)


# ------------------------------------------------------------------------ checkpoints
def test_a_resumed_run_continues_the_streams_and_the_movie(tmp_path: Path) -> None:
    vis = {"record_movie": True, "events_per_flush": 10, "x_range": None, "elitism": True}
    first, rec1 = run(tmp_path, vis, exit_conditions=MaxFuncCalls(fmax=400),
                      checkpoint_control=CheckpointingControl(checkpoint_iter_frequency=200))
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("*.tar.gz"))
    assert len(checkpoints) >= 1
    rec2 = Recorder()
    pm = PluginManager(load_entrypoints=False,
                       plugins=[("scope", glompo_scope.hooks), ("rec", rec2)])
    resumed = GloMPOManager()
    resumed.load_checkpoint(checkpoints[0], plugin_manager=pm, working_dir=tmp_path / "resumed",
                            exit_conditions=MaxFuncCalls(fmax=700))
    at_checkpoint = resumed.f_counter
    resumed.start_manager()
    scope = resumed.scope
    for opt_id in rec1.started:
        x1, fx1 = rec1.history(opt_id)
        before = x1 <= at_checkpoint
        sx, sy = line_xy(scope, opt_id)
        # the first session's points up to the checkpoint, then the resumed session's
        np.testing.assert_array_equal(sx[:before.sum()], x1[before])
        np.testing.assert_array_equal(sy[:before.sum()], np.minimum.accumulate(fx1)[before])
        if opt_id in rec2.batches:
            x2, _ = rec2.history(opt_id)
            np.testing.assert_array_equal(sx[before.sum():], x2)
            assert np.all(np.diff(sy) <= 0)  # the running best carried across the restart
    assert len(markers(scope, "checkpoint")) >= 2
    frames_then = first.scope.n_frames
    movie = tmp_path / "resumed" / MOVIE_NAME
    n_frames = imageio_ffmpeg.count_frames_and_secs(str(movie))[0]
    assert n_frames == scope.n_frames > 0
    frames = read_frames(movie)
    assert frames[0].std() > 10 and frames[-1].std() > 10
    # the movie starts with the first session's frames (those before the checkpoint)
    first_frames = read_frames(tmp_path / "run" / MOVIE_NAME)
    assert len(first_frames) == frames_then
    assert np.abs(frames[0].astype(int) - first_frames[0].astype(int)).mean() < 2


def test_checkpoint_save_and_load_round_trip(tmp_path: Path) -> None:
    scope = GloMPOScope(x_range=100, elitism=True, events_per_flush=3)
    scope.add_stream(1, "A")
    scope.add_stream(2, "B")
    scope.update_optimizer(1, ([1, 2, 3], [3.0, 1.0, 2.0]))
    scope.update_optimizer(2, ([4, 5], [9.0, 8.0]))
    scope.update_pause(2)
    scope.update_norm_terminate(1)
    scope.checkpoint_save(tmp_path / "state")
    loaded = GloMPOScope(x_range=None, events_per_flush=1)  # the saved picture wins
    loaded.checkpoint_load(tmp_path / "state")
    assert loaded.truncated == 100 and loaded.elitism and loaded.events_per_flush == 1
    assert loaded.n_streams == 2 and loaded.x_max == 5
    np.testing.assert_array_equal(line_xy(loaded, 1)[1], [3.0, 1.0, 1.0])
    assert markers(loaded, "converged") == {(3, 1.0)} and markers(loaded, "paused") == {(5, 8.0)}
    assert markers(loaded, "checkpoint") == {(5, 8.0)}  # opt 2 was running at the checkpoint
    loaded.update_optimizer(1, (6, 0.5))
    loaded.update_optimizer(1, (7, 4.0))
    assert loaded.get_farthest_pt(1) == (7, 0.5)  # elitism carried on
    loaded.add_stream(3)
    assert loaded.opt_streams[3].get_color() != loaded.opt_streams[1].get_color()
    with pytest.raises(ScopeError, match="needs a fresh scope"):
        loaded.checkpoint_load(tmp_path / "state")
    with pytest.raises(ScopeError, match="holds no saved scope"):
        GloMPOScope().checkpoint_load(tmp_path)


# --------------------------------------------------------------------------- failures
class BrokenScope(GloMPOScope):
    """Raises in its 30th update."""

    calls = 0

    def update_optimizer(self, opt_id: int, pt: tuple[Any, Any]) -> None:
        self.calls += 1
        if self.calls == 30:
            raise ValueError("the scope broke")
        super().update_optimizer(opt_id, pt)


class BrokenProvider:
    made: list[BrokenScope] = []

    @hookimpl
    def glompo_create_visualisation(self, settings: dict[str, Any]) -> BrokenScope:
        scope = BrokenScope(**settings)
        self.made.append(scope)
        return scope


def test_a_failing_scope_is_logged_once_muted_and_still_closes_its_movie(
        tmp_path: Path, caplog: Any) -> None:
    with caplog.at_level(logging.INFO):
        manager, _ = run(tmp_path, {"record_movie": True, "events_per_flush": 5},
                           scope_plugin=BrokenProvider())
    scope = BrokenProvider.made[0]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "glompo_iteration_batch" in errors[0].getMessage()
    assert "disabled for the rest of the run" in errors[0].getMessage()
    assert caplog.text.count("ValueError: the scope broke") == 1  # the cause, once
    assert manager.f_counter >= 300  # the run went on
    # before GloMPO muted it, the scope closed ffmpeg and wrote the movie so far
    assert scope._writer is None and scope._closed
    movie = tmp_path / "run" / MOVIE_NAME
    assert scope.movie_path == movie
    assert imageio_ffmpeg.count_frames_and_secs(str(movie))[0] == scope.n_frames > 0
    assert "the movie of the run up to this point" in caplog.text


def test_a_dead_ffmpeg_is_reported_with_its_cause(tmp_path: Path) -> None:
    scope = GloMPOScope(record_movie=True, events_per_flush=1)
    scope.setup_moviemaker(tmp_path)
    scope.add_stream(1)
    assert scope._writer is not None
    scope._writer._proc.kill()  # type: ignore[attr-defined]
    scope._writer._proc.wait()  # type: ignore[attr-defined]
    with pytest.raises(ScopeError, match=r"ffmpeg \(.*\) stopped taking frames"):
        for i in range(50):  # the pipe's buffer may take a few frames before it breaks
            scope.update_optimizer(1, (i + 1, float(i)))
    assert scope._writer is None
    scope.close_fig()


# ---------------------------------------------------------------------------- settings
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"x_range": 0}, ValueError, "must be positive"),
    ({"x_range": (3, 1)}, ValueError, "min < max"),
    ({"x_range": "wide"}, ValueError, "x_range must be None or a"),
    ({"y_range": (0, float("inf"))}, ValueError, "finite"),
    ({"events_per_flush": 0}, ValueError, "events_per_flush must be a positive integer"),
    ({"writer_kwargs": {"fsp": 5}}, TypeError, "FFMpegWriter takes no argument 'fsp'"),
    ({"movie_kwargs": {"outfle": "a.mp4"}}, TypeError, "takes outfile, dpi"),
])
def test_bad_settings_are_refused(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        GloMPOScope(**kwargs)


def test_headless_interactive_mode_logs_once_and_keeps_recording(
        tmp_path: Path, caplog: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with caplog.at_level(logging.WARNING, logger="glompo.scope"):
        manager, _ = run(tmp_path, {"interactive_mode": True, "record_movie": True,
                                    "events_per_flush": 20})
    scope = manager.scope
    assert not scope.interactive_mode
    assert caplog.text.count("cannot show a window") == 1
    assert "no display" in caplog.text and "keeps recording" in caplog.text
    assert imageio_ffmpeg.count_frames_and_secs(str(scope.movie_path))[0] == scope.n_frames


def test_no_ffmpeg_is_an_error_at_creation(monkeypatch: Any) -> None:
    import glompo_scope._movie as module

    monkeypatch.setattr(module, "find_ffmpeg", lambda: None)
    with pytest.raises(ScopeError, match="pip install imageio-ffmpeg"):
        GloMPOScope(record_movie=True)


def test_a_shown_scope_uses_a_pyplot_figure_and_closes_it(monkeypatch: Any) -> None:
    """The window path, simulated: a display is said to exist (the backend stays Agg)."""
    import warnings

    import glompo_scope._plot as module
    import matplotlib.pyplot as plt

    monkeypatch.setattr(module, "window_problem", lambda: None)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "FigureCanvasAgg is non-interactive")
        scope = GloMPOScope(interactive_mode=True, events_per_flush=1)
    assert scope.interactive_mode and scope.fig.number in plt.get_fignums()
    scope.add_stream(1, "A")
    scope.update_optimizer(1, ([1, 2], [2.0, 1.0]))
    np.testing.assert_array_equal(line_xy(scope, 1)[1], [2.0, 1.0])
    scope.close_fig()
    assert scope.fig.number not in plt.get_fignums()
