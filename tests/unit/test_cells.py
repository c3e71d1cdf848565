"""The cells' pure parts (ecompipe.core.cells, transformer.partials): the hash a store is laid out
by never changes, the merge policy keeps parts and runs few, and a date's KPIs merged from any
split of its orders into parts are the KPIs of all its rows (transformer.kpis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecompipe.core import cells
from transformer import kpis, partials

pytestmark = pytest.mark.unit


def test_the_hash_is_the_one_stores_are_laid_out_by() -> None:
    # a store written with one hash cannot be read with another: these values are part of the layout
    assert [int(h) for h in cells.key_hashes(["order-1", "O1", "", "é"])] == [
        2219409234879077855,
        17121770104200905880,
        6634895792632891675,
        14889776630731086258,
    ]
    assert cells.buckets_of(pd.Series(["order-1", "O1"]), 64).tolist() == [31, 24]
    assert cells.buckets_of(pd.Series(["order-1", "O1"]), 8).tolist() == [31 % 8, 24 % 8]


def _reference_hash(key: str) -> int:
    """key_hashes one key at a time, in Python integers: what the vectorised one must equal."""
    h = int(cells.HASH_SEED)
    for byte in key.encode():
        h = (h * 0x100000001B3 + byte) % 2**64
    h ^= len(key.encode())
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) % 2**64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) % 2**64
    return h ^ (h >> 31)


@given(st.lists(st.text(max_size=40), max_size=30), st.integers(0, 5))
def test_the_vectorised_hash_equals_the_one_written_out(keys: list[str], cut: int) -> None:
    column = pd.Series(["x", *keys], dtype="str").iloc[min(cut, len(keys)) :]  # a slice: offsets not at 0
    assert [int(h) for h in cells.key_hashes(column)] == [_reference_hash(k) for k in column]


def test_dates_round_trip_as_day_numbers() -> None:
    days = cells.day_numbers(pd.Series(["1970-01-01", "2025-06-01", "2099-12-31"]))
    assert cells.day_dates(days) == ["1970-01-01", "2025-06-01", "2099-12-31"]


def test_bucket_counts_double_with_size_up_to_the_projection_limit() -> None:
    assert cells.buckets_for(0) == 1 and cells.buckets_for(cells.SPLIT_ITEMS) == 1
    assert cells.buckets_for(cells.SPLIT_ITEMS + 1) == 2
    assert cells.buckets_for(10**12) == cells.MAX_BUCKETS


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=300))
def test_merging_the_tail_keeps_parts_logarithmic_and_rewrites_little(writes: list[int]) -> None:
    parts: list[int] = []
    rewritten = 0
    for size in writes:
        parts.append(size)
        taken = cells.tail_to_merge(parts)
        if taken > 1:
            rewritten += sum(parts[-taken:-1])
            parts[-taken:] = [sum(parts[-taken:])]
    total = sum(writes)
    assert sum(parts) == total
    assert len(parts) <= 2 * total.bit_length() + 2
    # each row is rewritten a logarithmic number of times at most
    assert rewritten <= total * (max(writes).bit_length() + total.bit_length() + 1)


ORDER_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["2025-06-01", "2025-06-02"]),
        st.sampled_from(["U1", "U2", "U3", "U4"]),
        st.sampled_from(["delivered", "returned", "cancelled", "shipped"]),
        st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.integers(1, 5), st.integers(0, 10**9)), max_size=3),
        st.integers(0, 3),  # the part
    ),
    max_size=25,
)
PRODUCTS = pd.DataFrame({"product_id": ["P1", "P2", "P3"], "category": ["Books", "Toys", "Toys"]})


@settings(max_examples=60, deadline=None)
@given(ORDER_ROWS)
def test_kpis_merged_from_any_split_into_parts_are_the_kpis_of_all_rows(rows) -> None:
    orders = pd.DataFrame(
        [(f"O{i}", u, d, s, f"{d}-{p}") for i, (d, u, s, _, p) in enumerate(rows)],
        columns=["order_id", "user_id", "order_date", "status", "_part"],
    )
    items = pd.DataFrame(
        [
            (f"O{i}", prod, q, c, f"{d}-{p}")
            for i, (d, _, _, lines, p) in enumerate(rows)
            for prod, q, c in dict((pr, (pr, q, c)) for pr, q, c in lines).values()
        ],
        columns=["order_id", "product_id", "quantity", "unit_price_cents", "_part"],
    ).astype({"quantity": "int64", "unit_price_cents": "int64"})
    scored = partials.of_parts(orders, items, PRODUCTS)
    by_date = []
    for date, day in orders.groupby("order_date"):
        customers = partials.customers_after(
            pd.DataFrame({"user_id": pd.Series([], dtype="str"), "orders": pd.Series([], dtype="int64")}),
            pd.Series([], dtype="str"),
            day["user_id"],
        )
        by_date.append((str(date), [scored[p] for p in day["_part"].unique()], len(customers)))
    merged_orders, merged_categories = partials.kpi_frames(by_date)
    whole = (orders.drop(columns="_part"), items.drop(columns="_part"))
    assert kpis.order_records(merged_orders) == kpis.order_records(kpis.order_kpis(*whole))
    assert kpis.category_records(merged_categories) == kpis.category_records(kpis.category_kpis(*whole, PRODUCTS))


def test_customers_follow_orders_in_and_out() -> None:
    none = pd.DataFrame({"user_id": pd.Series([], dtype="str"), "orders": pd.Series([], dtype="int64")})
    after = partials.customers_after(none, pd.Series([], dtype="str"), pd.Series(["U1", "U1", "U2"]))
    assert dict(zip(after["user_id"], after["orders"], strict=True)) == {"U1": 2, "U2": 1}
    after = partials.customers_after(after, pd.Series(["U1", "U2"]), pd.Series(["U3"]))
    assert dict(zip(after["user_id"], after["orders"], strict=True)) == {"U1": 1, "U3": 1}
    with pytest.raises(ValueError, match="not there"):
        partials.customers_after(after, pd.Series(["U9"]), pd.Series([], dtype="str"))


def test_a_part_spans_buckets_until_it_is_large_enough_to_split() -> None:
    rows = cells.MIN_PART_ROWS
    assert cells.modulus_for(100, 64) == 1  # a small write: one part over the whole date
    assert cells.modulus_for(2 * rows, 64) == 2 and cells.modulus_for(2 * rows - 1, 64) == 1
    assert cells.modulus_for(10**9, 8) == 8  # never finer than the date's buckets


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**64 - 1) | st.integers(0, 8), st.integers(0, 5)), max_size=60))
def test_an_index_run_holds_its_pairs_sorted_by_hash_then_location_each_once(pairs) -> None:
    from ecompipe.aws.key_index import _pairs

    h, loc = _pairs(np.array([p[0] for p in pairs], np.uint64), np.array([p[1] for p in pairs], np.int32))
    assert list(zip(h.tolist(), loc.tolist(), strict=True)) == sorted(set(pairs))
