"""The Athena engine (`--engine athena`): the checked statement over the stack's Glue tables, in the
stack's workgroup (it caps the bytes a query scans and owns the result location). The curated
tables are read through the same views as in DuckDB (questions.catalog), added as CTEs and written
in Athena's dialect by sqlglot; the KPI tables and rejections are not in Glue, so a statement
naming them is refused with a sentence."""

from __future__ import annotations

import time
from typing import Any

import sqlglot
from sqlglot import exp

from questions import catalog
from questions.duck import QueryFailed, Result, TooSlow
from questions.guard import Checked, Refused, check

GLUE_TABLES = {name: f"curated_{name}" for name in catalog.CURATED_TABLES}  # infra/template.yaml
_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


def _integer_division(node: exp.Expression) -> exp.Expression:
    """DuckDB's `a // b` as Athena's `a / b` on integers (exact), not a division of DOUBLEs."""
    if isinstance(node, exp.IntDiv):
        return exp.Div(this=node.this, expression=node.expression, typed=True)
    return node


class AthenaEngine:
    name = "athena"

    def __init__(self, athena: Any, workgroup: str, database: str, poll_seconds: float = 0.5) -> None:
        self.athena = athena
        self.workgroup = workgroup
        self.database = database
        self.poll_seconds = poll_seconds

    def statement(self, checked: Checked, max_rows: int) -> str:
        """The SQL Athena runs: the curated views as CTEs, the statement, one row over the limit."""
        elsewhere = sorted(checked.tables - set(GLUE_TABLES))
        if elsewhere:
            raise Refused(
                f"{', '.join(elsewhere)} live in DynamoDB and the S3 reports, not in Athena's catalog: "
                "use --engine duckdb for them"
            )
        query = exp.select("*").from_(checked.statement.subquery("answer")).limit(max_rows + 1)
        for name in sorted(checked.tables):
            view = sqlglot.parse_one(catalog.view_sql(name, GLUE_TABLES[name]), read="duckdb")
            query = query.with_(name, as_=view)
        return query.transform(_integer_division).sql(dialect="athena", comments=False)

    def run(self, checked: Checked, max_rows: int, timeout_seconds: float) -> Result:
        sql = self.statement(checked, max_rows)
        started = time.perf_counter()
        execution = self.athena.start_query_execution(
            QueryString=sql, WorkGroup=self.workgroup, QueryExecutionContext={"Database": self.database}
        )["QueryExecutionId"]
        state = self._wait(execution, started, timeout_seconds)
        if state["State"] != "SUCCEEDED":
            raise QueryFailed(f"Athena: {state['State'].lower()}: {state.get('StateChangeReason', '')}".strip())
        columns, rows = self._rows(execution, max_rows + 1)
        seconds = time.perf_counter() - started
        return Result(columns, rows[:max_rows], len(rows) > max_rows, checked.sql("athena"), seconds)

    def _wait(self, execution: str, started: float, timeout_seconds: float) -> dict[str, Any]:
        while True:
            status = self.athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"]
            if status["State"] in _DONE:
                return status
            if time.perf_counter() - started > timeout_seconds:
                self.athena.stop_query_execution(QueryExecutionId=execution)
                raise TooSlow(f"the query ran past its time limit ({timeout_seconds:g} s) and was stopped")
            time.sleep(self.poll_seconds)

    def _rows(self, execution: str, at_most: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        columns: list[str] = []
        rows: list[tuple[Any, ...]] = []
        pages = self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution)
        for number, page in enumerate(pages):
            result = page["ResultSet"]
            if not columns:
                columns = [c["Name"] for c in result.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            data = result.get("Rows", [])
            if number == 0 and data:
                data = data[1:]  # a SELECT's first row holds the column names
            rows += [tuple(cell.get("VarCharValue") for cell in row.get("Data", [])) for row in data]
            if len(rows) >= at_most:
                break
        return columns, rows[:at_most]

    def values(self, column: str, table: str) -> tuple[str, ...]:
        checked = check(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
        return tuple(sorted(str(r[0]) for r in self.run(checked, 100_000, 60).rows))

    def coverage(self) -> tuple[Any, Any] | None:
        from datetime import date

        rows = self.run(check("SELECT min(order_date), max(order_date) FROM orders"), 1, 60).rows
        if not rows or rows[0][0] is None:
            return None
        return date.fromisoformat(rows[0][0]), date.fromisoformat(rows[0][1])
