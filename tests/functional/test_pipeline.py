"""The whole local pipeline on in-process moto: validate -> transform -> KPIs in DynamoDB."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecompipe.aws import parquet
from ecompipe.core import layout
from tests.support.helpers import kpi_state, one_shot_kpis, read_dir, run_files

pytestmark = pytest.mark.functional

ORDERS = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = b"product_id,category,name,price\n1,Books,A,10.00\n2,Toys,B,5.50\n"


def test_public_data_gives_the_assignment_figures(resources, lab_dir) -> None:
    result = run_files(resources, read_dir(lab_dir))
    assert len(result.affected_dates) == 31
    day = next(r for r in resources.kpis.order_kpis() if r["order_date"] == "2025-03-25")
    assert (day["total_orders"], day["total_revenue"], day["total_items_sold"]) == (342, Decimal("79153.56"), 999)
    assert (day["return_rate"], day["unique_customers"]) == (Decimal("0.1842"), 335)


def test_category_revenue_reconciles_with_order_revenue_every_day(resources, lab_dir) -> None:
    run_files(resources, read_dir(lab_dir))
    orders, categories = kpi_state(resources)
    assert len(orders) == 31 and {c["order_date"] for c in categories} == {o["order_date"] for o in orders}
    for day in orders:
        per_category = sum(c["daily_revenue"] for c in categories if c["order_date"] == day["order_date"])
        assert per_category == day["total_revenue"], day["order_date"]


def test_three_successive_batches_equal_one_run(resources, lab_dir) -> None:
    """Order files span ~30 days and an order's items sit in two item files: per-batch KPIs would be
    wrong here. The curated store makes the three batches add up to exactly the one-shot result."""
    files = read_dir(lab_dir)

    def part(prefix: str, numbers: range) -> dict[str, bytes]:
        return {f"{prefix}_part{n}.csv": files[f"{prefix}_part{n}.csv"] for n in numbers}

    batches = [
        {"products.csv": files["products.csv"], **part("orders", range(1, 3)), **part("order_items", range(1, 7))},
        {**part("orders", range(3, 5)), **part("order_items", range(7, 14))},
        {**part("orders", range(5, 7)), **part("order_items", range(14, 20))},
    ]
    results = [run_files(resources, b) for b in batches]
    assert results[0].report["totals"]["pending"] > 0  # items whose orders come later wait...
    assert results[-1].report["pending"]["total_after"] == 0  # ...and all are resolved in the end
    assert kpi_state(resources) == one_shot_kpis(files)


def test_rerunning_the_same_batch_writes_identical_items(resources) -> None:
    files = {
        "orders_a.csv": ORDERS + b"1,5,2025-06-01,25.50,delivered\n2,6,2025-06-01,5.50,returned\n",
        "order_items_a.csv": ITEMS + b"1,1,2,10.00\n1,2,1,5.50\n2,2,1,5.50\n",
        "products.csv": PRODUCTS,
    }
    first = run_files(resources, files)
    raw_first = _scan_all(resources)
    second = run_files(resources, files)
    assert second.batch_id != first.batch_id  # the same bytes uploaded again are an upload of their own
    assert _scan_all(resources) == raw_first


def test_an_order_coming_back_returned_replaces_its_row_and_moves_dates(resources) -> None:
    run_files(
        resources,
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,20.00,delivered\n2,6,2025-06-01,5.50,delivered\n",
            "order_items_a.csv": ITEMS + b"1,1,2,10.00\n2,2,1,5.50\n",
            "products.csv": PRODUCTS,
        },
    )
    assert resources.kpis.order_kpis()[0]["return_rate"] == Decimal("0")
    run_files(resources, {"orders_b.csv": ORDERS + b"2,6,2025-06-01,5.50,returned\n"})
    [day] = resources.kpis.order_kpis()
    assert (day["total_orders"], day["return_rate"], day["total_revenue"]) == (2, Decimal("0.5"), Decimal("25.5"))

    # order 1 was keyed to the wrong day: the correction moves it, and both days are recomputed
    result = run_files(resources, {"orders_c.csv": ORDERS + b"1,5,2025-06-03,20.00,delivered\n"})
    assert result.affected_dates == ["2025-06-01", "2025-06-03"]
    days = {r["order_date"]: r for r in resources.kpis.order_kpis()}
    assert days["2025-06-01"]["total_revenue"] == Decimal("5.5")
    assert days["2025-06-03"]["total_revenue"] == Decimal("20")
    books = resources.kpis.category_kpis(category="Books")
    assert [r["order_date"] for r in books] == ["2025-06-03"]  # the stale Books row of the 1st is gone


def test_a_date_left_with_no_orders_loses_its_kpi_rows(resources) -> None:
    run_files(
        resources,
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,10.00,delivered\n",
            "order_items_a.csv": ITEMS + b"1,1,1,10.00\n",
            "products.csv": PRODUCTS,
        },
    )
    run_files(resources, {"orders_b.csv": ORDERS + b"1,5,2025-06-02,10.00,delivered\n"})
    assert [r["order_date"] for r in resources.kpis.order_kpis()] == ["2025-06-02"]
    assert [r["order_date"] for r in resources.kpis.category_kpis()] == ["2025-06-02"]
    assert not resources.bucket.list("curated/orders/order_date=2025-06-01/")
    assert not resources.bucket.list("curated/cells/order_date=2025-06-01/")


def test_bad_input_lands_in_rejected_with_reasons_and_good_rows_go_through(resources) -> None:
    result = run_files(
        resources,
        {
            "orders_a.csv": ORDERS + b"1,5,2025-06-01,10.00,delivered\n2,6,2025-06-31,1.00,delivered\n",
            "order_items_a.csv": ITEMS + b"1,1,1,10.00\n1,2,0,5.50\n",
            "orders_broken.csv": b"order_id,user_id,status\n3,7,delivered\n",
            "products.csv": PRODUCTS,
            "notes.csv": b"hello\n",
        },
    )
    bucket, batch = resources.bucket, result.batch_id
    rejected = {o.key.removeprefix(f"rejected/{batch}/") for o in bucket.list(f"rejected/{batch}/")}
    assert rejected == {
        "files/orders_broken.csv",
        "files/orders_broken.csv.reason.txt",
        "files/notes.csv",
        "files/notes.csv.reason.txt",
        "rows/orders_a.csv",
        "rows/order_items_a.csv",
    }
    assert bucket.get_bytes(f"rejected/{batch}/files/orders_broken.csv") == b"order_id,user_id,status\n3,7,delivered\n"
    assert b"missing_required_column" in bucket.get_bytes(f"rejected/{batch}/files/orders_broken.csv.reason.txt")
    rows = bucket.get_bytes(f"rejected/{batch}/rows/orders_a.csv").decode().splitlines()
    assert rows[0].startswith("line,reason,detail,order_id") and rows[1].startswith("3,unparsable_date,")

    report = bucket.get_json(layout.report_key(batch))
    for f in report["files"]:
        assert f["rows_read"] == f["accepted"] + f["rejected"] + f["pending"]
    assert report["totals"] == {
        "rows_read": 6,
        "accepted": 4,
        "rejected": 2,
        "pending": 0,
        "files": 5,
        "rejected_files": 2,
    }
    [day] = resources.kpis.order_kpis()
    assert (day["total_orders"], day["total_revenue"]) == (1, Decimal("10"))
    # every input left incoming/: good files to processed/, malformed ones to rejected/
    assert bucket.list("incoming/") == []
    assert len(bucket.list(f"processed/{batch}/")) == 3


def test_a_batch_with_nothing_valid_skips_the_transform(resources) -> None:
    result = run_files(resources, {"orders_x.csv": b"", "order_items_x.csv": b"order_id\n1\n"})
    assert result.transform is None and not result.report["outcome"]["has_work"]
    assert resources.kpis.order_kpis() == []
    assert len(resources.bucket.list(f"rejected/{result.batch_id}/files/")) == 4


def test_pending_items_wait_in_s3_for_their_order(resources) -> None:
    first = run_files(resources, {"order_items_a.csv": ITEMS + b"9,1,3,10.00\n", "products.csv": PRODUCTS})
    assert first.report["totals"]["pending"] == 1
    assert len(parquet.get_frame(resources.bucket, layout.PENDING_ITEMS_KEY)) == 1
    second = run_files(resources, {"orders_a.csv": ORDERS + b"9,5,2025-06-01,30.00,delivered\n"})
    assert second.report["pending"]["resolved"] == 1
    assert not resources.bucket.exists(layout.PENDING_ITEMS_KEY)
    [day] = resources.kpis.order_kpis()
    assert (day["total_revenue"], day["total_items_sold"]) == (Decimal("30"), 3)


def _scan_all(res) -> dict:
    out = {}
    for table in (res.settings.order_table, res.settings.category_table):
        items = res.kpis.db.scan(TableName=table)["Items"]
        out[table] = sorted(items, key=lambda i: (i.get("category", {}).get("S", ""), i["order_date"]["S"]))
    return out


def test_a_file_over_the_size_limit_is_rejected_unread_and_the_rest_goes_on(resources) -> None:
    from dataclasses import replace

    resources.settings = replace(resources.settings, max_file_mb=1)
    big = ORDERS + b"".join(b"%d,5,2025-06-01,1.00,delivered\n" % i for i in range(40_000))  # ~1.2 MiB
    assert len(big) > 2**20
    result = run_files(
        resources,
        {
            "orders_big.csv": big,
            "orders_a.csv": ORDERS + b"90001,5,2025-06-02,10.00,delivered\n",
            "order_items_a.csv": ITEMS + b"90001,1,1,10.00\n",
            "products.csv": PRODUCTS,
        },
    )
    entry = next(f for f in result.report["files"] if f["file"] == "incoming/orders_big.csv")
    assert entry["status"] == "rejected" and entry["error"]["reason"] == "file_too_large"
    assert "MiB" in entry["error"]["message"] and entry["rows_read"] == 0
    batch = result.batch_id
    assert resources.bucket.get_bytes(f"rejected/{batch}/files/orders_big.csv") == big
    assert b"file_too_large" in resources.bucket.get_bytes(f"rejected/{batch}/files/orders_big.csv.reason.txt")
    [day] = resources.kpis.order_kpis()
    assert (day["order_date"], day["total_revenue"]) == ("2025-06-02", Decimal("10"))
    assert resources.bucket.list("incoming/") == []


def test_an_archived_batch_leaves_nothing_in_staging_and_a_failed_one_keeps_it_to_rerun(resources) -> None:
    from ecompipe.batch.pipeline import run_manifest
    from tests.functional.test_recovery import Killed, _killer
    from tests.support.helpers import put_files, record_manifest

    files = {
        "orders_a.csv": ORDERS + b"9,5,2025-06-01,30.00,delivered\n",
        "order_items_a.csv": ITEMS + b"9,1,3,10.00\n",
        "products.csv": PRODUCTS,
    }
    manifest = record_manifest(resources.bucket, put_files(resources, files))
    staging = layout.staging_prefix(manifest.batch_id)
    with pytest.raises(Killed):
        run_manifest(resources, manifest, fence=_killer("the pending commit"))
    kept = {o.key for o in resources.bucket.list(staging)}
    assert layout.staging_key(manifest.batch_id, "orders") in kept  # what the rerun resumes from
    assert layout.affected_dates_key(manifest.batch_id) in kept
    result = run_manifest(resources, manifest)
    assert resources.bucket.list(staging) == []
    assert len(result.archived) == 3 and kpi_state(resources) == one_shot_kpis(files)


def test_deleting_a_prefix_goes_in_requests_of_the_s3_limit_and_leaves_its_neighbours(resources, monkeypatch) -> None:
    from ecompipe.aws import objects

    monkeypatch.setattr(objects, "_DELETE_BATCH", 2)  # S3's 1,000, scaled down
    bucket = resources.bucket
    for i in range(5):
        bucket.put_bytes(f"staging/b1/x/{i}", b"")
    bucket.put_bytes("staging/b10/kept", b"")
    requests = []
    bucket.s3.meta.events.register("before-call.s3.DeleteObjects", lambda **kw: requests.append(kw))
    assert bucket.delete_prefix("staging/b1/") == 5
    assert len(requests) == 3 and [o.key for o in bucket.list("staging/")] == ["staging/b10/kept"]
    assert bucket.delete_prefix("staging/b1/") == 0
