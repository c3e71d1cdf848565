"""Validation's batch-wide step in shards (validator.shards): a batch split into any number of
shards by its orders gives the very outcome of one shard — staged rows in batch order, rejected
rows, held items, the pending set carried, the waits and the report — on every case of the
bad-input corpus and generated data with every kind of bad row in both dialects, and on the lab
and generated data with a pending set and known keys to resolve against. Pure: no emulator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from ecompipe.core import cells
from tests.functional.test_reference_path import INPUTS, NOW
from validator import shards
from validator.batch import InputFile, Known, validate_batch
from validator.model import BatchValidation

pytestmark = pytest.mark.functional


def _in_shards(files: list[InputFile], shards: int = 8) -> int:
    """A shard size that splits these files' order and item rows into about `shards` shards (each
    shard costs a pandera call and DuckDB's queries: the store's 64 took ~10 s a test)."""
    return max(1, sum(f.data.count(b"\n") for f in files if f.data and "product" not in f.name) // (shards - 1))


def _same(a: BatchValidation, b: BatchValidation) -> None:
    assert a.report == b.report
    for kind in a.staged:
        assert_frame_equal(a.staged[kind], b.staged[kind])
    for what in ("held", "resolved", "pending", "expired"):
        assert_frame_equal(getattr(a, what), getattr(b, what))
    assert a.rejected_rows.keys() == b.rejected_rows.keys()
    for name, rows in a.rejected_rows.items():
        assert_frame_equal(rows, b.rejected_rows[name])
    assert a.waits_for == b.waits_for


@pytest.mark.parametrize("name", ["corpus", "generated_seed", "generated_thelook"])  # (lab: below, with a pending set)
def test_a_batch_in_shards_gives_the_outcome_of_one(name: str) -> None:
    files = [InputFile(f"incoming/{n}", data) for n, data in INPUTS[name].items()]
    whole = validate_batch("b", files, Known(), None, now=NOW)
    assert whole.report["totals"]["rows_read"] > 0
    _same(whole, validate_batch("b", files, Known(), None, now=NOW, shard_rows=_in_shards(files)))
    if name in ("corpus", "generated_thelook"):  # (a report alone, as `ecompipe validate` prints it)
        alone = validate_batch("b", files, Known(), None, now=NOW, report_only=True)
        assert alone.report == whole.report and alone.staged == {} and alone.rejected_rows == {}


@pytest.mark.parametrize("name", ["generated_seed", "lab"])
def test_references_resolved_across_shards_against_a_pending_set_and_known_keys(name: str) -> None:
    """Items first (held: their orders come later), then the orders with a pending set, some order
    and product ids already known: what resolves, stays held or is superseded is the same in
    shards."""
    items_first = {n: d for n, d in INPUTS[name].items() if "item" in n}
    rest = {n: d for n, d in INPUTS[name].items() if "item" not in n}
    some_items = dict(list(items_first.items())[:1])
    first = validate_batch("a", [InputFile(f"incoming/{n}", d) for n, d in items_first.items()], Known(), None, now=NOW)
    assert len(first.pending)
    order_ids = first.pending["order_id"].dropna().drop_duplicates()
    known = Known(order_ids=pd.Index(order_ids.iloc[::5]), product_ids=pd.Index(first.pending["product_id"].iloc[::3]))
    files = [InputFile(f"incoming/{n}", d) for n, d in {**rest, **some_items}.items()]
    whole = validate_batch("b", files, known, first.pending, now=NOW)
    assert whole.report["pending"]["resolved"] + whole.report["pending"]["superseded"] > 0
    _same(whole, validate_batch("b", files, known, first.pending, now=NOW, shard_rows=_in_shards(files)))


def test_an_item_id_repeated_under_orders_of_different_shards_is_a_duplicate() -> None:
    """thelook keys items by their own id, which another order may repeat: in another shard. The
    second row of the id is rejected as a duplicate whichever shard holds it."""
    order_ids = [f"O{i}" for i in range(40)]
    shard_of = cells.buckets_of(pd.Series(order_ids), 64)
    a, b = next((x, y) for x in range(40) for y in range(40) if shard_of[x] != shard_of[y])
    orders = "order_id,user_id,status,created_at,num_of_item\n" + "".join(
        f"{o},U1,Complete,2025-06-01 10:00:00,1\n" for o in order_ids
    )
    items = "id,order_id,product_id,sale_price\n" + f"7,{order_ids[a]},P1,1.00\n7,{order_ids[b]},P1,2.00\n"
    products = "id,category,retail_price\nP1,Shoes,9.99\n"
    files = [
        InputFile("incoming/orders_1.csv", orders.encode()),
        InputFile("incoming/order_items_1.csv", items.encode()),
        InputFile("incoming/products.csv", products.encode()),
    ]
    whole = validate_batch("b", files, Known(), None, now=NOW)
    sharded = validate_batch("b", files, Known(), None, now=NOW, shard_rows=1)
    _same(whole, sharded)
    rejected = sharded.rejected_rows["order_items_1.csv"]
    assert list(rejected["line"]) == [3] and list(rejected["reason"]) == ["duplicate_key"]


@given(st.integers(1, 10_000), st.integers(1, 1 << 21))
def test_a_shard_holds_at_most_its_rows_and_shards_are_a_power_of_two(rows: int, shard_rows: int) -> None:
    count = shards.count_for(rows, shard_rows)
    assert count & (count - 1) == 0 and count <= cells.MAX_BUCKETS
    assert rows <= count * shard_rows or count == cells.MAX_BUCKETS
    assert count == 1 or rows > (count // 2) * shard_rows


@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=60), st.sampled_from([1, 2, 4, 8, 64]))
def test_shards_are_the_cells_buckets_of_each_order_in_batch_order(ids: list[str | None], count: int) -> None:
    """Every row in exactly one shard, each shard's rows ascending, and an order's rows in the shard
    that is its cell bucket under `count` buckets (a missing id counts as '')."""
    order_ids = pd.Series(ids, dtype="str")
    at = shards.positions([order_ids], count)
    assert len(at) == count
    assert sorted(np.concatenate(at).tolist()) == list(range(len(ids)))
    expected = cells.buckets_of(order_ids.fillna(""), count) if count > 1 else np.zeros(len(ids), np.int64)
    for s, rows in enumerate(at):
        assert (np.diff(rows) > 0).all()
        assert (expected[rows] == s).all()
