"""Questions over the data (docs/queries.md): read-only SQL and questions in words, on the embedded
engine kept open across requests and reopened when the store changed (questions/live.py)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from ecompipe.api.common import day, errors, only
from ecompipe.api.models import Answer, AskRequest, SqlRequest
from questions import answers, engines
from questions.duck import QueryFailed, TooSlow
from questions.guard import Refused
from questions.live import LiveEngine
from questions.reading import SUGGESTIONS, NotUnderstood


def answer(live: LiveEngine, request: Hashable, work: Any, max_rows: int | None = None) -> dict[str, Any]:
    """Run `work(engine, limits)` on the engine over the store as it is now (the same `request` on
    the same store: the answer given before): refusals are 400s, a query past its time 408."""
    snapshot = live.current()
    limits = engines.limits(live.settings)
    if max_rows is not None:
        limits = answers.Limits(min(max_rows, limits.max_rows), limits.timeout_seconds)
    try:
        return snapshot.answer((request, limits), lambda: work(snapshot.engine, limits).to_json())
    except (Refused, NotUnderstood) as exc:
        raise HTTPException(400, str(exc)) from None
    except QueryFailed as exc:
        raise HTTPException(400, f"the engine refused the query: {exc}") from None
    except TooSlow as exc:
        raise HTTPException(408, str(exc)) from None


def router(live: LiveEngine, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["questions"])

    @routes.post("/api/sql", response_model=Answer, dependencies=[*guarded, only()], responses=errors(408))
    async def run_sql(body: SqlRequest) -> dict[str, Any]:
        """One SELECT over orders, order_items, products, order_kpis, category_kpis and rejections;
        anything else is a 400 saying why."""
        work = lambda e, lim: answers.sql(e, body.sql, lim)  # noqa: E731
        return await run_in_threadpool(answer, live, ("sql", body.sql), work, body.max_rows)

    @routes.post("/api/queries", response_model=Answer, dependencies=[*guarded, only()], responses=errors(408))
    async def ask(body: AskRequest) -> dict[str, Any]:
        """A question in words: the rows, the SQL it ran and how it was understood. A question
        outside the vocabulary is a 400: "I don't understand '…'" and three that work."""
        today = day("today", body.today) if body.today is not None else datetime.now(UTC).date()
        work = lambda e, lim: answers.ask(e, body.question, today, lim)  # noqa: E731
        return await run_in_threadpool(answer, live, ("ask", body.question, today), work, body.max_rows)

    @routes.get("/api/queries/examples", response_model=list[str], dependencies=[*guarded, only()], responses=errors())
    def examples() -> list[str]:
        """Questions the grammar reads (the dashboard offers them)."""
        return list(SUGGESTIONS)

    return routes
