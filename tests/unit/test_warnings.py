"""The batch's consistency warnings (validator.consistency.warnings_of) against a plain reference: for each
order of the batch with items in it, the sum of those items against its total_amount, and their
count against its num_of_item."""

from collections import defaultdict

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecompipe.core import money
from validator.consistency import warnings_of as _warnings

pytestmark = pytest.mark.unit

_ids = st.sampled_from(["1", "2", "3", "4", "x/y", "é"])
_cents = st.one_of(st.none(), st.integers(0, 10**6))
_orders = st.lists(st.tuples(_cents, st.one_of(st.none(), st.integers(0, 4))), max_size=5)
_items = st.lists(st.tuples(_ids, st.integers(1, 3), st.integers(0, 10**5)), max_size=10)


def _frames(orders: list, items: list, held: list) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ids = ["1", "2", "3", "x/y", "5"][: len(orders)]
    o = pd.DataFrame(
        {
            "order_id": pd.Series(ids, dtype="str"),
            "total_amount_cents": pd.array([t for t, _ in orders], dtype="Int64"),
            "num_of_item": pd.array([n for _, n in orders], dtype="Int64"),
            "source_file": "incoming/orders.csv",
            "source_line": range(2, 2 + len(orders)),
        }
    )

    def rows(found: list) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "order_id": pd.Series([i for i, _, _ in found], dtype="str"),
                "quantity": pd.array([q for _, q, _ in found], dtype="Int64"),
                "unit_price_cents": pd.array([p for _, _, p in found], dtype="Int64"),
            }
        )

    return o, rows(items), rows(held)


def _reference(orders: pd.DataFrame, items: pd.DataFrame, held: pd.DataFrame) -> list[tuple]:
    known = set(orders["order_id"])
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for frame in (items, held):
        for oid, q, p in zip(frame["order_id"], frame["quantity"], frame["unit_price_cents"], strict=True):
            if oid in known:
                sums[oid][0] += 1
                sums[oid][1] += int(q) * int(p)
    amount, count = [], []
    for r in orders.itertuples():
        if r.order_id not in sums:
            continue
        n, cents = sums[r.order_id]
        if not pd.isna(r.total_amount_cents) and abs(int(r.total_amount_cents) - cents) > 1:
            amount.append(("total_amount_mismatch", r.order_id, r.source_line, money.format_cents(cents)))
        if not pd.isna(r.num_of_item) and int(r.num_of_item) != n:
            count.append(("num_of_item_mismatch", r.order_id, r.source_line, f"holds {n} of"))
    return amount + count


@settings(max_examples=300, deadline=None)
@given(_orders, _items, _items)
def test_warnings_are_each_order_against_the_items_the_batch_holds_of_it(orders: list, items: list, held: list) -> None:
    """Property: the same warnings, in the same order (amounts, then counts, each in the orders'
    order), as per-order sums in Python over the batch's items and its held items; items of
    orders not in the batch count for none."""
    o, i, h = _frames(orders, items, held)
    found = _warnings(o, pd.concat([i, h], ignore_index=True))
    expected = _reference(o, i, h)
    assert [(w["type"], w["order_id"], w["line"]) for w in found] == [e[:3] for e in expected]
    assert all(e[3] in w["message"] for w, e in zip(found, expected, strict=True))
    assert all(w["file"] == "incoming/orders.csv" for w in found)
