"""The distributions as users get them: built, installed from wheels, and run.

Every distribution of the repository (glompo-core at the root, each ``plugins/*``, and
``examples/third-party-plugin`` when it is there) is built with ``python -m build``: the
sdist first, then the wheel *from the sdist*, so a file missing from the sdist breaks the
wheel. The wheels are installed into a clean venv (no system site packages; dependencies
from the package index), where ``glompo plugins`` must list every plugin as active and the
README's first example must run. The wheels and sdists must hold what they must (py.typed,
package data, entry points) and nothing else (tests, caches, run outputs).

The building tests are marked ``slow`` (1-3 minutes with a warm pip cache) but run by
default; deselect them with ``-m 'not slow'``. They are skipped only when the package
index cannot be reached. ``test_versions_agree`` and ``test_plugins_accept_this_core``
are fast and need no network.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli below Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = ROOT / "examples" / "third-party-plugin"

# Path components that never belong in a wheel or an sdist.
JUNK_PARTS = {"__pycache__", ".venv", "venv", ".git", ".tox", ".nox", ".mypy_cache",
              ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints", "runs", "build", "dist",
              "htmlcov", ".eggs"}
JUNK_SUFFIXES = (".pyc", ".pyo", ".h5", ".tar.gz", ".whl", ".orig", ".rej", ".swp", "~")
JUNK_NAMES = {".DS_Store", "Thumbs.db", ".coverage", "glompo_manager_log.yml",
              "trajectories.png", "trajectories_best.png", "glompo_log.h5"}
# Left out of the copy a distribution is built from: what a clean clone does not have.
NOT_IN_A_CLONE = (".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                  "*.egg-info", "build", "dist")
# Subprocess environment variables that would leak the dev environment into the clean venv.
LEAKY_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PIP_USER",
             "PYTHONNOUSERSITE", "GLOMPO_DISABLE_PLUGINS", "CONDA_PREFIX")
# Run-file entries exercising each first-party optimizer plugin in the clean venv.
SMOKE_OPTIMIZERS: dict[str, dict[str, Any]] = {
    "glompo-cma": {"CMAOptimizer": {"init": {"sigma0": 1.5, "verbose": False,
                                             "maxfevals": 300}}},
    "glompo-scipy": {"ScipyOptimizer": {"init": {"method": "Nelder-Mead", "maxfev": 300}}},
    "glompo-nevergrad": {"NevergradOptimizer": {"init": {"optimizer": "NGOpt",
                                                         "budget": 200}}},
}
OUTPUT_TAIL = 12_000  # characters of a failed command's output shown


# --------------------------------------------------------------------------- discovery

@dataclass(frozen=True)
class Project:
    """One distribution of the repository, as its pyproject.toml describes it."""

    directory: Path
    pyproject: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.pyproject["project"])

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> str:
        if "version" not in self.meta:
            raise AssertionError(f"{self.directory / 'pyproject.toml'}: no static "
                                 "project.version (dynamic versions are not supported here)")
        return str(self.meta["version"])

    @property
    def first_party(self) -> bool:
        return self.directory != EXAMPLE_PLUGIN

    @property
    def is_plugin(self) -> bool:
        return self.directory != ROOT

    @property
    def setuptools(self) -> dict[str, Any]:
        return dict(self.pyproject.get("tool", {}).get("setuptools", {}))


def _load(directory: Path) -> Project:
    return Project(directory, tomllib.loads((directory / "pyproject.toml").read_text()))


def discover() -> list[Project]:
    """glompo-core, each plugin, and the example third-party plugin if it has a pyproject."""
    dirs = [ROOT, *sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))]
    if (EXAMPLE_PLUGIN / "pyproject.toml").is_file():
        dirs.append(EXAMPLE_PLUGIN)
    return [_load(d) for d in dirs]


PROJECTS = discover()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def _run(cmd: list[str | Path], *, cwd: Path, timeout: float,
         what: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; fail the test with its output if it exits non-zero or hangs."""
    args = [str(c) for c in cmd]
    try:
        proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"{what}: timed out after {timeout:.0f} s\n$ {' '.join(args)}\n"
                    f"{(out or '')[-OUTPUT_TAIL:]}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"{what}: exit code {proc.returncode}\n$ {' '.join(args)}\n"
                    f"--- stdout ---\n{proc.stdout[-OUTPUT_TAIL:]}\n"
                    f"--- stderr ---\n{proc.stderr[-OUTPUT_TAIL:]}", pytrace=False)
    return proc


