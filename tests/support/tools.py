"""Command-line tools whose own pins clash with the project's (checkov pins boto3 exactly) live in
their own virtual environments under .tools/, created from PyPI the first time a test needs them."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import ROOT

TOOLS = ROOT / ".tools"


def tool(name: str, requirement: str) -> Path:
    """The path of `name` installed (once) with `requirement` in .tools/<name>/."""
    home = TOOLS / name
    exe = home / "bin" / name
    marker = home / "installed.txt"
    if not (exe.exists() and marker.exists() and marker.read_text() == requirement):
        venv.create(home, with_pip=True, clear=True)
        subprocess.run(
            [
                str(home / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
            check=True,
            timeout=900,
        )
        marker.write_text(requirement)
    assert exe.exists(), f"{requirement} installed no {name} ({sys.executable})"
    return exe
