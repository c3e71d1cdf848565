"""`ecompipe events ...` as a user runs it: subprocesses against moto's server."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import ecompipe

pytestmark = pytest.mark.e2e

TABLES = ["customers", "purchases", "products", "subscriptions", "activity", "inventory", "sales"]


def _json(*args: str) -> dict:
    return json.loads(ecompipe(*args).stdout)


def test_produce_consume_stats_send_and_redrive_against_one_emulator(emulator_url: str, tmp_path: Path) -> None:
    at = ("--endpoint-url", emulator_url)
    assert "events: queue" in ecompipe("init", *at).stdout
    sent = _json("events", "produce", "--count", "120", "--invalid-rate", "0.2", "--large-rate", "0.2",
                 "--seed", "7", "--batch-size", "7", *at)  # fmt: skip
    assert sent == {"sent": 120, "failed": 0, "errors": []}
    consumed = _json("events", "consume", "--until-empty", "--output", "json", *at)
    assert consumed["received"] == 120 and consumed["failed_deliveries"] == 0
    outcomes = consumed["outcomes"]
    assert sum(outcomes.values()) == 120 and 10 < outcomes["invalid"] < 40
    stats = _json("events", "stats", "--output", "json", *at)
    assert list(stats) == ["tables", "invalid", "dlq", "alerts"]
    assert list(stats["tables"]) == TABLES
    assert list(stats["alerts"]) == ["large_order", "invalid", "low_stock", "summary"]
    assert stats["invalid"] == outcomes["invalid"] and stats["dlq"] == 0
    assert stats["alerts"]["large_order"] >= 1 and stats["alerts"]["invalid"] >= 1
    assert 0 < stats["tables"]["customers"] < 120  # distinct customers, not messages
    summary = _json("events", "summary", *at)  # the last whole hour: before these events
    assert summary["alert"] == "summary" and summary["published"] and summary["dlq"]["events"] == 0

    lines = tmp_path / "payloads.jsonl"
    lines.write_text(
        '{"customer_id": "new-1", "name": "Foo Bar", "email": "foobar@test.com"}\n\n'
        '{"product_id": 789, "restocked_quantity": 5, "warehouse_id": "w9", "stock_threshold": 20}\nnot json\n'
    )
    assert _json("events", "send", str(lines), *at) == {"sent": 3, "failed": 0, "errors": []}
    # files as editors save them: a UTF-8 mark and CRLF line ends (5 customers), UTF-16 with its mark
    marked = tmp_path / "marked.jsonl"
    rows = "".join(f'{{"customer_id": "bom-{i}", "name": "B", "email": "b{i}@e.io"}}\r\n' for i in range(5))
    marked.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    assert _json("events", "send", str(marked), *at) == {"sent": 5, "failed": 0, "errors": []}
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(('\ufeff{"customer_id": "u16", "name": "Zoë", "email": "z@e.io"}\r\n').encode("utf-16-le"))
    assert _json("events", "send", str(wide), *at) == {"sent": 1, "failed": 0, "errors": []}
    ecompipe("events", "consume", *at)  # table output
    after = _json("events", "stats", "--output", "json", *at)
    assert after["tables"]["customers"] == stats["tables"]["customers"] + 1 + 5 + 1
    assert after["invalid"] == stats["invalid"] + 1 and after["alerts"]["low_stock"] == stats["alerts"]["low_stock"] + 1

    # a message parked in the DLQ goes back and is applied once
    sqs = boto3.client(
        "sqs", endpoint_url=emulator_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    dlq = sqs.get_queue_url(QueueName="ecompipe-events-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody='{"customer_id": "from-dlq", "name": "D", "email": "d@e.io"}')
    assert _json("events", "redrive", *at) == {"moved": 1, "dlq_left": 0}
    ecompipe("events", "consume", *at)
    assert _json("events", "stats", "--output", "json", *at)["tables"]["customers"] == after["tables"]["customers"] + 1


def test_demo_on_the_embedded_emulator_accounts_for_every_message() -> None:
    proc = ecompipe("events", "demo", "--count", "150", "--output", "json")
    doc = json.loads(proc.stdout)
    m = doc["messages"]
    assert m["sent"] == 150 == m["applied"] + m["invalid"] + m["dlq"]
    assert doc["invalid"] == m["invalid"] > 0
    assert f"sent 150 = applied {m['applied']} + invalid {m['invalid']} + dlq 0" in proc.stderr


def test_events_commands_without_a_queue_say_how_to_make_one(emulator_url: str) -> None:
    proc = ecompipe("events", "produce", "--count", "1", "--endpoint-url", emulator_url, check=False)
    assert proc.returncode == 1 and "ecompipe init" in proc.stderr
    bad = ecompipe("events", "produce", "--batch-size", "11", "--endpoint-url", emulator_url, check=False)
    assert bad.returncode == 2


def test_run_takes_json_sales_files_and_says_what_happened_to_each(tmp_path: Path) -> None:
    record = {"contact-info": {"name": "Foo Bar", "email": "foobar@test.com"},
              "order-info": {"OrderId": "1", "item-id": "101", "item-desc": "Item One", "qty": "1"}}  # fmt: skip
    incomplete = {"order-info": {"orderId": "2", "item-id": "102", "item-desc": "Item Two", "qty": "2"}}
    (tmp_path / "sales_1.json").write_text(json.dumps({"orders": [record, incomplete]}))
    (tmp_path / "broken.json").write_text("{not json")
    proc = ecompipe("run", str(tmp_path))
    assert "sales_1.json: 2 records, 1 complete (Sales table), 1 incomplete (ecompipe sales dlq)" in proc.stderr
    # (a small file the inline read cannot take is decided by the split task, which names the reason)
    assert "broken.json: rejected: the file is not JSON (Expecting property name" in proc.stderr
    assert "Exception=" not in proc.stderr  # the emulator's own logs stay out of the user's terminal


def test_produced_purchases_landed_and_swept_give_the_kpis_of_the_same_orders_as_csv(emulator_url: str) -> None:
    """produce purchases -> consume -> land -> start --wait (the sweep) -> the KPIs of the same
    orders as one CSV batch."""
    from ecompipe.core.kpis import kpis_json
    from tests.support.events import produced_purchases, purchases_as_csv
    from tests.support.helpers import one_shot_kpis

    csv_batch = purchases_as_csv(produced_purchases(20, seed=5))
    expected = json.loads(kpis_json(*one_shot_kpis(csv_batch)))
    at = ("--endpoint-url", emulator_url)
    ecompipe("init", *at)
    assert _json("events", "produce", "--kinds", "purchases", "--count", "20", "--seed", "5", *at)["sent"] == 20
    ecompipe("events", "consume", *at)
    landed = _json("events", "land", *at)
    assert landed["purchases"] == 20 and len(landed["files"]) == 2
    s3 = boto3.client(
        "s3", endpoint_url=emulator_url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    s3.put_object(Bucket="ecompipe-local", Key="incoming/products.csv", Body=csv_batch["products.csv"])
    ecompipe("start", "--wait", *at)
    assert _json("kpis", "--output", "json", *at) == expected
    assert _json("events", "land", *at)["purchases"] == 0
    # the same orders arriving both ways: tests/functional/test_event_purchases_kpis.py
