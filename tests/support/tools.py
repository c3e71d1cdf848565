"""Command-line tools whose own pins clash with the project's (checkov pins boto3 exactly) live in
their own virtual environments, installed from their own lock (requirements/NAME.txt, made by
`python3 .ci/lock` with hashes) the first time a test needs them: in the user's cache
(~/.cache/ecompipe/tools, or $XDG_CACHE_HOME), so every checkout and CI run on a machine shares one
copy instead of installing it anew, until the lock changes. A session starts their installs in the
background at the lowest CPU priority (`prepare`), so they take the CPU the tests leave idle; one
install at a time (a file lock), and a test that needs a tool waits for it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecompipe" / "tools"


def tool(name: str) -> Path:
    """The path of `name` installed (once per version of its lock) from requirements/NAME.txt."""
    lock, home, exe, marker = _paths(name)
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / f"{home.name}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # (another session, or `prepare`, may be installing it)
        if not installed(name):
            venv.create(home, with_pip=True, clear=True)
            pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True, timeout=900)
            marker.write_text(lock.read_text())
    assert exe.exists(), f"{lock} installed no {name} ({sys.executable})"
    return exe


def installed(name: str) -> bool:
    """Whether `name` is installed from its lock as it is now."""
    lock, _, exe, marker = _paths(name)
    return exe.exists() and marker.exists() and marker.read_text() == lock.read_text()


def _paths(name: str) -> tuple[Path, Path, Path, Path]:
    """(its lock, its virtual environment, its executable, the copy of the lock it was installed from)."""
    home = TOOLS / f"{name}-py{sys.version_info.major}{sys.version_info.minor}"
    return ROOT / "requirements" / f"{name}.txt", home, home / "bin" / name, home / "installed.txt"


def prepare(*names: str) -> subprocess.Popen | None:
    """Install those of these tools not installed yet (`tool`) in a process of their own at the
    lowest CPU priority, now, so that a test that needs one later finds it installed or waits
    less (None when every one is installed)."""
    names = tuple(n for n in names if not installed(n))
    if not names:
        return None
    code = f"from tests.support.tools import tool\nfor name in {list(names)!r}:\n    tool(name)"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(19),
    )
