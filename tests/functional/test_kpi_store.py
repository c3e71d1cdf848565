"""KPI writes: UnprocessedItems are retried with backoff until every item lands, never dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecompipe.aws.kpi_store import KpiStore, WriteFailed

pytestmark = pytest.mark.functional


class ThrottlingDynamoDB:
    """The real (moto) client, except that batch_write_item processes only part of each request
    for the first `throttled_calls` calls and hands the rest back as UnprocessedItems."""

    def __init__(self, real, throttled_calls: int, share: float = 0.5) -> None:
        self.real = real
        self.throttled_calls = throttled_calls
        self.share = share
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def batch_write_item(self, RequestItems: dict) -> dict:
        self.calls += 1
        if self.calls > self.throttled_calls:
            return self.real.batch_write_item(RequestItems=RequestItems)
        done, left = {}, {}
        for table, requests in RequestItems.items():
            half = int(len(requests) * self.share)
            done[table], left[table] = requests[:half], requests[half:]
        if any(done.values()):
            self.real.batch_write_item(RequestItems={t: r for t, r in done.items() if r})
        return {"UnprocessedItems": {t: r for t, r in left.items() if r}}


def _records(n: int) -> list[dict]:
    return [
        {
            "order_date": f"2025-01-{d:02d}",
            "total_orders": d,
            "total_revenue": Decimal("10.50"),
            "total_items_sold": 1,
            "return_rate": Decimal("0.2500"),
            "unique_customers": 1,
        }
        for d in range(1, n + 1)
    ]


def test_unprocessed_items_are_retried_until_all_land(resources) -> None:
    sleeps: list[float] = []
    flaky = ThrottlingDynamoDB(resources.kpis.db, throttled_calls=4)
    store = KpiStore(flaky, resources.settings, sleep=sleeps.append)
    records = _records(28)  # two chunks of 25 + 3
    written = store.replace_dates([r["order_date"] for r in records], records, [])
    assert written == 28
    assert len(resources.kpis.order_kpis()) == 28
    assert len(sleeps) == 4 and all(0 < s <= 2.0 for s in sleeps)
    assert sleeps[1] > sleeps[0] * 0.9 or sleeps[2] > sleeps[0]  # backoff grows (with jitter)


def test_items_still_unprocessed_after_every_try_raise_instead_of_vanishing(resources) -> None:
    flaky = ThrottlingDynamoDB(resources.kpis.db, throttled_calls=10_000, share=0.0)
    store = KpiStore(flaky, resources.settings, sleep=lambda _s: None)
    records = _records(4)
    with pytest.raises(WriteFailed, match="still unprocessed"):
        store.replace_dates([r["order_date"] for r in records], records, [])
