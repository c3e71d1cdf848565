"""The emulator `ecompipe run` starts in a process of its own: it answers, it goes away with the
command even when the command is killed outright, and a failed start says why at once."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from ecompipe.aws.clients import endpoint_answers
from ecompipe.core.errors import EmulatorError
from ecompipe.local.emulator import HOST, Emulator, EmulatorProcess

pytestmark = pytest.mark.e2e

# A command that starts the emulator, says where, then dies by SIGKILL (no cleanup runs).
KILLED_COMMAND = """
import os, signal
from ecompipe.local.emulator import EmulatorProcess
print(EmulatorProcess().start(), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _gone(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not endpoint_answers(url, timeout=0.5):
            return True
        time.sleep(0.2)
    return False


def test_the_emulator_answers_and_stops_with_its_command() -> None:
    with EmulatorProcess() as url:
        assert endpoint_answers(url)
    assert _gone(url, 5)


def test_the_emulator_ends_when_its_command_is_killed() -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_COMMAND], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    url = proc.stdout.strip()
    assert url.startswith(f"http://{HOST}:")
    assert _gone(url, 10), f"the emulator at {url} outlived the command that started it"


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmulatorError, match=f"did not start at http://{HOST}:{port}"):
            EmulatorProcess(port).start()
        # the same check spares the in-process emulator (`ecompipe emulator`) moto's endless wait
        with pytest.raises(EmulatorError, match=f"cannot start the emulator on {HOST}:{port}"):
            Emulator(port).start()
