"""The container commands (`ecompipe task COMMAND`, taskenv.TASK_COMMANDS): run one stage
(or one part of a fanned-out stage) of one batch and record its outcome in the ledger, where the
state machine reads it. Each stage logs one summary line with its counts and returns the values
its metrics are made of."""

from __future__ import annotations

import math
import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ecompipe.aws.lock import Fence, Lease
from ecompipe.aws.manifests import Manifest, read_manifest
from ecompipe.batch import migrate
from ecompipe.batch.commit import REBUILD, Commit
from ecompipe.batch.leases import Leases
from ecompipe.batch.pipeline import archive_as_reported
from ecompipe.batch.resources import Resources
from ecompipe.core import layout, notifications, statuses, taskenv
from ecompipe.core.errors import SettingsError
from ecompipe.core.observability import bind, emf_document, logger
from ecompipe.core.settings import Settings
from ecompipe.core.taskenv import TaskInput


@dataclass
class StageResult:
    summary: dict
    metrics: dict[str, float] = field(default_factory=dict)
    emf: dict = field(default_factory=dict)  # the metrics as the EMF document the command prints


def validate(res: Resources, task: TaskInput) -> StageResult:
    from validator import task as validate_task

    report = validate_task.run(res.settings, res.bucket, task.batch_id)
    res.ledger.validated(task.run_id, report, layout.report_key(task.batch_id))
    t = report["totals"]
    return StageResult(
        {**t, "has_work": report["outcome"]["has_work"], "pending_after": report["pending"]["total_after"]},
        {
            "RowsRead": t["rows_read"],
            "RowsAccepted": t["accepted"],
            "RowsRejected": t["rejected"],
            "RowsPending": t["pending"],
            "RejectedFiles": t["rejected_files"],
        },
    )


def parse_file(res: Resources, task: TaskInput) -> StageResult:
    """One file of a fanned-out batch (ECOMPIPE_FILE_KEY): parsed and stored for validate."""
    from validator import task as validate_task

    if not task.file_key:
        raise SettingsError(f"parse-file needs {taskenv.FILE_KEY} in its environment (set by the state machine)")
    done = validate_task.parse_one(res.settings, res.bucket, task.batch_id, task.file_key)
    return StageResult(done, {"FilesParsed": int(done["part"])})


def validate_shard(res: Resources, task: TaskInput) -> StageResult:
    """One shard of a fanned-out batch (ECOMPIPE_SHARD): validated from the parts and stored for
    validate to merge (validator.fanned)."""
    from validator import task as validate_task

    if task.shard is None:
        raise SettingsError(f"validate-shard needs {taskenv.SHARD} in its environment (set by the state machine)")
    done = validate_task.validate_shard(res.settings, res.bucket, task.batch_id, task.shard)
    return StageResult(done, {"ShardsValidated": int(done["done"])})


def plan_transform(res: Resources, task: TaskInput) -> StageResult:
    """A fanned-out batch's transform split into groups (transformer.groups.shares_of), one transform-group task each
    (transform_bins), once the run holds the leases on those dates (ecompipe.batch.commit)."""
    from transformer import fanout

    bins = transform_bins(res.settings, read_manifest(res.bucket, task.batch_id))
    held = committing(res, task, bins=bins).run(until=REBUILD)
    assert held.plan is not None
    planned = fanout.store_groups(res.bucket, task.batch_id, task.run_id, held.plan)
    return StageResult(planned, {"TransformGroups": planned["groups"]})


def transform_bins(settings: Settings, manifest: Manifest) -> int:
    """How many groups a fanned-out transform is split into: one per
    ECOMPIPE_FAN_OUT_MIN_MB of input (each group's task has a fixed cost: reading the plan, the
    catalogue, listing partitions), at most one per file and ECOMPIPE_FAN_OUT_CONCURRENCY; with
    ECOMPIPE_FAN_OUT_MIN_MB 0, one per file."""
    size = sum(f.size for f in manifest.files)
    by_size = math.ceil(size / (settings.fan_out_min_mb * 2**20)) if settings.fan_out_min_mb else len(manifest.files)
    return max(1, min(settings.fan_out_concurrency, len(manifest.files), by_size))


def transform_group(res: Resources, task: TaskInput) -> StageResult:
    """One group of a fanned-out batch (ECOMPIPE_GROUP): its cells and KPIs, or its piece's parts, fenced
    on the leases plan-transform took on its dates."""
    from transformer import fanout

    if task.group is None:
        raise SettingsError(f"transform-group needs {taskenv.GROUP} in its environment (set by the state machine)")
    plan = fanout.stored_plan(res.bucket, task.batch_id, task.run_id)
    dates = plan.groups[task.group] if plan is not None and 0 <= task.group < len(plan.groups) else []
    leases = commit_leases(res, task)
    written = fanout.transform_group(
        res.bucket, res.kpis, task.batch_id, task.run_id, task.group, lambda step: leases.dates.check(dates, step)
    )
    return StageResult({"group": task.group, "kpi_items_written": written}, {"KpiItemsWritten": written})


def transform(res: Resources, task: TaskInput) -> StageResult:
    """The batch's commit: its dates rebuilt under their leases (or, after plan-transform, the
    groups no child finished), then the batch-wide step under the commit lease."""
    from transformer import fanout

    plan = fanout.stored_plan(res.bucket, task.batch_id, task.run_id)
    if plan is not None:
        commit = Commit.resumed(res, task.batch_id, commit_leases(res, task), plan, **_hooks(res, task))
    else:
        commit = committing(res, task)
    summary = commit.run().summary
    assert summary is not None
    res.ledger.transformed(task.run_id, summary)
    counts = {k: v for k, v in summary.items() if k != "affected_dates"}
    return StageResult(
        {**counts, "affected_dates": len(summary["affected_dates"])},
        {"KpiItemsWritten": summary["kpi_items_written"], "AffectedDates": len(summary["affected_dates"])},
    )


