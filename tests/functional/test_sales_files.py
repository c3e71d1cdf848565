"""JSON sales files through the real statemachine/sales.asl.json on moto's engine: each record to
the events queue, the real consumer deciding complete (Sales table) or incomplete (the sales DLQ),
malformed files rejected with their reason."""

from __future__ import annotations

import json
import uuid

import pytest
from moto import mock_aws

from ecompipe.aws import clients as aws
from ecompipe.core.settings import Settings
from ecompipe.local.runner import LocalTaskRunner
from ecompipe.local.sales import consume_until_done
from ecompipe.local.stack import deploy, deploy_sales
from events import kinds, queues
from events import stats as event_stats
from tests.support.events import World, make_world

pytestmark = pytest.mark.functional

CONTACT = {"name": "Foo Bar", "email": "foobar@test.com"}
MIXED = {
    "orders": [
        {"contact-info": CONTACT, "order-info": {"OrderId": "1", "item-id": "101", "item-desc": "One", "qty": "1"}},
        {"order-info": {"orderId": "2", "item-id": "102", "item-desc": "Item Two", "qty": "2"}},
        {"contact-info": CONTACT},
        {"contact-info": {"name": "X", "email": "x@y.z"}, "order-info": {"OrderId": "4", "item-id": "1",
                                                                          "item-desc": "D", "qty": "two"}},
        {"contact-info": CONTACT, "order-info": {"OrderId": "5", "item-id": "105", "item-desc": "Five", "qty": 5}},
    ]
}  # fmt: skip


def _world(inline_max_bytes: int):
    from moto.moto_api import state_manager

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        # ECS tasks stay RUNNING until the local task runner stops them, as on the emulator
        state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
        w = make_world(Settings(bucket="ecompipe-sales-test", sales_inline_max_bytes=inline_max_bytes))
        stack = deploy(w.settings, pipeline=False)
        arn = deploy_sales(w.settings, stack, w.urls["queue_url"], w.urls["sales_dlq_url"])
        with LocalTaskRunner(w.settings, stack.cluster_arn):
            yield w, arn


@pytest.fixture
def sales(aws_env: None):
    """Files mapped INLINE (the default size limit)."""
    yield from _world(Settings().sales_inline_max_bytes)


@pytest.fixture
def large_sales(aws_env: None):
    """Every file counts as large: split by the ECS task, mapped DISTRIBUTED with an S3 ItemReader."""
    yield from _world(0)


def _run(w: World, arn: str, key: str, body: bytes) -> dict:
    """Upload a file and run the sales state machine on it to the end, consuming the queue as the
    event source mapping does meanwhile (the execution waits for its records to be judged)."""
    w.bucket.put_bytes(key, body)
    client = aws.client("stepfunctions", w.settings)
    source = json.dumps({"bucket": w.settings.bucket, "key": key})
    arn_ = client.start_execution(stateMachineArn=arn, name=f"sales-{uuid.uuid4().hex}", input=source)["executionArn"]
    return consume_until_done(w.settings, client, w.sqs, w.urls["queue_url"], w.handle, [arn_])[arn_]


@pytest.mark.parametrize("saved", ["utf-8 with its mark and CRLF", "utf-16-le", "utf-16-be"])
def test_a_small_file_saved_with_a_byte_order_mark_is_read_by_the_split(sales, saved: str) -> None:
    """The inline read takes plain UTF-8 JSON only; a file with a mark (UTF-8's or UTF-16's) goes
    to the split task, which reads it by the product's one text rule (ecompipe.core.text)."""
    w, arn = sales
    body = json.dumps(MIXED, indent=1).replace("\n", "\r\n")
    data = b"\xef\xbb\xbf" + body.encode() if saved.startswith("utf-8") else ("\ufeff" + body).encode(saved)
    done = _run(w, arn, "incoming/sales_marked.json", data)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["records"] == 5
    assert event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)["tables"]["sales"] == 2


