"""What needs no key: liveness and the dashboard (static files served as they are, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ecompipe import __version__
from ecompipe.api.models import Health

STATIC = Path(__file__).resolve().parents[1] / "static"


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get("/health", response_model=Health, tags=["meta"])
    def health() -> dict:
        """Liveness; needs no key."""
        return {"status": "ok", "version": __version__}

    @routes.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return routes


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
