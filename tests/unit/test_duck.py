"""The process's DuckDB (ecompipe/core/duck.py): each step's cursor is a connection of its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from ecompipe.core import duck

pytestmark = pytest.mark.unit


def test_steps_on_several_threads_see_only_their_own_tables() -> None:
    """Two steps registering the same name at once (the local runner's tasks share a process)
    each count their own rows, and a temporary table dies with its cursor."""

    def count(rows: int) -> int:
        with duck.cursor() as db:
            db.register("keys", pa.table({"key": pa.array([str(i) for i in range(rows)])}))
            db.execute("CREATE TEMP TABLE seen AS SELECT * FROM keys")
            [(n,)] = db.sql("SELECT count(*) FROM seen").fetchall()
        return n

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(count, [1, 2, 3, 4] * 5)) == [1, 2, 3, 4] * 5
    with duck.cursor() as db:
        assert db.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'seen'").fetchall() == [(0,)]
