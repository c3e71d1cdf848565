"""What went wrong in the batch pipeline: rejected rows (rejected/<batch>/rows/<file>), rejected
files (the validation reports) and failed runs (the ledger), each with its batch, day, file, reason
and detail. ecompipe.batch.feeds puts them in one feed with the other workloads' problems."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from ecompipe.aws.ledger import Ledger
from ecompipe.aws.objects import Bucket
from ecompipe.core import held, layout
from ecompipe.core.errors import ObjectMissing
from ecompipe.core.statuses import FAILED

ROW, FILE, RUN = "row", "file", "run"


@dataclass(frozen=True)
class Filters:
    batch: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, the day the batch was validated (a run: started)
    date_to: str | None = None
    # (reason, file and paging: ecompipe.batch.feeds, alike for every workload's problems)

    def keeps(self, item: dict[str, Any]) -> bool:
        day = item.get("day") or ""
        return (
            (self.batch is None or item.get("batch_id") == self.batch)
            and (self.date_from is None or day >= self.date_from)
            and (self.date_to is None or day <= self.date_to)
        )


def problems(bucket: Bucket, ledger: Ledger, filters: Filters) -> list[dict[str, Any]]:
    """Every problem that passes the filters, newest batch first, then file and line."""
    found: list[dict[str, Any]] = []
    for info in bucket.list(layout.REPORTS):
        if not info.key.endswith("/validation.json"):
            continue
        batch_id = info.key.split("/")[1]
        if filters.batch is not None and batch_id != filters.batch:
            continue
        report = bucket.get_json(info.key)
        day = str(report.get("generated_at", ""))[:10]
        if not Filters(date_from=filters.date_from, date_to=filters.date_to).keeps({"day": day}):
            continue
        found += [p for p in _of_report(bucket, batch_id, day, report) if filters.keeps(p)]
    for run in ledger.recent(limit=10_000, status=FAILED):
        item = {
            "kind": RUN, "batch_id": run.get("batch_id") or run.get("run_id"),
            "day": str(run.get("started_at", ""))[:10], "file": None, "line": None,
            "reason": f"failed_{run.get('failed_stage') or 'run'}", "detail": str(run.get("error") or ""),
            "run_id": run.get("run_id"),
        }  # fmt: skip
        if filters.keeps(item):
            found.append(item)
    return sorted(found, key=lambda p: (p["day"], p["batch_id"] or ""), reverse=True)


def _of_report(bucket: Bucket, batch_id: str, day: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in report.get("files", []):
        name = layout.file_name(str(entry.get("file", "")))
        base = {"batch_id": batch_id, "day": day, "file": name, "run_id": None}
        if entry.get("status") == "rejected":
            error = entry.get("error") or {}
            reason, detail = error.get("reason"), error.get("message")
            out.append({**base, "kind": FILE, "line": None, "reason": reason, "detail": detail})
        elif int(entry.get("rejected") or 0):
            out += [{**base, **row} for row in _rejected_rows(bucket, batch_id, name)]
    return out


def _rejected_rows(bucket: Bucket, batch_id: str, name: str) -> list[dict[str, Any]]:
    """The rows of rejected/<batch>/rows/<file>: line, reason, detail (held items are not there)."""
    try:
        text = bucket.get_bytes(layout.rejected_rows_key(batch_id, name)).decode("utf-8", "replace")
    except ObjectMissing:  # the report says rows were rejected, but their file is gone: say so once
        return [{"kind": ROW, "line": None, "reason": "rows_file_missing",
                 "detail": f"{layout.rejected_rows_key(batch_id, name)} is missing"}]  # fmt: skip
    rows = []
    for record in csv.DictReader(io.StringIO(text)):
        reasons = [r for r in (record.get("reason") or "").split(";") if r and r not in held.HELD_REASONS]
        if reasons:
            line = record.get("line") or ""
            rows.append({"kind": ROW, "line": int(line) if line.isdigit() else None, "reason": ";".join(reasons),
                         "detail": record.get("detail") or ""})  # fmt: skip
    return rows
