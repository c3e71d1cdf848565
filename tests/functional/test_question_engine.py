"""The embedded engine's own walls, behind the guard: no file outside the curated copy, the
configuration locked; the row limit says when it cut; the time limit stops a query; an engine
error is a sentence, not a traceback. And the synced copy follows curated/."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from questions import answers, duck, sources
from questions.guard import check

pytestmark = pytest.mark.functional


@pytest.fixture
def engine(stores: dict) -> duck.DuckEngine:
    store = stores["lab"]
    return duck.DuckEngine(
        duck.connect(Path(store["curated"]), store["order_kpis"], store["category_kpis"], store["rejections"])
    )


@pytest.mark.parametrize(
    "raw",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('/tmp/*.parquet')",
        "COPY (SELECT 1) TO '/tmp/ecompipe-out.csv'",
        "ATTACH '/tmp/ecompipe-other.db' AS other",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "INSTALL httpfs",
    ],
)
def test_even_sql_past_the_guard_cannot_leave_the_curated_copy(engine: duck.DuckEngine, raw: str) -> None:
    with pytest.raises(duckdb.Error):
        engine.con.execute(raw).fetchall()
    assert not Path("/tmp/ecompipe-out.csv").exists()


def test_the_curated_copy_itself_is_readable(engine: duck.DuckEngine, stores: dict) -> None:
    got = engine.con.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert got == 9000  # the lab data's orders (sample_data/thelook/README.md)


def test_the_row_limit_cuts_and_says_so(engine: duck.DuckEngine) -> None:
    answer = answers.sql(engine, "SELECT * FROM order_items ORDER BY item_key", answers.Limits(5, 30))
    assert len(answer.rows) == 5 and answer.truncated
    assert answer.notes == ["only the first 5 rows: the answer has more"]
    whole = answers.sql(engine, "SELECT * FROM products LIMIT 3", answers.Limits(5, 30))
    assert len(whole.rows) == 3 and not whole.truncated and not whole.notes


def test_the_time_limit_stops_a_query(engine: duck.DuckEngine) -> None:
    endless = "SELECT count(*) FROM order_items a, order_items b, order_items c"
    with pytest.raises(duck.TooSlow, match="time limit"):
        answers.sql(engine, endless, answers.Limits(10, 1))


def test_an_engine_error_is_one_sentence(engine: duck.DuckEngine) -> None:
    with pytest.raises(duck.QueryFailed, match="no_such_column"):
        engine.run(check("SELECT no_such_column FROM orders"), 10, 30)


def test_money_is_exact_decimal_and_matches_the_kpis(engine: duck.DuckEngine) -> None:
    sql = """SELECT k.total_revenue, SUM(i.line_amount) FILTER (WHERE o.status <> 'cancelled')
             FROM order_kpis k JOIN orders o USING (order_date) JOIN order_items i USING (order_id)
             WHERE k.order_date = DATE '2025-03-25' GROUP BY 1"""
    answer = answers.sql(engine, sql, answers.Limits(10, 30)).to_json()
    assert answer["rows"] == [["79153.56", "79153.56"]]  # sample_data/thelook/README.md


def test_the_copy_follows_curated(tmp_path: Path, events_world) -> None:
    bucket = events_world.bucket
    bucket.put_bytes("curated/orders/order_date=2025-01-01/part.parquet", b"one")
    bucket.put_bytes("curated/orders/order_date=2025-01-02/part.parquet", b"two")
    copy = sources.sync_curated(bucket, tmp_path / "copy")
    assert (copy / "orders/order_date=2025-01-01/part.parquet").read_bytes() == b"one"
    bucket.put_bytes("curated/orders/order_date=2025-01-01/part.parquet", b"ONE")
    bucket.delete("curated/orders/order_date=2025-01-02/part.parquet")
    sources.sync_curated(bucket, copy)
    assert (copy / "orders/order_date=2025-01-01/part.parquet").read_bytes() == b"ONE"
    assert not (copy / "orders/order_date=2025-01-02/part.parquet").exists()
    bucket.put_bytes("curated/../../outside.parquet", b"no")  # a key that would leave the copy
    sources.sync_curated(bucket, copy)
    assert not (tmp_path / "outside.parquet").exists() and not (copy.parent / "outside.parquet").exists()
