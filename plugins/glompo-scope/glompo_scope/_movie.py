"""The scope's movie: frames piped to ffmpeg, in segments joined at the end.

An mp4 cannot be appended to once closed, so a movie is recorded in *segments* (one
ffmpeg process each, in a temporary directory): a checkpoint completes the current
segment and keeps every segment so far; the final movie is the concatenation of all
of them (``ffmpeg -f concat -c copy``, no re-encoding).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

from glompo_scope._common import ScopeError, log

if TYPE_CHECKING:
    from matplotlib.animation import FFMpegWriter
    from matplotlib.figure import Figure

__all__ = ["MovieRecorder", "find_ffmpeg", "free_name", "require_ffmpeg"]


def find_ffmpeg() -> str | None:
    """The ffmpeg program to use: the user's rcParams, the system's, imageio-ffmpeg's."""
    configured = str(matplotlib.rcParams["animation.ffmpeg_path"])
    if configured != "ffmpeg" and shutil.which(configured):
        return configured
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # not installed, or no binary for this platform
        log.debug("imageio-ffmpeg provides no ffmpeg: %s", exc)
        return None


def free_name(path: Path) -> Path:
    """``path`` if it does not exist, else the first free ``<stem>_<i><suffix>``."""
    if not path.exists():
        return path
    i = 1
    while True:
        candidate = path.with_name(f"{path.stem}_{i}{path.suffix}")
        if not candidate.exists():
            return candidate
        i += 1


def _kill(proc: Any) -> str:
    """Stop an ffmpeg process left running (the scope was dropped or failed).

    Returns what ffmpeg wrote on stderr, if it can still be read.
    """
    try:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=5)
        return (err or b"").decode(errors="replace").strip()
    except Exception:
        return ""


class MovieRecorder:
    """The segments of one scope's movie and the ffmpeg process writing the current one.

    Attributes
    ----------
    ffmpeg : str or None
        The ffmpeg program (None until a movie is asked for).
    target : pathlib.Path or None
        Where the movie goes (None until the recording is set up).
    writer : matplotlib.animation.FFMpegWriter or None
        The writer of the current segment (None between segments).
    segment_dir : tempfile.TemporaryDirectory or None
        The segments' directory (None until first used, and once discarded).
    segments : list[pathlib.Path]
        The segment files, in order.
    """

    def __init__(self, ffmpeg: str | None) -> None:
        self.ffmpeg = ffmpeg
        self.target: Path | None = None
        self.writer: FFMpegWriter | None = None
        self.segment_dir: tempfile.TemporaryDirectory[str] | None = None
        self.segments: list[Path] = []
        self._writer_guard: weakref.finalize[Any, Any] | None = None

    def segments_dir(self) -> Path:
        """The temporary directory of the movie's segments (created on first use)."""
        if self.segment_dir is None:
            self.segment_dir = tempfile.TemporaryDirectory(prefix="glompo-scope-")
        return Path(self.segment_dir.name)

    def _segment_path(self) -> Path:
        """A fresh file name for the next segment (in the movie's format)."""
        directory = self.segments_dir()
        suffix = self.target.suffix if self.target is not None else ".mp4"
        i = len(self.segments)
        while (directory / f"segment_{i:04d}{suffix}").exists():
            i += 1
        return directory / f"segment_{i:04d}{suffix}"

    def grab(self, fig: Figure, writer_kwargs: dict[str, Any], dpi: float) -> None:
        """Record ``fig`` as the next frame (starting a segment if none is open).

        Raises
        ------
        ScopeError
            ffmpeg could not be started, or it stopped taking frames.
        """
        from matplotlib.animation import FFMpegWriter

        if self.writer is None:
            segment = self._segment_path()
            writer = FFMpegWriter(**writer_kwargs)
            try:
                with matplotlib.rc_context({"animation.ffmpeg_path": self.ffmpeg}):
                    writer.setup(fig, str(segment), dpi=dpi)
            except OSError as exc:
                raise ScopeError(f"ffmpeg ({self.ffmpeg}) could not be started: "
                                 f"{exc}") from None
            self.writer = writer
            self.segments.append(segment)
            self._writer_guard = weakref.finalize(self, _kill, getattr(writer, "_proc", None))
        try:
            self.writer.grab_frame()
        except OSError as exc:  # ffmpeg died: BrokenPipeError and friends
            detail = self.abandon_writer()
            raise ScopeError(f"ffmpeg ({self.ffmpeg}) stopped taking frames "
                             f"({type(exc).__name__}){detail}") from None

    def abandon_writer(self) -> str:
        """Kill the current ffmpeg process, drop its segment; return ffmpeg's last words."""
        writer, self.writer = self.writer, None
        if self._writer_guard is not None:
            self._writer_guard.detach()
            self._writer_guard = None
        if writer is None:
            return ""
        proc = getattr(writer, "_proc", None)
        err = _kill(proc) if proc is not None else ""
        if self.segments:
            self.segments.pop().unlink(missing_ok=True)
        return f": {err[-500:]}" if err else ""

    def finish_segment(self) -> None:
        """Close the current ffmpeg process, completing its segment file."""
        writer = self.writer
        if writer is None:
            return
        try:
            writer.finish()
        except Exception as exc:
            self.writer = writer
            detail = self.abandon_writer()
            stderr = getattr(exc, "stderr", None)
            if isinstance(stderr, str) and stderr.strip():
                detail = f": {stderr.strip()[-500:]}"
            raise ScopeError(f"ffmpeg ({self.ffmpeg}) failed to complete the movie"
                             f"{detail or f': {exc}'}") from None
        self.writer = None
        if self._writer_guard is not None:
            self._writer_guard.detach()
            self._writer_guard = None

    def recorded(self) -> list[Path]:
        """The segments holding frames."""
        return [s for s in self.segments if s.exists() and s.stat().st_size > 0]

    def join(self, segments: Sequence[Path], target: Path) -> None:
        """Write ``segments`` into the movie ``target`` (a copy if there is one)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(segments) == 1:
            shutil.copyfile(segments[0], target)
            return
        listing = self.segments_dir() / "segments.txt"
        listing.write_text("".join("file '{}'\n".format(str(s).replace("'", r"'\''"))
                                   for s in segments))
        assert self.ffmpeg is not None
        command = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-n", "-f", "concat",
                   "-safe", "0", "-i", str(listing), "-c", "copy", str(target)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            target.unlink(missing_ok=True)
            raise ScopeError(f"ffmpeg could not join the {len(segments)} movie segments into "
                             f"{target}: {proc.stderr.strip()[-500:]}")

    def keep(self, source: Path, name: str) -> None:
        """Add a segment saved elsewhere (a checkpoint's) as the next one."""
        segment = self.segments_dir() / name
        shutil.copyfile(source, segment)
        self.segments.append(segment)

    def discard(self) -> None:
        """Kill ffmpeg if it runs and delete every segment."""
        self.abandon_writer()
        self.segments = []
        if self.segment_dir is not None:
            with contextlib.suppress(Exception):
                self.segment_dir.cleanup()
            self.segment_dir = None


def require_ffmpeg() -> str:
    """The ffmpeg program (:func:`find_ffmpeg`); ScopeError saying how to get one if none."""
    exe = find_ffmpeg()
    if exe is None:
        raise ScopeError("record_movie=True needs ffmpeg: install imageio-ffmpeg "
                         "(pip install imageio-ffmpeg) or put an ffmpeg program on PATH")
    return exe
