"""One sweep: look at incoming/, decide, claim the files, record the batch, start it.

Sweeps take turns on the sweep lease (locks/sweep.lock, held for the sweep only, never for a
run); a batch's files are claimed for its run (ecompipe.aws.claims), so the next sweep starts the
next batch from the files nobody claimed while earlier runs still go on. Runs commit one at a
time under the commit lease, which their tasks take (ecompipe.batch.tasks).

Every exit path leaves the claims as they should be: none written when nothing starts, released
when the start fails or the batch already ran, held (until the run releases it) only when a run
started.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecompipe.aws.claims import Claim, Claims, claimed_keys
from ecompipe.aws.lock import Lease, LeaseStore, LockHeld, utcnow
from ecompipe.aws.manifests import Manifest, write_manifest
from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.aws.uploads import finish_archived
from ecompipe.core import fan_layout, layout
from ecompipe.core.errors import ObjectMissing
from ecompipe.core.observability import logger
from ecompipe.core.settings import Settings
from trigger.decision import decide, fans_out, one_task, take
from trigger.starters import AlreadyStarted, Starter


@dataclass
class SweepResult:
    started: bool
    reason: str
    batch_id: str | None = None
    execution: str | None = None
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    held_by: Lease | Claim | None = None  # not started: another sweep's lease, or a run's claim on the files

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "reason": self.reason,
            "batch_id": self.batch_id,
            "execution": self.execution,
            "files": self.files,
            "counts": self.counts,
        }


@dataclass(frozen=True)
class Incoming:
    """What incoming/ holds for batches: the uploads a sweep may take now, and the others with why."""

    ready: list[ObjectInfo]
    waiting: list[tuple[ObjectInfo, str]]


def incoming(bucket: Bucket, claimed: frozenset[str] = frozenset()) -> Incoming:
    """Every upload in incoming/ (each version of a name is one), in upload order. A batch may take
    the oldest upload of each name that no running batch claimed: a later upload of the same name
    waits until the earlier one is processed, so a correction applies after what it corrects and
    nothing is taken twice. JSON sales files are the sales workflow's; anything else goes with a
    batch, which takes it or rejects it with a reason."""
    ready: list[ObjectInfo] = []
    waiting: list[tuple[ObjectInfo, str]] = []
    first: set[str] = set()  # file names: a batch archives its files by name (processed/<batch>/<name>)
    held = {layout.file_name(k) for k in claimed}
    for obj in bucket.versions(layout.INCOMING):
        name = layout.file_name(obj.key)
        if layout.is_sales_file(obj.key):
            continue
        if not name:
            waiting.append((obj, "a folder marker, not an upload: nothing to process"))
        elif obj.key in claimed or name in held:
            waiting.append((obj, "a running batch holds this name"))
        elif name in first:
            waiting.append((obj, "an earlier upload of this name goes first"))
        else:
            ready.append(obj)
        first.add(name)
    return Incoming(ready, waiting)


def pending_files(bucket: Bucket, claimed: frozenset[str] = frozenset()) -> list[ObjectInfo]:
    """The uploads in incoming/ a sweep may take now (`incoming`)."""
    return incoming(bucket, claimed).ready


def _backlog(bucket: Bucket) -> frozenset[str]:
    try:
        return frozenset(bucket.get_json(layout.BACKLOG_KEY).get("keys", []))
    except ObjectMissing:
        return frozenset()


def execution_input(settings: Settings, manifest: Manifest, claim: Claim, run_id: str) -> dict[str, Any]:
    """What the state machine (or the local runner) gets: enough to run and to release its claim."""
    return {
        "batch_id": manifest.batch_id,
        "run_id": run_id,
        "bucket": settings.bucket,
        "manifest_key": layout.manifest_key(manifest.batch_id),
        "claim_key": claim.key,
        "claim_etag": claim.etag,
        "lock_key": layout.LOCK_KEY,  # the commit lease, freed by ReleaseLeaseAfterFailure if a task could not
        "task_timeout_seconds": settings.task_timeout_seconds,
        "fan_out": fans_out(settings, manifest),
        # validated shard by shard too, one task each, when it fans out and has several shards
        "validate_shards": fans_out(settings, manifest) and manifest.shards() > 1,
        "shards_key": fan_layout.shards_key(manifest.batch_id),
        "one_task": one_task(settings, manifest),
        "files_key": layout.manifest_files_key(manifest.batch_id),
        "transform_groups_key": layout.transform_groups_key(manifest.batch_id, run_id),
        "fan_out_concurrency": settings.fan_out_concurrency,
    }


SWEEP_PREFIX = "sweep-"  # the sweep lease's holder is named sweep-<time>


@contextmanager
def sweeping(leases: LeaseStore, owner: str) -> Iterator[LeaseStore]:
    """Hold the sweep lease (locks/sweep.lock) for one sweep: reading the claims, deciding and
    claiming happen one sweep at a time. Raises LockHeld while another sweep holds it."""
    sweeps = leases.other(layout.SWEEP_LOCK_KEY)
    lease = sweeps.acquire(f"{SWEEP_PREFIX}{utcnow():%Y%m%dT%H%M%S%f}", owner)
    try:
        yield sweeps
    finally:
        sweeps.release(lease)


def sweep(
    settings: Settings,
    bucket: Bucket,
    leases: LeaseStore,
    starter: Starter,
    *,
    owner: str,
    keys: Sequence[str | ObjectInfo] | None = None,
    explicit: bool = False,
    now: datetime | None = None,
    ledger: Any = None,
) -> SweepResult:
    """Start one batch of the pending files if they are ready (or `explicit`: whatever the thresholds).

    `keys` limits the batch to those uploads (an explicit request): an ObjectInfo exactly that
    version, a key its current one; default: what incoming/ holds ready (`incoming`). `leases` is
    the commit lease's store: the sweep lease and the claims live beside it.
    """
    try:
        with sweeping(leases, owner):
            return _sweep(settings, bucket, leases, starter, owner, keys, explicit, now, ledger)
    except LockHeld as exc:
        return SweepResult(False, f"not started: another sweep is under way ({exc})", held_by=exc.holder)


def _sweep(
    settings: Settings,
    bucket: Bucket,
    leases: LeaseStore,
    starter: Starter,
    owner: str,
    keys: Sequence[str | ObjectInfo] | None,
    explicit: bool,
    now: datetime | None,
    ledger: Any,
) -> SweepResult:
    now = now or utcnow()
    claims = Claims(leases)
    every = claims.all()
    claims.drop_expired(every)
    live = [c for c in every if not c.is_expired(claims.clock())]
    claimed = claimed_keys(live, claims.clock())
    if keys is None:
        files = pending_files(bucket, claimed)
    else:
        refused = _claimed_elsewhere(live, {_key(k) for k in keys})
        if refused is not None:
            return refused
        files = [info for info in (k if isinstance(k, ObjectInfo) else bucket.head(k) for k in keys) if info]
    decision = decide(files, bucket.exists(layout.CURATED_PRODUCTS_KEY), settings, now, _backlog(bucket))
    counts = {
        "orders": decision.counts.orders,
        "order_items": decision.counts.order_items,
        "products": decision.counts.products,
        "other": decision.counts.other,
    }
    names = [f.key for f in files]
    if not files or not (decision.start or explicit):
        reason = decision.reason + (f" ({len(claimed)} files are taken by running batches)" if claimed else "")
        return SweepResult(False, reason, files=names, counts=counts)
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

    files, finished = finish_archived(bucket, files)
    if finished:
        logger.info("finished the archive of %d uploads processed before: %s", len(finished), "; ".join(finished))
        if keys is None:  # later uploads of those names may be ready now: look again
            return _sweep(settings, bucket, leases, starter, owner, keys, explicit, now, ledger)
    if not files:
        reason = f"not started: every upload named was processed before ({'; '.join(finished)})"
        return SweepResult(False, reason, files=names, counts=counts)
    manifest = Manifest.for_files(files)
    result = _start(settings, bucket, claims, starter, manifest, owner=owner, run_id=None, ledger=ledger)
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
    """Claim the manifest's files, record the manifest, start the run (`ecompipe start`), under
    the sweep lease like a sweep. Not started while a running batch claims any of the files."""
    try:
        with sweeping(leases, owner):
            claims = Claims(leases)
            refused = _claimed_elsewhere(claims.live(), {f.key for f in manifest.files})
            if refused is not None:
                refused.batch_id = manifest.batch_id
                return refused
            return _start(settings, bucket, claims, starter, manifest, owner=owner, run_id=run_id, ledger=ledger)
    except LockHeld as exc:
        return SweepResult(False, f"not started: another sweep is under way ({exc})", held_by=exc.holder)


def _key(upload: str | ObjectInfo) -> str:
    return upload.key if isinstance(upload, ObjectInfo) else upload


def _claimed_elsewhere(live: list[Claim], keys: set[str]) -> SweepResult | None:
    """Not started: a running batch claimed some of these keys (None when none did)."""
    holder = next((c for c in live if keys & set(c.keys)), None)
    if holder is None:
        return None
    taken = ", ".join(sorted(keys & set(holder.keys)))
    return SweepResult(
        False, f"not started: run {holder.run_id} ({holder.owner}) is processing {taken}", held_by=holder
    )


def _start(
    settings: Settings,
    bucket: Bucket,
    claims: Claims,
    starter: Starter,
    manifest: Manifest,
    *,
    owner: str,
    run_id: str | None,
    ledger: Any,
) -> SweepResult:
    """Claim the files, record the manifest, start the run. The claim is released on every path
    that starts nothing. `run_id` (default: the batch id) names the execution."""
    run_id = run_id or manifest.batch_id
    claim = claims.take(run_id, manifest.batch_id, owner, manifest.files)
    try:
        write_manifest(bucket, manifest)
        ref = starter.start(run_id, execution_input(settings, manifest, claim, run_id))
    except AlreadyStarted as exc:
        claims.release(claim)
        return SweepResult(False, f"{exc}: nothing new started", manifest.batch_id)
    except BaseException:
        claims.release(claim)  # a failed start never leaves files claimed
        raise
    if ledger is not None:
        ledger.taken(run_id, manifest.batch_id, len(manifest.files), owner, ref)
    return SweepResult(True, "started", manifest.batch_id, ref, [f.key for f in manifest.files])
