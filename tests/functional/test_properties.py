"""Properties of whole pipeline runs on moto over random batches (both dialects, valid rows mixed
with invalid ones, split across files): the KPI tables equal an independent computation from the
valid rows alone (tests/support/strategies.py, plain loops and Decimal), and each day's category revenue
adds up to its order revenue."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings

from tests.support.helpers import one_shot_kpis
from tests.support.strategies import Batch, batches, expected_kpis

pytestmark = pytest.mark.functional


@settings(max_examples=20)
@given(batches())
def test_pipeline_kpis_equal_an_independent_computation(aws_env: None, batch: Batch) -> None:
    orders, categories = one_shot_kpis(batch.files)
    want_orders, want_categories = expected_kpis(batch)
    assert [{k: row[k] for k in want_orders[0]} for row in orders] == want_orders
    fields = ("category", "order_date", "daily_revenue", "avg_order_value", "avg_return_rate")
    assert [{k: row[k] for k in fields} for row in categories] == want_categories

    by_day: dict[str, Decimal] = defaultdict(Decimal)
    for row in categories:
        by_day[row["order_date"]] += row["daily_revenue"]
    assert {r["order_date"]: r["total_revenue"] for r in orders if r["total_revenue"]} == {
        d: v for d, v in by_day.items() if v
    }
