"""Every bundled example runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from glompo_core.cli import main
from glompo_core.plugins import get_plugin_manager

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("run_file", sorted(EXAMPLES.glob("*.yml")), ids=lambda p: p.name)
def test_run_file_examples(run_file: Path, tmp_path: Path) -> None:
    selector = yaml.safe_load(run_file.read_text()).get("opt_selector")
    if selector is None:  # the default portfolio (examples/quickstart.yml)
        from glompo_core._portfolio import ask_default_portfolio

        default = ask_default_portfolio(get_plugin_manager(), None, None)
        if default is None:
            pytest.skip(f"{run_file.name} needs a default portfolio, which no installed "
                        "plugin gives")
        selector = default.sections["opt_selector"]
    for opt in next(iter(selector.values()))["avail_opts"]:
        name = opt if isinstance(opt, str) else next(iter(opt))
        if not get_plugin_manager().has("optimizer", name):
            pytest.skip(f"{run_file.name} needs {name}, whose plugin is not installed")
    out = tmp_path / "out"
    code = main(["run", str(run_file), "--no-progress", "--set", f"working_dir={out}"])
    assert code == 0
    summary = yaml.safe_load((out / "glompo_manager_log.yml").read_text())
    assert summary["Counters"]["Function Evaluations"] > 0
    assert summary["Solution"]["fx"] is not None


def test_python_example(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLES / "python_api.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "best fx =" in proc.stdout
    assert (tmp_path / "runs" / "python_api" / "glompo_manager_log.yml").exists()


def test_the_readme_shows_the_recommended_file_as_it_is() -> None:
    """The README's excerpt of examples/recommended.yml says what the file says."""
    import re

    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## A recommended configuration", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    shown = yaml.safe_load(block.group(1))
    actual = yaml.safe_load((EXAMPLES / "recommended.yml").read_text())
    for key in shown:
        assert shown[key] == actual[key], key
