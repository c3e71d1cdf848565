"""The emulator's routing fixes (ecompipe/local/routing.py): moto's S3 URL module runs once, not at
every request, and a change of MOTO_S3_CUSTOM_ENDPOINTS still takes effect; its server finds a
request's service without listing its package's folders again."""

from __future__ import annotations

import os

import boto3
import moto
import moto.backends
import moto.s3.urls
import pytest
from moto import mock_aws

from ecompipe.local import routing
from tests.conftest import MOTO_CONFIG

pytestmark = pytest.mark.functional


def test_s3_requests_are_routed_without_running_the_url_module_again(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="routing")
        routes = moto.s3.urls.url_paths  # a fresh dict each time the module runs
        for i in range(3):
            s3.put_object(Bucket="routing", Key=f"k{i}", Body=b"x")
            assert s3.get_object(Bucket="routing", Key=f"k{i}")["Body"].read() == b"x"
        assert moto.s3.urls.url_paths is routes

        monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", "http://custom-s3.local:4566")
        custom = boto3.client("s3", region_name="us-east-1", endpoint_url="http://custom-s3.local:4566")
        assert custom.get_object(Bucket="routing", Key="k0")["Body"].read() == b"x"
        assert moto.s3.urls.url_paths is not routes


def test_the_server_finds_a_service_without_listing_moto_folders_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.server import create_backend_app

    routing.apply()
    listed = sorted(
        name
        for name in os.listdir(os.path.dirname(moto.__file__))
        if os.path.isdir(os.path.join(os.path.dirname(moto.__file__), name)) and not name.startswith("__")
    )
    assert list(moto.backends.list_of_moto_modules()) == listed

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(os, "listdir", no_listing)
    dispatcher = DomainDispatcherApplication(create_backend_app)
    assert [dispatcher.get_backend_for_host(s) for s in ("s3", "stepfunctions", "dynamodb")] == [
        "s3",
        "stepfunctions",
        "dynamodb",
    ]
