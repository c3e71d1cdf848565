"""The KPI API and dashboard (`ecompipe serve`): FastAPI over the KPI tables, the run ledger and
the validation reports, plus uploads into incoming/. The dashboard is static files in
ecompipe/static, served as they are (no build step).

Every input error is a 400 with a sentence saying what is wrong; with ECOMPIPE_API_KEY set, every
/api route needs it in the X-API-Key header (the page shell and /health hold no data and do not).
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from ecompipe import __version__
from ecompipe.batch.pipeline import Resources
from ecompipe.core import kpis, layout
from ecompipe.core.dates import parse_day
from ecompipe.core.errors import LayoutError
from ecompipe.core.settings import Settings
from ecompipe.core.statuses import RUN_STATUSES

STATIC = Path(__file__).resolve().parents[1] / "static"
MAX_RANGE_DAYS = 366  # the widest from..to a KPI query may span
DEFAULT_DAYS = 90  # with no range given: the latest 90 days that have KPIs
MAX_RUNS = 200
MAX_UPLOAD_FILES = 20
_CHUNK = 1 << 20
# a calendar date Python can hold (year 0001..9999)
_DATE = {"format": "date", "pattern": "^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
From = Annotated[str | None, Query(alias="from", description="YYYY-MM-DD, inclusive", json_schema_extra=_DATE)]
To = Annotated[str | None, Query(alias="to", description="YYYY-MM-DD, inclusive", json_schema_extra=_DATE)]
Day = Annotated[str | None, Query(alias="date", description="one day, YYYY-MM-DD", json_schema_extra=_DATE)]
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when ECOMPIPE_API_KEY is set")


class OrderKpi(BaseModel):
    order_date: str = Field(examples=["2025-06-01"])
    total_orders: int
    total_revenue: str = Field(description="exact, two decimals", examples=["40.49"])
    total_items_sold: int
    return_rate: float = Field(description="four decimals", examples=[0.5])
    unique_customers: int


class CategoryKpi(BaseModel):
    category: str
    order_date: str
    daily_revenue: str = Field(examples=["30.00"])
    avg_order_value: str = Field(examples=["15.00"])
    avg_return_rate: float


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
    affected_dates: int | None = None
    error: str | None = None
    report_url: str | None = Field(None, description="the run's validation report, when it has one")


class Uploaded(BaseModel):
    key: str
    bytes: int
    etag: str


class UploadResult(BaseModel):
    uploaded: list[Uploaded]
    next: str


class Health(BaseModel):
    status: str
    version: str


class Error(BaseModel):
    detail: str = Field(examples=["from must be a date as YYYY-MM-DD, not '2025-13-01'"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route, documented (400 stands for FastAPI's 422: see _bad_request)."""
    said = {
        400: "a parameter is missing or wrong; detail says which and why",
        401: "ECOMPIPE_API_KEY is set and the X-API-Key header does not match it",
        404: "no such run, or it has no validation report",
        409: "a file of that name is already waiting in incoming/",
        413: "a file is larger than ECOMPIPE_MAX_FILE_MB",
        503: "DynamoDB or S3 did not answer",
    }
    return {code: {"model": Error, "description": said[code]} for code in (400, 401, 503, *codes)}


