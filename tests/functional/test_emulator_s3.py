"""The emulator's S3 routing fix (ecompipe/local/patches.py: patch_moto_s3_url_module): moto's S3
URL module runs once, not at every request, and a change of MOTO_S3_CUSTOM_ENDPOINTS still
takes effect."""

from __future__ import annotations

import boto3
import moto.s3.urls
import pytest
from moto import mock_aws

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
