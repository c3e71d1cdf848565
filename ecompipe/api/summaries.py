"""Totals (docs/api.md): GET /api/summary, the KPI measures over a range computed exactly by the
embedded engine."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import From, To, date_range, errors, only
from ecompipe.api.models import Summary
from ecompipe.api.questions import answer
from questions import answers, query
from questions.live import LiveEngine


def router(live: LiveEngine, guarded: list[Any]) -> APIRouter:
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
        snapshot = live.current()
        start, end = date_range(date_from, date_to, [r["order_date"] for r in snapshot.order_kpis])
        if start > end:  # no KPIs yet and no range given
            return {"from": None, "to": None, "category": category, "by": by, "columns": [], "rows": []}
        period = query.Period(date.fromisoformat(start), date.fromisoformat(end), f"{start} to {end}")
        sql = query.summary_sql(period, (category,) if category else (), by)
        doc = answer(live, ("summary", sql), lambda e, lim: answers.sql(e, sql, lim))
        return {
            "from": start,
            "to": end,
            "category": category,
            "by": by,
            "columns": doc["columns"],
            "rows": doc["rows"],
        }

    return routes
