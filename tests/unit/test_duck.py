"""The process's DuckDB (ecompipe/core/duck.py): each step's cursor is a connection of its own."""

from __future__ import annotations

import os
import tempfile
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


def test_what_duckdb_spills_goes_to_the_temporary_folder() -> None:
    """The tasks' containers have a read-only root file system and a writable /tmp: DuckDB's own
    default (.tmp in the working folder) would fail the first query that spills."""
    with duck.cursor() as db:
        [(folder,)] = db.sql("SELECT current_setting('temp_directory')").fetchall()
    assert folder.startswith(tempfile.gettempdir() + os.sep)