def create_app(settings: Settings, resources: Resources | None = None) -> FastAPI:
    """The app over one bucket and its tables (resources are built from settings when not given)."""
    res = resources or Resources.from_settings(settings)
    app = FastAPI(
        title="ecompipe KPI API",
        version=__version__,
        description="Order and category KPIs, run history and validation reports of an ecompipe pipeline.",
        docs_url=None,  # the Swagger page loads its scripts from a CDN; /openapi.json is the contract
        redoc_url=None,
    )

    def require_key(given: Annotated[str | None, Depends(_KEY_HEADER)]) -> None:
        expected = settings.api_key
        if expected and not (given and secrets.compare_digest(given.encode(), expected.encode())):
            raise HTTPException(401, "a valid X-API-Key header is needed (ECOMPIPE_API_KEY is set)")

    # the spec declares the key (and tools test it) only when the server has one
    guarded = [Depends(require_key)] if settings.api_key else []

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(parts)}, status_code=400)

    @app.exception_handler(ClientError)
    @app.exception_handler(BotoCoreError)
    async def _aws_down(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"the KPI store or bucket did not answer: {exc}"}, status_code=503)

    @app.get("/health", response_model=Health, tags=["meta"])
    def health() -> dict:
        """Liveness; needs no key."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/api/kpis/orders",
        response_model=list[OrderKpi],
        dependencies=[*guarded, _only("from", "to")],
        tags=["kpis"],
        responses=_errors(),
    )
    def order_kpis(
        date_from: From = None,
        date_to: To = None,
    ) -> list[dict]:
        """OrderKPIs per day in [from, to]; at most 366 days. With neither given: the latest 90 days
        that have KPIs; with one: 366 days from (or up to) it."""
        rows = res.kpis.order_kpis()
        start, end = _range(date_from, date_to, [r["order_date"] for r in rows])
        return kpis.public_rows([r for r in rows if start <= r["order_date"] <= end], kpis.ORDER_FIELDS)

    @app.get(
        "/api/kpis/categories",
        response_model=list[CategoryKpi],
        dependencies=[*guarded, _only("date", "category", "from", "to")],
        tags=["kpis"],
        responses=_errors(),
    )
    def category_kpis(
        day: Day = None,
        category: Annotated[str | None, Query(max_length=256, description="one category")] = None,
        date_from: From = None,
        date_to: To = None,
    ) -> list[dict]:
        """CategoryKPIs of one day (`date`), or of a range (`from`/`to`, same rules as orders),
        optionally of one category."""
        if day is not None:
            if date_from is not None or date_to is not None:
                raise HTTPException(400, "give either date, or from/to, not both")
            one = _date("date", day).isoformat()
            rows = res.kpis.category_kpis(one, one, category or None)
        else:
            rows = res.kpis.category_kpis(None, None, category or None)
            start, end = _range(date_from, date_to, [r["order_date"] for r in rows])
            rows = [r for r in rows if start <= r["order_date"] <= end]
        rows = sorted(rows, key=lambda r: (r["order_date"], r["category"]))
        return kpis.public_rows(rows, kpis.CATEGORY_FIELDS)

    @app.get(
        "/api/runs",
        response_model=list[Run],
        dependencies=[*guarded, _only("status", "limit")],
        tags=["runs"],
        responses=_errors(),
    )
    def runs(
        status: Annotated[str | None, Query(description=f"one of {', '.join(RUN_STATUSES)}")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 20,
    ) -> list[dict]:
        """Run history from the ledger, newest first."""
        if status is not None and status.upper() not in RUN_STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(RUN_STATUSES)}, not {status[:40]!r}")
        return [_run(r) for r in res.ledger.recent(limit, status.upper() if status else None)]

    @app.get("/api/runs/{run_id}/report", dependencies=[*guarded, _only()], tags=["runs"], responses=_errors(404))
    def run_report(run_id: str) -> dict[str, Any]:
        """The run's validation report (reports/<batch_id>/validation.json), as the validator wrote it."""
        try:
            layout.check_batch_id(run_id)
        except LayoutError as exc:
            raise HTTPException(400, str(exc)) from None
        run = res.ledger.get(run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id} in the ledger")
        report = res.bucket.get_json_or_none(layout.report_key(run.get("batch_id") or run_id))
        if report is None:
            raise HTTPException(404, f"run {run_id} has no validation report (it stopped before validating)")
        return report

    @app.post(
        "/api/uploads",
        response_model=UploadResult,
        status_code=201,
        dependencies=[*guarded, _only()],
        tags=["uploads"],
        responses=_errors(409, 413),
    )
    async def upload(files: Annotated[list[UploadFile], File(description="CSV files")]) -> dict:
        """Put CSV files into incoming/ under their names (orders_*.csv, order_items_*.csv,
        products*.csv; at most 20 files of ECOMPIPE_MAX_FILE_MB each). An existing incoming/ file
        is never overwritten (409); nothing is written unless every file passes."""
        if len(files) > MAX_UPLOAD_FILES:
            raise HTTPException(400, f"at most {MAX_UPLOAD_FILES} files per upload, not {len(files)}")
        limit = settings.max_file_mb * 2**20 or None
        checked = []
        for f in files:
            name = _upload_name(f.filename)
            key = layout.incoming_key(name)
            if res.bucket.exists(key):
                raise HTTPException(409, f"{key} already exists and has not been processed yet; rename the file")
            data = await _read_capped(f, limit, name, settings.max_file_mb)
            checked.append((key, data))
        uploaded = [{"key": k, "bytes": len(d), "etag": res.bucket.put_bytes(k, d, "text/csv")} for k, d in checked]
        return {
            "uploaded": uploaded,
            "next": "on AWS the upload events reach the trigger; against an emulator run `ecompipe start`",
        }

    @app.middleware("http")
    async def _upload_size(request: Request, call_next: Any) -> Any:
        """Refuse an oversized upload from its Content-Length, before the body is read."""
        if request.url.path == "/api/uploads" and request.method == "POST" and settings.max_file_mb:
            cap = settings.max_file_mb * 2**20 * MAX_UPLOAD_FILES + 2**20
            try:
                declared = int(request.headers.get("content-length") or 0)
            except ValueError:
                return JSONResponse({"detail": "Content-Length is not a number"}, status_code=400)
            if declared > cap:
                return JSONResponse(
                    {
                        "detail": f"the upload is larger than {MAX_UPLOAD_FILES} files of ECOMPIPE_MAX_FILE_MB "
                        f"({settings.max_file_mb} MiB)"
                    },
                    status_code=413,
                )
        return await call_next(request)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.openapi = lambda: _without_422(app)  # type: ignore[method-assign]
    return app


