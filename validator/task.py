"""The validator task: the thin adapter between S3 and validator.batch (the pure core)."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ecompipe.aws import parquet, staged, transient
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.manifests import Manifest, read_manifest
from ecompipe.aws.objects import Bucket, ObjectChanged, ObjectInfo, download_pinned, get_pinned
from ecompipe.core import layout
from ecompipe.core.csvsafe import spreadsheet_frame
from ecompipe.core.errors import ManifestError, ObjectMissing
from ecompipe.core.keys import isin
from ecompipe.core.settings import Settings
from validator import fanned, outcome, parts, pending, reasons, snapshot
from validator import report as report_of
from validator.batch import InputFile, Known, validate_batch
from validator.dialects import ORDER_ITEMS, ORDERS, PRODUCTS
from validator.files import parse_file


@dataclass
class Skipped:
    """A manifest file that could not be read as the batch recorded it; left where it is."""

    key: str
    message: str


def run(settings: Settings, bucket: Bucket, batch_id: str, now: datetime | None = None) -> dict:
    """Validate the batch's files; write staging/, rejected/, reports/ and the recorded outcome."""
    now = now or datetime.now(UTC)
    manifest = read_manifest(bucket, batch_id)
    with tempfile.TemporaryDirectory(prefix="ecompipe-parts-") as directory:
        return _validated(settings, bucket, manifest, directory, now)


def _validated(settings: Settings, bucket: Bucket, manifest: Manifest, directory: str, now: datetime) -> dict:
    """`run`, the parts' shards read into `directory`."""
    batch_id = manifest.batch_id
    files: list[InputFile] = []
    skipped: list[Skipped] = []
    readable = [f for f in manifest.files if not _too_large(settings, f)]
    # the pending set's ETag before it is read: a newer set read after this only makes the commit
    # recheck, never the other way round
    pending_head = bucket.head(layout.PENDING_ITEMS_KEY)
    pending_etag = pending_head.etag if pending_head else None
    # validated shard by shard by the validate-shard tasks of a fanned-out run (merged here), or
    # parsed file by file by its parse-file tasks (validated here)
    by_shards, in_shards = None, manifest.shards() > 1
    if in_shards:  # (the state machine validates a batch of one shard whole)
        by_shards = fanned.taken_by_shards(bucket, manifest, readable, now.date().isoformat(), pending_etag)
    parsed = parts.read_all(bucket, batch_id, readable, directory, parts.NO_ROWS if by_shards else parts.EVERY_SHARD)
    if by_shards is not None and len(parsed) < len(readable):  # (a part gone meanwhile)
        by_shards, parsed = None, parts.read_all(bucket, batch_id, readable, directory)
    downloads = Path(directory) / "inputs"  # each upload on disk, read when it is parsed (InputFile.path)
    downloads.mkdir()
    for number, info in enumerate(manifest.files):
        if _too_large(settings, info):
            files.append(InputFile(info.key, None, info.size))  # rejected unread
            continue
        if info.key in parsed:
            files.append(InputFile(info.key, None, info.size))
            continue
        try:
            path = downloads / str(number)
            download_pinned(bucket, info, path)
            files.append(InputFile(info.key, None, info.size, _max_bytes(settings), path))
        except (ObjectChanged, ObjectMissing) as exc:
            skipped.append(Skipped(info.key, str(exc)))
    pending_before = parquet.get_frame_or_none(bucket, layout.PENDING_ITEMS_KEY)
    max_age, examples = settings.pending_max_age_days, settings.report_examples
    if by_shards is not None:
        result = outcome.merged(
            batch_id,
            files,
            parsed,
            by_shards.taken,
            pending_before,
            now=now,
            max_pending_age_days=max_age,
            examples=examples,
        )
    else:
        curated = CuratedStore(bucket)
        known = Known(product_ids=curated.known_product_ids(), find_orders=curated.known_orders)
        result = validate_batch(
            batch_id,
            files,
            known,
            pending_before,
            now=now,
            max_pending_age_days=max_age,
            examples=examples,
            parsed_before=parsed,
        )
    frames = {layout.staging_key(batch_id, kind): frame for kind, frame in result.staged.items()}
    frames[layout.staged_held_key(batch_id)] = result.held
    frames[layout.staged_resolved_key(batch_id)] = result.resolved
    frames[layout.staged_pending_key(batch_id)] = result.pending
    transient.put_frames(bucket, frames)
    if by_shards is not None:  # the accepted rows stay where the shard tasks wrote them
        staged.name_shards(bucket, batch_id, by_shards.staged)
    elif in_shards:  # (an earlier attempt may have left them there)
        staged.name_one(bucket, batch_id)
    bucket.put_json(
        layout.validated_against_key(batch_id),
        snapshot.snapshot(pending_head.etag if pending_head else None, result.waits_for),
    )
    for name, rows in result.rejected_rows.items():
        bucket.put_bytes(layout.rejected_rows_key(batch_id, name), rows_csv(rows), "text/csv")
    by_key = {f.key: f for f in files}
    for key, problem in result.malformed.items():
        name = layout.file_name(key)
        if by_key[key].unread:  # never read here (too large, or parsed by a parse-file task): copied server-side
            bucket.copy(key, layout.rejected_file_key(batch_id, name))
        else:
            bucket.put_bytes(layout.rejected_file_key(batch_id, name), by_key[key].read())
        bucket.put_bytes(layout.rejected_reason_key(batch_id, name), f"{problem.reason}: {problem.message}\n".encode())
    if len(result.expired):
        _put_expired(bucket, batch_id, result.expired)
    report = result.report
    report["skipped_files"] = [{"file": s.key, "message": s.message} for s in skipped]
    if parsed:  # a fanned-out run: which files its parse-file tasks parsed, which validate parsed itself
        report["fan_out"] = {
            "parsed_by_tasks": sorted(parsed),
            "parsed_here": sorted(f.key for f in files if f.key not in parsed and not f.unread),
            "validated_in_shards": len(by_shards) if by_shards is not None else None,
        }
    report["rejected_prefix"] = f"{layout.REJECTED}{batch_id}/"
    report["expired_pending"] = _expired_entry(batch_id, result.expired)
    _record_report(bucket, batch_id, report)
    return report


