"""Running the real CLI in a subprocess, and a shared `ecompipe emulator` for several commands."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecompipe.local.emulator import free_port
from ecompipe.local.stack import configure_emulator, reset_emulator
from tests.conftest import ROOT
from tests.support.shared import once_per_session


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOMPIPE_", "AWS_", "MOTO_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    return env


def ecompipe(
    *args: str, cwd: Path = ROOT, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "ecompipe", *args],
        cwd=cwd,
        env={**cli_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"ecompipe {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def start_run(directory: Path, url: str) -> subprocess.Popen:
    """`ecompipe run DIRECTORY --output json` against the emulator at `url`, in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "ecompipe", "run", str(directory), "--endpoint-url", url, "--output", "json"],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="session")
def _emulator_process() -> Iterator[str]:
    """`ecompipe emulator` in the background, as a user would run it in another terminal: one per
    test process (an emulator's first requests build moto's service apps, ~2-3 s of CPU; a reset
    keeps them)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecompipe", "emulator", "--port", str(port)],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}", proc.stderr.read() if proc.poll() is not None else url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def emulator_url(_emulator_process: str) -> str:
    """The test process's emulator, emptied of every resource an earlier test made and set up as
    `ecompipe emulator` sets it up: each test starts from a new emulator's state."""
    reset_emulator(_emulator_process)
    configure_emulator(_emulator_process)
    return _emulator_process


@pytest.fixture(scope="session")
def sample_kpis(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict:
    """`ecompipe run sample_data/seed --output json` on the embedded emulator: the reference KPIs
    (made once per session)."""
    import json

    def make() -> dict:
        return json.loads(ecompipe("run", str(ROOT / "sample_data" / "seed"), "--output", "json").stdout)

    return once_per_session(tmp_path_factory, worker_id, "sample_kpis", make)
