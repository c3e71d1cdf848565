"""The one place that knows how AWS clients are made: endpoint, region, retries, credentials."""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config

from ecompipe.core.settings import Settings
from ecompipe.core.timestamps import parse_timestamp

# moto's server accepts any credentials; real AWS never sees these because they are only used
# when an explicit endpoint is configured and no credentials are found.
_EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


_sessions: dict[str, boto3.session.Session] = {}
_lock = threading.Lock()


def _session(region: str) -> boto3.session.Session:
    """One session per region for the process: a new session re-reads botocore's endpoint and
    service data (~0.1 s each), which every client made from it would pay again. Its clients read
    the timestamps of responses with ecompipe.core.timestamps (a HEAD's or GET's date, a LIST's
    one per key) instead of dateutil."""
    session = _sessions.get(region)
    if session is None:
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
        session = _sessions.setdefault(region, boto3.session.Session(botocore_session=core, region_name=region))
    return session


def client(service: str, settings: Settings) -> Any:
    """A boto3 client for `service` configured from settings (adaptive retries, endpoint)."""
    config = Config(
        region_name=settings.region,
        retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
        max_pool_connections=32,
    )
    kwargs: dict[str, Any] = {"config": config}
    with _lock:  # a session is not safe to make clients from on several threads at once
        session = _session(settings.region)
        if settings.endpoint_url:
            kwargs["endpoint_url"] = settings.endpoint_url
            if session.get_credentials() is None:
                kwargs.update(_EMULATOR_CREDENTIALS)
        return session.client(service, **kwargs)


def endpoint_answers(url: str, timeout: float = 3.0) -> bool:
    """True when something accepts TCP connections at the endpoint's host and port."""
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
