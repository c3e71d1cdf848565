"""Injected faults on the real code paths (boto3 clients from ecompipe.aws.clients against moto):
throttling and 5xx answers are retried by the client factory's retry configuration, a crash
between the curated write and the KPI write converges on rerun, and a run whose lease expired
mid-run is fenced out before it can overwrite its successor's output."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.lock import Fence, FencedOut, LeaseStore
from ecompipe.batch.pipeline import run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from tests.support.corpus import ITEMS, ORDERS, PRODUCTS
from tests.support.helpers import kpi_state, one_shot_kpis, put_files, record_manifest, run_files
from transformer import task as transform_task

pytestmark = pytest.mark.functional

FILES = {
    "products.csv": PRODUCTS + b"1,Books,A,10.00\n2,Toys,B,5.50\n",
    "orders_a.csv": ORDERS
    + b"1,5,2025-06-01,25.50,delivered\n2,6,2025-06-01,5.50,returned\n3,7,2025-06-02,1,shipped\n",
    "order_items_a.csv": ITEMS + b"1,1,2,10.00\n1,2,1,5.50\n2,2,1,5.50\n3,1,1,10.00\n",
}
LATER = {
    "orders_b.csv": ORDERS + b"4,5,2025-06-02,11.00,delivered\n",
    "order_items_b.csv": ITEMS + b"4,2,2,5.50\n",
}
S3_SLOW_DOWN = (503, {}, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
S3_INTERNAL = (
    500,
    {},
    b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
)
DYNAMODB_THROTTLED = (
    400,
    {"x-amzn-ErrorType": "ProvisionedThroughputExceededException"},
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
    b'"message":"The level of configured provisioned throughput for the table was exceeded."}',
)


class _Raw(io.BytesIO):
    def stream(self, **_kwargs: Any):
        yield self.getvalue()


class Faults:
    """Answers `count` requests of `operation` (every `every`-th one) on a real client with an error
    response before moto sees them; botocore's retry handler treats it as it would a real one."""

    def __init__(self, client: Any, operation: str, answer: tuple, count: int, every: int = 1) -> None:
        self.answer, self.left, self.every = answer, count, every
        self.seen = self.injected = 0
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-send.{service}.{operation}", self._send)

    def _send(self, request: Any, **_kwargs: Any) -> AWSResponse | None:
        self.seen += 1
        if self.left <= 0 or self.seen % self.every:
            return None
        self.left -= 1
        self.injected += 1
        status, headers, body = self.answer
        return AWSResponse(request.url, status, headers, _Raw(body))


@pytest.mark.parametrize("answer", [S3_SLOW_DOWN, S3_INTERNAL], ids=["slow-down", "internal-error"])
def test_s3_errors_are_retried_and_the_run_equals_a_clean_one(resources, answer: tuple) -> None:
    gets = Faults(resources.bucket.s3, "GetObject", answer, count=3, every=2)
    puts = Faults(resources.bucket.s3, "PutObject", answer, count=3, every=3)
    result = run_files(resources, FILES)
    assert gets.injected == 3 and puts.injected == 3
    assert result.report["totals"]["accepted"] == 9
    assert kpi_state(resources) == one_shot_kpis(FILES)


def test_dynamodb_throttling_is_retried_and_nothing_is_lost(resources) -> None:
    throttled = Faults(resources.kpis.db, "BatchWriteItem", DYNAMODB_THROTTLED, count=3)
    run_files(resources, FILES)
    assert throttled.injected == 3
    assert kpi_state(resources) == one_shot_kpis(FILES)


def test_a_fault_outlasting_the_retries_fails_the_run_and_loses_no_input(resources) -> None:
    keys = put_files(resources, FILES)
    manifest = record_manifest(resources.bucket, keys)
    impatient = Resources.from_settings(replace(resources.settings, aws_max_attempts=2))
    Faults(impatient.kpis.db, "BatchWriteItem", DYNAMODB_THROTTLED, count=10)
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        run_manifest(impatient, manifest)
    assert sorted(o.key for o in resources.bucket.list(layout.INCOMING)) == sorted(keys)  # nothing archived
    run_manifest(resources, manifest)  # the state machine's retry, once the throttling passed
    assert kpi_state(resources) == one_shot_kpis(FILES)


