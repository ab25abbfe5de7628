"""Make the pictures of the documentation: ``docs/img/trajectories.png`` and ``docs/img/scope.png``.

One short seeded run (5-D Schwefel sleeping 2 ms per evaluation, CMA-ES and random
search, threads backend, about 10 s) with
``summary_files=2`` (the trajectory plots) and the live scope recording its movie;
then one frame of the movie is read back with ``imageio_ffmpeg.read_frames`` and
saved as a PNG. Both pictures are reduced to a palette of 64 colours so that each
stays well under 200 kB.

Needs glompo-core, glompo-cma and glompo-scope (matplotlib, imageio-ffmpeg) and Pillow::

    python docs/make_pictures.py            # from the repository root

The pictures are committed; re-run this script when the plots change.
"""

from __future__ import annotations

import collections
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

IMG = Path(__file__).resolve().parent / "img"
MAX_BYTES = 200_000


def run(directory: Path) -> Path:
    """The seeded run; returns its working directory."""
    from glompo_core import GloMPOManager
    from glompo_core.benchmarks import Schwefel
    from glompo_core.exit_conditions import MaxFuncCalls
    from glompo_core.selectors import CycleSelector
    from glompo_core.stoppers import BestUnmoving, MinFuncCalls

    task = Schwefel(dims=5, delay=0.002)  # 2 ms per evaluation, like a (cheap) real task
    manager = GloMPOManager.new_manager(
        task=task,
        bounds=None,
        opt_selector=CycleSelector(
            ("CMAOptimizer", {"sigma0": 150.0, "popsize": 12, "verbose": False}),
            ("RandomOptimizer", {"popsize": 12}),
        ),
        working_dir=directory,
        max_jobs=3,
        backend="threads",
        stoppers=MinFuncCalls(min_pts=600) & BestUnmoving(calls=500, tol=0.01),
        exit_conditions=MaxFuncCalls(fmax=8000),
        summary_files=2,
        split_printstreams=False,
        visualisation=True,
        visualisation_args={"record_movie": True, "x_range": None, "events_per_flush": 60,
                            "writer_kwargs": {"fps": 10}},
        seed=4,
    )
    result = manager.start_manager()
    print(f"best fx {result.fx:.2f} after {manager.f_counter} evaluations "
          f"({manager.o_counter} optimizers)")
    return directory


def last_frame(movie: Path) -> np.ndarray:
    """The last frame of an mp4, as an RGB array, read with imageio-ffmpeg."""
    import imageio_ffmpeg

    frames = imageio_ffmpeg.read_frames(str(movie))
    meta = next(frames)  # the first item describes the video
    width, height = meta["size"]
    last = collections.deque(frames, maxlen=1)  # read them all, keep the last
    if not last:
        raise RuntimeError(f"{movie} has no frame")
    return np.frombuffer(last[0], dtype=np.uint8).reshape(height, width, 3)


def save_small(image: object, target: Path) -> None:
    """Save a PIL image as a 64-colour PNG and check it is small."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)
    size = target.stat().st_size
    print(f"{target.relative_to(IMG.parent.parent)}: {image.size[0]}x{image.size[1]}, "
          f"{size / 1000:.0f} kB")
    if size > MAX_BYTES:
        raise SystemExit(f"{target} is {size} bytes, more than {MAX_BYTES}")


def main() -> int:
    from PIL import Image

    IMG.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="glompo-docs-pictures-"))
    try:
        out = run(tmp / "run")
        save_small(Image.open(out / "trajectories_best.png"), IMG / "trajectories.png")
        movie = out / "glompo_optimizer_scope.mp4"
        save_small(Image.fromarray(last_frame(movie)), IMG / "scope.png")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
