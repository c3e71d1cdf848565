"""The embedded AWS emulator: moto's server on 127.0.0.1, for runs without an AWS account."""

from __future__ import annotations

import logging
import os
import socket
from types import TracebackType

from ecompipe.core.errors import EmulatorError

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


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

    def start(self) -> str:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise EmulatorError(
                "the embedded emulator needs moto's server: pip install 'ecompipe[local]' "
                "(or pass --endpoint-url to use a running emulator)"
            ) from None
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