# ------------------------------------------------------------------------- fast checks

def test_versions_agree() -> None:
    """One version for every first-party distribution, and glompo_core.__version__."""
    import glompo_core

    first_party = [p for p in PROJECTS if p.first_party]
    assert len(first_party) >= 2, "the plugins were not found under plugins/*/pyproject.toml"
    versions = {p.name: p.version for p in first_party}
    core = versions["glompo-core"]
    assert set(versions.values()) == {core}, f"distributions disagree on the version: {versions}"
    assert glompo_core.__version__ == core, (
        f"glompo_core.__version__ is {glompo_core.__version__}, pyproject.toml says {core}")
    # plugins that state their own __version__ as a literal must state the same one
    for p in first_party:
        for init in p.directory.glob("*/__init__.py"):
            m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', init.read_text(), re.M)
            if m:
                assert m.group(1) == core, f"{init.relative_to(ROOT)}: __version__ = " \
                                           f"{m.group(1)!r}, the distributions are at {core}"


def test_plugins_accept_this_core() -> None:
    """Every plugin depends on glompo-core, with a range admitting this glompo-core."""
    core = Version(next(p.version for p in PROJECTS if p.name == "glompo-core"))
    for p in PROJECTS:
        if not p.is_plugin:
            continue
        reqs = [Requirement(r) for r in p.meta.get("dependencies", [])]
        on_core = [r for r in reqs if canonicalize_name(r.name) == "glompo-core"]
        assert len(on_core) == 1, f"{p.name} must depend on glompo-core once: {on_core}"
        assert on_core[0].specifier.contains(core, prereleases=True), (
            f"{p.name} requires {on_core[0]}, which excludes glompo-core {core}")
        assert p.meta.get("entry-points", {}).get("glompo"), (
            f"{p.name} declares no entry point in the group 'glompo'")


# ------------------------------------------------------------------------------ builds

@dataclass
class Built:
    """The outcome of building one project."""

    project: Project
    log: str
    seconds: float
    wheel: Path | None = None
    sdist: Path | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def require(self) -> tuple[Path, Path]:
        if self.wheel is None or self.sdist is None:
            pytest.fail(f"building {self.project.name} failed: {self.error}\n"
                        f"--- build output ---\n{self.log[-OUTPUT_TAIL:]}", pytrace=False)
        return self.wheel, self.sdist


def _index_url() -> str:
    url = os.environ.get("PIP_INDEX_URL", "")
    if not url:
        proc = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                              capture_output=True, text=True, timeout=60, env=_env())
        url = proc.stdout.strip() if proc.returncode == 0 else ""
    return url or "https://pypi.org/simple/"


@pytest.fixture(scope="module")
def index_reachable() -> None:
    """Skip (with the reason) when the package index cannot be reached: no network."""
    url = _index_url().rstrip("/") + "/pip/"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            response.read(1)
    except OSError as exc:
        pytest.skip(f"no network: the package index ({url}) cannot be reached ({exc}); "
                    "building and installing the distributions needs it")


def _build(project: Project, work: Path) -> Built:
    """sdist, then the wheel from the sdist, from a copy of the project like a clean clone."""
    src = work / "src" / project.directory.name
    out = work / "dist" / project.name
    shutil.copytree(project.directory, src, ignore=shutil.ignore_patterns(*NOT_IN_A_CLONE))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(src)],
                          cwd=work, env=_env(), capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    built = Built(project, proc.stdout + proc.stderr, time.monotonic() - t0)
    if proc.returncode != 0:
        built.error = f"python -m build exited with {proc.returncode}"
        return built
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        built.error = f"expected one wheel and one sdist in {out}: {wheels + sdists}"
        return built
    built.wheel, built.sdist = wheels[0], sdists[0]
    built.warnings = sorted({line.strip() for line in built.log.splitlines()
                             if "Deprecat" in line or "deprecated" in line})
    return built


