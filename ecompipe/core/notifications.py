"""The SNS messages (pure): what subscribers get for each run, as JSON, with an `event` attribute
(success | rejection | failure) to filter on. The archive task composes success and rejection
messages into the ledger; the state machine publishes them, and builds failure messages itself."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

SUCCESS, REJECTION, FAILURE = "success", "rejection", "failure"
TOP_REASONS = 5


def _duration(started_at: str | None, now: datetime) -> float | None:
    if not started_at:
        return None
    return round((now - datetime.fromisoformat(started_at)).total_seconds(), 1)


def top_reasons(report: dict, limit: int = TOP_REASONS) -> list[dict]:
    """The most frequent reasons over every file of the report, with their counts."""
    counts: Counter[str] = Counter()
    for f in report["files"]:
        counts.update(f["reasons"])
    ranked = sorted(counts.items(), key=lambda rc: (-rc[1], rc[0]))
    return [{"reason": r, "count": n} for r, n in ranked[:limit]]


def success(run: dict, report: dict, transform: dict, report_key: str, now: datetime) -> dict:
    t = report["totals"]
    return {
        "event": SUCCESS,
        "batch_id": report["batch_id"],
        "run_id": run["run_id"],
        "files": [f["file"] for f in report["files"]],
        "rows": {"read": t["rows_read"], "accepted": t["accepted"], "rejected": t["rejected"], "pending": t["pending"]},
        "dates_affected": transform["affected_dates"],
        "kpi_items_written": transform["kpi_items_written"],
        "duration_seconds": _duration(run.get("started_at"), now),
        "report_key": report_key,
    }


def rejection(run: dict, report: dict, report_key: str, now: datetime) -> dict:
    t = report["totals"]
    return {
        "event": REJECTION,
        "batch_id": report["batch_id"],
        "run_id": run["run_id"],
        "report_key": report_key,
        "rows": {"read": t["rows_read"], "rejected": t["rejected"], "pending": t["pending"]},
        "rejected_files": t["rejected_files"],
        "top_reasons": top_reasons(report),
        "duration_seconds": _duration(run.get("started_at"), now),
    }


def encode(message: dict) -> str:
    return json.dumps(message, sort_keys=True)
