"""Every workload's problems and alerts in one feed each, and the real-time side at a glance
(docs/api.md): GET /api/errors, GET /api/alerts, GET /api/events/activity (ecompipe.batch.feeds)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import From, To, day, errors, only
from ecompipe.api.models import Alerts, EventActivity, Problems
from ecompipe.batch import feeds
from ecompipe.batch.resources import Resources

MAX_PAGE_SIZE = 500


def router(res: Resources, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["feeds"])

    @routes.get(
        "/api/errors",
        response_model=Problems,
        dependencies=[*guarded, only("source", "batch", "from", "to", "reason", "file", "page", "page_size")],
        responses=errors(),
    )
    def error_log(
        source: Annotated[str | None, Query(max_length=16, description="batch, events, sales or events_dlq")] = None,
        batch: Annotated[str | None, Query(max_length=80, description="one batch id")] = None,
        date_from: From = None,
        date_to: To = None,
        reason: Annotated[str | None, Query(max_length=64, description="a reason code, or words of it")] = None,
        file: Annotated[str | None, Query(max_length=255, description="one file name")] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        """Every workload's problems in one feed, newest first: the batches' rejected rows, rejected
        files and failed runs; invalid event records; incomplete sales records and rejected sales
        files; messages in the events DLQ. Filtered by source, the day (from/to), reason, batch and
        file name; paginated."""
        if source is not None and source not in feeds.SOURCES:
            raise HTTPException(400, f"source must be one of {', '.join(feeds.SOURCES)}, not {source[:16]!r}")
        start = day("from", date_from).isoformat() if date_from is not None else None
        end = day("to", date_to).isoformat() if date_to is not None else None
        filters = feeds.Filters(source, start, end, reason, batch, file)
        return feeds.page(feeds.problems(res, filters), page, page_size)

    @routes.get(
        "/api/alerts",
        response_model=Alerts,
        dependencies=[*guarded, only("source", "kind", "page", "page_size")],
        responses=errors(),
    )
    def alert_log(
        source: Annotated[str | None, Query(max_length=16, description="events or batch")] = None,
        kind: Annotated[
            str | None, Query(max_length=32, description="large_order, invalid, low_stock, summary, ...")
        ] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        """Every alert sent, newest first: the events consumer's (large order, invalid data, low
        stock) and each batch run's notification; filtered by source and kind; paginated."""
        if source is not None and source not in (feeds.BATCH, "events"):
            raise HTTPException(400, f"source must be events or batch, not {source[:16]!r}")
        return feeds.page(feeds.alerts(res, source, kind), page, page_size)

    @routes.get(
        "/api/events/activity", response_model=EventActivity, dependencies=[*guarded, only()], responses=errors()
    )
    def event_activity() -> dict[str, Any]:
        """The real-time side: entities per table, and per day the entities updated, the invalid
        records and the messages that reached the DLQ."""
        return feeds.activity(res)

    return routes
