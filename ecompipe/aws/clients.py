"""The one place that knows how AWS clients are made: endpoint, region, retries, credentials."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from ecompipe.core.settings import Settings

# moto's server accepts any credentials; real AWS never sees these because they are only used
# when an explicit endpoint is configured and no credentials are found.
_EMULATOR_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(service: str, settings: Settings) -> Any:
    """A boto3 client for `service` configured from settings (adaptive retries, endpoint)."""
    config = Config(
        region_name=settings.region,
        retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
        max_pool_connections=32,
    )
    kwargs: dict[str, Any] = {"config": config}
    session = boto3.session.Session(region_name=settings.region)
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
