"""`ecompipe sql` and `ecompipe ask` as a user runs them, against moto's server holding the sample
data: outputs (table, json, csv), refusals with exit 2, and values that stay literal (one emulator
for all of it: each start costs seconds)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE
from tests.e2e.conftest import ecompipe

pytestmark = pytest.mark.e2e


def test_sql_and_ask_over_the_sample(emulator_url: str, tmp_path: Path, sample_kpis: dict) -> None:
    at = ("--endpoint-url", emulator_url)
    ecompipe("run", str(SAMPLE), "--via", "direct", *at)  # the data only: the state machine is tested elsewhere
    day = sample_kpis["order_kpis"][0]["order_date"]

    statement = f"SELECT * FROM order_kpis WHERE order_date = '{day}'"
    doc = json.loads(ecompipe("sql", statement, "--output", "json", "--timeout", "30", *at).stdout)
    row = dict(zip(doc["columns"], doc["rows"][0], strict=True))
    assert row["total_revenue"] == sample_kpis["order_kpis"][0]["total_revenue"]

    asked = ecompipe("ask", f"revenue on {day}", "--output", "json", *at)
    answer = json.loads(asked.stdout)
    assert answer["rows"] == [[sample_kpis["order_kpis"][0]["total_revenue"]]]
    assert answer["interpretation"] == f"revenue, {day}"
    assert "understood as: revenue" in asked.stderr and "sql: SELECT" in asked.stderr

    table = ecompipe("ask", "orders by status", *at).stdout
    assert "status" in table and "delivered" in table
    as_csv = list(csv.reader(io.StringIO(ecompipe("sql", "SELECT category FROM products ORDER BY 1", "--output",
                                                   "csv", *at).stdout)))  # fmt: skip
    assert as_csv[0] == ["category"] and len(as_csv) > 1

    refused = ecompipe("sql", "DROP TABLE orders", *at, check=False)
    assert refused.returncode == 2 and "only SELECT is allowed: this is a DROP statement" in refused.stderr
    lost = ecompipe("ask", "what is the weather", *at, check=False)
    assert lost.returncode == 2 and "I don't understand 'what is the weather'" in lost.stderr
    assert "Try: 'revenue by category last week'" in lost.stderr

    # a value that looks like markup, a formula or a terminal escape stays literal in every output
    hostile = '=HYPERLINK("x")[bold]b[/bold]\x1b[31m'
    sql = "SELECT " + "'" + hostile.replace("'", "''") + "' AS v FROM (VALUES (1)) AS t(x)"
    table = ecompipe("sql", sql, *at).stdout
    assert "[bold]b[/bold]" in table and "\\x1b[31m" in table and "\x1b" not in table
    as_csv = ecompipe("sql", sql, "--output", "csv", *at).stdout
    assert list(csv.reader(io.StringIO(as_csv)))[1] == ["'" + hostile]
    assert json.loads(ecompipe("sql", sql, "--output", "json", *at).stdout)["rows"] == [[hostile]]
