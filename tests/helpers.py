"""Small helpers the tests share (uploading a set of files and running them as one batch)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ecompipe import layout
from ecompipe.pipeline import Resources, RunResult, run_batch
from tests.conftest import NOW


def put_files(res: Resources, files: dict[str, bytes]) -> list[str]:
    keys = []
    for name, data in files.items():
        key = layout.incoming_key(name)
        res.bucket.put_bytes(key, data)
        keys.append(key)
    return keys


def run_files(res: Resources, files: dict[str, bytes], now: datetime = NOW) -> RunResult:
    return run_batch(res, put_files(res, files), now)


def read_dir(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.rglob("*.csv"))}


def kpi_state(res: Resources) -> tuple[list[dict], list[dict]]:
    """Both KPI tables, for comparisons."""
    return res.kpis.order_kpis(), res.kpis.category_kpis()
