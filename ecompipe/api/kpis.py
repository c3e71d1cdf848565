"""The KPI routes: OrderKPIs per day and CategoryKPIs per day or range, as the KPI model writes them
(money as exact strings, rates as numbers), from the rows the kept-open engine loaded with the store
as it is now (questions/live.py): no table scan per request, never an older store than the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import Day, From, To, date_range, day, errors, only
from ecompipe.api.models import CategoryKpi, OrderKpi
from ecompipe.core import kpis
from questions.live import LiveEngine


def router(live: LiveEngine, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["kpis"], responses=errors())

    # /api/transactions: the path clients of the transaction-sync API know the same answer by
    @routes.get("/api/transactions", response_model=list[OrderKpi], dependencies=[*guarded, only("from", "to")])
    @routes.get("/api/kpis/orders", response_model=list[OrderKpi], dependencies=[*guarded, only("from", "to")])
    def order_kpis(date_from: From = None, date_to: To = None) -> list[dict]:
        """OrderKPIs per day in [from, to]; at most 366 days. With neither given: the latest 90 days
        that have KPIs; with one: 366 days from (or up to) it."""
        rows = live.current().order_kpis
        start, end = date_range(date_from, date_to, [r["order_date"] for r in rows])
        return kpis.public_rows([r for r in rows if start <= r["order_date"] <= end], kpis.ORDER_FIELDS)

    @routes.get(
        "/api/kpis/categories",
        response_model=list[CategoryKpi],
        dependencies=[*guarded, only("date", "category", "from", "to")],
    )
    def category_kpis(
        on_day: Day = None,
        category: Annotated[str | None, Query(max_length=256, description="one category")] = None,
        date_from: From = None,
        date_to: To = None,
    ) -> list[dict]:
        """CategoryKPIs of one day (`date`), or of a range (`from`/`to`, same rules as orders),
        optionally of one category."""
        rows = [r for r in live.current().category_kpis if not category or r["category"] == category]
        if on_day is not None:
            if date_from is not None or date_to is not None:
                raise HTTPException(400, "give either date, or from/to, not both")
            one = day("date", on_day).isoformat()
            rows = [r for r in rows if r["order_date"] == one]
        else:
            start, end = date_range(date_from, date_to, [r["order_date"] for r in rows])
            rows = [r for r in rows if start <= r["order_date"] <= end]
        rows = sorted(rows, key=lambda r: (r["order_date"], r["category"]))
        return kpis.public_rows(rows, kpis.CATEGORY_FIELDS)

    return routes