def test_a_mixed_file_puts_complete_records_in_the_table_and_incomplete_ones_in_the_dlq(sales) -> None:
    w, arn = sales
    done = _run(w, arn, "incoming/sales_1.json", json.dumps(MIXED).encode())
    assert done["status"] == "SUCCEEDED", done
    output = {"bucket": w.settings.bucket, "key": "incoming/sales_1.json", "records": 5, "mode": "INLINE",
              "complete": 2, "dlq": 3, "all_judged": True}  # fmt: skip
    assert json.loads(done["output"]) == output
    assert event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)["tables"]["sales"] == 2
    assert w.item(kinds.SALES, order_id="5", item_id="105")["order_info"]["quantity"] == 5
    parked = [json.loads(m["body"]) for m in queues.peek(w.sqs, w.urls["sales_dlq_url"])]
    named = {json.loads(p["body"])["source_index"]: sorted(r["field"] for r in p["reasons"]) for p in parked}
    assert named == {1: ["contact_info"], 2: ["order_info"], 3: ["order_info.quantity"]}
    # the same file again: each record stored once, nothing new in the DLQ
    again = _run(w, arn, "incoming/sales_1.json", json.dumps(MIXED).encode())
    assert again["status"] == "SUCCEEDED" and json.loads(again["output"]) == output
    assert event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)["tables"]["sales"] == 2
    assert len(queues.peek(w.sqs, w.urls["sales_dlq_url"])) == 3


MALFORMED = [
    (b"{not json", "not_json"),  # (the inline read cannot take it: the split task decides)
    (b"\xef\xbb\xbf{\xff", "undecodable"),
    (b'{"sales": []}', "no_orders_list"),
    (b"[1, 2]", "no_orders_list"),
    (b'{"orders": []}', "no_records"),
    (b'{"orders": "many"}', "no_records"),
    (b'{"orders": {"0": 1}}', "no_records"),
]


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [("sales", body, reason) for body, reason in MALFORMED]
    # the split task applies the same file rules (events/split.py, unit-tested on every case)
    + [("large_sales", MALFORMED[0][0], "not_json"), ("large_sales", MALFORMED[4][0], "no_records")],
)
def test_a_malformed_file_is_rejected_with_its_reason(
    request: pytest.FixtureRequest, path: str, body: bytes, reason: str
) -> None:
    w, arn = request.getfixturevalue(path)
    done = _run(w, arn, "incoming/bad.json", body)
    assert done["status"] == "FAILED" and done["error"] == "SalesFileRejected"
    kept = w.bucket.get_json("rejected/sales/incoming/bad.json.reason.json")
    assert kept["message"] == done["cause"]
    assert kept["reason"] == reason
    assert event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)["tables"]["sales"] == 0


def test_sales_dlq_lists_what_waits_with_the_part_named_and_leaves_it(sales) -> None:
    from click.testing import CliRunner

    from ecompipe.cli import main

    w, arn = sales
    _run(w, arn, "incoming/sales_2.json", json.dumps(MIXED).encode())
    listed = CliRunner().invoke(main, ["sales", "dlq", "--output", "json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["file"], r["index"], [x["field"] for x in r["reasons"]]) for r in rows] == [
        ("incoming/sales_2.json", 1, ["contact_info"]),
        ("incoming/sales_2.json", 2, ["order_info"]),
        ("incoming/sales_2.json", 3, ["order_info.quantity"]),
    ]
    assert rows[0]["record"] == MIXED["orders"][1]
    table = CliRunner().invoke(main, ["sales", "dlq"])
    assert "3 incomplete sales records" in table.output and "contact_info: is required" in table.output
    assert len(queues.peek(w.sqs, w.urls["sales_dlq_url"])) == 3  # still there


def test_the_local_run_of_several_files_reports_each(sales, tmp_path) -> None:
    from ecompipe.local.sales import run_sales_files

    w, _arn = sales
    (tmp_path / "sales_a.json").write_text(json.dumps(MIXED))
    (tmp_path / "sales_b.json").write_text('{"orders": []}')
    run = run_sales_files(w.settings, sorted(tmp_path.iterdir()))
    a, b = run.files
    assert (a.name, a.status, a.records, a.incomplete, a.rejected) == ("sales_a.json", "SUCCEEDED", 5, 3, None)
    assert b.status == "FAILED" and "holds no records" in (b.rejected or "")
    assert run.consumed["outcomes"] == {"applied": 2, "invalid": 3}


def test_a_large_file_is_split_and_mapped_distributed_with_the_same_outcome(large_sales) -> None:
    w, arn = large_sales
    done = _run(w, arn, "incoming/sales_big.json", json.dumps(MIXED).encode())
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["mode"] == "DISTRIBUTED" and json.loads(done["output"])["records"] == 5
    assert event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)["tables"]["sales"] == 2
    parked = [json.loads(m["body"]) for m in queues.peek(w.sqs, w.urls["sales_dlq_url"])]
    named = {json.loads(p["body"])["source_index"]: sorted(r["field"] for r in p["reasons"]) for p in parked}
    assert named == {1: ["contact_info"], 2: ["order_info"], 3: ["order_info.quantity"]}
    map_runs = aws.client("stepfunctions", w.settings).list_map_runs(executionArn=done["executionArn"])
    assert len(map_runs["mapRuns"]) == 1
