"""Totals and troubles (docs/api.md): GET /api/summary, the KPI measures over a range computed
exactly by the embedded engine, and GET /api/errors, the rejected rows, rejected files and failed
runs of the reports and the ledger."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import From, To, date_range, day, errors, only
from ecompipe.api.models import Problems, Summary
from ecompipe.api.questions import answer
from ecompipe.batch.resources import Resources
from questions import answers, problems, query
from questions.live import LiveEngine

MAX_PAGE_SIZE = 500


def router(res: Resources, live: LiveEngine, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["summaries"])

    summary_route = {
        "response_model": Summary,
        "dependencies": [*guarded, only("from", "to", "category", "by")],
        "responses": errors(408),
    }

    @routes.get("/api/transactions/summary", **summary_route)  # the transaction-sync API's path
    @routes.get("/api/summary", **summary_route)
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
        doc = answer(live, lambda e, lim: answers.sql(e, sql, lim))
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
