"""DuckDB for the relational steps of a batch's in-memory work (distinct counts, joins, group sums)
over the frames' own Arrow buffers, with no copy and no file.

One in-memory database per process, made on first use, and a cursor of it per step: a cursor is
a connection of its own (its registered tables and temporary tables are its own, so steps on
several threads never see each other's), made in microseconds where a new database took ~16 ms,
which a step over a few rows would pay each time. A process forked from one that had a database
makes its own. What DuckDB spills beyond its memory limit goes to a folder of the process's own
in the system's temporary folder (TMPDIR; the tasks' containers write nowhere else: their root
file system is read-only), made on the first spill and removed with the database.
"""

from __future__ import annotations

import os
import tempfile
import threading

import duckdb

_lock = threading.Lock()
_database: tuple[int, duckdb.DuckDBPyConnection] | None = None


def cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory database (close it, or use it in `with`)."""
    global _database
    with _lock:
        if _database is None or _database[0] != os.getpid():
            spills = os.path.join(tempfile.gettempdir(), f"ecompipe-duckdb-{os.getpid()}")
            _database = (os.getpid(), duckdb.connect(config={"temp_directory": spills}))
        return _database[1].cursor()
