"""``.ci/run``: the README's test command, run in the plain environment of a user's fresh shell."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI_RUN = ROOT / ".ci" / "run"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or os.name == "nt",
                                reason=".ci/run is a bash script")


def ci_run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CI_RUN), *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=ROOT)


def test_it_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert block is not None, "README.md lost its <!-- test-command --> block"
    proc = ci_run("--print")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == block.group(1).strip()


def test_the_command_sees_a_plain_environment(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "real-home"), "LANG": "C.UTF-8",
           "TMPDIR": str(tmp_path),
           "PYTHONUNBUFFERED": "1", "PYTHONPATH": "/nowhere", "PYTHONDONTWRITEBYTECODE": "1",
           "VIRTUAL_ENV": "/some/venv", "GLOMPO_SECRET": "x",
           "PIP_INDEX_URL": "https://mirror.invalid/simple", "https_proxy": "http://proxy:3128",
           "NO_PROXY": "localhost"}
    conf = tmp_path / "real-home" / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[global]\n")
    proc = ci_run("--", "bash", "-c", 'env; echo "HOME_FILES=$(ls -A "$HOME" | wc -l)"',
                  env=env)
    assert proc.returncode == 0, proc.stderr
    seen = dict(line.split("=", 1) for line in proc.stdout.splitlines()[2:] if "=" in line)
    assert not [k for k in seen if k.startswith("PYTHON")], seen
    assert "VIRTUAL_ENV" not in seen and "GLOMPO_SECRET" not in seen
    assert seen["PATH"] == env["PATH"] and seen["LANG"] == "C.UTF-8"
    assert seen["TMPDIR"] == str(tmp_path)
    # a fresh, empty HOME (removed afterwards), and pip still finds its configuration
    assert seen["HOME"] != env["HOME"] and seen["HOME"].startswith(str(tmp_path))
    assert seen["HOME_FILES"] == "0" and not Path(seen["HOME"]).exists()
    assert seen["PIP_CONFIG_FILE"] == str(conf)
    assert seen["PIP_INDEX_URL"] == env["PIP_INDEX_URL"]
    assert seen["https_proxy"] == env["https_proxy"] and seen["NO_PROXY"] == "localhost"
    # the log names the variables passed on, never their values (a proxy may hold a password)
    assert proc.stdout.splitlines()[1].startswith("  (env -i PATH HOME LANG TMPDIR ")
    assert "proxy:3128" not in proc.stdout.splitlines()[1]


def test_the_command_status_is_the_scripts() -> None:
    assert ci_run("--", "bash", "-c", "exit 7").returncode == 7
    bad = ci_run("--bogus")
    assert bad.returncode == 2 and "unknown argument '--bogus'" in bad.stderr
