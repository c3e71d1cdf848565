"""The API's response shapes (what /openapi.json documents)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from ecompipe.core import kpis

# a calendar date Python can hold (year 0001..9999)
DATE = {"format": "date", "pattern": "^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def _kpi_model(name: str, fields: list[str]) -> type[BaseModel]:
    """A response shape built from the KPI model (ecompipe.core.kpis), so the fields are written once."""
    spec: dict[str, Any] = {}
    for field in fields:
        if field in kpis.MONEY_FIELDS:
            spec[field] = (str, Field(description="money, exact, two decimals", examples=["40.49"]))
        elif field in kpis.RATE_FIELDS:
            spec[field] = (float, Field(description="a fraction, four decimals", examples=[0.5]))
        elif field in kpis.COUNT_FIELDS:
            spec[field] = (int, ...)
        else:
            spec[field] = (str, Field(examples=["2025-06-01"] if field == "order_date" else ["Books"]))
    return create_model(name, **spec)


OrderKpi = _kpi_model("OrderKpi", kpis.ORDER_FIELDS)
CategoryKpi = _kpi_model("CategoryKpi", kpis.CATEGORY_FIELDS)


class Run(BaseModel):
    run_id: str
    batch_id: str | None = None
    status: str | None = None
    stage: str | None = None
    failed_stage: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    files: int | None = None
    rows_read: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    pending: int | None = None
    rejected_files: int | None = None
    parts: int | None = Field(None, description="files parsed by their own parse-file task (a fanned-out run)")
    affected_dates: int | None = None
    date_groups: int | None = Field(
        None, description="groups of affected dates transformed by their own transform-group task (a fanned-out run)"
    )
    error: str | None = None
    report_url: str | None = Field(None, description="the run's validation report, when it has one")


class Uploaded(BaseModel):
    key: str
    bytes: int
    etag: str
    version_id: str | None = Field(None, description="the upload's version: another upload of the name is another")


class UploadResult(BaseModel):
    uploaded: list[Uploaded]
    next: str


class Health(BaseModel):
    status: str
    version: str


class Error(BaseModel):
    detail: str = Field(examples=["from must be a date as YYYY-MM-DD, not '2025-13-01'"])


class SqlRequest(BaseModel):
    sql: str = Field(max_length=20_000, examples=["SELECT category, SUM(line_amount) FROM order_items GROUP BY 1"])
    max_rows: int | None = Field(None, ge=1, le=1_000_000, description="at most ECOMPIPE_QUERY_MAX_ROWS")


class AskRequest(BaseModel):
    question: str = Field(max_length=300, examples=["revenue by category last week"])
    today: str | None = Field(
        None, description="the date relative phrases count from (default: today, UTC)", json_schema_extra=DATE
    )
    max_rows: int | None = Field(None, ge=1, le=1_000_000, description="at most ECOMPIPE_QUERY_MAX_ROWS")


class Answer(BaseModel):
    interpretation: str | None = Field(None, description="how a question was understood, in words")
    sql: str = Field(description="the SQL that ran (checked: one SELECT over the known tables)")
    columns: list[str]
    rows: list[list[Any]] = Field(description="exact decimals as strings, dates in ISO form")
    row_count: int
    truncated: bool = Field(description="the answer had more rows than the limit")
    engine: str
    seconds: float
    notes: list[str]


class Summary(BaseModel):
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    category: str | None = None
    by: str | None = None
    columns: list[str]
    rows: list[list[Any]]


class Problem(BaseModel):
    source: str = Field(description="batch, events, sales or events_dlq")
    kind: str = Field(description="row, file or run (batch); record (events, sales); file (sales); message (DLQ)")
    batch_id: str | None = None
    day: str | None = None
    file: str | None = None
    line: int | None = None
    reason: str | None = None
    detail: str | None = None
    run_id: str | None = None
    key: str | None = Field(None, description="where it is kept: an S3 key, or the DLQ message's id")


class Alert(BaseModel):
    source: str = Field(description="events (the consumer's) or batch (a run's notification)")
    kind: str = Field(description="large_order, invalid, low_stock, summary; a batch run's event")
    at: str | None = Field(None, description="when it was sent")
    message: dict[str, Any] = Field(description="what was published")


class Alerts(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[Alert]


class Problems(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[Problem]


class EventDay(BaseModel):
    day: str
    applied: int = Field(description="records the consumer applied that day")
    updated: int = Field(description="entities whose latest accepted event arrived that day")
    invalid: int = Field(description="invalid records kept that day")
    dlq: int = Field(description="messages that reached the events DLQ that day")


class EventActivity(BaseModel):
    tables: dict[str, int] = Field(description="entities per table")
    days: list[EventDay]
