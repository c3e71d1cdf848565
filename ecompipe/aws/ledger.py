"""The run ledger (PipelineRuns, key run_id): what each run did, stage by stage.

Written by the trigger (taken), the tasks (their outcomes) and the state machine (status). The
state machine branches on what the tasks record here: an ECS task cannot return output, and on
moto a .sync task always reports exit code 0 (DESIGN §6).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ecompipe.aws import dynamo, tables
from ecompipe.core import statuses
from ecompipe.core.settings import Settings

# validation_outcome values the state machine's Choice tests
HAS_WORK = "has_work"
NOTHING_VALID = "nothing_valid"
TRANSFORMED = "done"


def table_definition(settings: Settings) -> dict:
    return {
        "TableName": settings.runs_table,
        "KeySchema": [{"AttributeName": "run_id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "run_id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Ledger:
    def __init__(self, dynamodb: Any, settings: Settings) -> None:
        self.db = dynamodb
        self.settings = settings
        self.table = settings.runs_table

    def ensure_table(self) -> None:
        tables.ensure(self.db, [table_definition(self.settings)])

    def _update(self, run_id: str, values: dict[str, Any]) -> None:
        values = {**values, "updated_at": _now()}
        names = {f"#{k}": k for k in values}
        expr = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        self.db.update_item(
            TableName=self.table,
            Key={"run_id": {"S": run_id}},
            UpdateExpression=expr,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{k}": dynamo.value(v) for k, v in values.items()},
        )

    def taken(self, run_id: str, batch_id: str, files: int, owner: str, execution: str | None = None) -> None:
        """The trigger took a batch and started (or is starting) its run."""
        self._update(
            run_id,
            {
                "batch_id": batch_id,
                "status": statuses.RUNNING,
                "stage": "taken",
                "files": files,
                "owner": owner,
                "started_at": _now(),
                **({"execution": execution} if execution else {}),
            },
        )

    def validated(self, run_id: str, report: dict, report_key: str) -> None:
        t = report["totals"]
        self._update(
            run_id,
            {
                "stage": "validated",
                "validation_outcome": HAS_WORK if report["outcome"]["has_work"] else NOTHING_VALID,
                "rows_read": t["rows_read"],
                "accepted": t["accepted"],
                "rejected": t["rejected"],
                "pending": t["pending"],
                "rejected_files": t["rejected_files"],
                "report_key": report_key,
                **({"parts": len(report["fan_out"]["parsed_by_tasks"])} if "fan_out" in report else {}),
            },
        )

    def transformed(self, run_id: str, summary: dict) -> None:
        self._update(
            run_id,
            {
                "stage": "transformed",
                "transform_outcome": TRANSFORMED,
                "affected_dates": len(summary["affected_dates"]),
                "kpi_items_written": summary["kpi_items_written"],
                **({"date_groups": summary["groups"]} if "groups" in summary else {}),
            },
        )

    def leased(self, run_id: str, etag: str) -> None:
        """The run took the commit lease: its ETag, for the state machine to release it if the run
        fails after this (ReleaseLeaseAfterFailure)."""
        self._update(run_id, {"stage": "committing", "lease_etag": etag})

    def archived(self, run_id: str, archived: int) -> None:
        self._update(run_id, {"stage": "archived", "archived_files": archived})

    def notification(self, run_id: str, message: dict) -> None:
        """The SNS message the state machine will publish for this run (JSON text)."""
        self._update(run_id, {"notification": json.dumps(message, sort_keys=True), "event": message["event"]})

    def finished(self, run_id: str, status: str, error: str | None = None, stage: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": _now()}
        if error:
            values["error"] = error[:2000]
        if stage:
            values["failed_stage"] = stage
        self._update(run_id, values)

    def get(self, run_id: str) -> dict | None:
        item = self.db.get_item(TableName=self.table, Key={"run_id": {"S": run_id}}, ConsistentRead=True).get("Item")
        return None if item is None else dynamo.load(item)

    def recent(self, limit: int = 20, status: str | None = None) -> list[dict]:
        pages = self.db.get_paginator("scan").paginate(TableName=self.table)
        runs = [dynamo.load(i) for p in pages for i in p["Items"]]
        if status:
            runs = [r for r in runs if r.get("status") == status]
        return sorted(runs, key=lambda r: r.get("started_at", ""), reverse=True)[:limit]
