"""Every workload's problems and alerts in one place (ecompipe.batch.feeds): the batch pipeline's
rejected rows, an invalid event, an incomplete sales record, a sales file rejected whole and a
message in the events DLQ all in one feed, each with its source and reason, filtered and paged the
same in the API and the CLI; and the alerts the consumer published, likewise."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ecompipe.api import create_app
from ecompipe.batch import feeds
from ecompipe.batch.resources import Resources
from ecompipe.cli import main
from tests.support.events import World, mentions
from tests.support.helpers import run_files

pytestmark = pytest.mark.functional
ORDERS = b"order_id,user_id,order_date,total_amount,status\n"


@pytest.fixture
def world(events_world: World) -> tuple[World, Resources]:
    """One of each problem, and an alert."""
    w = events_world
    res = Resources.from_settings(w.settings)
    res.init()
    run_files(res, {"orders_1.csv": ORDERS + b"1,5,2025-06-01,10.00,delivered\n2,6,2025-06-01,-1.00,shipped\n"})
    bad_purchase = {"purchase_id": 9, "customer_id": 1, "items": [{"product_id": 1, "quantity": 0, "price": "1"}]}
    incomplete_sale = {"sales_record": {"order-info": {"OrderId": "2"}}, "source_file": "incoming/sales_1.json",
                       "source_index": 1}  # fmt: skip
    w.send(bad_purchase, incomplete_sale, {"customer_id": 3, "name": "Poison", "email": "c3@example.com"})
    w.fail_writes(lambda p: mentions(p, "c3@example.com"))
    w.consume()  # the poison message ends in the events DLQ after its retries
    w.heal()
    reason = {"bucket": w.settings.bucket, "key": "incoming/sales_bad.json", "reason": "not_json", "message": "no"}
    res.bucket.put_json("rejected/sales/incoming/sales_bad.json.reason.json", reason)
    return w, res


def test_one_feed_holds_every_workload_s_problems_with_their_reasons(world) -> None:
    _, res = world
    items = feeds.problems(res, feeds.Filters())
    by_source = {s: [i for i in items if i["source"] == s] for s in feeds.SOURCES}
    [row] = by_source["batch"]
    assert (row["kind"], row["file"], row["line"], row["reason"]) == ("row", "orders_1.csv", 3, "negative_amount")
    [event] = by_source["events"]
    assert event["kind"] == "record" and "items[0].quantity" in event["reason"]
    sales = sorted(by_source["sales"], key=lambda i: i["kind"])
    assert [(s["kind"], s["file"]) for s in sales] == [("file", "sales_bad.json"), ("record", "incoming/sales_1.json")]
    assert sales[0]["reason"] == "not_json" and "contact_info" in sales[1]["reason"]
    [dead] = by_source["events_dlq"]
    assert dead["reason"] == "retries_exhausted" and "c3@example.com" in dead["detail"] and dead["day"]
    assert feeds.problems(res, feeds.Filters(source="sales")) == by_source["sales"]
    assert [i["source"] for i in feeds.problems(res, feeds.Filters(reason="negative_amount"))] == ["batch"]
    assert [i["source"] for i in feeds.problems(res, feeds.Filters(reason="items[0].quantity"))] == ["events"]


def test_the_api_and_the_cli_page_the_same_feed(world, monkeypatch) -> None:
    w, res = world
    client = TestClient(create_app(w.settings, res))
    whole = client.get("/api/errors?page_size=500").json()
    assert whole["total"] == 5 and {i["source"] for i in whole["items"]} == set(feeds.SOURCES)
    first = client.get("/api/errors?page=1&page_size=2").json()
    second = client.get("/api/errors?page=2&page_size=2").json()
    assert first["items"] + second["items"] == whole["items"][:4]
    assert client.get("/api/errors?source=events_dlq").json()["items"][0]["reason"] == "retries_exhausted"
    bad = client.get("/api/errors?source=mail")
    assert bad.status_code == 400 and "source must be one of batch, events, sales, events_dlq" in bad.json()["detail"]

    monkeypatch.setenv("ECOMPIPE_BUCKET", w.settings.bucket)
    for name in ("ECOMPIPE_MAX_RECEIVE_COUNT",):
        monkeypatch.setenv(name, str(w.settings.max_receive_count))
    out = CliRunner().invoke(main, ["problems", "--output", "json", "--page-size", "500"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == whole
    csv_out = CliRunner().invoke(main, ["problems", "--source", "sales", "--output", "csv"])
    assert csv_out.output.splitlines()[0] == "source,kind,day,batch_id,file,line,reason,detail"
    assert len(csv_out.output.splitlines()) == 3


def test_alerts_in_one_feed(world, monkeypatch) -> None:
    w, res = world
    published = feeds.alerts(res)
    assert [a["kind"] for a in published] == ["invalid"] and published[0]["source"] == "events"
    assert published[0]["message"]["invalid_records"] == 2 and published[0]["at"]
    client = TestClient(create_app(w.settings, res))
    assert client.get("/api/alerts?kind=invalid").json()["items"] == published
    assert client.get("/api/alerts?kind=low_stock").json()["total"] == 0
    monkeypatch.setenv("ECOMPIPE_BUCKET", w.settings.bucket)
    out = CliRunner().invoke(main, ["alerts", "--output", "json"])
    assert out.exit_code == 0 and json.loads(out.output)["items"] == published


def test_the_real_time_side_at_a_glance(world) -> None:
    w, res = world
    doc = TestClient(create_app(w.settings, res)).get("/api/events/activity").json()
    assert doc["tables"]["customers"] == 0 and doc["tables"]["sales"] == 0 and doc["tables"]["purchases"] == 0
    [today] = doc["days"]
    assert (today["invalid"], today["dlq"]) == (2, 1)  # the bad purchase and the incomplete sale; the poison
    assert (today["applied"], today["updated"]) == (0, 0)
    w.send(
        {"customer_id": 7, "name": "Ann", "email": "c7@example.com"},
        {"customer_id": 8, "name": "Bo", "email": "c8@example.com"},
    )
    w.consume()
    [today] = TestClient(create_app(w.settings, res)).get("/api/events/activity").json()["days"]
    assert (today["applied"], today["updated"]) == (2, 2)