def why_stale(bucket: Bucket, batch_id: str) -> str | None:
    """Why the batch's validation no longer holds, now, for its commit (None when it does, or when
    it recorded nothing to check: validated before this was recorded, or its staging is gone)."""
    recorded = bucket.get_json_or_none(layout.validated_against_key(batch_id))
    if recorded is None:
        return None
    head = bucket.head(layout.PENDING_ITEMS_KEY)
    curated = CuratedStore(bucket)

    def known_products(ids: pd.Index) -> pd.Index:
        return ids[isin(pd.Series(ids, dtype="str"), curated.known_product_ids()).to_numpy()]

    return snapshot.why_stale(recorded, head.etag if head else None, curated.known_orders, known_products)


def recheck(settings: Settings, bucket: Bucket, batch_id: str, why: str, now: datetime | None = None) -> dict:
    """At the batch's commit, when what its validation read changed since (`why`, from why_stale):
    its held items and the pending set checked again against the store as it is now
    (validator.pending.recheck), which is all of validation that another batch's commit can
    change. Rewrites the staged resolved items, the pending set after the batch, its expired items,
    what it read, and the report (as a validation now would have written it, with
    `rechecked_at_commit`); the batch's own accepted rows stay as validated. Reads only what the
    batch staged, so a retried commit rechecks from the same rows."""
    now = now or datetime.now(UTC)
    head = bucket.head(layout.PENDING_ITEMS_KEY)  # before the set, as validation does
    before = parquet.get_frame_or_none(bucket, layout.PENDING_ITEMS_KEY)
    curated = CuratedStore(bucket)
    own = pd.Index(staged.read(bucket, batch_id, ORDERS, ["order_id"])["order_id"].unique())
    held = transient.get_frame(bucket, layout.staged_held_key(batch_id))
    referenced = [held["order_id"]] + ([before["order_id"]] if before is not None else [])
    order_ids = curated.known_orders(pd.Index(pd.concat(referenced).dropna().unique()).difference(own)).union(own)
    product_ids = curated.known_product_ids().union(
        pd.Index(staged.read(bucket, batch_id, PRODUCTS, ["product_id"])["product_id"].unique())
    )
    result = pending.recheck(
        batch_id,
        staged.read(bucket, batch_id, ORDER_ITEMS, ["item_key"]),
        held,
        order_ids,
        product_ids,
        before,
        now,
        settings.pending_max_age_days,
    )
    transient.put_frame(bucket, layout.staged_resolved_key(batch_id), result.resolved)
    transient.put_frame(bucket, layout.staged_pending_key(batch_id), result.pending)
    if len(result.carried.expired):
        _put_expired(bucket, batch_id, result.carried.expired)
    else:  # (any its validation expired are no longer there to expire: deleting a missing key is a no-op)
        bucket.delete(layout.expired_pending_key(batch_id))
    waits = pending.waits_for(result.pending, order_ids, product_ids)
    bucket.put_json(layout.validated_against_key(batch_id), snapshot.snapshot(head.etag if head else None, waits))
    report = _rechecked_report(bucket, batch_id, result, settings.report_examples)
    report["rechecked_at_commit"] = {"why": why, "at": now.isoformat(), "validated_at": report["generated_at"]}
    bucket.put_json(layout.report_key(batch_id), report)
    return report