@pytest.fixture(scope="module")
def builds(index_reachable: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Every project built (in parallel), by distribution name."""
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the 'build' package is missing from the test environment: it is in "
                    "the dev extra (pip install -r requirements-dev.txt, or pip install build)",
                    pytrace=False)
    work = tmp_path_factory.mktemp("packaging-build")
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda p: _build(p, work), PROJECTS))
    for b in done:
        if b.warnings:
            warnings.warn(f"building {b.project.name} printed deprecation warnings: "
                          + " | ".join(b.warnings), UserWarning, stacklevel=1)
    return {b.project.name: b for b in done}


def _project_param(project: Project) -> Any:
    return pytest.param(project, id=project.name)


def _module_file(module: str) -> list[str]:
    base = module.replace(".", "/")
    return [f"{base}.py", f"{base}/__init__.py"]


def _junk(path: str) -> str:
    """Why ``path`` (in an archive) is junk, or ''."""
    parts = PurePosixPath(path).parts
    bad = JUNK_PARTS.intersection(parts)
    if bad:
        return f"contains {sorted(bad)}"
    name = parts[-1] if parts else ""
    if name in JUNK_NAMES or name.endswith(JUNK_SUFFIXES):
        return "is a cache, backup or run output"
    return ""


def _entry_points(project: Project) -> dict[str, dict[str, str]]:
    meta = project.meta
    groups: dict[str, dict[str, str]] = {}
    if meta.get("scripts"):
        groups["console_scripts"] = dict(meta["scripts"])
    if meta.get("gui-scripts"):
        groups["gui_scripts"] = dict(meta["gui-scripts"])
    for group, eps in meta.get("entry-points", {}).items():
        groups[group] = dict(eps)
    return groups


def _packages(project: Project) -> list[str]:
    """The top-level packages the project ships (per [tool.setuptools.packages.find])."""
    find = project.setuptools.get("packages", {})
    find = find.get("find", {}) if isinstance(find, dict) else {}
    include, exclude = find.get("include", ["*"]), find.get("exclude", [])
    names = [p.parent.name for p in sorted(project.directory.glob("*/__init__.py"))]
    return [n for n in names if any(fnmatch.fnmatchcase(n, pat) for pat in include)
            and not any(fnmatch.fnmatchcase(n, pat) for pat in exclude)]


def _package_files(project: Project) -> dict[str, list[str]]:
    """Every non-Python file inside the project's packages (what the code may load)."""
    found: dict[str, list[str]] = {}
    for name in _packages(project):
        pkg = project.directory / name
        files = [f.relative_to(project.directory).as_posix() for f in pkg.rglob("*")
                 if f.is_file() and f.suffix not in (".py", ".pyc", ".pyo")
                 and not any(part.startswith(".") or part == "__pycache__"
                             for part in f.relative_to(project.directory).parts)
                 and not _junk(f.relative_to(project.directory).as_posix())]
        found[pkg.name] = sorted(files)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("project", [_project_param(p) for p in PROJECTS])
def test_wheel_contents(project: Project, builds: dict[str, Built]) -> None:
    """py.typed, package data and entry points are in the wheel; nothing else is."""
    wheel, _ = builds[project.name].require()
    stem = f"{project.name.replace('-', '_')}-{project.version}"
    assert wheel.name == f"{stem}-py3-none-any.whl", f"unexpected wheel {wheel.name}"
    dist_info = f"{stem}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        metadata = HeaderParser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split()
        ep_text = (zf.read(f"{dist_info}/entry_points.txt").decode()
                   if f"{dist_info}/entry_points.txt" in names else "")
    files = set(names)

    assert metadata["Name"] == project.name and metadata["Version"] == project.version
    assert metadata["Requires-Python"] == project.meta["requires-python"]
    if project.meta.get("readme"):
        assert metadata["Description-Content-Type"] == "text/markdown"
        assert len(metadata.get_payload() or "") > 100, "the README is not the long description"

    packages = sorted(_packages(project))
    assert packages, f"{project.name}: no package found"
    assert sorted(top_level) == packages, f"top_level.txt {top_level}, packages {packages}"
    outside = sorted(n for n in names if n.split("/")[0] not in {*packages, dist_info})
    assert not outside, f"files outside the packages leaked into {wheel.name}: {outside}"
    junk = sorted(f"{n} ({why})" for n in names if (why := _junk(n)))
    assert not junk, f"junk in {wheel.name}: {junk}"
    tests = sorted(n for n in names if re.search(r"(^|/)(tests?|conftest\.py)(/|$)", n))
    assert not tests, f"tests in {wheel.name}: {tests}"

    for pkg in packages:
        assert f"{pkg}/py.typed" in files, f"{pkg}/py.typed is missing from {wheel.name}"
        sources = {f.relative_to(project.directory).as_posix()
                   for f in (project.directory / pkg).rglob("*.py")
                   if "__pycache__" not in f.parts}
        assert not sources - files, f"modules missing from {wheel.name}: {sources - files}"
    # declared package data, and any other non-Python file the packages carry
    for pkg, patterns in project.setuptools.get("package-data", {}).items():
        for pattern in patterns:
            matches = [f.relative_to(project.directory).as_posix()
                       for f in (project.directory / pkg.replace(".", "/")).glob(pattern)]
            assert matches, f"package-data {pkg}: {pattern!r} matches no file"
            assert not set(matches) - files, f"package data missing: {set(matches) - files}"
    for pkg, data in _package_files(project).items():
        missing = sorted(set(data) - files)
        assert not missing, (f"{pkg} carries files the wheel lacks (add them to "
                             f"[tool.setuptools.package-data]): {missing}")

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(ep_text)
    in_wheel = {s: {k: v.strip() for k, v in parser[s].items()} for s in parser.sections()}
    assert in_wheel == _entry_points(project), "entry_points.txt differs from pyproject.toml"
    for group in in_wheel.values():
        for target in group.values():
            module = target.split(":")[0].strip()
            assert files.intersection(_module_file(module)), (
                f"entry point target {target!r}: module not in {wheel.name}")
    if project.is_plugin:
        assert in_wheel.get("glompo"), f"{project.name} has no entry point in group 'glompo'"


@pytest.mark.slow
@pytest.mark.parametrize("project", [_project_param(p) for p in PROJECTS])
def test_sdist_contents(project: Project, builds: dict[str, Built]) -> None:
    """The sdist holds the files pyproject.toml refers to, and no junk."""
    _, sdist = builds[project.name].require()
    stem = f"{project.name.replace('-', '_')}-{project.version}"
    assert sdist.name == f"{stem}.tar.gz", f"unexpected sdist {sdist.name}"
    with tarfile.open(sdist) as tf:
        names = [m.name for m in tf.getmembers() if m.isfile()]
    outside = [n for n in names if not n.startswith(f"{stem}/")]
    assert not outside, f"files outside {stem}/ in {sdist.name}: {outside}"
    rel = {n[len(stem) + 1:] for n in names}

    required = {"pyproject.toml", "PKG-INFO"}
    readme = project.meta.get("readme")
    if isinstance(readme, str):
        required.add(readme)
    elif isinstance(readme, dict) and "file" in readme:
        required.add(readme["file"])
    lic = project.meta.get("license")
    if isinstance(lic, dict) and "file" in lic:
        required.add(lic["file"])
    for pattern in project.meta.get("license-files", []):
        matches = [f.relative_to(project.directory).as_posix()
                   for f in project.directory.glob(pattern)]
        assert matches, f"license-files: {pattern!r} matches no file"
        required.update(matches)
    assert not required - rel, f"{sdist.name} lacks {sorted(required - rel)}"

    egg_info = f"{project.name.replace('-', '_')}.egg-info/"
    junk = sorted(f"{n} ({why})" for n in rel if (why := _junk(n)))
    stray_egg_info = sorted(n for n in rel if ".egg-info/" in n and not n.startswith(egg_info))
    assert not junk and not stray_egg_info, f"junk in {sdist.name}: {junk + stray_egg_info}"


# -------------------------------------------------------------------------- clean venv

@dataclass(frozen=True)
class Venv:
    """A clean venv holding every built wheel."""

    root: Path
    versions: dict[str, str]  # distribution name -> version installed from the wheels

    def bin(self, name: str) -> Path:
        scripts = "Scripts" if sys.platform == "win32" else "bin"
        suffix = ".exe" if sys.platform == "win32" else ""
        return self.root / scripts / f"{name}{suffix}"


@pytest.fixture(scope="module")
def venv(builds: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    wheels = [b.require()[0] for b in builds.values()]
    root = tmp_path_factory.mktemp("packaging-venv") / "venv"
    _run([sys.executable, "-m", "venv", root], cwd=root.parent, timeout=300,
         what="creating the clean venv")
    env = Venv(root, {name: b.project.version for name, b in builds.items()})
    # --no-compile: byte-compiling ~20,000 files is half the time and checks nothing here
    _run([env.bin("python"), "-m", "pip", "install", "--no-compile", *wheels],
         cwd=root.parent, timeout=1800,
         what="installing the wheels (and their dependencies from the index)")
    yield env
    shutil.rmtree(root, ignore_errors=True)  # hundreds of MB: not kept for later sessions


@pytest.mark.slow
def test_clean_venv_is_consistent(venv: Venv) -> None:
    """The installed set satisfies every requirement; the packages load from the venv."""
    _run([venv.bin("python"), "-m", "pip", "check"], cwd=venv.root, timeout=300,
         what="pip check in the clean venv")
    cfg = (venv.root / "pyvenv.cfg").read_text()
    assert re.search(r"include-system-site-packages\s*=\s*false", cfg), cfg
    tops = sorted({pkg for proj in PROJECTS for pkg in _packages(proj)})
    probe = textwrap.dedent("""
        import importlib, json, pkgutil, sys
        out = {}
        for top in sys.argv[1:]:
            pkg = importlib.import_module(top)
            out[top] = pkg.__file__
            for m in pkgutil.walk_packages(pkg.__path__, top + "."):
                importlib.import_module(m.name)
        print(json.dumps(out))
        """)
    proc = _run([venv.bin("python"), "-c", probe, *tops], cwd=venv.root, timeout=300,
                what="importing every module of every wheel in the clean venv")
    files = json.loads(proc.stdout.strip().splitlines()[-1])
    for top, file in files.items():
        assert Path(file).resolve().is_relative_to(venv.root.resolve()), (
            f"{top} was imported from {file}, not from the clean venv")


@pytest.mark.slow
def test_glompo_plugins_lists_every_plugin(venv: Venv) -> None:
    """``glompo plugins``: every installed plugin is active, at its wheel's version."""
    glompo = venv.bin("glompo")
    core = venv.versions["glompo-core"]
    version = _run([glompo, "--version"], cwd=venv.root, timeout=120, what="glompo --version")
    assert version.stdout.strip() == f"glompo-core {core}"
    table = _run([glompo, "plugins"], cwd=venv.root, timeout=120, what="glompo plugins")
    listing = _run([glompo, "plugins", "--json"], cwd=venv.root, timeout=120,
                   what="glompo plugins --json")
    plugins = {p["distribution"]: p for p in json.loads(listing.stdout)}
    for name, version_of in venv.versions.items():
        assert name in plugins, f"{name} is not listed by glompo plugins:\n{table.stdout}"
        info = plugins[name]
        assert info["status"] == "active", (
            f"{name} is {info['status']}: {info['reason']}\n{table.stdout}")
        assert info["version"] == version_of, info
        assert name in table.stdout
    builtin = plugins["glompo-core"]["components"]
    assert "RandomOptimizer" in builtin["optimizer"] and "Rastrigin" in builtin["task"]


def _readme_example() -> tuple[str, Path]:
    """The run file of the README's first example, and the command line running it."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", readme, re.S):
        m = re.search(r"glompo run (\S+)", block)
        if m:
            return m.group(0), Path(m.group(1))
    raise AssertionError("README.md has no code block with a 'glompo run' command")


def _expected_outputs(run_file: Path) -> tuple[Path, list[str]]:
    data = yaml.safe_load(run_file.read_text())
    level = int(data.get("summary_files", 0))
    names = ["glompo_manager_log.yml"] if level >= 1 else []
    names += ["trajectories.png", "trajectories_best.png"] if level >= 2 else []
    names += ["glompo_log.h5"] if level >= 3 else []
    return Path(data.get("working_dir", ".")), names


def _check_summary(path: Path, core: str) -> dict[str, Any]:
    summary = yaml.safe_load(path.read_text())
    assert summary["Settings"]["GloMPO Version"] == core
    assert summary["Counters"]["Function Evaluations"] > 0
    assert summary["Solution"]["fx"] is not None
    return dict(summary)


@pytest.mark.slow
def test_readme_first_example_runs(venv: Venv, tmp_path: Path) -> None:
    """The README's first ``glompo run`` example, from a copy of the repository's files."""
    command, run_file = _readme_example()
    assert (ROOT / run_file).is_file(), f"README.md runs {run_file}, which does not exist"
    top = run_file.parts[0]  # e.g. examples/: copied whole, so relative paths still hold
    shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns(
        "runs", "__pycache__", "*.egg-info", "build", "dist"))
    working_dir, outputs = _expected_outputs(ROOT / run_file)
    assert outputs, f"{run_file} writes no result files (summary_files: 0)"
    proc = _run([venv.bin("glompo"), "run", run_file], cwd=tmp_path, timeout=600,
                what=f"the README's first example ({command}) in the clean venv")
    out_dir = tmp_path / working_dir
    missing = [n for n in outputs if not (out_dir / n).is_file()]
    assert not missing, f"{command} did not write {missing} in {out_dir}\n{proc.stdout}"
    summary = _check_summary(out_dir / "glompo_manager_log.yml", venv.versions["glompo-core"])
    if "opt_selector" not in yaml.safe_load((ROOT / run_file).read_text()):
        # the default portfolio of the installed plugins, said and recorded
        assert "using the default portfolio from " in proc.stderr, proc.stderr
        assert summary["Settings"]["Default Portfolio"] is not None


@pytest.mark.slow
def test_plugins_work_in_a_run(venv: Venv, tmp_path: Path) -> None:
    """A short run with every optimizer plugin, the HDF5 log and the trajectory plots."""
    opts = [entry for dist, entry in SMOKE_OPTIMIZERS.items() if dist in venv.versions]
    hdf5 = "glompo-hdf5" in venv.versions
    if not opts:
        pytest.skip("no first-party optimizer plugin was built")
    run = {"task": "Rastrigin", "task_kwargs": {"dims": 3}, "working_dir": "runs/smoke",
           "backend": "threads", "max_jobs": len(opts), "seed": 1,
           "opt_selector": {"CycleSelector": {"avail_opts": opts}},
           "exit_conditions": "MaxFuncCalls(fmax=1500)",
           "summary_files": 3 if hdf5 else 2}
    (tmp_path / "smoke.yml").write_text(yaml.safe_dump(run))
    _run([venv.bin("glompo"), "run", "smoke.yml", "--no-progress"], cwd=tmp_path, timeout=600,
         what="a run with every optimizer plugin in the clean venv")
    working_dir, outputs = _expected_outputs(tmp_path / "smoke.yml")
    out_dir = tmp_path / working_dir
    missing = [n for n in outputs if not (out_dir / n).is_file()]
    assert not missing, f"the run did not write {missing}"
    summary = _check_summary(out_dir / "glompo_manager_log.yml", venv.versions["glompo-core"])
    used = json.dumps(summary["Settings"]["Optimizer Selector"])
    for entry in opts:
        assert next(iter(entry)) in used
    if hdf5:
        proc = _run([venv.bin("glompo"), "log", "summary", out_dir / "glompo_log.h5", "--json"],
                    cwd=tmp_path, timeout=300, what="glompo log summary in the clean venv")
        assert proc.stdout.strip(), "glompo log summary printed nothing"


@pytest.mark.slow
def test_third_party_example_runs_by_name(venv: Venv, tmp_path: Path) -> None:
    """The example plugin's run file names its components; they resolve in the clean venv."""
    if "glompo-compass" not in venv.versions:
        pytest.skip("examples/third-party-plugin was not built")
    run_file = tmp_path / "compass.yml"
    shutil.copy(EXAMPLE_PLUGIN / "compass.yml", run_file)
    _run([venv.bin("glompo"), "run", run_file.name, "--no-progress"], cwd=tmp_path,
         timeout=600, what="the third-party example's run file in the clean venv")
    working_dir, outputs = _expected_outputs(run_file)
    out_dir = tmp_path / working_dir
    missing = [n for n in outputs if not (out_dir / n).is_file()]
    assert not missing, f"compass.yml did not write {missing} in {out_dir}"
    summary = _check_summary(out_dir / "glompo_manager_log.yml", venv.versions["glompo-core"])
    used = json.dumps(summary["Settings"])
    assert "CompassSearch" in used and "StallSeconds" in used, used
