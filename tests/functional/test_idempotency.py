"""Issue 13, class 2: data seen again is counted once. Any sequence of batches over the same files,
with batches repeated, held items re-sent before their order arrives, and runs re-validated as a
recovery would, gives the KPIs of one batch holding the union (real pipeline, in-process moto)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ecompipe.aws import parquet, transient
from ecompipe.batch.pipeline import run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from tests.conftest import MOTO_CONFIG, NOW
from tests.support.helpers import kpi_state, one_shot_kpis, put_files, record_manifest
from transformer import task as transform_task
from validator import task as validate_task

pytestmark = pytest.mark.functional

ITEM_ROWS = [
    "O1,P1,2,10.00",
    "O2,P2,1,5.50",
    "O3,P2,3,5.50",
    "O4,P1,1,10.00",
    "O4,P2,2,5.50",
    "O1,P2,1,5.50",
    "O5,P1,4,10.00",  # O5 arrives in the last orders file
]
BASE = {
    "products.csv": "product_id,category,name,price\nP1,Books,a,10.00\nP2,Toys,b,5.50\n",
    "orders_1.csv": "order_id,user_id,order_date,total_amount,status\n"
    "O1,U1,2025-06-01,,delivered\nO2,U2,2025-06-01,,returned\n",
    "orders_2.csv": "order_id,user_id,order_date,total_amount,status\n"
    "O3,U1,2025-06-02,,cancelled\nO4,U3,2025-06-02,,delivered\n",
    "orders_3.csv": "order_id,user_id,order_date,total_amount,status\nO5,U4,2025-06-01,,delivered\n",
    "order_items_1.csv": "order_id,product_id,quantity,unit_price\n" + "\n".join(ITEM_ROWS[:3]) + "\n",
    "order_items_2.csv": "order_id,product_id,quantity,unit_price\n" + "\n".join(ITEM_ROWS[3:]) + "\n",
}


@st.composite
def _histories(draw):
    """A re-sent items file (rows of the others, under another name), then a sequence of batches
    covering every file, some repeated, some re-validated after a crash before their archive."""
    resent = draw(st.lists(st.sampled_from(ITEM_ROWS), min_size=1, max_size=4, unique=True))
    files = {**BASE, "order_items_9.csv": "order_id,product_id,quantity,unit_price\n" + "\n".join(resent) + "\n"}
    names = sorted(files)
    batches = draw(st.lists(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True), max_size=3))
    batches.append(sorted(set(names) - {n for b in batches for n in b}) or [draw(st.sampled_from(names))])
    order = draw(st.permutations(batches))
    repeats = draw(st.lists(st.sampled_from(order), max_size=1))
    crashes = draw(st.lists(st.booleans(), min_size=len(order) + len(repeats), max_size=len(order) + len(repeats)))
    return files, [*order, *repeats], crashes


def _run(res: Resources, files: dict[str, str], crash_first: bool) -> None:
    manifest = record_manifest(res.bucket, put_files(res, {n: d.encode() for n, d in files.items()}))
    if crash_first:  # validated and transformed, killed before the archive: the recovery runs it again
        validate_task.run(res.settings, res.bucket, manifest.batch_id, NOW)
        if transient.get_frame_or_none(res.bucket, layout.staging_key(manifest.batch_id, "orders")) is not None:
            transform_task.run(res.bucket, res.kpis, manifest.batch_id)
    run_manifest(res, manifest, NOW)


@settings(max_examples=3, deadline=None)
@given(_histories())
def test_any_history_of_resent_data_gives_the_kpis_of_the_union(aws_env: None, history) -> None:
    files, batches, crashes = history
    with mock_aws(config=MOTO_CONFIG):
        res = Resources.from_settings(Settings(bucket="ecompipe-history"))
        res.init()
        for names, crash in zip(batches, crashes, strict=False):
            _run(res, {n: files[n] for n in names}, crash)
        got = kpi_state(res)
        pending = parquet.get_frame_or_none(res.bucket, layout.PENDING_ITEMS_KEY)
    assert pending is None or pending["item_key"].is_unique
    assert got == one_shot_kpis({n: d.encode() for n, d in files.items()})


def test_a_held_item_sent_twice_is_held_once_and_counted_once(resources: Resources) -> None:
    items = {"order_items_1.csv": BASE["order_items_1.csv"].encode()}
    products = {"products.csv": BASE["products.csv"].encode()}
    from tests.support.helpers import run_files

    run_files(resources, {**products, **items})
    first = parquet.get_frame(resources.bucket, layout.PENDING_ITEMS_KEY)
    run_files(resources, items)  # the same file again, orders still unknown
    again = parquet.get_frame(resources.bucket, layout.PENDING_ITEMS_KEY)
    assert len(again) == len(first) == 3
    assert again["first_seen_at"].tolist() == first["first_seen_at"].tolist()  # its age is not reset
    run_files(resources, {"orders_1.csv": BASE["orders_1.csv"].encode(), "orders_2.csv": BASE["orders_2.csv"].encode()})
    orders, _ = kpi_state(resources)
    assert {r["order_date"]: str(r["total_revenue"]) for r in orders} == {"2025-06-01": "25.50", "2025-06-02": "0.00"}
