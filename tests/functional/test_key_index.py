"""The key index (ecompipe.aws.key_index) and the cells it points into: whatever the history —
orders moved between days, items re-sent under another order, a date that outgrows its cells —
every stored key is found exactly where it is, a key never stored costs no read of a cell, and
the index's runs stay few."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecompipe.aws import key_index
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.key_index import KeyIndex
from ecompipe.core import cells, layout
from tests.support.helpers import curated_rows, run_files

pytestmark = pytest.mark.functional

ORDERS_CSV = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS_CSV = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = {"products.csv": b"product_id,category,name,price\nP1,Books,a,1.00\nP2,Toys,b,2.00\n"}


def _batch(*orders: tuple[str, str], user: str = "U") -> dict[str, bytes]:
    rows = b"".join(f"{o},{user},{d},1.00,delivered\n".encode() for o, d in orders)
    items = b"".join(f"{o},P1,1,1.00\n".encode() for o, _ in orders)
    return {**PRODUCTS, "orders_x.csv": ORDERS_CSV + rows, "order_items_x.csv": ITEMS_CSV + items}


def _where(store: CuratedStore, kind: str, keys: list[str], by: str) -> dict[str, str]:
    located = store.locate(kind, keys, by)
    assert located[by].is_unique, "a key found in two places"
    return dict(zip(located[by], located["order_date"], strict=True))


def test_every_key_is_found_where_it_is_after_moves(resources) -> None:
    store = CuratedStore(resources.bucket)
    run_files(resources, _batch(("O1", "2025-06-01"), ("O2", "2025-06-02")))
    run_files(resources, _batch(("O1", "2025-06-03"), ("O3", "2025-06-02")))  # O1 moves to the 3rd
    assert _where(store, ORDERS, ["O1", "O2", "O3", "O9"], "order_id") == {
        "O1": "2025-06-03",
        "O2": "2025-06-02",
        "O3": "2025-06-02",
    }
    assert _where(store, ORDER_ITEMS, ["O1/P1", "O2/P1"], "item_key") == {"O1/P1": "2025-06-03", "O2/P1": "2025-06-02"}
    assert store.known_orders(["O1", "O9"]).tolist() == ["O1"]
    curated_rows(resources)  # and the cells hold what their manifests say


def test_a_key_never_stored_reads_no_cell(resources) -> None:
    store = CuratedStore(resources.bucket)
    run_files(resources, _batch(*[(f"O{i}", "2025-06-01") for i in range(50)]))
    key_index._cache.clear()  # (as a fresh process: the runs are read, and nothing else)
    reads: list[str] = []
    resources.bucket.s3.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: reads.append(params["Key"])
    )
    assert store.locate(ORDERS, [f"N{i}" for i in range(200)], "order_id").empty
    assert reads and all(k.startswith(layout.KEY_INDEX_RUNS) for k in reads), reads


def test_a_date_that_outgrows_its_cells_is_laid_out_in_more(resources, monkeypatch) -> None:
    monkeypatch.setattr(cells, "SPLIT_ITEMS", 8)
    monkeypatch.setattr(cells, "MIN_PART_ROWS", 4)
    store = CuratedStore(resources.bucket)
    for n in range(4):  # 12 orders a batch: the date doubles its buckets as it fills
        run_files(resources, _batch(*[(f"O{n}-{i}", "2025-06-01") for i in range(12)], user=f"U{n}"))
    manifest = store.cells.read("2025-06-01")
    assert manifest is not None and manifest.buckets == 8 and len(manifest.cells) > 1
    assert len({p.modulus for _, p in manifest.parts()}) > 1  # parts of several bucket counts
    assert _where(store, ORDERS, ["O0-0", "O3-11"], "order_id") == {"O0-0": "2025-06-01", "O3-11": "2025-06-01"}
    assert resources.kpis.order_kpis()[0]["total_orders"] == 48
    assert resources.kpis.order_kpis()[0]["unique_customers"] == 4
    curated_rows(resources)


def test_the_index_runs_stay_few(resources) -> None:
    for n in range(12):
        run_files(resources, _batch((f"O{n}", f"2025-06-{n % 5 + 1:02d}")))
    runs = resources.bucket.list(layout.key_index_run_prefix(ORDERS))
    assert 1 <= len(runs) <= 5, [r.key for r in runs]  # 12 batches: at most ~log2(12) + 1
    curated_rows(resources)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    runs=st.lists(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=25), max_size=4),
    query=st.lists(st.integers(0, 35), max_size=20),
)
def test_a_lookup_finds_every_pair_of_every_run_for_each_queried_hash(resources, runs, query) -> None:
    """Hashes repeated within a run and across runs, queried in any order, some twice: each
    (query position, location) the runs hold comes back once, and nothing else."""
    index = KeyIndex(resources.bucket)
    index.clear()
    for pairs in runs:
        index.add(ORDERS, np.array([h for h, _ in pairs], np.uint64), np.array([loc for _, loc in pairs], np.int32))
    found = index.lookup(ORDERS, np.array(query, np.uint64))
    expected = {(at, loc) for at, h in enumerate(query) for pairs in runs for hh, loc in pairs if hh == h}
    assert len(found) == len(expected)
    assert set(zip(found["at"].tolist(), found["location"].tolist(), strict=True)) == expected
