"""The pipeline's KPI tables equal an independent computation: plain SQL in DuckDB over the raw
CSVs (exact DECIMAL arithmetic), on generated data of both dialects with cancelled and returned
orders, multi-item multi-category orders and items split across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.peer_duckdb import duckdb_kpis
from ecompipe.local.generate import Spec, generate
from tests.support.helpers import kpi_state, run_files

pytestmark = pytest.mark.functional


@pytest.mark.parametrize("dialect", ["seed", "thelook"])
def test_pipeline_kpis_equal_duckdb_sql(resources, tmp_path: Path, dialect: str) -> None:
    files = generate(Spec(order_items=3000, dialect=dialect, days=12, files=4, seed=7))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    statuses = b"".join(data for name, data in files.items() if name.startswith("orders"))
    assert b"cancelled" in statuses and b"returned" in statuses

    run_files(resources, files)
    orders, categories = kpi_state(resources)
    expected_orders, expected_categories = duckdb_kpis(tmp_path, dialect)

    fields = list(expected_orders[0])
    assert [{k: r[k] for k in fields} for r in orders] == expected_orders
    fields = list(expected_categories[0])
    assert [{k: r[k] for k in fields} for r in categories] == expected_categories