def _without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents 422 for every route with parameters; this app answers 400 instead."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in spec["paths"].values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        app.openapi_schema = spec
    return app.openapi_schema


def _only(*names: str) -> Any:
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


def _date(name: str, value: str) -> date:
    try:
        return parse_day(value, name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _range(date_from: str | None, date_to: str | None, known: list[str]) -> tuple[str, str]:
    """[from, to] as ISO strings, checked and capped (see order_kpis)."""
    start = _date("from", date_from) if date_from is not None else None
    end = _date("to", date_to) if date_to is not None else None
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


_COUNTS = {"files", "rows_read", "accepted", "rejected", "pending", "rejected_files", "affected_dates"}


def _run(item: dict) -> dict:
    fields = set(Run.model_fields) - {"report_url"}
    out = {k: (int(v) if k in _COUNTS else str(v)) for k, v in item.items() if k in fields and v is not None}
    if item.get("report_key"):
        out["report_url"] = f"/api/runs/{item['run_id']}/report"
    return out


def _upload_name(filename: str | None) -> str:
    name = filename or ""
    try:
        layout.check_file_name(name)
    except LayoutError as exc:
        raise HTTPException(400, str(exc)) from None
    if layout.kind_of(name) is None:
        raise HTTPException(400, f"{name!r}: the name must be orders_*.csv, order_items_*.csv or products*.csv")
    return name


async def _read_capped(f: UploadFile, limit: int | None, name: str, limit_mb: int) -> bytes:
    parts, size = [], 0
    while chunk := await f.read(_CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise HTTPException(413, f"{name} is larger than ECOMPIPE_MAX_FILE_MB ({limit_mb} MiB)")
        parts.append(chunk)
    return b"".join(parts)
