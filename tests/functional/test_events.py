"""The consumer on in-process moto: routing to the tables, partial batch failures, the DLQ and
redrive, exactly one effect, newest wins, alerts with their numbers, the S3 claim check."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecompipe.core import event_layout
from events import kinds, queues
from events import stats as event_stats
from tests.support.events import World, mentions

pytestmark = pytest.mark.functional

EXAMPLES = [
    {"customer_id": 123, "name": "John Doe", "email": "john.doe@example.com",
     "shipping_address": {"street": "123 Main St", "city": "Anytown", "postal_code": "12345"}},
    {"purchase_id": 456, "customer_id": 123, "items": [{"product_id": 789, "quantity": 2, "price": 99.99}],
     "total_amount": 199.99, "status": "paid"},
    {"product_id": 789, "name": "Wireless Mouse", "price": 49.99, "stock_quantity": 150, "category": "Electronics"},
    {"subscription_id": 101, "customer_id": 123, "plan": "Premium", "status": "active",
     "next_billing_date": "2024-12-01"},
    {"user_id": 123, "activity_type": "login", "timestamp": "2024-11-23T10:15:00Z", "device": "mobile",
     "ip_address": "192.168.1.1"},
    {"product_id": 789, "restocked_quantity": 100, "warehouse_id": 2, "stock_threshold": 20},
    {"contact-info": {"name": "Foo Bar", "email": "foobar@test.com"},
     "order-info": {"OrderId": "1", "item-id": "101", "item-desc": "Item One", "qty": "1"}},
]  # fmt: skip


def _customer(n: int, name: str = "Ann", **extra: object) -> dict:
    return {"customer_id": n, "name": name, "email": f"c{n}@example.com", **extra}


def _stats(w: World) -> dict:
    return event_stats.stats(w.settings, w.dynamodb, w.bucket, w.sqs)


def test_the_issue_examples_land_in_their_own_tables(events_world: World) -> None:
    w = events_world
    w.send(*EXAMPLES)
    polled = w.consume()
    assert (polled.received, polled.failed) == (7, 0)
    assert _stats(w)["tables"] == {name: 1 for name in kinds.BY_NAME}
    purchase = w.item(kinds.PURCHASES, purchase_id="456")
    assert purchase["total_amount"] == Decimal("199.99") and purchase["items"][0]["price"] == Decimal("99.99")
    assert w.item(kinds.INVENTORY, product_id="789", warehouse_id="2")["stock"] == 100
    assert w.item(kinds.CUSTOMERS, customer_id="123")["shipping_address"]["city"] == "Anytown"
    activity = w.dynamodb.scan(TableName=w.settings.activity_table)["Items"][0]
    assert int(activity["expires_at"]["N"]) > time.time() + 80 * 86400  # TTL: 90 days after arrival


def test_one_transient_failure_among_nine_good_records_is_retried_alone(events_world: World) -> None:
    w = events_world
    w.send(*[_customer(n) for n in range(1, 11)])
    w.fail_writes(lambda p: mentions(p, "c7@example.com"))
    response = w.deliver(w.receive())
    assert len(response["batchItemFailures"]) == 1
    assert _stats(w)["tables"]["customers"] == 9
    assert w.item(kinds.CUSTOMERS, customer_id="7") is None
    w.heal()
    assert w.consume().received == 1  # SQS delivers the failed one again
    assert _stats(w)["tables"]["customers"] == 10
    assert w.consumer.tally.outcomes == {"applied": 10}


def test_an_invalid_record_is_kept_with_its_reasons_and_never_retried(events_world: World) -> None:
    w = events_world
    bad = {"purchase_id": 9, "customer_id": 1, "items": [{"product_id": 1, "quantity": 0, "price": "1.001"}]}
    w.send(_customer(1), bad, "not json {")
    response = w.deliver(w.receive())
    assert response["batchItemFailures"] == []  # invalid is an outcome, not a failure
    assert w.consume().received == 0  # nothing comes back
    kept = [w.bucket.get_json(o.key) for o in w.bucket.list(event_layout.REJECTED_EVENTS)]
    assert len(kept) == 2 and _stats(w)["invalid"] == 2
    purchase = next(k for k in kept if k["entity"] == "purchases")
    assert json.loads(purchase["body"]) == bad
    assert {r["field"] for r in purchase["reasons"]} == {"items[0].quantity", "items[0].price"}
    assert any("more than two decimal places" in r["reason"] for r in purchase["reasons"])
    alerts = w.alerts()
    assert [k for k, _ in alerts] == ["invalid"]  # one alert for the batch, not one per record
    message = alerts[0][1]
    assert message["invalid_records"] == 2 and message["by_entity"] == {"purchases": 1, "unknown": 1}
    assert {e["key"] for e in message["examples"]} == {o.key for o in w.bucket.list(event_layout.REJECTED_EVENTS)}


def test_a_poison_message_reaches_the_dlq_after_max_receive_count_and_redrive_applies_it_once(
    events_world: World,
) -> None:
    w = events_world
    w.send(*[_customer(n) for n in range(1, 6)])
    w.fail_writes(lambda p: mentions(p, "c3@example.com"))
    polled = w.consume()
    assert polled.failed == w.settings.max_receive_count  # delivered that often, then moved by SQS
    dlq = _stats(w)["dlq"]
    assert dlq == 1 and _stats(w)["tables"]["customers"] == 4
    assert w.consumer.tally.outcomes["applied"] + dlq == 5  # every message ends applied, invalid or in the DLQ
    w.heal()
    assert queues.redrive(w.sqs, w.urls["dlq_url"], w.urls["queue_url"]) == 1
    assert _stats(w)["dlq"] == 0
    w.consume()
    assert _stats(w)["tables"]["customers"] == 5 and w.consumer.tally.outcomes["applied"] == 5


def test_the_same_message_twice_and_the_same_payload_twice_have_one_effect(events_world: World) -> None:
    w = events_world
    restock = {"product_id": "p1", "restocked_quantity": 40, "warehouse_id": "w1"}
    w.send(restock, {"productId": "p1", "RestockedQuantity": "40", "warehouse-id": "w1"})  # same, spelt apart
    messages = w.receive()
    w.deliver(messages, settle=False)
    w.deliver(messages)  # redelivered: the mapping got no answer the first time
    assert w.item(kinds.INVENTORY, product_id="p1", warehouse_id="w1")["stock"] == 40
    assert w.consumer.tally.outcomes == {"applied": 1, "duplicate": 3}
    # past the idempotency records (expired, or a crash before they completed): the writes still count once
    for item in w.dynamodb.scan(TableName=w.settings.idempotency_table)["Items"]:
        w.dynamodb.delete_item(TableName=w.settings.idempotency_table, Key={"id": item["id"]})
    w.send(restock, _customer(5))
    w.send(_customer(5))
    w.consume()
    assert w.item(kinds.INVENTORY, product_id="p1", warehouse_id="w1")["stock"] == 40
    assert w.consumer.tally.outcomes["duplicate"] == 5 and _stats(w)["tables"]["customers"] == 1


def test_updates_delivered_out_of_order_leave_the_newest(events_world: World) -> None:
    w = events_world
    old = _customer(1, "Old", updated_at="2025-01-01T00:00:00Z")
    new = _customer(1, "New", updated_at="2025-01-02T00:00:00+01:00")
    w.send(new, old)
    w.consume()
    assert w.item(kinds.CUSTOMERS, customer_id="1")["name"] == "New"
    assert w.consumer.tally.outcomes == {"applied": 1, "superseded": 1}
    # versions order too, and without either the queue's SentTimestamp does
    w.send({**_customer(2, "v2"), "version": 2}, {**_customer(2, "v1"), "version": 1})
    w.send(_customer(3, "first"))
    first = w.receive()
    time.sleep(0.01)
    w.send(_customer(3, "second"))
    second = w.receive()
    w.deliver(second)
    w.deliver(first)
    w.consume()
    assert w.item(kinds.CUSTOMERS, customer_id="2")["name"] == "v2"
    assert w.item(kinds.CUSTOMERS, customer_id="3")["name"] == "second"


def test_low_stock_alerts_once_per_crossing_with_the_numbers(events_world: World) -> None:
    w = events_world
    steps = [
        {"product_id": "p", "restocked_quantity": 30, "warehouse_id": "a", "stock_threshold": 20},  # 30: fine
        {"product_id": "p", "restocked_quantity": 50, "warehouse_id": "b"},  # b: 50, default threshold 10
        {"event_id": "t1", "product_id": "p", "quantity": 15, "from_warehouse_id": "a", "to_warehouse_id": "b"},
        {"event_id": "t2", "product_id": "p", "quantity": 5, "from_warehouse_id": "a", "to_warehouse_id": "b"},
        {"product_id": "p", "returned_quantity": 20, "warehouse_id": "a"},  # back to 30: re-armed
        {"event_id": "t3", "product_id": "p", "quantity": 25, "from_warehouse_id": "a", "to_warehouse_id": "b"},
    ]
    for step in steps:  # one at a time, in order
        w.send(step)
        w.consume()
    low = [m for kind, m in w.alerts() if kind == "low_stock"]
    assert [(m["stock"], m["threshold"], m["crossing"]) for m in low] == [(15, 20, 1), (5, 20, 2)]
    assert {m["warehouse_id"] for m in low} == {"a"} and _stats(w)["alerts"]["low_stock"] == 2
    assert w.item(kinds.INVENTORY, product_id="p", warehouse_id="b")["stock"] == 95


def test_large_orders_alert_at_the_threshold_with_the_total(events_world: World) -> None:
    w = events_world

    def purchase(n: int, price: str, **extra: object) -> dict:
        lines = [{"product_id": 1, "quantity": 4, "price": price}]
        return {"purchase_id": n, "customer_id": 7, "items": lines, **extra}

    w.send(purchase(1, "250.00"), purchase(2, "249.99"), purchase(3, "10", total_amount="1500.50"))
    w.send(purchase(1, "250.00", status="shipped"))  # a later update of a large order: no second alert
    w.consume()
    large = sorted((m["purchase_id"], m["total_amount"]) for kind, m in w.alerts() if kind == "large_order")
    assert large == [("1", "1000.00"), ("3", "1500.50")]
    assert _stats(w)["alerts"]["large_order"] == 2


def test_an_oversized_payload_keeps_its_body_in_s3(events_world: World) -> None:
    w = events_world
    w.send(_customer(1, notes="x" * 500_000))
    w.consume()
    item = w.item(kinds.CUSTOMERS, customer_id="1")
    assert item["claim_s3"].startswith(f"s3://{w.settings.bucket}/{event_layout.CLAIMS}customers/")
    assert item["name"] == "Ann" and "extra" not in item  # the big field lives in S3 only
    stored = json.loads(w.bucket.get_bytes(item["claim_s3"].split("/", 3)[3]))
    assert json.loads(stored["extra"])["notes"] == "x" * 500_000


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
entity_like = st.fixed_dictionaries(
    {
        "customer_id": st.integers(0, 5),
        "name": st.text(max_size=5) | st.just("\ud800"),
        "email": st.sampled_from(["a@b.co", "x"]),
    },
    optional={"preferences": json_values, "Extra Field": json_values, "updated_at": st.text(max_size=25)},
)


@settings(max_examples=15)
@given(
    bodies=st.lists(st.one_of(json_values, entity_like).map(json.dumps) | st.text(max_size=30), min_size=1, max_size=10)
)
def test_any_body_through_the_real_handler_ends_applied_or_invalid_never_failed(
    events_world: World, bodies: list[str]
) -> None:
    w = events_world
    before = sum(w.consumer.tally.outcomes.values())
    w.send(*bodies)
    polled = w.consume()
    assert polled.failed == 0 and polled.received == len(bodies)
    assert sum(w.consumer.tally.outcomes.values()) - before == len(bodies)


def test_undeclared_fields_at_any_depth_are_kept_whatever_they_hold(events_world: World) -> None:
    """Numbers DynamoDB cannot hold (1e300, 1e-200), maps inside items and addresses: kept as JSON
    text in `extra`, and the record applied (not failed and sent to the DLQ)."""
    w = events_world
    purchase = {"purchase_id": 1, "customer_id": 2, "Gift Wrap": {"note": "x", "size": 1e-200},
                "items": [{"product_id": 3, "quantity": 1, "price": "5", "Colour": "red", "box": {"w": 1e300}}],
                "shipping_address": {"city": "Anytown", "Floor": 3.5}}  # fmt: skip
    w.send(purchase, _customer(9, shipping_address={"city": "X", "Gate Code": "#12"}))
    polled = w.consume()
    assert (polled.received, polled.failed) == (2, 0)
    item = w.item(kinds.PURCHASES, purchase_id="1")
    assert json.loads(item["items"][0]["extra"]) == {"box": {"w": "1E+300"}, "colour": "red"}
    assert json.loads(item["extra"])["gift_wrap"]["note"] == "x"
    assert json.loads(w.item(kinds.CUSTOMERS, customer_id="9")["shipping_address"]["extra"]) == {"gate_code": "#12"}


def _wrapped(record: object, index: int, file: str = "incoming/sales_1.json") -> dict:
    """A sales file's record as the sales workflow sends it."""
    return {"sales_record": record, "source_file": file, "source_index": index}


