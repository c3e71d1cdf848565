"""The run routes: history from the ledger, and each run's validation report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ecompipe.api.common import errors, only
from ecompipe.api.models import Run
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.errors import LayoutError
from ecompipe.core.statuses import RUN_STATUSES

MAX_RUNS = 200
_COUNTS = {
    "files",
    "rows_read",
    "accepted",
    "rejected",
    "pending",
    "rejected_files",
    "parts",
    "affected_dates",
    "date_groups",
}


def router(res: Resources, guarded: list[Any]) -> APIRouter:
    routes = APIRouter(tags=["runs"])

    @routes.get(
        "/api/runs", response_model=list[Run], dependencies=[*guarded, only("status", "limit")], responses=errors()
    )
    def runs(
        status: Annotated[str | None, Query(description=f"one of {', '.join(RUN_STATUSES)}")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = 20,
    ) -> list[dict]:
        """Run history from the ledger, newest first."""
        if status is not None and status.upper() not in RUN_STATUSES:
            raise HTTPException(400, f"status must be one of {', '.join(RUN_STATUSES)}, not {status[:40]!r}")
        return [_run(r) for r in res.ledger.recent(limit, status.upper() if status else None)]

    @routes.get("/api/runs/{run_id}/report", dependencies=[*guarded, only()], responses=errors(404))
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

    return routes


def _run(item: dict) -> dict:
    fields = set(Run.model_fields) - {"report_url"}
    out = {k: (int(v) if k in _COUNTS else str(v)) for k, v in item.items() if k in fields and v is not None}
    if item.get("report_key"):
        out["report_url"] = f"/api/runs/{item['run_id']}/report"
    return out
