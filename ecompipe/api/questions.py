"""Questions over the data (docs/queries.md): read-only SQL, questions in words, totals over a range,
and what went wrong. Each request opens the embedded engine over the store as it is then (the
curated copy is synced by ETag: only changed partitions move)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from ecompipe.api.common import From, To, date_range, day, errors, only
from ecompipe.api.models import Answer, AskRequest, Problems, SqlRequest, Summary
from ecompipe.batch.pipeline import Resources
from ecompipe.core.settings import Settings
from questions import answers, engines, problems, query
from questions.duck import QueryFailed, TooSlow
from questions.guard import Refused
from questions.reading import SUGGESTIONS, NotUnderstood

MAX_PAGE_SIZE = 500


def router(res: Resources, settings: Settings, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["questions"])

    def answer(work: Any, max_rows: int | None = None) -> dict[str, Any]:
        engine = engines.open_engine(settings)
        limits = engines.limits(settings)
        if max_rows is not None:
            limits = answers.Limits(min(max_rows, limits.max_rows), limits.timeout_seconds)
        try:
            return work(engine, limits).to_json()
        except Refused as exc:
            raise HTTPException(400, str(exc)) from None
        except NotUnderstood as exc:
            raise HTTPException(400, str(exc)) from None
        except QueryFailed as exc:
            raise HTTPException(400, f"the engine refused the query: {exc}") from None
        except TooSlow as exc:
            raise HTTPException(408, str(exc)) from None

    @routes.post("/api/sql", response_model=Answer, dependencies=[*guarded, only()], responses=errors(408))
    async def run_sql(body: SqlRequest) -> dict[str, Any]:
        """One SELECT over orders, order_items, products, order_kpis, category_kpis and rejections;
        anything else is a 400 saying why."""
        return await run_in_threadpool(answer, lambda e, lim: answers.sql(e, body.sql, lim), body.max_rows)

    @routes.post("/api/queries", response_model=Answer, dependencies=[*guarded, only()], responses=errors(408))
    async def ask(body: AskRequest) -> dict[str, Any]:
        """A question in words: the rows, the SQL it ran and how it was understood. A question
        outside the vocabulary is a 400: "I don't understand '…'" and three that work."""
        today = day("today", body.today) if body.today is not None else datetime.now(UTC).date()
        return await run_in_threadpool(answer, lambda e, lim: answers.ask(e, body.question, today, lim), body.max_rows)

    @routes.get("/api/queries/examples", response_model=list[str], dependencies=[*guarded, only()], responses=errors())
    def examples() -> list[str]:
        """Questions the grammar reads (the dashboard offers them)."""
        return list(SUGGESTIONS)

    @routes.get(
        "/api/summary",
        response_model=Summary,
        dependencies=[*guarded, only("from", "to", "category", "by")],
        responses=errors(408),
    )
    def summary(
        date_from: From = None,
        date_to: To = None,
        category: Annotated[str | None, Query(max_length=256, description="only this category")] = None,
        by: Annotated[str | None, Query(description="category or status: one row per value")] = None,
    ) -> dict[str, Any]:
        """Totals over [from, to] (the KPI measures, exact): orders, revenue, items sold, return
        rate, average order value, customers; optionally of one category, or per category or status.
        Range rules as /api/kpis/orders."""
        if by not in (None, query.CATEGORY, query.STATUS):
            raise HTTPException(400, f"by must be category or status, not {by[:40]!r}")
        start, end = date_range(date_from, date_to, [r["order_date"] for r in res.kpis.order_kpis()])
        if start > end:  # no KPIs yet and no range given
            return {"from": None, "to": None, "category": category, "by": by, "columns": [], "rows": []}
        period = query.Period(date.fromisoformat(start), date.fromisoformat(end), f"{start} to {end}")
        sql = query.summary_sql(period, (category,) if category else (), by)
        doc = answer(lambda e, lim: answers.sql(e, sql, lim))
        return {
            "from": start,
            "to": end,
            "category": category,
            "by": by,
            "columns": doc["columns"],
            "rows": doc["rows"],
        }

    @routes.get(
        "/api/errors",
        response_model=Problems,
        dependencies=[*guarded, only("batch", "from", "to", "reason", "file", "page", "page_size")],
        responses=errors(),
    )
    def error_log(
        batch: Annotated[str | None, Query(max_length=80, description="one batch id")] = None,
        date_from: From = None,
        date_to: To = None,
        reason: Annotated[str | None, Query(max_length=64, description="one reason code")] = None,
        file: Annotated[str | None, Query(max_length=255, description="one file name")] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        """Rejected rows, rejected files and failed runs, newest batch first; filtered by batch, the
        day (from/to), reason and file name; paginated."""
        start = day("from", date_from).isoformat() if date_from is not None else None
        end = day("to", date_to).isoformat() if date_to is not None else None
        filters = problems.Filters(batch, start, end, reason, file)
        return problems.page(problems.problems(res.bucket, res.ledger, filters), page, page_size)

    return routes
