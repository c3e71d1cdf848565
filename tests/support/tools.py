"""Command-line tools whose own pins clash with the project's (checkov pins boto3 exactly) live in
their own virtual environments, installed from their own lock (requirements/NAME.txt, made by
`python3 .ci/lock` with hashes) the first time a test needs them: in the user's cache
(~/.cache/ecompipe/tools, or $XDG_CACHE_HOME), so every checkout and CI run on a machine shares one
copy instead of installing it anew, until the lock changes."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecompipe" / "tools"


def tool(name: str) -> Path:
    """The path of `name` installed (once per version of its lock) from requirements/NAME.txt."""
    lock = ROOT / "requirements" / f"{name}.txt"
    home = TOOLS / f"{name}-py{sys.version_info.major}{sys.version_info.minor}"
    exe = home / "bin" / name
    marker = home / "installed.txt"
    if not (exe.exists() and marker.exists() and marker.read_text() == lock.read_text()):
        venv.create(home, with_pip=True, clear=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True, timeout=900)
        marker.write_text(lock.read_text())
    assert exe.exists(), f"{lock} installed no {name} ({sys.executable})"
    return exe
