"""DuckDB for the relational steps of a batch's in-memory work (distinct counts, joins, group sums)
over the frames' own Arrow buffers, with no copy and no file.

One in-memory database per process, made on first use, and a cursor of it per step: a cursor is
a connection of its own (its registered tables and temporary tables are its own, so steps on
several threads never see each other's), made in microseconds where a new database took ~16 ms,
which a step over a few rows would pay each time. A process forked from one that had a database
makes its own.
"""

from __future__ import annotations

import os
import threading

import duckdb

_lock = threading.Lock()
_database: tuple[int, duckdb.DuckDBPyConnection] | None = None


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory database (close it, or use it in `with`)."""
    global _database
    with _lock:
        if _database is None or _database[0] != os.getpid():
            _database = (os.getpid(), duckdb.connect())
        return _database[1].cursor()
