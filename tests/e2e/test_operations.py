"""Operating the pipeline from the CLI: run history, reports, reprocessing, and --dry-run."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from ecompipe.core import kpis as kpi_model
from tests.conftest import SAMPLE
from tests.e2e.conftest import ecompipe
from tests.support.helpers import one_shot_kpis

pytestmark = pytest.mark.e2e
BUCKET = "ecompipe-local"
PRODUCTS = "product_id,category,name,price\n1,Books,A,10.00\n2,Toys,B,5.50\n"
ITEMS = "order_id,product_id,quantity,unit_price\n1,1,2,10.00\n2,2,1,5.50\n"
FIXED_ORDERS = (
    "order_id,user_id,order_date,total_amount,status\n1,5,2025-06-01,20.00,delivered\n2,6,2025-06-02,5.50,returned\n"
)


def _client(service: str, url: str):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def _snapshot(url: str) -> dict:
    """The bucket listing and a scan of every table, as raw as they come."""
    s3, db = _client("s3", url), _client("dynamodb", url)
    listing = [
        (o["Key"], o["ETag"], o["Size"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    scans = {}
    for table in db.list_tables()["TableNames"]:
        items = [i for page in db.get_paginator("scan").paginate(TableName=table) for i in page["Items"]]
        scans[table] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return {"listing": listing, "scans": scans}


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def test_a_rejected_file_fixed_and_reprocessed_gives_the_fixed_kpis(emulator_url: str, tmp_path: Path) -> None:
    broken = {
        "products.csv": PRODUCTS,
        "order_items_a.csv": ITEMS,
        "orders_a.csv": "order_id,user_id,status\n1,5,delivered\n",
    }
    ecompipe("run", str(_write(tmp_path / "broken", broken)), "--endpoint-url", emulator_url)
    [first] = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)
    batch = first["batch_id"]
    assert first["rejected_files"] == 1 and first["pending"] == 2
    report = ecompipe("report", batch, "--endpoint-url", emulator_url).stdout
    assert "FILE REJECTED (missing_required_column)" in report and "unknown_order" in report

    # the data owner puts the fixed file where the rejected one lies, and asks for a re-run
    _client("s3", emulator_url).put_object(Bucket=BUCKET, Key=f"rejected/{batch}/files/orders_a.csv", Body=FIXED_ORDERS)
    plan = ecompipe("reprocess", "--batch", batch, "--dry-run", "--endpoint-url", emulator_url).stdout
    assert f"would copy rejected/{batch}/files/orders_a.csv -> incoming/orders_a.csv" in plan
    done = ecompipe("reprocess", "--batch", batch, "--endpoint-url", emulator_url).stdout
    assert f"batch {batch} ran again as batch-" in done

    # the fixed files run as one batch in a fresh in-process moto, in the form `kpis --output json` prints
    fixed = {name: data.encode() for name, data in {**broken, "orders_a.csv": FIXED_ORDERS}.items()}
    expected = json.loads(kpi_model.kpis_json(*one_shot_kpis(fixed)))
    assert json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout) == expected
    history = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert len(history) == 2 and {r["status"] for r in history} == {"SUCCEEDED"}
    assert history[1]["batch_id"] == batch and history[0]["batch_id"] != batch
    assert "SUCCEEDED" in ecompipe("runs", "--status", "succeeded", "--endpoint-url", emulator_url).stdout


def test_reprocess_dates_restores_a_deleted_kpi_item_exactly(emulator_url: str) -> None:
    ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url)
    before = _snapshot(emulator_url)["scans"]
    migrated = ecompipe("migrate", "--endpoint-url", emulator_url).stdout  # a store in cells stays as it is
    assert "in cells already: nothing to migrate" in migrated and _snapshot(emulator_url)["scans"] == before
    db = _client("dynamodb", emulator_url)
    db.delete_item(TableName="OrderKPIs", Key={"order_date": {"S": "2025-06-03"}})
    db.delete_item(TableName="CategoryKPIs", Key={"category": {"S": "Books"}, "order_date": {"S": "2025-06-03"}})
    assert _snapshot(emulator_url)["scans"] != before
    out = ecompipe("reprocess", "--from", "2025-06-01", "--to", "2025-06-10", "--endpoint-url", emulator_url).stdout
    assert "will write 2 items, delete 0" in out
    assert _snapshot(emulator_url)["scans"] == before


def test_dry_run_changes_nothing(emulator_url: str) -> None:
    ecompipe("run", str(SAMPLE), "--endpoint-url", emulator_url)  # leaves 2 items pending
    batch = json.loads(ecompipe("runs", "--endpoint-url", emulator_url, "--output", "json").stdout)[0]["batch_id"]
    _client("dynamodb", emulator_url).delete_item(TableName="OrderKPIs", Key={"order_date": {"S": "2025-06-05"}})
    before = _snapshot(emulator_url)
    outputs = [
        ecompipe("reprocess", "--batch", batch, "--dry-run", "--endpoint-url", emulator_url).stdout,
        ecompipe(
            "reprocess", "--from", "2025-06-01", "--to", "2025-06-30", "--dry-run", "--endpoint-url", emulator_url
        ).stdout,
        ecompipe("reprocess", "--pending", "--dry-run", "--endpoint-url", emulator_url).stdout,
    ]
    assert _snapshot(emulator_url) == before
    assert "would copy processed/" in outputs[0]
    assert "would write 1 items" in outputs[1]
    assert "pending: 2 held; 0 would resolve, 0 would expire, 2 would stay" in outputs[2]


def test_reprocess_pending_resolves_items_whose_order_arrived(emulator_url: str, tmp_path: Path) -> None:
    ecompipe(
        "run",
        str(_write(tmp_path / "items", {"products.csv": PRODUCTS, "order_items_a.csv": ITEMS})),
        "--endpoint-url",
        emulator_url,
    )
    # the orders reach the curated store by another path (here: a batch of orders only), then pending/ is re-checked
    ecompipe("run", str(_write(tmp_path / "orders", {"orders_b.csv": FIXED_ORDERS})), "--endpoint-url", emulator_url)
    out = ecompipe("reprocess", "--pending", "--endpoint-url", emulator_url).stdout
    assert "pending: 0 held" in out  # the orders batch already resolved them: nothing left to do
    kpis = json.loads(ecompipe("kpis", "--endpoint-url", emulator_url, "--output", "json").stdout)
    assert [r["total_revenue"] for r in kpis["order_kpis"]] == ["20.00", "5.50"]


def test_reprocess_needs_exactly_one_mode() -> None:
    assert ecompipe("reprocess", check=False).returncode == 2
    assert ecompipe("reprocess", "--pending", "--from", "2025-01-01", check=False).returncode == 2
