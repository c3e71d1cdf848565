"""Local orchestration: the same steps the state machine runs, in process.

init -> upload -> manifest -> validate -> (transform when there is work) -> archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ecompipe.aws.lock import Fence, Lease, no_fence
from ecompipe.aws.manifests import Manifest
from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.aws.uploads import record_archived
from ecompipe.batch import migrate
from ecompipe.batch.commit import Commit, recheck_if_stale
from ecompipe.batch.leases import Leases
from ecompipe.batch.resources import Resources
from ecompipe.core import layout


@dataclass
class RunResult:
    batch_id: str
    report: dict
    transform: dict | None
    archived: list[str] = field(default_factory=list)

    @property
    def affected_dates(self) -> list[str]:
        return list(self.transform["affected_dates"]) if self.transform else []


def upload(bucket: Bucket, files: list[Path]) -> list[ObjectInfo]:
    """Put each file under incoming/ by its name; returns the uploads, each the version it wrote
    (an upload of a name already waiting there is one more version, never a replacement)."""
    return [bucket.put(layout.incoming_key(p.name), p.read_bytes(), content_type(p.name)) for p in files]


def content_type(name: str) -> str:
    """What an uploaded input is, for S3's Content-Type."""
    if layout.is_sales_file(name):
        return "application/json"
    return "application/gzip" if name.lower().endswith(".gz") else "text/csv"


def run_manifest(
    res: Resources,
    manifest: Manifest,
    now: datetime | None = None,
    fence: Callable[[str], None] = no_fence,
    leases: Leases | None = None,
) -> RunResult:
    """The state machine's steps, in process: validate -> transform (when there is work) -> archive.
    `now` fixes the validator's clock, for tests; `fence` guards the shared writes of a run that
    holds the commit lease already, `leases` (instead) makes the commit take its leases itself."""
    from validator import task as validate_task

    report = validate_task.run(res.settings, res.bucket, manifest.batch_id, now)
    return commit(res, manifest, report, now, fence, leases)


def commit(
    res: Resources,
    manifest: Manifest,
    report: dict,
    now: datetime | None = None,
    fence: Callable[[str], None] = no_fence,
    leases: Leases | None = None,
    on_wait: Callable[[Lease | None], None] | None = None,
) -> RunResult:
    """A validated batch's commit: its held items and the pending set rechecked first when what its
    validation read changed since, then transformed (when there is work) and archived. With
    `leases`, under its date leases and the commit lease (ecompipe.batch.commit), all freed at the
    end (`on_wait` is told of the first wait for one); without, as if no other batch committed
    meanwhile."""
    from transformer import task as transform_task

    migrate.if_needed(res, leases)  # a store in the layout before cells is re-laid first
    report = recheck_if_stale(res, manifest.batch_id, now) or report
    if not report["outcome"]["has_work"]:
        transform = None
    elif leases is None:
        transform = transform_task.run(res.bucket, res.kpis, manifest.batch_id, fence)
    else:
        try:
            told = (lambda _what, holder: on_wait(holder)) if on_wait else (lambda _what, _holder: None)
            steps = Commit(res, manifest.batch_id, leases, now=now, on_wait=told, checked=True)
            transform = steps.run().summary
            Fence(leases.commit, leases.run_id).check("the archive")
            report = res.bucket.get_json_or_none(layout.report_key(manifest.batch_id)) or report  # (rechecked)
            archived = archive_as_reported(res.bucket, manifest, report)
        finally:
            leases.release()
        return RunResult(manifest.batch_id, report, transform, archived)
    fence("the archive")
    return RunResult(manifest.batch_id, report, transform, archive_as_reported(res.bucket, manifest, report))


def archive_as_reported(bucket: Bucket, manifest: Manifest, report: dict) -> list[str]:
    """Archive the batch's inputs as its validation report says: files rejected whole go to
    rejected/, files that changed after the batch was taken stay in incoming/. Then the batch's
    staging/ goes: the run is done with it (its rows are curated, its pending set committed, its
    parts and plans were accelerators), and a batch the size of its input would otherwise stay
    there twice over for good. Before the archive a failed run keeps it to resume from."""
    malformed = {f["file"] for f in report.get("files", []) if f["status"] == "rejected"}
    keep = {s["file"] for s in report.get("skipped_files", [])}
    archived = archive(bucket, manifest, malformed, keep)
    bucket.delete_prefix(layout.staging_prefix(manifest.batch_id))
    return archived


def archive(bucket: Bucket, manifest: Manifest, malformed: set[str], keep: set[str]) -> list[str]:
    """Move each input out of incoming/: to processed/<batch_id>/, or for a malformed file to the
    copy under rejected/<batch_id>/files/. The copy lands first, then the record that the upload was
    processed (`record_archived`), then the upload goes: exactly the version the batch took (later
    uploads of the same name stay for the next batch), or where the bucket keeps no versions, the
    object only if it still has the ETag the manifest recorded. Files in `keep` (could not be read
    as recorded) are left in incoming/."""
    targets = {info.key: _archive_target(manifest.batch_id, info.key, malformed) for info in manifest.files}
    # the copies a run stopped before finishing made already: one LIST per folder, not a HEAD per file
    folders = {t.rpartition("/")[0] + "/" for t in targets.values()}
    copied = {o.key for folder in sorted(folders) for o in bucket.list(folder)}
    archived = []
    for info in manifest.files:
        if info.key in keep or not _still_waiting(bucket, info):
            continue
        target = targets[info.key]
        if target not in copied:
            bucket.copy(info, target)  # (raises when it did not copy: nothing below happens)
        record_archived(bucket, info, manifest.batch_id, target)
        bucket.delete(info)
        archived.append(target)
    return archived


def _archive_target(batch_id: str, key: str, malformed: set[str]) -> str:
    if key in malformed:
        return layout.rejected_file_key(batch_id, layout.file_name(key))
    return layout.processed_key(batch_id, key)


def _still_waiting(bucket: Bucket, info: ObjectInfo) -> bool:
    if info.version_id:
        return bucket.head(info.key, info.version_id) is not None
    current = bucket.head(info.key)
    return current is not None and current.etag == info.etag
