"""One sweep: look at incoming/, decide, take the lease, record the batch, start it.

Every exit path leaves the lease as it should be: not taken when nothing starts, released when the
start fails or the batch already ran, held (until the run releases it) only when a run started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecompipe.aws.lock import Lease, LeaseStore, LockHeld, utcnow
from ecompipe.aws.manifests import Manifest, write_manifest
from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.core import layout
from ecompipe.core.errors import ObjectMissing
from ecompipe.core.observability import logger
from ecompipe.core.settings import Settings
from trigger.decision import decide, take
from trigger.starters import AlreadyStarted, Starter


@dataclass
class SweepResult:
    started: bool
    reason: str
    batch_id: str | None = None
    execution: str | None = None
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    held_by: Lease | None = None  # not started because this live lease is someone else's

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "reason": self.reason,
            "batch_id": self.batch_id,
            "execution": self.execution,
            "files": self.files,
            "counts": self.counts,
        }


def pending_files(bucket: Bucket) -> list[ObjectInfo]:
    """The CSV files in incoming/ (anything else there is logged and left alone)."""
    files = []
    for obj in bucket.list(layout.INCOMING):
        if obj.key.lower().endswith(".csv"):
            files.append(obj)
        else:
            logger.info("ignored %s: not a .csv file", obj.key)
    return files


def _backlog(bucket: Bucket) -> frozenset[str]:
    try:
        return frozenset(bucket.get_json(layout.BACKLOG_KEY).get("keys", []))
    except ObjectMissing:
        return frozenset()


def execution_input(settings: Settings, manifest: Manifest, lease: Lease, run_id: str) -> dict[str, Any]:
    """What the state machine (or the local runner) gets: enough to run and to release the lease."""
    return {
        "batch_id": manifest.batch_id,
        "run_id": run_id,
        "bucket": settings.bucket,
        "manifest_key": layout.manifest_key(manifest.batch_id),
        "lock_key": layout.LOCK_KEY,
        "lock_etag": lease.etag,
        "task_timeout_seconds": settings.task_timeout_seconds,
        "fan_out": fans_out(settings, manifest),
        "files_key": layout.manifest_files_key(manifest.batch_id),
        "transform_groups_key": layout.transform_groups_key(manifest.batch_id, run_id),
        "fan_out_concurrency": settings.fan_out_concurrency,
    }


def fans_out(settings: Settings, manifest: Manifest) -> bool:
    """Whether the batch's files are parsed one task each before the batch-wide validation."""
    total = sum(f.size for f in manifest.files)
    return len(manifest.files) > 1 and total >= settings.fan_out_min_mb * 2**20


def sweep(
    settings: Settings,
    bucket: Bucket,
    leases: LeaseStore,
    starter: Starter,
    *,
    owner: str,
    keys: list[str] | None = None,
    explicit: bool = False,
    now: datetime | None = None,
    ledger: Any = None,
) -> SweepResult:
    """Start one batch of the pending files if they are ready (or `explicit`: whatever the thresholds).

    `keys` limits the batch to those incoming keys (an explicit request); default: all of incoming/.
    """
    now = now or utcnow()
    if keys is None:
        files = pending_files(bucket)
    else:
        files = [info for info in (bucket.head(k) for k in keys) if info is not None]
    decision = decide(files, bucket.exists(layout.CURATED_PRODUCTS_KEY), settings, now, _backlog(bucket))
    counts = {
        "orders": decision.counts.orders,
        "order_items": decision.counts.order_items,
        "products": decision.counts.products,
        "other": decision.counts.other,
    }
    names = [f.key for f in files]
    if not files or not (decision.start or explicit):
        return SweepResult(False, decision.reason, files=names, counts=counts)
    reason = decision.reason if decision.start else f"explicit request ({decision.reason})"
    left: list[str] = []
    if not explicit:
        taken = take(files, settings.max_batch_mb * 2**20)
        left = sorted({f.key for f in files} - {f.key for f in taken})
        if left:
            reason += (
                f"; {len(taken)} of {len(files)} files (ECOMPIPE_MAX_BATCH_MB={settings.max_batch_mb}), the rest next"
            )
        files = taken

    manifest = Manifest.for_files(files)
    result = start_manifest(settings, bucket, leases, starter, manifest, owner=owner, ledger=ledger)
    if result.started and not explicit:
        bucket.put_json(layout.BACKLOG_KEY, {"keys": left, "after": manifest.batch_id})
    result.files, result.counts = [f.key for f in manifest.files], counts
    if result.started:
        result.reason = reason
        logger.info("started batch %s (%d files): %s", manifest.batch_id, len(files), reason)
    return result


def start_manifest(
    settings: Settings,
    bucket: Bucket,
    leases: LeaseStore,
    starter: Starter,
    manifest: Manifest,
    *,
    owner: str,
    run_id: str | None = None,
    ledger: Any = None,
) -> SweepResult:
    """Take the lease, record the manifest, start the run. The lease is released on every path
    that starts nothing. `run_id` (default: the batch id) names the execution."""
    run_id = run_id or manifest.batch_id
    try:
        lease = leases.acquire(run_id, owner)
    except LockHeld as exc:
        return SweepResult(False, f"not started: {exc}", manifest.batch_id, held_by=exc.holder)
    try:
        write_manifest(bucket, manifest)
        ref = starter.start(run_id, execution_input(settings, manifest, lease, run_id))
    except AlreadyStarted as exc:
        leases.release(lease)
        return SweepResult(False, f"{exc}: nothing new started", manifest.batch_id)
    except BaseException:
        leases.release(lease)  # a failed start never leaves a stuck lock
        raise
    if ledger is not None:
        ledger.taken(run_id, manifest.batch_id, len(manifest.files), owner, ref)
    return SweepResult(True, "started", manifest.batch_id, ref, [f.key for f in manifest.files])