def test_sales_records_complete_to_the_table_incomplete_to_the_sales_dlq_with_the_part_named(
    events_world: World,
) -> None:
    w = events_world
    contact = {"name": "Foo Bar", "email": "foobar@test.com"}
    records = [
        {"contact-info": contact, "order-info": {"OrderId": "1", "item-id": "101", "item-desc": "One", "qty": "1"}},
        {"order-info": {"orderId": "2", "item-id": "102", "item-desc": "Item Two", "qty": "2"}},  # no contact
        {"contact-info": contact},  # no order
        {"contact-info": {"name": "X", "email": "nope"}, "order-info": {"OrderId": "4", "item-id": "1",
                                                                         "item-desc": "D", "qty": "zero"}},
        "not an object",
        {"contact-info": contact, "order-info": {"OrderId": "5", "item-id": "7", "item-desc": "Five", "qty": 3}},
    ]  # fmt: skip
    w.send(*[_wrapped(r, i) for i, r in enumerate(records)])
    w.consume()
    assert _stats(w)["tables"]["sales"] == 2
    sale = w.item(kinds.SALES, order_id="1", item_id="101")
    assert sale["contact_info"]["email"] == "foobar@test.com" and sale["order_info"]["quantity"] == 1
    assert sale["source_file"] == "incoming/sales_1.json" and sale["source_index"] == 0
    parked = {json.loads(m["body"])["body"]: json.loads(m["body"]) for m in queues.peek(w.sqs, w.urls["sales_dlq_url"])}
    assert len(parked) == 4
    reasons = {json.loads(body)["source_index"]: {r["field"] for r in doc["reasons"]} for body, doc in parked.items()}
    assert reasons == {
        1: {"contact_info"},
        2: {"order_info"},
        3: {"contact_info.email", "order_info.quantity"},
        4: {"sales_record"},
    }
    # the same file again: no new records anywhere
    w.send(*[_wrapped(r, i) for i, r in enumerate(records)])
    w.consume()
    assert _stats(w)["tables"]["sales"] == 2 and len(queues.peek(w.sqs, w.urls["sales_dlq_url"])) == 4


