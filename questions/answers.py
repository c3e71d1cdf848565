"""SQL and questions answered (what `ecompipe sql | ask` and the API call): the SQL checked by the
guard, a question read by the grammar and compiled to SQL that is checked the same way, then run by
an engine within the row and time limits. An answer carries its rows, the SQL it ran and, for a
question, the interpretation in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from questions import guard, reading
from questions import query as q
from questions.duck import Result


class Engine(Protocol):
    name: str

    def run(self, checked: guard.Checked, max_rows: int, timeout_seconds: float) -> Result: ...

    def values(self, column: str, table: str) -> tuple[str, ...]: ...

    def coverage(self) -> tuple[dt.date, dt.date] | None: ...


@dataclass(frozen=True)
class Limits:
    max_rows: int
    timeout_seconds: float


@dataclass
class Answer:
    columns: list[str]
    rows: list[list[Any]]
    sql: str
    truncated: bool
    seconds: float
    engine: str
    interpretation: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Rows as JSON values: exact decimals as strings, dates and times in ISO form."""
        return {
            "interpretation": self.interpretation,
            "sql": self.sql,
            "columns": self.columns,
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "engine": self.engine,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def sql(engine: Engine, text: str, limits: Limits) -> Answer:
    """Run one SELECT over the known tables (guard.Refused when it is anything else)."""
    return _run(engine, guard.check(text), limits)


def ask(engine: Engine, question: str, today: dt.date, limits: Limits) -> Answer:
    """Answer a question in words (reading.NotUnderstood when it is outside the vocabulary)."""
    read = reading.read(
        question,
        today,
        engine.values("category", "products"),
        engine.values("status", "orders"),
        lambda: (engine.values("product_id", "products"), engine.values("name", "products")),
    )
    answer = _run(engine, guard.check(q.to_sql(read)), limits)
    answer.interpretation = q.interpretation(read)
    answer.notes += _coverage_notes(engine, read)
    return answer


def _run(engine: Engine, checked: guard.Checked, limits: Limits) -> Answer:
    result = engine.run(checked, limits.max_rows, limits.timeout_seconds)
    notes = [f"only the first {limits.max_rows} rows: the answer has more"] if result.truncated else []
    rows = [list(r) for r in result.rows]
    return Answer(result.columns, rows, result.sql, result.truncated, result.seconds, engine.name, notes=notes)


def _coverage_notes(engine: Engine, read: q.Question) -> list[str]:
    """Say so when the period asked lies outside the dates the data has."""
    if read.period is None or read.measure == q.REJECTED:
        return []
    span = engine.coverage()
    if span is None:
        return ["the curated store holds no orders yet"]
    first, last = span
    periods = [p for p in (read.period, read.versus) if p is not None]
    if all(p.end < first or p.start > last for p in periods):
        return [f"no orders in the period asked: the data covers {first} to {last}"]
    return []
