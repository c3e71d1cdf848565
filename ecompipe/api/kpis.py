"""The KPI routes: OrderKPIs per day and CategoryKPIs per day or range, as the KPI model writes them
(money as exact strings, rates as numbers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import Day, From, To, date_range, day, errors, only
from ecompipe.api.models import CategoryKpi, OrderKpi
from ecompipe.batch.resources import Resources
from ecompipe.core import kpis


def router(res: Resources, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["kpis"], responses=errors())

    # /api/transactions: the path clients of the transaction-sync API know the same answer by
    @routes.get("/api/transactions", response_model=list[OrderKpi], dependencies=[*guarded, only("from", "to")])
    @routes.get("/api/kpis/orders", response_model=list[OrderKpi], dependencies=[*guarded, only("from", "to")])
    def order_kpis(date_from: From = None, date_to: To = None) -> list[dict]:
        """OrderKPIs per day in [from, to]; at most 366 days. With neither given: the latest 90 days
        that have KPIs; with one: 366 days from (or up to) it."""
        rows = res.kpis.order_kpis()
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
        if on_day is not None:
            if date_from is not None or date_to is not None:
                raise HTTPException(400, "give either date, or from/to, not both")
            one = day("date", on_day).isoformat()
            rows = res.kpis.category_kpis(one, one, category or None)
        else:
            rows = res.kpis.category_kpis(None, None, category or None)
            start, end = date_range(date_from, date_to, [r["order_date"] for r in rows])
            rows = [r for r in rows if start <= r["order_date"] <= end]
        rows = sorted(rows, key=lambda r: (r["order_date"], r["category"]))
        return kpis.public_rows(rows, kpis.CATEGORY_FIELDS)

    return routes