def test_the_consumers_metrics_name_each_outcome_and_alert_of_an_invocation(events_world: World, capsys) -> None:
    """The EMF document one invocation prints (CloudWatch reads it from the Lambda's log): the
    namespace, the service dimension, and per outcome and alert kind the count of that invocation."""
    from ecompipe.core.observability import NAMESPACE
    from events.handler import ALERT_METRICS, OUTCOME_METRICS, SERVICE

    w = events_world
    big = {"purchase_id": 9, "customer_id": 1, "items": [{"product_id": 1, "quantity": 1, "price": "1500.00"}]}
    w.send(_customer(1), _customer(1), "not json", big)
    capsys.readouterr()
    w.deliver(w.receive())
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (doc,) = documents
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE and directive["Dimensions"] == [["service"]]
    assert doc["service"] == SERVICE
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {*OUTCOME_METRICS.values(), *ALERT_METRICS.values(), "EventsFailed"}
    assert all(m["Unit"] == "Count" for m in directive["Metrics"])
    values = {name: sum(doc[name]) if isinstance(doc[name], list) else doc[name] for name in names}
    assert values == {
        "EventsApplied": 2.0,  # the customer once, the purchase
        "EventsSuperseded": 0.0,
        "EventsDuplicate": 1.0,  # the same customer again
        "EventsInvalid": 1.0,
        "LargeOrderAlerts": 1.0,  # 1,500.00 >= 1,000
        "InvalidAlerts": 1.0,
        "LowStockAlerts": 0.0,
        "EventsFailed": 0.0,
    }


def test_a_sales_workflows_records_are_counted_once_for_their_execution(events_world: World) -> None:
    """events.sales_runs: each record of an execution counts once, complete or parked, whatever
    its redeliveries; another execution of the same file counts its own."""
    from events import sales_runs

    w = events_world
    record = {"contact-info": {"name": "A", "email": "a@b.co"}, "order-info": {"OrderId": "1", "item-id": "1",
              "item-desc": "D", "qty": 1}}  # fmt: skip
    for run in ("run-1", "run-1", "run-2"):  # run-1's records delivered twice
        envelope = {"source_file": "incoming/s.json", "source_run": run}
        w.send(
            {"sales_record": record, "source_index": 0, **envelope}, {"sales_record": {}, "source_index": 1, **envelope}
        )
        w.consume()
    counted = {run: sales_runs.counts(w.dynamodb, w.settings, run) for run in ("run-1", "run-2", "run-3")}
    assert counted == {
        "run-1": {"complete": 1, "dlq": 1},
        "run-2": {"complete": 1, "dlq": 1},
        "run-3": {"complete": 0, "dlq": 0},
    }
    assert len(queues.peek(w.sqs, w.urls["sales_dlq_url"])) == 1  # the incomplete record parked once
