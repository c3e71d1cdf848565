"""The embedded engine: DuckDB in memory over a local copy of curated/ (views that read its
Parquet files) and the KPI and rejection rows (tables loaded before anything else runs). Then its
walls go up: no file or network access but the curated copy, the configuration locked; a query
gets a row limit (one more row is read, to say it was cut) and a time limit (it is interrupted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from questions import catalog
from questions.catalog import CATEGORY_KPIS, ORDER_KPIS, REJECTIONS, TABLES, Table
from questions.guard import Checked


class TooSlow(RuntimeError):
    """The query ran past its time limit and was stopped."""


class QueryFailed(RuntimeError):
    """The engine refused or failed the query (its message, e.g. an unknown column)."""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows than the limit: the first `limit` are here
    sql: str
    seconds: float


def _path(path: Path) -> str:
    """A path as a SQL string literal (our own cache path; quotes doubled all the same)."""
    return "'" + path.resolve().as_posix().replace("'", "''") + "'"


def _parquet(directory: Path, kind: str) -> str:
    return f"read_parquet({_path(directory / kind / '*' / '*' / '*.parquet')}, union_by_name=true)"


def connect(
    curated: Path,
    order_kpis: Iterable[dict],
    category_kpis: Iterable[dict],
    rejections: Iterable[dict],
    load: bool = False,
) -> Any:
    """A connection holding the six tables, locked down. The curated tables are views over the
    copy's Parquet files (a command asks once), or with `load` tables read into memory once (an
    engine kept open answers many questions: each then reads no file)."""
    con = duckdb.connect(":memory:", config={"threads": "2"})
    made = "TABLE" if load else "VIEW"
    for kind in ("orders", "order_items"):
        has_files = any((curated / kind).glob("*/*/*.parquet"))
        view = catalog.view_sql(kind, _parquet(curated, kind))
        con.execute(f"CREATE {made} {kind} AS {view}" if has_files else _empty(TABLES[kind]))
    products = curated / "products" / "products.parquet"
    if products.exists():
        con.execute(f"CREATE {made} products AS {catalog.view_sql('products', f'read_parquet({_path(products)})')}")
    else:
        con.execute(_empty(TABLES["products"]))
    for table, rows in ((ORDER_KPIS, order_kpis), (CATEGORY_KPIS, category_kpis), (REJECTIONS, rejections)):
        _load(con, table, rows)
    con.execute(f"SET allowed_directories=[{_path(curated)[:-1]}/']")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con


def _empty(table: Table) -> str:
    columns = ", ".join(f"{c.name} {c.type}" for c in table.columns)
    return f"CREATE TABLE {table.name} ({columns})"


def _load(con: Any, table: Table, rows: Iterable[dict]) -> None:
    con.execute(_empty(table))
    names = table.column_names
    values = [tuple(_plain(row.get(n)) for n in names) for row in rows]
    if values:
        marks = ", ".join("?" for _ in names)
        con.executemany(f"INSERT INTO {table.name} VALUES ({marks})", values)


def _plain(value: Any) -> Any:
    return str(value) if value is not None and not isinstance(value, int | float | str) else value


class DuckEngine:
    """The embedded engine over one connection made by `connect`."""

    name = "duckdb"

    def __init__(self, con: Any) -> None:
        self.con = con  # its tables never change: what is read of them below is kept
        self._values: dict[tuple[str, str], tuple[str, ...]] = {}
        self._coverage: list[tuple[Any, Any] | None] = []

    def run(self, checked: Checked, max_rows: int, timeout_seconds: float) -> Result:
        return run(self.con, checked, max_rows, timeout_seconds)

    def values(self, column: str, table: str) -> tuple[str, ...]:
        """The distinct values of a catalogue column (category names, statuses), for reading questions."""
        assert table in TABLES and column in TABLES[table].column_names
        if (column, table) not in self._values:
            with self.con.cursor() as cur:
                rows = cur.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
            self._values[column, table] = tuple(sorted(str(r[0]) for r in rows))
        return self._values[column, table]

    def coverage(self) -> tuple[Any, Any] | None:
        if not self._coverage:
            with self.con.cursor() as cur:
                first, last = cur.execute("SELECT min(order_date), max(order_date) FROM orders").fetchone()
            self._coverage.append(None if first is None else (first, last))
        return self._coverage[0]


def run(con: Any, checked: Checked, max_rows: int, timeout_seconds: float) -> Result:
    """Run a checked query: at most `max_rows` rows, stopped after `timeout_seconds`. Each query
    runs on a cursor of its own (DuckDB: a connection to the same database), so requests sharing
    one engine run side by side and a timeout stops only its own query."""
    limited = exp.select("*").from_(checked.statement.subquery("answer")).limit(max_rows + 1)
    sql = checked.sql()
    con = con.cursor()
    timer = threading.Timer(timeout_seconds, con.interrupt)
    started = time.perf_counter()
    timer.start()
    try:
        cursor = con.execute(limited.sql(dialect="duckdb", comments=False))
        rows = cursor.fetchmany(max_rows + 1)
        columns = [d[0] for d in cursor.description]
    except duckdb.InterruptException:
        raise TooSlow(f"the query ran past its time limit ({timeout_seconds:g} s) and was stopped") from None
    except duckdb.Error as exc:
        if time.perf_counter() - started >= timeout_seconds:
            raise TooSlow(f"the query ran past its time limit ({timeout_seconds:g} s) and was stopped") from None
        raise QueryFailed(str(exc).splitlines()[0][:300]) from None
    finally:
        timer.cancel()
        con.close()
    return Result(columns, rows[:max_rows], len(rows) > max_rows, sql, time.perf_counter() - started)
