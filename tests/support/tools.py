"""Command-line tools whose own pins clash with the project's (checkov pins boto3 exactly) live in
their own virtual environments, created from PyPI the first time a test needs them: in the user's
cache (~/.cache/ecompipe/tools, or $XDG_CACHE_HOME), so every checkout and CI run on a machine
shares one copy instead of installing it anew (a fresh machine installs it once)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecompipe" / "tools"


def tool(name: str, requirement: str) -> Path:
    """The path of `name` installed (once) with `requirement` in the tools cache."""
    home = TOOLS / f"{name}-py{sys.version_info.major}{sys.version_info.minor}"
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