def _rechecked_report(bucket: Bucket, batch_id: str, result: pending.Rechecked, examples: int) -> dict:
    """The report of the validation that staged the batch's rows, as that validation would have
    written it after the recheck. A batch validated again (a resumed run) keeps its first report
    and lists the later ones under `attempts`: the latest one staged the rows, and the list stays."""
    main = bucket.get_json(layout.report_key(batch_id))
    attempts = main.get("attempts")
    first = bucket.get_json(attempts[-1]["key"]) if attempts else main
    counts = {**result.carried.counts, "total_after": len(result.pending)}
    report = report_of.with_held(first, result.held, counts, examples)
    report["expired_pending"] = _expired_entry(batch_id, result.carried.expired)
    if attempts:
        report["attempts"] = attempts
    return report


def _put_expired(bucket: Bucket, batch_id: str, expired: pd.DataFrame) -> None:
    bucket.put_bytes(layout.expired_pending_key(batch_id), rows_csv(expired), "text/csv")


def _expired_entry(batch_id: str, expired: pd.DataFrame) -> dict:
    return {
        "count": len(expired),
        "key": layout.expired_pending_key(batch_id) if len(expired) else None,
        "reason": reasons.PENDING_EXPIRED,
    }


def parse_one(settings: Settings, bucket: Bucket, batch_id: str, key: str) -> dict:
    """A fanned-out batch's parse-file task: parse one file of the manifest, as the manifest took
    it, and store the part for the batch-wide step. A file it cannot read as recorded (too large,
    changed, gone) gets no part: the batch-wide step deals with it as it always does."""
    manifest = read_manifest(bucket, batch_id)
    info = next((f for f in manifest.files if f.key == key), None)
    if info is None:
        raise ManifestError(f"{key} is not a file of batch {batch_id}")
    if _too_large(settings, info):
        return {"file": key, "part": False, "why": "larger than ECOMPIPE_MAX_FILE_MB: rejected unread"}
    try:
        data = get_pinned(bucket, info)
    except (ObjectChanged, ObjectMissing) as exc:
        return {"file": key, "part": False, "why": str(exc)}
    p = parse_file(InputFile(info.key, data, info.size, _max_bytes(settings)))
    parts.write(bucket, batch_id, p, info.etag, manifest.shards())
    return {"file": key, "part": True, "rows_read": p.rows_read, "parse_errors": len(p.errors)}


def validate_shard(settings: Settings, bucket: Bucket, batch_id: str, shard: int, now: datetime | None = None) -> dict:
    """A fanned-out batch's validate-shard task: one shard validated from the batch's parts
    (validator.fanned); the manifest's files but those rejected unread."""
    manifest = read_manifest(bucket, batch_id)
    readable = [f for f in manifest.files if not _too_large(settings, f)]
    return fanned.validate_one(bucket, manifest, shard, readable, now or datetime.now(UTC))


def _too_large(settings: Settings, info: ObjectInfo) -> bool:
    """A file over ECOMPIPE_MAX_FILE_MB is rejected unread (0 = no limit)."""
    return bool(settings.max_file_mb) and info.size > _max_bytes(settings)


def _max_bytes(settings: Settings) -> int:
    """ECOMPIPE_MAX_FILE_MB in bytes (0: no limit); a compressed file's limit counts what it expands to."""
    return settings.max_file_mb * 2**20


def _record_report(bucket: Bucket, batch_id: str, report: dict) -> None:
    """The first validation of a batch writes its report; a later one (a resumed or recovered
    run, which may find the files already archived) never replaces it: its report is kept beside
    the original, and the original lists it under `attempts`."""
    key = layout.report_key(batch_id)
    original = bucket.get_json_or_none(key)
    if original is None:
        bucket.put_json(key, report)
        return
    attempts = original.setdefault("attempts", [])
    attempt_key = layout.report_attempt_key(batch_id, len(attempts) + 2)
    bucket.put_json(attempt_key, report)
    attempts.append(
        {
            "key": attempt_key,
            "generated_at": report.get("generated_at"),
            "files": report["totals"]["files"],
            "rows_read": report["totals"]["rows_read"],
            "skipped_files": len(report.get("skipped_files", [])),
        }
    )
    bucket.put_json(key, original)


def rows_csv(frame: pd.DataFrame) -> bytes:
    """Rows for people to open: formula-leading cells neutralised (ecompipe.core.csvsafe)."""
    out = io.StringIO()
    spreadsheet_frame(frame).to_csv(out, index=False)
    return out.getvalue().encode()
