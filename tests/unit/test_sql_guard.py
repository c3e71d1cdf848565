"""What SQL may run (questions/guard.py): one SELECT over the known tables; everything else refused
with a sentence saying why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from questions.catalog import TABLES
from questions.guard import Refused, check

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("sql", "tables"),
    [
        ("SELECT * FROM orders", {"orders"}),
        ("select order_id from Orders o where o.status = 'returned'", {"orders"}),
        ("SELECT o.order_id, SUM(i.line_amount) FROM orders o JOIN order_items i USING (order_id) GROUP BY 1",
         {"orders", "order_items"}),
        ("WITH t AS (SELECT category FROM products) SELECT * FROM t", {"products"}),
        ("SELECT 1 UNION ALL SELECT total_orders FROM order_kpis", {"order_kpis"}),
        ("SELECT * FROM category_kpis WHERE category IN (SELECT category FROM products)",
         {"category_kpis", "products"}),
        ("FROM rejections", {"rejections"}),
        ("SELECT * FROM orders; ", {"orders"}),
        ("SELECT * FROM orders -- a comment", {"orders"}),
        ("SELECT * FROM (VALUES (1), (2)) AS t(x)", set()),
        ("SELECT unnest([1, 2, 3])", set()),
    ],
)  # fmt: skip
def test_a_select_over_the_known_tables_passes(sql: str, tables: set[str]) -> None:
    checked = check(sql)
    assert checked.tables == tables
    assert checked.sql().upper().startswith(("SELECT", "WITH"))


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("DROP TABLE orders", "only SELECT is allowed: this is a DROP statement"),
        ("CREATE TABLE x AS SELECT 1", "only SELECT is allowed: this is a CREATE statement"),
        ("ALTER TABLE orders ADD COLUMN x INT", "only SELECT"),
        ("INSERT INTO orders SELECT * FROM orders", "only SELECT is allowed: this is an INSERT statement"),
        ("UPDATE orders SET status = 'x'", "only SELECT is allowed: this is an UPDATE statement"),
        ("DELETE FROM orders", "only SELECT is allowed: this is a DELETE statement"),
        ("SELECT * INTO t FROM orders", "only SELECT is allowed: this holds an INTO clause"),
        ("PRAGMA database_list", "only SELECT is allowed: this is a PRAGMA statement"),
        ("ATTACH '/tmp/x.db' AS x", "only SELECT is allowed: this is an ATTACH statement"),
        ("DETACH x", "only SELECT"),
        ("COPY orders TO '/tmp/out.csv'", "only SELECT is allowed: this is a COPY statement"),
        ("INSTALL httpfs", "only SELECT is allowed: this is an INSTALL statement"),
        ("LOAD httpfs", "only SELECT is allowed: this is a LOAD command"),
        ("SET enable_external_access = true", "only SELECT is allowed: this is a SET statement"),
        ("EXPLAIN SELECT 1", "only SELECT is allowed: this is an EXPLAIN command"),
        ("DESCRIBE orders", "only SELECT"),
        ("SHOW TABLES", "only SELECT"),
        ("CALL pragma_version()", "only SELECT"),
        ("SELECT 1; SELECT 2", "one statement at a time: this holds 2"),
        ("SELECT * FROM orders; DROP TABLE orders", "one statement at a time"),
        ("SELECT 1 /* ; */; DROP TABLE orders --", "one statement at a time"),
        ("SELECT * FROM users", "unknown table 'users'"),
        ("SELECT * FROM 'data.csv'", "unknown table 'data.csv'"),
        ("SELECT * FROM main.orders", "name the tables without a schema"),
        ("SELECT * FROM information_schema.tables", "name the tables without a schema"),
        ("SELECT * FROM read_csv('/etc/passwd')", "the function read_csv() is not allowed"),
        ("SELECT * FROM read_parquet('s3://other-bucket/x.parquet')", "the function read_parquet() is not allowed"),
        ("SELECT * FROM read_json_auto('x.json')", "not allowed"),
        ("SELECT * FROM orders WHERE order_id IN (SELECT order_id FROM read_csv_auto('x'))", "not allowed"),
        ("SELECT * FROM glob('/*')", "the function glob() is not allowed"),
        ("SELECT * FROM range(10)", "tables only, no table functions"),
        ("SELECT * FROM generate_series(1, 10)", "tables only, no table functions"),
        ("SELECT * FROM duckdb_settings()", "the function duckdb_settings() is not allowed"),
        ("SELECT getenv('HOME')", "the function getenv() is not allowed"),
        ("SELECT current_setting('allowed_directories')", "not allowed"),
        ("", "the SQL is empty"),
        ("   ", "the SQL is empty"),
        ("SELEC * FROM orders", "could not be read"),
        ("SELECT " + "1 + " * 6000 + "1", "characters long"),
    ],
)
def test_everything_else_is_refused_with_a_reason(sql: str, says: str) -> None:
    with pytest.raises(Refused, match=None) as refused:
        check(sql)
    assert says in str(refused.value)


def test_what_runs_is_the_checked_tree_without_comments() -> None:
    assert check("SELECT 1 -- ; DROP TABLE orders").sql() == "SELECT 1"
    assert check("SELECT * FROM orders /* DROP TABLE orders */").sql() == "SELECT * FROM orders"


@given(st.text(max_size=200))
def test_any_text_is_either_a_checked_select_or_a_refusal(text: str) -> None:
    try:
        checked = check(text)
    except Refused as exc:
        assert str(exc)
        return
    assert checked.tables <= set(TABLES)
    assert check(checked.sql()).tables == checked.tables  # what runs passes the guard again
