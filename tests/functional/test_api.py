"""The KPI API (ecompipe.api) through FastAPI's TestClient, against in-process moto: the KPIs of
docs/kpis.md's worked example, the run ledger and reports, uploads, input checks and the API key."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from ecompipe.api import create_app
from ecompipe.core import layout
from tests.support.corpus import ITEMS, ORDERS, PRODUCTS
from tests.support.helpers import run_files

pytestmark = pytest.mark.functional

# docs/kpis.md, "Worked example"
WORKED = {
    "products.csv": PRODUCTS + b"P1,Books,a,10.00\nP2,Toys,b,5.50\nP3,Toys,c,4.99\n",
    "orders_w.csv": ORDERS
    + b"O1,U1,2025-06-01,,delivered\nO2,U2,2025-06-01,,returned\nO3,U1,2025-06-01,,cancelled\n"
    + b"O4,U3,2025-06-01,,returned\nO5,U4,2025-06-02,,cancelled\n",
    "order_items_w.csv": ITEMS
    + b"O1,P1,2,10.00\nO1,P2,1,5.50\nO2,P1,1,10.00\nO3,P2,3,5.50\nO4,P3,1,4.99\nO5,P1,1,10.00\n",
}


@pytest.fixture
def worked(resources):
    result = run_files(resources, WORKED)
    ledger = resources.ledger
    ledger.taken(result.batch_id, result.batch_id, 3, "test")
    ledger.validated(result.batch_id, result.report, layout.report_key(result.batch_id))
    ledger.finished(result.batch_id, "SUCCEEDED")
    ledger.taken("batch-failed", "batch-failed", 1, "test")
    ledger.finished("batch-failed", "FAILED", "boom", stage="validate")
    return resources, result


@pytest.fixture
def client(worked) -> TestClient:
    res, _ = worked
    return TestClient(create_app(res.settings, res))


def test_order_kpis_are_the_worked_example(client: TestClient) -> None:
    rows = client.get("/api/kpis/orders", params={"from": "2025-06-01", "to": "2025-06-02"}).json()
    assert rows == [
        {
            "order_date": "2025-06-01",
            "total_orders": 4,
            "total_revenue": "40.49",
            "total_items_sold": 5,
            "return_rate": 0.5,
            "unique_customers": 3,
        },
        {
            "order_date": "2025-06-02",
            "total_orders": 1,
            "total_revenue": "0.00",
            "total_items_sold": 0,
            "return_rate": 0.0,
            "unique_customers": 1,
        },
    ]
    assert client.get("/api/kpis/orders").json() == rows  # no range: the latest 90 days with KPIs
    assert [r["order_date"] for r in client.get("/api/kpis/orders", params={"from": "2025-06-02"}).json()] == [
        "2025-06-02"
    ]


def test_category_kpis_of_a_day_a_category_and_a_range(client: TestClient) -> None:
    day = client.get("/api/kpis/categories", params={"date": "2025-06-01"}).json()
    assert [(r["category"], r["daily_revenue"], r["avg_order_value"], r["avg_return_rate"]) for r in day] == [
        ("Books", "30.00", "15.00", 0.5),
        ("Toys", "10.49", "5.25", 0.3333),
    ]
    toys = client.get("/api/kpis/categories", params={"category": "Toys", "from": "2025-06-01", "to": "2025-06-30"})
    assert [(r["order_date"], r["daily_revenue"]) for r in toys.json()] == [("2025-06-01", "10.49")]
    books = client.get("/api/kpis/categories", params={"category": "Books"}).json()
    assert [(r["order_date"], r["daily_revenue"]) for r in books] == [("2025-06-01", "30.00"), ("2025-06-02", "0.00")]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/kpis/orders", {"from": "2025-13-01"}, "from must be a date as YYYY-MM-DD, not '2025-13-01'"),
        ("/api/kpis/orders", {"to": "June 1"}, "to must be a date as YYYY-MM-DD"),
        ("/api/kpis/orders", {"from": "2025-06-02", "to": "2025-06-01"}, "from (2025-06-02) is after to (2025-06-01)"),
        ("/api/kpis/orders", {"from": "2024-01-01", "to": "2025-06-01"}, "spans 518 days; at most 366"),
        ("/api/kpis/categories", {"date": "2025-06-01", "from": "2025-06-01"}, "either date, or from/to"),
        ("/api/kpis/categories", {"date": "20250601"}, "date must be a date as YYYY-MM-DD"),
        ("/api/kpis/orders", {"form": "2025-06-01"}, "unknown parameter(s) 'form'; takes from, to"),
        ("/api/runs", [("limit", "1"), ("limit", "2")], "parameter(s) limit given more than once"),
        ("/api/runs", {"limit": "0"}, "limit: Input should be greater than or equal to 1"),
        ("/api/runs", {"limit": "many"}, "limit: Input should be a valid integer"),
        ("/api/runs", {"status": "DONE"}, "status must be one of RUNNING, SUCCEEDED, REJECTED, FAILED"),
        ("/api/runs/bad%20id;x/report", {}, "is not a batch id"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message(client: TestClient, path: str, params, message: str) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 400, resp.text
    assert message in resp.json()["detail"]


def test_runs_newest_first_with_their_report(client: TestClient, worked) -> None:
    _, result = worked
    runs = client.get("/api/runs").json()
    assert {r["run_id"]: r["status"] for r in runs} == {result.batch_id: "SUCCEEDED", "batch-failed": "FAILED"}
    ok = next(r for r in runs if r["status"] == "SUCCEEDED")
    assert (ok["accepted"], ok["rejected"], ok["pending"], ok["files"]) == (14, 0, 0, 3)
    assert client.get("/api/runs", params={"status": "failed"}).json()[0]["failed_stage"] == "validate"
    assert len(client.get("/api/runs", params={"limit": 1}).json()) == 1

    report = client.get(ok["report_url"]).json()
    assert report["batch_id"] == result.batch_id and report["totals"]["accepted"] == 14
    missing = client.get("/api/runs/batch-nope/report")
    assert missing.status_code == 404 and "no run batch-nope" in missing.json()["detail"]
    unreported = client.get("/api/runs/batch-failed/report")
    assert unreported.status_code == 404 and "no validation report" in unreported.json()["detail"]


def test_uploads_land_in_incoming_under_their_name(client: TestClient, worked) -> None:
    res, _ = worked
    data = ORDERS + b"9,5,2025-06-03,1.00,shipped\n"
    resp = client.post("/api/uploads", files=[("files", ("orders_up.csv", data, "text/csv"))])
    assert resp.status_code == 201, resp.text
    assert resp.json()["uploaded"][0]["key"] == "incoming/orders_up.csv"
    assert res.bucket.get_bytes("incoming/orders_up.csv") == data
    # the same name again, before the first was processed: an upload of its own, never a replacement
    again = client.post("/api/uploads", files=[("files", ("orders_up.csv", data, "text/csv"))])
    assert again.status_code == 201, again.text
    versions = [resp.json()["uploaded"][0]["version_id"], again.json()["uploaded"][0]["version_id"]]
    assert [v.version_id for v in res.bucket.versions("incoming/orders_up.csv")] == versions
    twice = [("files", ("orders_up.csv", data, "text/csv"))] * 2
    assert "same name" in client.post("/api/uploads", files=twice).json()["detail"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("customers.csv", "must be orders_*.csv, order_items_*.csv or products*.csv"),
        ("orders_a.txt", "must be orders_*.csv"),
        ("..", "is not a plain file name"),
        ("a\\orders_x.csv", "is not a plain file name"),
    ],
)
def test_uploads_check_the_file_name(client: TestClient, worked, name: str, message: str) -> None:
    resp = client.post("/api/uploads", files=[("files", (name, b"order_id\n", "text/csv"))])
    assert resp.status_code == 400 and message in resp.json()["detail"]
    assert worked[0].bucket.list(layout.INCOMING) == []


def test_uploads_over_the_size_limit_are_refused(worked) -> None:
    res, _ = worked
    small = replace(res.settings, max_file_mb=1)
    client = TestClient(create_app(small, replace(res, settings=small)))
    big = ORDERS + b"1,5,2025-06-01,1.00,shipped\n" * 40_000
    resp = client.post("/api/uploads", files=[("files", ("orders_big.csv", big, "text/csv"))])
    assert resp.status_code == 413 and "ECOMPIPE_MAX_FILE_MB (1 MiB)" in resp.json()["detail"]
    # a body over 20 files' worth is refused from its Content-Length, before it is read
    huge = client.post("/api/uploads", files=[("files", ("orders_huge.csv", b"x" * (22 * 2**20), "text/csv"))])
    assert huge.status_code == 413 and "larger than 20 files" in huge.json()["detail"]
    many = [("files", (f"orders_{i}.csv", ORDERS, "text/csv")) for i in range(21)]
    assert "at most 20 files" in client.post("/api/uploads", files=many).json()["detail"]
    assert res.bucket.list(layout.INCOMING) == []


def test_the_api_key_guards_every_api_route_but_health(worked) -> None:
    res, _ = worked
    keyed = replace(res.settings, api_key="s3cret-key")
    client = TestClient(create_app(keyed, replace(res, settings=keyed)))
    for path in ("/api/kpis/orders", "/api/kpis/categories", "/api/runs"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get(path, headers={"X-API-Key": "s3cret-key"}).status_code == 200
    upload = [("files", ("orders_k.csv", ORDERS, "text/csv"))]
    assert client.post("/api/uploads", files=upload).status_code == 401
    assert client.post("/api/uploads", files=upload, headers={"X-API-Key": "s3cret-key"}).status_code == 201
    assert client.get("/health").json()["status"] == "ok"
    assert "s3cret" not in repr(keyed)


def test_openapi_and_the_dashboard_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {
        "/api/kpis/orders",
        "/api/kpis/categories",
        "/api/runs",
        "/api/runs/{run_id}/report",
        "/api/uploads",
        "/health",
    } <= set(spec["paths"])
    page = client.get("/")
    assert page.status_code == 200 and 'id="chart-revenue"' in page.text
    assert client.get("/static/app.js").status_code == 200


def test_the_transaction_sync_paths_answer_as_the_routes_they_alias(client: TestClient, worked) -> None:
    """Clients written for the transaction-sync API: its three paths, in the OpenAPI document."""
    res, _ = worked
    assert client.get("/api/transactions").json() == client.get("/api/kpis/orders").json() != []
    same = "?from=2025-06-01&to=2025-06-30"
    assert client.get(f"/api/transactions/summary{same}").json() == client.get(f"/api/summary{same}").json()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/transactions", "/api/transactions/summary", "/api/transactions/upload"} <= set(paths)
    sales = b'[{"order_id": "S1", "customer_email": "a@example.com", "amount": 10}]'
    resp = client.post("/api/transactions/upload", files=[("files", ("sales_1.json", sales, "application/json"))])
    assert resp.status_code == 201, resp.text
    assert res.bucket.get_bytes("incoming/sales_1.json") == sales
    bad = client.post("/api/transactions/upload", files=[("files", ("notes.txt", b"x", "text/plain"))])
    assert bad.status_code == 400 and "JSON sales file" in bad.json()["detail"]