def archive_inputs(res: Resources, task: TaskInput) -> StageResult:
    """Move the batch's inputs out of incoming/ (malformed ones to rejected/), as the report says,
    and compose the run's notification (success, or rejection when nothing was transformed)."""
    manifest = read_manifest(res.bucket, task.batch_id)
    report_key = layout.report_key(task.batch_id)
    report = res.bucket.get_json_or_none(report_key) or {"batch_id": task.batch_id}
    run = res.ledger.get(task.run_id) or {"run_id": task.run_id}
    if run.get("lease_etag"):  # it committed: the archive is its last step under the lease
        fence(res, task).check("the archive")
    archived = archive_as_reported(res.bucket, manifest, report)
    res.ledger.archived(task.run_id, len(archived))
    release_commit_lease(res, task)
    if "totals" in report:
        transform_summary = res.bucket.get_json_or_none(layout.transform_report_key(task.batch_id))
        now = datetime.now(UTC)
        message = (
            notifications.success(run, report, transform_summary, report_key, now)
            if transform_summary is not None and report["outcome"]["has_work"]
            else notifications.rejection(run, report, report_key, now)
        )
        res.ledger.notification(task.run_id, message)
    kept = len(report.get("skipped_files", []))
    return StageResult({"archived_files": len(archived), "kept_in_incoming": kept}, {"ArchivedFiles": len(archived)})


def whole_batch(res: Resources, task: TaskInput) -> StageResult:
    """A small batch in one task (the trigger's `one_task`: ECOMPIPE_ONE_TASK_MAX_MB): validate,
    transform when there is work, archive, each recording its outcome in the ledger as its own
    task does, so the state machine reads them alike. One container start instead of three."""
    stages = [validate(res, task)]
    if stages[0].summary["has_work"]:
        stages.append(transform(res, task))
    stages.append(archive_inputs(res, task))
    return StageResult(
        {k: v for stage in stages for k, v in stage.summary.items()},
        {k: v for stage in stages for k, v in stage.metrics.items()},
    )


def commit_leases(res: Resources, task: TaskInput) -> Leases:
    """The run's commit lease and date leases. A step waits for them at most half the task
    timeout, so a commit queued too long fails with LockHeld (recorded, its files swept again
    later) rather than by the state machine's timeout."""
    patience = timedelta(seconds=res.settings.task_timeout_seconds / 2)
    return Leases.of(res, task.run_id, f"task:{task.run_id}", patience)


def committing(res: Resources, task: TaskInput, bins: int = 1) -> Commit:
    """The run's commit from its first step (a store still in the layout before cells is re-laid
    first: ecompipe.batch.migrate)."""
    leases = commit_leases(res, task)
    migrate.if_needed(res, leases)
    return Commit(res, task.batch_id, leases, bins=bins, **_hooks(res, task))


def _hooks(res: Resources, task: TaskInput) -> dict:
    """What a task's commit tells the ledger and the log: a recheck's new report, the commit
    lease's ETag (for the state machine's failure path), each wait for a lease."""

    def waiting(what: str, holder: Lease | None) -> None:
        logger.info("waiting for the %s lease held by run %s", what, holder.run_id if holder else "?")

    return {
        "on_recheck": lambda report: res.ledger.validated(task.run_id, report, layout.report_key(task.batch_id)),
        "on_leased": lambda lease: res.ledger.leased(task.run_id, lease.etag),
        "on_wait": waiting,
    }


def release_commit_lease(res: Resources, task: TaskInput) -> None:
    """Free the commit lease and the date leases this run holds (its last step, or a failed one)."""
    commit_leases(res, task).release()


def fence(res: Resources, task: TaskInput) -> Fence:
    """A run's batch-wide writes and its archive happen under the commit lease its commit took."""
    return Fence(res.leases(), task.run_id)


COMMANDS = {
    "parse-file": parse_file,
    "validate-shard": validate_shard,
    "validate": validate,
    "plan-transform": plan_transform,
    "transform-group": transform_group,
    "transform": transform,
    "archive": archive_inputs,
    "batch": whole_batch,
}
# a part that is not there is parsed again by validate, a shard no child validated makes validate
# validate the batch whole, a group no child finished is done by transform: their failure is not the run's
ADVISORY = {"parse-file", "validate-shard", "plan-transform", "transform-group"}


def run(command: str, res: Resources, task: TaskInput) -> StageResult:
    """Run one stage; a failure is logged and recorded in the ledger before it propagates (exit 1)."""
    bind(task.run_id, task.batch_id, command)
    started = time.monotonic()
    try:
        result = COMMANDS[command](res, task)
        result.metrics["StageDuration"] = round(time.monotonic() - started, 3)
        # built here, in every mode (in process too), so a metric the stage cannot report fails it
        # wherever it runs, not only in the container that prints the document
        result.emf = emf_document(command, result.metrics)
    except Exception as exc:
        logger.exception(f"{command} failed")
        if command not in ADVISORY:
            res.ledger.finished(task.run_id, statuses.FAILED, f"{type(exc).__name__}: {exc}", stage=command)
            with suppress(Exception):  # the state machine also releases it (ReleaseLeaseAfterFailure)
                release_commit_lease(res, task)
        raise
    logger.info(f"{command} summary", extra={"counts": result.summary, "duration_s": result.metrics["StageDuration"]})
    return result
