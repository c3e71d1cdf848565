"""The container commands (`ecompipe task validate|transform|archive`): run one stage of one batch
and record its outcome in the ledger, where the state machine reads it."""

from __future__ import annotations

from ecompipe import layout
from ecompipe.batches import read_manifest
from ecompipe.pipeline import Resources, archive
from ecompipe.taskenv import TaskInput


def validate(res: Resources, task: TaskInput) -> dict:
    from validator import task as validate_task

    report = validate_task.run(res.settings, res.bucket, task.batch_id)
    res.ledger.validated(task.run_id, report, layout.report_key(task.batch_id))
    return report


def transform(res: Resources, task: TaskInput) -> dict:
    from transformer import task as transform_task

    summary = transform_task.run(res.bucket, res.kpis, task.batch_id)
    res.ledger.transformed(task.run_id, summary)
    return summary


def archive_inputs(res: Resources, task: TaskInput) -> list[str]:
    """Move the batch's inputs out of incoming/ (malformed ones to rejected/), as the report says."""
    manifest = read_manifest(res.bucket, task.batch_id)
    report = (
        res.bucket.get_json(layout.report_key(task.batch_id))
        if res.bucket.exists(layout.report_key(task.batch_id))
        else {"files": [], "skipped_files": []}
    )
    malformed = {f["file"] for f in report["files"] if f["status"] == "rejected"}
    keep = {s["file"] for s in report.get("skipped_files", [])}
    archived = archive(res.bucket, manifest, malformed, keep)
    res.ledger.archived(task.run_id, len(archived))
    return archived


COMMANDS = {"validate": validate, "transform": transform, "archive": archive_inputs}


def run(command: str, res: Resources, task: TaskInput) -> object:
    """Run one stage; a failure is recorded in the ledger before it propagates (exit 1)."""
    try:
        return COMMANDS[command](res, task)
    except Exception as exc:
        res.ledger.finished(task.run_id, "FAILED", f"{type(exc).__name__}: {exc}", stage=command)
        raise
