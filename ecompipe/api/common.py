"""What every route shares: the key check, parameter checks that answer 400 with a sentence, the
documented error answers, and date ranges."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from ecompipe.api.models import DATE, Error
from ecompipe.core.dates import parse_day
from ecompipe.core.settings import Settings

MAX_RANGE_DAYS = 366  # the widest from..to a KPI query may span
DEFAULT_DAYS = 90  # with no range given: the latest 90 days that have KPIs
_DATE = DATE
From = Annotated[str | None, Query(alias="from", description="YYYY-MM-DD, inclusive", json_schema_extra=_DATE)]
To = Annotated[str | None, Query(alias="to", description="YYYY-MM-DD, inclusive", json_schema_extra=_DATE)]
Day = Annotated[str | None, Query(alias="date", description="one day, YYYY-MM-DD", json_schema_extra=_DATE)]
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when ECOMPIPE_API_KEY is set")


def guard(settings: Settings) -> list[Any]:
    """The dependencies every /api route takes: the X-API-Key check when ECOMPIPE_API_KEY is set
    (the spec declares the key, and tools test it, only then)."""
    if not settings.api_key:
        return []

    def require_key(given: Annotated[str | None, Depends(_KEY_HEADER)]) -> None:
        expected = settings.api_key
        if expected and not (given and secrets.compare_digest(given.encode(), expected.encode())):
            raise HTTPException(401, "a valid X-API-Key header is needed (ECOMPIPE_API_KEY is set)")

    return [Depends(require_key)]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, documented (400 stands for FastAPI's 422: see handle_errors)."""
    said = {
        400: "a parameter is missing or wrong; detail says which and why",
        401: "ECOMPIPE_API_KEY is set and the X-API-Key header does not match it",
        404: "no such run, or it has no validation report",
        408: "the query ran past ECOMPIPE_QUERY_TIMEOUT_SECONDS and was stopped",
        413: "a file is larger than ECOMPIPE_MAX_FILE_MB",
        503: "DynamoDB or S3 did not answer",
    }
    return {code: {"model": Error, "description": said[code]} for code in (400, 401, 503, *codes)}


def handle_errors(app: FastAPI) -> None:
    """Every input error is a 400 with a sentence; AWS not answering is a 503."""

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(parts)}, status_code=400)

    @app.exception_handler(ClientError)
    @app.exception_handler(BotoCoreError)
    async def _aws_down(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the KPI store or bucket did not answer: {exc}"}, status_code=503)


def without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents 422 for every route with parameters; this app answers 400 instead."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in spec["paths"].values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        app.openapi_schema = spec
    return app.openapi_schema


def only(*names: str) -> Any:
    """A dependency refusing query parameters the route does not take (a typo like ?form= would
    otherwise be ignored silently) and parameters given twice (which one would count?)."""

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            takes = ", ".join(names) if names else "no parameters"
            raise HTTPException(400, f"unknown parameter(s) {', '.join(repr(u[:40]) for u in unknown)}; takes {takes}")
        repeated = sorted(k for k in set(request.query_params) if len(request.query_params.getlist(k)) > 1)
        if repeated:
            raise HTTPException(400, f"parameter(s) {', '.join(repeated)} given more than once")

    return Depends(check)


def day(name: str, value: str) -> date:
    try:
        return parse_day(value, name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def date_range(date_from: str | None, date_to: str | None, known: list[str]) -> tuple[str, str]:
    """[from, to] as ISO strings, checked and capped: at most 366 days; with neither given, the
    latest 90 days that have KPIs; with one, 366 days from (or up to) it."""
    start = day("from", date_from) if date_from is not None else None
    end = day("to", date_to) if date_to is not None else None
    span = timedelta(days=MAX_RANGE_DAYS - 1)
    if start and end:
        if start > end:
            raise HTTPException(400, f"from ({start}) is after to ({end})")
        if end - start > span:
            raise HTTPException(400, f"from..to spans {(end - start).days + 1} days; at most {MAX_RANGE_DAYS}")
    elif start:
        end = start + min(span, date.max - start)
    elif end:
        start = end - min(span, end - date.min)
    else:
        if not known:
            return "9999-12-31", "0000-01-01"  # nothing yet: an empty range
        end = date.fromisoformat(max(known))
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    assert start is not None and end is not None
    return start.isoformat(), end.isoformat()
