"""The questions API (POST /api/sql, POST /api/queries, GET /api/summary, GET /api/errors) through
FastAPI's TestClient against in-process moto holding docs/kpis.md's worked example (the expected
numbers below are worked out by hand from its table) and a batch with bad rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from ecompipe.api import create_app
from ecompipe.batch.resources import Resources
from ecompipe.core.settings import Settings
from tests.conftest import MOTO_CONFIG
from tests.functional.test_api import WORKED
from tests.support.corpus import ORDERS
from tests.support.helpers import run_files

pytestmark = [pytest.mark.functional, pytest.mark.xdist_group("questions-api")]  # one store per module

BAD = {"orders_bad.csv": ORDERS + b"X1,U9,2025-06-01,,weird\nX2,U9,not-a-date,,delivered\nX3,U9,2025-06-02,,shipped\n"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One store for the module: every route here only reads (the schemathesis test checks that)."""
    with pytest.MonkeyPatch.context() as env, mock_aws(config=MOTO_CONFIG):
        for key, value in {
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            env.setenv(key, value)
        resources = Resources.from_settings(Settings(bucket="ecompipe-api-questions"))
        resources.init()
        yield _client(resources, tmp_path_factory.mktemp("questions-api"))


def _client(resources: Resources, tmp_path: Path) -> TestClient:
    run_files(resources, WORKED)
    bad = run_files(resources, BAD)
    resources.ledger.taken("batch-failed", "batch-failed", 1, "test")
    resources.ledger.finished("batch-failed", "FAILED", "boom", stage="validate")
    settings = replace(resources.settings, query_cache_dir=str(tmp_path / "cache"))
    client = TestClient(create_app(settings, replace(resources, settings=settings)))
    client.bad_batch = bad.batch_id  # type: ignore[attr-defined]
    return client


def test_sql_answers_with_exact_money(client: TestClient) -> None:
    sql = ("SELECT order_date, SUM(line_amount) AS revenue FROM order_items JOIN orders USING (order_id, order_date) "
           "WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1")  # fmt: skip
    got = client.post("/api/sql", json={"sql": sql})
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["columns"] == ["order_date", "revenue"]
    assert doc["rows"] == [["2025-06-01", "40.49"]]  # 06-02 holds O5 (cancelled) and X3 (no items)
    assert doc["interpretation"] is None and doc["sql"].startswith("SELECT") and doc["engine"] == "duckdb"


REFUSED = [
    ("DROP TABLE orders", "only SELECT"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not allowed"),
    ("SELECT 1; DELETE FROM orders", "one statement at a time"),
    ("SELECT * FROM secrets", "unknown table"),
    ("SELECT nope FROM orders", "the engine refused the query"),
]


def test_sql_refusals_are_400_with_the_reason(client: TestClient) -> None:
    for sql, says in REFUSED:
        got = client.post("/api/sql", json={"sql": sql})
        assert got.status_code == 400 and says in got.json()["detail"], sql


def test_sql_row_limit(client: TestClient) -> None:
    doc = client.post("/api/sql", json={"sql": "SELECT * FROM order_items", "max_rows": 2}).json()
    assert doc["row_count"] == 2 and doc["truncated"] and doc["notes"]


def test_a_question_answers_with_its_sql_and_interpretation(client: TestClient) -> None:
    got = client.post("/api/queries", json={"question": "revenue by category on 2025-06-01"})
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["rows"] == [["Books", "30.00"], ["Toys", "10.49"]]  # O1 2x10.00 + O2 10.00; O1 5.50 + O4 4.99
    assert doc["interpretation"] == "revenue per category, 2025-06-01"
    assert "GROUP BY category" in doc["sql"]


def test_a_relative_question_uses_the_given_today(client: TestClient) -> None:
    doc = client.post("/api/queries", json={"question": "orders yesterday", "today": "2025-06-02"}).json()
    assert doc["rows"] == [[4]]  # O1..O4 (X1 was rejected: unknown status)
    assert doc["interpretation"] == "orders, yesterday (2025-06-01)"


def test_a_question_it_cannot_read_is_a_400_with_suggestions(client: TestClient) -> None:
    got = client.post("/api/queries", json={"question": "delete all the orders"})
    assert got.status_code == 400
    assert got.json()["detail"].startswith("I don't understand 'delete all the orders'")
    assert "Try: 'revenue by category last week'" in got.json()["detail"]


def test_summary_over_a_range_and_per_category(client: TestClient) -> None:
    doc = client.get("/api/summary", params={"from": "2025-06-01", "to": "2025-06-01"}).json()
    assert doc["columns"] == ["orders", "revenue", "items_sold", "return_rate", "average_order_value", "customers"]
    # O1..O4: 4 orders, revenue 40.49 (O3 cancelled), 5 items sold, 2 returned of 4, 40.49 / 3 sold, U1-U3
    assert doc["rows"] == [[4, "40.49", 5, "0.5000", "13.50", 3]]
    per = client.get("/api/summary", params={"from": "2025-06-01", "to": "2025-06-01", "by": "category"}).json()
    # Books: O1, O2; Toys: O1, O3, O4 (5.50 + 4.99 over 2 sold = 5.245 -> 5.25)
    assert per["rows"] == [["Books", 2, "30.00", 3, "0.5000", "15.00", 2], ["Toys", 3, "10.49", 2, "0.3333", "5.25", 2]]
    assert client.get("/api/summary", params={"by": "weekday"}).status_code == 400


def test_errors_lists_rejected_rows_and_failed_runs_with_filters_and_pages(client: TestClient) -> None:
    doc = client.get("/api/errors").json()
    kinds = {(i["kind"], i["reason"]) for i in doc["items"]}
    assert ("row", "unknown_status") in kinds and ("row", "unparsable_date") in kinds
    assert ("run", "failed_validate") in kinds
    rows = client.get("/api/errors", params={"reason": "unknown_status"}).json()
    assert [(i["file"], i["line"], i["batch_id"]) for i in rows["items"]] == [("orders_bad.csv", 2, client.bad_batch)]
    assert "weird" in rows["items"][0]["detail"]
    paged = client.get("/api/errors", params={"page_size": 1, "page": 2}).json()
    assert paged["total"] == doc["total"] and len(paged["items"]) == 1 and paged["items"][0] == doc["items"][1]
    assert client.get("/api/errors", params={"batch": "batch-none"}).json()["total"] == 0
    assert client.get("/api/errors", params={"page_size": 501}).status_code == 400
