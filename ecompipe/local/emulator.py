"""The embedded AWS emulator: moto's server on 127.0.0.1, for runs without an AWS account."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import IO

from ecompipe.core.errors import EmulatorError

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _require_free_port(bind: str, port: int) -> None:
    """moto's server waits forever for a socket it failed to bind: find out before starting it
    (bound the way its server binds, so a port in TIME_WAIT still counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            raise EmulatorError(f"cannot start the emulator on {bind}:{port}: {exc.strerror or exc}") from None


def prepare_environment(port: int) -> None:
    """moto's server needs a region and (dummy) credentials; its Step Functions engine calls back
    on localhost:$MOTO_PORT (DESIGN §6). Only fills what is unset."""
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


class Emulator:
    """Start with `with Emulator() as url:`; stops on exit."""

    def __init__(self, port: int | None = None, bind: str = HOST) -> None:
        self.port = port or free_port()
        self.bind = bind  # 0.0.0.0 only inside a container, where the other services reach it
        self._server = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The emulator's process id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise EmulatorError(
                "the embedded emulator needs moto's server: pip install 'ecompipe[local]' "
                "(or pass --endpoint-url to use a running emulator)"
            ) from None
        _require_free_port(self.bind, self.port)
        prepare_environment(self.port)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the user's terminal
        # moto's engine logs every failed state (a rejected sales file, a caught error) with a stack
        # of internals; the command reports the execution's outcome itself
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        server = ThreadedMotoServer(ip_address=self.bind, port=self.port, verbose=False)
        try:
            server.start()
        except OSError as exc:
            raise EmulatorError(f"cannot start the emulator on {self.url}: {exc}") from None
        self._server = server
        from ecompipe.local import patches
        from ecompipe.local.stack import configure_emulator, reset_emulator

        patches.apply()
        reset_emulator(self.url)  # moto's state is per process: a new emulator starts empty
        configure_emulator(self.url)
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


class EmulatorProcess:
    """The emulator in a process of its own (`python -m ecompipe.local.emulator PORT`), for commands
    that start one for themselves: it boots on the other core while the command imports (and then
    builds the backends a run calls: warm_backends), and moto's
    request handling (Flask, its Step Functions engine) no longer shares the command's interpreter
    (`ecompipe run` on sample_data: ~10.7 s in a thread, ~8 s this way). Start
    with `with EmulatorProcess() as url:`; stopped on exit, and it stops itself when the command's
    process is gone (even after a SIGKILL)."""

    def __init__(self, port: int | None = None, timeout_seconds: float = 60) -> None:
        self.port = port or free_port()
        self.timeout_seconds = timeout_seconds
        self._process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The emulator's process id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> str:
        prepare_environment(self.port)
        command = [sys.executable, "-m", "ecompipe.local.emulator", str(self.port)]
        # its stderr goes to a file, never a pipe nobody reads (a full pipe would stall it)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._log, env={**os.environ, "PYTHONUNBUFFERED": "1"}, text=True
        )
        assert self._process.stdout is not None
        ready = threading.Timer(self.timeout_seconds, self._process.kill)
        ready.start()
        try:
            line = self._process.stdout.readline().strip()  # the URL, printed once it listens
        finally:
            ready.cancel()
        if line != self.url:
            self._process.wait()
            assert self._log is not None
            self._log.seek(0)
            error = self._log.read().decode(errors="replace").strip()[-500:]
            self.stop()
            raise EmulatorError(f"the emulator did not start at {self.url}: {error or 'it printed ' + repr(line)}")
        return self.url

    def stop(self) -> None:
        if self._process is None:
            return
        # its state is in memory only and ends with it: nothing to shut down gracefully (SIGTERM
        # took 1.6 s while moto's server threads wound down)
        self._process.kill()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        if self._log is not None:
            self._log.close()
        self._process = self._log = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def exit_with_parent(poll_seconds: float = 0.5) -> None:
    """End this process when the process that started it is gone (its parent id changes)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, name="ecompipe-exit-with-parent", daemon=True).start()


# what a run's stack deploy and state machine reach first (the EC2 backend alone loads ~1 s of
# modules and JSON on its first call)
RUN_BACKENDS = ("ec2", "ecs", "stepfunctions", "sns")


def warm_backends(names: tuple[str, ...] = RUN_BACKENDS) -> None:
    """Build moto's backends a run will call, in this region and account, before it calls them:
    the command that started this emulator is meanwhile importing, initialising its tables and
    uploading on the other core. A request that arrives first simply waits for the backend."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    for name in names:
        get_backend(name)[DEFAULT_ACCOUNT_ID][region]  # type: ignore[index]


def serve_for_parent(port: int) -> None:
    """The child side of EmulatorProcess: start, print the URL, live as long as the parent does.
    Kept free of the CLI's imports (a quicker start than `ecompipe emulator`)."""
    exit_with_parent()
    emulator = Emulator(port)
    try:
        print(emulator.start(), flush=True)
    except EmulatorError as exc:
        print(exc, file=sys.stderr, flush=True)
        sys.exit(1)
    # nobody reads stdout past the URL: anything later written there must not fill the pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    threading.Thread(target=warm_backends, name="ecompipe-warm", daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    serve_for_parent(int(sys.argv[1]))
