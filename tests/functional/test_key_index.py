"""The curated key index (indexes/curated-*-keys.parquet): a cache of every partition's keys that a
batch checks against the partitions' ETags, so it reads only what changed; the transformer
refreshes it after writing partitions, readers never write. Whatever happens to the
cache — stale, gone, corrupt, partitions rewritten or deleted behind its back — the keys it gives
are exactly the partitions' keys, in date order."""

from __future__ import annotations

import pandas as pd
import pytest

from ecompipe.aws import parquet
from ecompipe.aws.curated import KEY_COLUMNS, ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.core import layout
from tests.support.helpers import run_files

pytestmark = pytest.mark.functional

ORDERS_CSV = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS_CSV = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = {"products.csv": b"product_id,category,name,price\nP1,Books,a,1.00\nP2,Toys,b,2.00\n"}


def _batch(*orders: tuple[str, str]) -> dict[str, bytes]:
    rows = b"".join(f"{o},U,{d},1.00,delivered\n".encode() for o, d in orders)
    items = b"".join(f"{o},P1,1,1.00\n".encode() for o, _ in orders)
    return {**PRODUCTS, "orders_x.csv": ORDERS_CSV + rows, "order_items_x.csv": ITEMS_CSV + items}


def _from_partitions(store: CuratedStore, kind: str) -> pd.DataFrame:
    """The keys read straight from every partition, date after date (what the index must equal)."""
    frames = [
        parquet.get_frame(store.bucket, layout.curated_partition_key(kind, d), KEY_COLUMNS[kind]).assign(order_date=d)
        for d in store.partition_dates(kind)
    ]
    return pd.concat(frames, ignore_index=True)


def _assert_exact(store: CuratedStore) -> None:
    for kind in (ORDERS, ORDER_ITEMS):
        got = store.keys(kind)
        assert got is not None
        pd.testing.assert_frame_equal(got, _from_partitions(store, kind), check_dtype=False)


def test_the_index_follows_every_batch_and_reads_only_changed_partitions(resources, monkeypatch) -> None:
    store = CuratedStore(resources.bucket)
    run_files(resources, _batch(("O1", "2025-06-01"), ("O2", "2025-06-02")))
    _assert_exact(store)
    # an order moved to another day, a new day
    run_files(resources, _batch(("O1", "2025-06-03"), ("O3", "2025-06-02")))
    _assert_exact(store)

    read: list[str] = []
    real = store._read
    monkeypatch.setattr(store, "_read", lambda kind, dates, columns: read.extend(dates) or real(kind, dates, columns))
    store.keys(ORDERS)
    assert read == [], "an index in step with the partitions reads no partition"
    parquet.put_frame(
        resources.bucket,
        layout.curated_partition_key(ORDERS, "2025-06-02"),
        pd.DataFrame({"order_id": ["O9"], "order_date": ["2025-06-02"]}),
    )
    index_etag = resources.bucket.head(layout.key_index_key(ORDERS)).etag
    assert store.keys(ORDERS)["order_id"].tolist() == ["O9", "O1"]  # rewritten behind its back: seen
    assert read == ["2025-06-02"]
    assert resources.bucket.head(layout.key_index_key(ORDERS)).etag == index_etag, "a reader never writes"
    store.refresh_keys(ORDERS)  # what the transformer does after writing partitions
    read.clear()
    assert store.keys(ORDERS)["order_id"].tolist() == ["O9", "O1"] and read == []


def test_a_deleted_partition_leaves_the_index(resources) -> None:
    store = CuratedStore(resources.bucket)
    run_files(resources, _batch(("O1", "2025-06-01"), ("O2", "2025-06-02")))
    store.keys(ORDERS)
    resources.bucket.delete(layout.curated_partition_key(ORDERS, "2025-06-01"))
    assert store.keys(ORDERS)["order_id"].tolist() == ["O2"]
    resources.bucket.delete(layout.curated_partition_key(ORDERS, "2025-06-02"))
    assert store.keys(ORDERS) is None


@pytest.mark.parametrize("damage", ["deleted", "garbage", "no_note", "bad_note"])
def test_a_lost_or_damaged_index_is_rebuilt_from_the_partitions(resources, damage: str) -> None:
    store = CuratedStore(resources.bucket)
    run_files(resources, _batch(("O1", "2025-06-01"), ("O2", "2025-06-02")))
    key = layout.key_index_key(ORDERS)
    if damage == "deleted":
        resources.bucket.delete(key)
    elif damage == "garbage":
        resources.bucket.put_bytes(key, b"not parquet")
    else:
        note = None if damage == "no_note" else {"partitions": "{not json"}
        parquet.put_frame(resources.bucket, key, pd.DataFrame({"order_id": ["X"], "order_date": ["2025-06-01"]}), note)
    _assert_exact(store)
    store.refresh_keys(ORDERS)
    _assert_exact(store)  # and the rewritten index is good for the next batch