class Crash(BaseException):
    """The process dies (BaseException: no `except Exception` on the way may swallow it)."""


class DiesOnKpiWrite:
    """The real DynamoDB client, but the process dies at the first KPI write."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def batch_write_item(self, **_kwargs: Any) -> dict:
        raise Crash


def test_a_crash_between_the_curated_and_the_kpi_write_converges_on_rerun(resources) -> None:
    run_files(resources, FILES)
    manifest = record_manifest(resources.bucket, put_files(resources, LATER))
    dying = replace(resources, kpis=KpiStore(DiesOnKpiWrite(resources.kpis.db), resources.settings))
    with pytest.raises(Crash):
        run_manifest(dying, manifest)
    # the curated store already holds the new order; the KPIs do not yet
    curated = CuratedStore(resources.bucket).read_rows("orders", ["2025-06-02"])
    assert curated is not None and len(curated) and [r["total_orders"] for r in resources.kpis.order_kpis()] == [2, 1]

    transform_task.run(resources.bucket, resources.kpis, manifest.batch_id)  # the task's retry
    assert kpi_state(resources) == one_shot_kpis({**FILES, **LATER})


def _tables_and_curated(res: Resources) -> tuple:
    curated = {o.key: o.etag for o in res.bucket.list("curated/")}
    return kpi_state(res), curated, res.bucket.exists(layout.PENDING_ITEMS_KEY)


def test_a_run_whose_lease_expired_mid_run_is_fenced_out(resources) -> None:
    clock = [datetime(2026, 11, 22, 12, 0, tzinfo=UTC)]
    leases = LeaseStore(resources.bucket.s3, resources.settings.bucket, timedelta(minutes=120), clock=lambda: clock[0])
    a_keys = put_files(resources, FILES)
    a = record_manifest(resources.bucket, a_keys)
    leases.acquire("run-a", "test")
    after_b: list[tuple] = []

    def a_stalls_and_b_takes_over(step: str) -> None:
        if not after_b:  # A hangs past its lease; B takes the lease over and runs everything in incoming/
            clock[0] += timedelta(minutes=121)
            b_keys = put_files(resources, LATER)
            b = record_manifest(resources.bucket, [*a_keys, *b_keys])
            b_lease = leases.acquire("run-b", "test")
            run_manifest(resources, b, fence=Fence(leases, "run-b").check)
            leases.release(b_lease)
            after_b.append(_tables_and_curated(resources))
        Fence(leases, "run-a").check(step)

    with pytest.raises(FencedOut, match=r"run run-a no longer holds the pipeline lease.*stopped before the curated"):
        run_manifest(resources, a, fence=a_stalls_and_b_takes_over)
    # A wrote nothing shared: B's output stands, and it is the output of all the files
    assert _tables_and_curated(resources) == after_b[0]
    assert kpi_state(resources) == one_shot_kpis({**FILES, **LATER})


def test_a_fence_passes_only_for_the_live_holder(resources) -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    clock = [now]
    leases = LeaseStore(resources.bucket.s3, resources.settings.bucket, timedelta(minutes=5), clock=lambda: clock[0])
    with pytest.raises(FencedOut, match="nobody holds it"):
        Fence(leases, "r1").check("x")
    leases.acquire("r1", "test")
    Fence(leases, "r1").check("x")
    with pytest.raises(FencedOut, match="held by run r1"):
        Fence(leases, "r2").check("x")
    clock[0] = now + timedelta(minutes=6)
    with pytest.raises(FencedOut, match="expired"):
        Fence(leases, "r1").check("x")


def test_settings_keep_the_lease_longer_than_three_task_timeouts() -> None:
    s = Settings()
    assert s.lock_ttl_minutes * 60 > 3 * s.task_timeout_seconds
