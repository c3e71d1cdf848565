"""The upload route: CSV files into incoming/, checked by name and size before anything is written."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from ecompipe.api.common import errors, only
from ecompipe.api.models import UploadResult
from ecompipe.batch.pipeline import content_type
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.errors import LayoutError
from ecompipe.core.settings import Settings

MAX_UPLOAD_FILES = 20
_CHUNK = 1 << 20


def router(res: Resources, settings: Settings, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["uploads"])

    route = {
        "response_model": UploadResult,
        "status_code": 201,
        "dependencies": [*guarded, only()],
        "responses": errors(413),
    }

    @routes.post("/api/transactions/upload", **route)  # the transaction-sync API's path
    @routes.post("/api/uploads", **route)
    async def upload(files: Annotated[list[UploadFile], File(description="CSV or JSON sales files")]) -> dict:
        """Put files into incoming/ under their names: CSV (orders_*.csv, order_items_*.csv,
        products*.csv, each also .csv.gz) for the batch pipeline, JSON sales files (*.json) for the
        sales workflow; at most 20 files of ECOMPIPE_MAX_FILE_MB each. A name already waiting there
        gets a version of its own, processed after the earlier one (a correction wins); nothing is
        written unless every file passes."""
        if len(files) > MAX_UPLOAD_FILES:
            raise HTTPException(400, f"at most {MAX_UPLOAD_FILES} files per upload, not {len(files)}")
        limit = settings.max_file_mb * 2**20 or None
        checked = []
        for f in files:
            name = _upload_name(f.filename)
            data = await _read_capped(f, limit, name, settings.max_file_mb)
            checked.append((layout.incoming_key(name), data))
        if len({key for key, _ in checked}) < len(checked):
            raise HTTPException(400, "two files of one upload have the same name")
        uploaded = [
            {"key": u.key, "bytes": u.size, "etag": u.etag, "version_id": u.version_id}
            for u in (res.bucket.put(key, data, content_type(key)) for key, data in checked)
        ]
        return {
            "uploaded": uploaded,
            "next": "on AWS the upload events reach the trigger (CSV files) and the sales workflow (JSON files); "
            "against an emulator run `ecompipe start` for the CSV files",
        }

    return routes


def limit_upload_size(app: FastAPI, settings: Settings) -> None:
    """Refuse an oversized upload from its Content-Length, before the body is read."""

    @app.middleware("http")
    async def _upload_size(request: Request, call_next: Any) -> Any:
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


def _upload_name(filename: str | None) -> str:
    name = filename or ""
    try:
        layout.check_file_name(name)
    except LayoutError as exc:
        raise HTTPException(400, str(exc)) from None
    if layout.kind_of(name) is None and not layout.is_sales_file(name):
        raise HTTPException(
            400,
            f"{name!r}: the name must be orders_*.csv, order_items_*.csv or products*.csv (or .csv.gz), "
            "or a JSON sales file (*.json)",
        )
    return name


async def _read_capped(f: UploadFile, limit: int | None, name: str, limit_mb: int) -> bytes:
    parts, size = [], 0
    while chunk := await f.read(_CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise HTTPException(413, f"{name} is larger than ECOMPIPE_MAX_FILE_MB ({limit_mb} MiB)")
        parts.append(chunk)
    return b"".join(parts)
