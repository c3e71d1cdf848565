"""The Athena engine against moto's Athena (which records queries and returns the results queued
for them, without running SQL): what it submits (the checked statement over the Glue tables
through the same views, in Athena's dialect, in the workgroup and database), how it reads the
results (header row skipped, one row over the limit to say it cut), and what it refuses."""

from __future__ import annotations

from datetime import date

import boto3
import pytest
import sqlglot
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends

from questions import answers
from questions.athena import AthenaEngine
from questions.guard import Refused, check
from tests.conftest import MOTO_CONFIG

pytestmark = pytest.mark.functional


@pytest.fixture
def athena(aws_env: None):
    with mock_aws(config=MOTO_CONFIG):
        client = boto3.client("athena", region_name="us-east-1")
        client.create_work_group(Name="ecompipe-questions", Configuration={"BytesScannedCutoffPerQuery": 10**9})
        yield client


def _queue(*rows: list[str], columns: list[str]) -> None:
    info = [{"Name": c, "Type": "varchar"} for c in columns]
    data = [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]]
    athena_backends["123456789012"]["us-east-1"].query_results_queue.append(QueryResults(data, info))


def _submitted(athena) -> dict:
    [execution] = athena.list_query_executions(WorkGroup="ecompipe-questions")["QueryExecutionIds"]
    return athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]


def test_the_statement_runs_in_the_workgroup_over_the_glue_tables(athena) -> None:
    _queue(["Books", "30.00"], ["Toys", "10.49"], columns=["category", "revenue"])
    engine = AthenaEngine(athena, "ecompipe-questions", "ecompipe", poll_seconds=0)
    sql = "SELECT category, SUM(line_amount) AS revenue FROM order_items JOIN products USING (product_id) GROUP BY 1"
    result = engine.run(check(sql), 10, 30)
    assert result.columns == ["category", "revenue"]
    assert result.rows == [("Books", "30.00"), ("Toys", "10.49")] and not result.truncated
    sent = _submitted(athena)
    assert sent["QueryExecutionContext"]["Database"] == "ecompipe"
    text = sent["Query"]
    assert "FROM curated_order_items" in text and "FROM curated_products" in text and "curated_orders" not in text
    assert "CAST(unit_price_cents AS DECIMAL(38, 0)) * 0.01" in text  # the same exact money as DuckDB's view
    sqlglot.parse_one(text, read="athena")  # Athena's dialect, one statement


def test_one_row_over_the_limit_says_the_answer_was_cut(athena) -> None:
    _queue(["1"], ["2"], ["3"], columns=["order_id"])
    engine = AthenaEngine(athena, "ecompipe-questions", "ecompipe", poll_seconds=0)
    answer = answers.sql(engine, "SELECT order_id FROM orders", answers.Limits(2, 30))
    assert answer.rows == [["1"], ["2"]] and answer.truncated and answer.engine == "athena"
    assert "LIMIT 3" in _submitted(athena)["Query"]


def test_a_question_keeps_its_integer_division_exact_in_athena(athena) -> None:
    from questions import query, reading

    question = reading.read("average order value by category last week", date(2025, 4, 7), ("Books",), ())
    statement = AthenaEngine(athena, "ecompipe-questions", "ecompipe").statement(check(query.to_sql(question)), 10)
    assert "DOUBLE" not in statement and "TRUNCATE" not in statement  # a / b on BIGINTs: integer division


@pytest.mark.parametrize("table", ["order_kpis", "category_kpis", "rejections"])
def test_tables_outside_glue_are_refused_with_the_way_round(athena, table: str) -> None:
    engine = AthenaEngine(athena, "ecompipe-questions", "ecompipe", poll_seconds=0)
    with pytest.raises(Refused, match="use --engine duckdb"):
        engine.run(check(f"SELECT * FROM {table}"), 10, 30)
    assert athena.list_query_executions(WorkGroup="ecompipe-questions")["QueryExecutionIds"] == []
