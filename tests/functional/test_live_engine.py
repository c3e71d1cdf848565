"""The engine `ecompipe serve` keeps open (questions/live.py): opened once, reopened exactly when
the store changed (a batch landed, a KPI write, a report), never answering from a stale store;
requests on it run side by side."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ecompipe.batch.resources import Resources
from questions import answers
from questions.live import LiveEngine
from tests.support.helpers import run_files

pytestmark = pytest.mark.functional
ORDERS = b"order_id,user_id,order_date,total_amount,status\n"
ITEMS = b"order_id,product_id,quantity,unit_price\n"
PRODUCTS = b"product_id,category,name,price\nP1,Books,A,10.00\n"
LIMITS = answers.Limits(100, 30.0)


def _live(resources: Resources, tmp_path: Path) -> LiveEngine:
    return LiveEngine(resources.settings)


def _count(live: LiveEngine) -> tuple:
    [row] = answers.sql(live.current().engine, "SELECT count(*) FROM orders", LIMITS).rows
    [kpi] = answers.sql(live.current().engine, "SELECT sum(total_orders) FROM order_kpis", LIMITS).rows
    return row[0], kpi[0]


def test_the_engine_opens_once_and_again_only_when_a_batch_lands(resources: Resources, tmp_path: Path) -> None:
    run_files(resources, {"orders_1.csv": ORDERS + b"1,5,2025-06-01,10.00,delivered\n", "products.csv": PRODUCTS})
    live = _live(resources, tmp_path)
    assert _count(live) == (1, 1) and live.opened == 1
    assert _count(live) == (1, 1) and live.opened == 1  # nothing changed: the same engine
    run_files(resources, {"orders_2.csv": ORDERS + b"2,6,2025-06-02,10.00,delivered\n"})
    assert _count(live) == (2, 2) and live.opened == 2  # the next request sees the batch


def test_a_kpi_write_alone_reopens_it(resources: Resources, tmp_path: Path) -> None:
    run_files(resources, {"orders_1.csv": ORDERS + b"1,5,2025-06-01,10.00,delivered\n", "products.csv": PRODUCTS})
    live = _live(resources, tmp_path)
    assert _count(live) == (1, 1)
    [row] = resources.kpis.order_kpis()
    resources.kpis.replace_dates([row["order_date"]], [{**row, "total_orders": 7}], [])  # e.g. a reprocess
    assert _count(live) == (1, 7) and live.opened == 2


def test_requests_side_by_side_on_the_open_engine(resources: Resources, tmp_path: Path) -> None:
    rows = b"".join(f"{i},{i},2025-06-01,10.00,delivered\n".encode() for i in range(50))
    run_files(
        resources,
        {"orders_1.csv": ORDERS + rows, "order_items_1.csv": ITEMS + b"1,P1,1,10.00\n", "products.csv": PRODUCTS},
    )
    live = _live(resources, tmp_path)
    got: list[tuple] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        got.append(_count(live))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [(50, 50)] * 8 and live.opened == 1


def test_a_reading_begun_before_a_request_never_answers_it() -> None:
    """Requests share a reading of the store only when it began after they arrived: a request that
    comes while one is under way waits for the next (whose answer is newer)."""
    from questions.live import _Shared

    began, release = threading.Event(), threading.Event()
    readings: list[int] = []

    def read() -> str:
        readings.append(len(readings) + 1)
        if len(readings) == 1:
            began.set()
            release.wait(10)
        return str(len(readings))

    shared = _Shared(read)
    got: dict[str, str] = {}
    first = threading.Thread(target=lambda: got.__setitem__("first", shared.fresh()))
    first.start()
    began.wait(10)  # reading 1 is under way
    late = [threading.Thread(target=lambda n=n: got.__setitem__(f"late{n}", shared.fresh())) for n in range(3)]
    for t in late:
        t.start()
    time.sleep(0.2)  # (they wait for reading 1 to end, and then share one newer reading)
    release.set()
    for t in [first, *late]:
        t.join(10)
    assert got["first"] == "1"
    assert all(int(got[f"late{n}"]) >= 2 for n in range(3))  # each from a reading begun after it came
