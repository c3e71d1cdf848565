"""`ecompipe sql` and `ecompipe ask` as a user runs them, against moto's server: outputs (table,
json, csv), refusals with exit 2, and values that stay literal (one emulator for all of it)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.e2e.conftest import ecompipe

pytestmark = pytest.mark.e2e


def test_sql_and_ask_as_a_user_runs_them(emulator_url: str) -> None:
    """The values are tested elsewhere (tests/functional/test_questions.py, test_api_questions.py);
    here the command: formats, what goes to stderr, exit 2 for refusals, literal output."""
    at = ("--endpoint-url", emulator_url)
    ecompipe("init", *at)

    asked = ecompipe("ask", "revenue by category last week", "--today", "2025-04-07", *at)
    assert "category" in asked.stdout and "revenue" in asked.stdout
    assert "understood as: revenue per category, last week (2025-03-31 to 2025-04-06)" in asked.stderr
    assert "sql: SELECT category AS category" in asked.stderr
    assert "the curated store holds no orders yet" in asked.stderr

    refused = ecompipe("sql", "DROP TABLE orders", *at, check=False)
    assert refused.returncode == 2 and "only SELECT is allowed: this is a DROP statement" in refused.stderr
    lost = ecompipe("ask", "what is the weather", *at, check=False)
    assert lost.returncode == 2 and "I don't understand 'what is the weather'" in lost.stderr
    assert "Usage:" not in refused.stderr + lost.stderr  # the sentence is the answer, not the usage banner
    assert "Try: 'revenue by category last week'" in lost.stderr

    # a value that looks like markup, a formula or a terminal escape stays literal in every output
    hostile = '=HYPERLINK("x")[bold]b[/bold]\x1b[31m'
    sql = "SELECT '" + hostile.replace("'", "''") + "' AS v FROM (VALUES (1)) AS t(x)"
    table = ecompipe("sql", sql, *at).stdout
    assert "[bold]b[/bold]" in table and "\\x1b[31m" in table and "\x1b" not in table
    as_csv = ecompipe("sql", sql, "--output", "csv", *at).stdout
    assert list(csv.reader(io.StringIO(as_csv)))[1] == ["'" + hostile]
    doc = json.loads(ecompipe("sql", sql, "--output", "json", *at).stdout)
    assert doc["rows"] == [[hostile]] and doc["columns"] == ["v"] and doc["engine"] == "duckdb"
