"""Checkpoints: one tarball from which a run resumes and loses nothing.

A checkpoint holds, beside a ``manifest.json``:

- ``manager.pkl``: the manager's state (counters, times, settings, stoppers, selector,
  generator, result) pickled with dill;
- ``log/``: the evaluation log's state (``BaseLogger.checkpoint_save``);
- ``task.pkl`` (dill), or the files of ``task.checkpoint_save(dir)`` in ``task/``, or
  nothing (then ``load_checkpoint`` needs ``task=``);
- ``optimizers/opt_<id>.pkl``: one restart file per live optimizer
  (``BaseOptimizer.checkpoint_save``); an optimizer that cannot be saved mid-run is
  listed in the manifest and restarted from its best point on resume;
- ``scope/``: the visualisation's state, when there is one.

The manifest names the format version, the versions of glompo-core and of every
active plugin, the run's checksum (shared with the HDF5
log), ``f_counter``, the optimizers, and a SHA-256 of every member, so a damaged or
foreign file is refused with a :class:`~glompo_core.errors.CheckpointingError`. It also
says where the run came from (:func:`run_origin`): the task's module, class and import
directory, the run file's directory, the working directory and ``checkpointing_dir``;
``glompo resume`` uses them to find the task's module and the run directory.

Writes are atomic: the tarball is built in a temporary file beside its target,
fsynced, then renamed, and older checkpoints are pruned (``keep_past``) only after
the new one is complete.

.. warning::
   A checkpoint is a dill pickle: loading one runs code. Load only checkpoints you
   made or trust. GloMPO never loads one implicitly.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from glompo_core._version import __version__
from glompo_core.errors import CheckpointingError

__all__ = ["FORMAT_VERSION", "CheckpointingControl", "read_checkpoint", "read_manifest",
           "run_dir_of", "run_origin", "task_origin", "write_checkpoint"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_FIELDS = ("date", "year", "yr", "month", "day", "time", "hour", "min", "sec", "count")


@dataclass
class CheckpointingControl:
    """When and where the manager writes checkpoints.

    Parameters
    ----------
    checkpoint_time_frequency
        Seconds between checkpoints (``inf``: never by time).
    checkpoint_iter_frequency
        Evaluations between checkpoints (``inf``: never by evaluations).
    checkpoint_at_init
        Write one as the run starts.
    checkpoint_at_conv
        Write one when the run ends by its exit conditions (before the optimizers are
        stopped), so a finished run can be resumed with a larger budget.
    raise_checkpoint_fail
        Raise (ending the run) when a checkpoint cannot be written; else log and go on.
    force_task_save
        Save the task with ``task.checkpoint_save`` even if it pickles.
    keep_past
        How many older checkpoints to keep besides the newest (-1: all).
    naming_format
        File name (``.tar.gz`` is added) with fields ``%(date)`` (YYYYMMDD), ``%(year)``,
        ``%(yr)``, ``%(month)``, ``%(day)``, ``%(time)`` (HHMMSS), ``%(hour)``,
        ``%(min)``, ``%(sec)``, ``%(count)`` (the checkpoint's number, 3 digits).
    checkpointing_dir
        Directory of the checkpoints, relative to the working directory.
    """

    checkpoint_time_frequency: float = float("inf")
    checkpoint_iter_frequency: float = float("inf")
    checkpoint_at_init: bool = False
    checkpoint_at_conv: bool = False
    raise_checkpoint_fail: bool = False
    force_task_save: bool = False
    keep_past: int = -1
    naming_format: str = "glompo_checkpoint_%(date)_%(time)"
    checkpointing_dir: str | os.PathLike[str] = "checkpoints"

    def __post_init__(self) -> None:
        for name in ("checkpoint_time_frequency", "checkpoint_iter_frequency"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a number > 0 (inf for never), got {value!r}")
        if not isinstance(self.keep_past, int) or self.keep_past < -1:
            raise ValueError(f"keep_past must be -1 (keep all) or a whole number >= 0, got "
                             f"{self.keep_past!r}")
        if not self.naming_format or "/" in self.naming_format:
            raise ValueError("naming_format must be a file name without '/'")
        unknown = [f for f in _fields_in(self.naming_format) if f not in _FIELDS]
        if unknown:
            raise ValueError(f"unknown field(s) {unknown} in naming_format; fields are "
                             + ", ".join(f"%({f})" for f in _FIELDS))

    def name(self, count: int, when: datetime | None = None) -> str:
        """The file name of checkpoint number ``count`` taken at ``when``."""
        t = when or datetime.now()
        values = {"date": t.strftime("%Y%m%d"), "year": t.strftime("%Y"), "yr": t.strftime("%y"),
                  "month": t.strftime("%m"), "day": t.strftime("%d"),
                  "time": t.strftime("%H%M%S"), "hour": t.strftime("%H"),
                  "min": t.strftime("%M"), "sec": t.strftime("%S"), "count": f"{count:03d}"}
        out = self.naming_format
        for key, value in values.items():
            out = out.replace(f"%({key})", value)
        return out + ".tar.gz"


def _fields_in(text: str) -> list[str]:
    out = []
    start = 0
    while (i := text.find("%(", start)) != -1:
        j = text.find(")", i)
        if j == -1:
            break
        out.append(text[i + 2:j])
        start = j + 1
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checkpoint(source: Path, target: Path, manifest: dict[str, Any]) -> Path:
    """Pack the directory ``source`` into the tarball ``target``, atomically.

    The manifest gets the SHA-256 of every file and is written first in the archive.
    ``target`` appears only once complete; an existing file is never overwritten
    (a ``_1``, ``_2``, ... suffix is added).
    """
    files = sorted(p for p in source.rglob("*") if p.is_file())
    manifest = dict(manifest)
    manifest["members"] = {p.relative_to(source).as_posix(): _sha256(p) for p in files}
    target.parent.mkdir(parents=True, exist_ok=True)
    final = target
    n = 0
    while final.exists():
        n += 1
        final = target.with_name(target.name.replace(".tar.gz", f"_{n}.tar.gz"))
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".tar.gz", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                data = json.dumps(manifest, indent=2, default=str).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                for path in files:
                    tar.add(path, arcname=path.relative_to(source).as_posix())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp_name, final)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return final


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Return the manifest of a checkpoint (nothing is unpickled)."""
    path = Path(path)
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except FileNotFoundError:
        raise CheckpointingError(f"checkpoint {path} does not exist") from None
    except KeyError:
        raise CheckpointingError(f"{path} is not a GloMPO checkpoint: it has no "
                                 f"{MANIFEST}") from None
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise CheckpointingError(f"{path} is damaged or not a GloMPO checkpoint "
                                 f"({type(exc).__name__}: {exc})") from None
    if manifest.get("format") != "glompo-checkpoint":
        raise CheckpointingError(f"{path} is not a GloMPO checkpoint (its manifest has no "
                                 "'format: glompo-checkpoint')")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointingError(f"{path} was written by a newer GloMPO (format "
                                 f"{manifest['format_version']}, glompo-core "
                                 f"{manifest.get('glompo_core_version')}); upgrade glompo-core")
    return manifest


def read_checkpoint(path: str | Path, destination: Path) -> dict[str, Any]:
    """Verify the checkpoint ``path`` and extract it into ``destination``.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    CheckpointingError
        The file is missing, truncated, corrupt (a member's SHA-256 differs), foreign,
        or holds unexpected members.
    """
    path = Path(path)
    manifest = read_manifest(path)
    expected: dict[str, str] = manifest.get("members", {})
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = set()
            for member in tar.getmembers():
                name = member.name
                if name == MANIFEST:
                    continue
                if name not in expected or not member.isfile():
                    raise CheckpointingError(f"{path}: unexpected member {name!r}; the file was "
                                             "altered after it was written")
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise CheckpointingError(f"{path}: member {name!r} cannot be read")
                with open(target, "wb") as out:
                    out.write(source.read())
                names.add(name)
    except CheckpointingError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise CheckpointingError(f"{path} is damaged (truncated or corrupt: "
                                 f"{type(exc).__name__}: {exc}); use an earlier checkpoint") \
            from None
    missing = sorted(set(expected) - names)
    if missing:
        raise CheckpointingError(f"{path} is incomplete: missing {missing}")
    for name, digest in expected.items():
        if _sha256(destination / name) != digest:
            raise CheckpointingError(f"{path}: member {name!r} is corrupt (its SHA-256 differs "
                                     "from the manifest's); use an earlier checkpoint")
    return manifest


def prune(directory: Path, keep_past: int, newest: Path, written: list[str]) -> list[Path]:
    """Delete checkpoints this run wrote beyond the ``keep_past`` most recent older ones."""
    if keep_past < 0:
        return []
    ours = [directory / name for name in written if (directory / name) != newest]
    ours = [p for p in ours if p.exists()]
    doomed = ours[:max(0, len(ours) - keep_past)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def task_origin(task: Any) -> dict[str, Any]:
    """Where ``task`` came from: the manifest's ``task_module``, ``task_class``, ``task_path``.

    ``task_class`` is the qualified name of the task's class, or of the task itself when
    it is a function or a class; ``task_path`` is the directory the module's top-level
    package was imported from (the ``sys.path`` entry that found it), or None when that
    is not known (a module without a file, ``__main__``).
    """
    obj = task if inspect.isfunction(task) or inspect.isclass(task) else type(task)
    module = str(getattr(obj, "__module__", "") or "")
    path: str | None = None
    top = sys.modules.get(module.split(".")[0]) if module and module != "__main__" else None
    file = getattr(top, "__file__", None)
    if file:
        where = Path(file).resolve().parent
        path = str(where.parent if hasattr(top, "__path__") else where)
    return {"task_module": module or None,
            "task_class": getattr(obj, "__qualname__", None) or None, "task_path": path}


def run_origin(task: Any, working_dir: str | os.PathLike[str],
               control: CheckpointingControl, run_file_dir: str | None = None
               ) -> dict[str, Any]:
    """The manifest's fields saying where a run came from and where it writes.

    Returns :func:`task_origin` of the task, plus ``run_file_dir`` (the directory of the
    run file, when the run came from one), ``working_dir`` and ``checkpointing_dir`` (as
    configured, so the run directory holding a checkpoint can be found from its path).
    """
    return {**task_origin(task), "run_file_dir": run_file_dir,
            "working_dir": str(working_dir), "checkpointing_dir": str(control.checkpointing_dir)}


def run_dir_of(path: str | Path, manifest: dict[str, Any]) -> Path:
    """The run directory that holds the checkpoint ``path``.

    A run writes its checkpoints into ``<run dir>/<checkpointing_dir>/``; the run
    directory is found by walking up from the checkpoint, so a copied or moved run
    directory resumes where it now lies. Checkpoints written before the manifest recorded
    ``checkpointing_dir`` are taken to use the default, ``checkpoints``.

    Raises
    ------
    CheckpointingError
        The checkpoint is not inside a ``<run dir>/<checkpointing_dir>/`` directory (a
        loose copy, or an absolute ``checkpointing_dir``): the message says to give the
        working directory and names the one the run used.
    """
    path = Path(path).resolve()
    configured = str(manifest.get("checkpointing_dir") or "checkpoints")
    parts = Path(configured).parts
    folder = path.parent
    if not parts:  # checkpointing_dir '.': the checkpoints lie in the run directory itself
        return folder
    if not Path(configured).is_absolute() and ".." not in parts and \
            len(folder.parts) > len(parts) and folder.parts[-len(parts):] == parts:
        return folder.parents[len(parts) - 1]
    recorded = manifest.get("working_dir")
    used = f" (the run wrote into {recorded})" if recorded else ""
    raise CheckpointingError(
        f"cannot tell which run directory {path} belongs to: checkpoints of this run lie in "
        f"'<run dir>/{configured}/', and this one is in {folder}. Give the directory to "
        f"write into{used}")


def core_manifest(**fields: Any) -> dict[str, Any]:
    """The fixed part of a manifest."""
    return {"format": "glompo-checkpoint", "format_version": FORMAT_VERSION,
            "glompo_core_version": __version__, "written": datetime.now().isoformat(),
            **fields}
