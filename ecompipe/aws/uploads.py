"""Uploads in incoming/: in a versioned bucket each version of a name is one upload, taken by one
batch, archived by it, and recorded as processed before it is deleted, so that no sweep takes it
again, even after a run that stopped between the record and the deletion. boto3 only (the trigger
Lambda imports this)."""

from __future__ import annotations

from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.core import layout


def record_archived(bucket: Bucket, info: ObjectInfo, batch_id: str, target: str) -> None:
    """Record that this upload was processed and where its copy is (a version only: without one,
    the deletion that follows is the record)."""
    if info.version_id:
        record = {"key": info.key, "version_id": info.version_id, "batch_id": batch_id, "archived_to": target}
        bucket.put_json(layout.archived_upload_key(info.key, info.version_id), record)


def archived_before(bucket: Bucket, info: ObjectInfo) -> dict | None:
    """The record of the batch that processed exactly this upload, if one did."""
    if not info.version_id:
        return None
    return bucket.get_json_or_none(layout.archived_upload_key(info.key, info.version_id))


def finish_archived(bucket: Bucket, files: list[ObjectInfo]) -> tuple[list[ObjectInfo], list[str]]:
    """These uploads less the ones a batch already processed, whose archive stopped before deleting
    them: each of those is deleted now (its copy is where the record says). Returns what is left to
    take and one line per upload finished."""
    left, finished = [], []
    for info in files:
        record = archived_before(bucket, info)
        if record is None:
            left.append(info)
            continue
        bucket.delete(info)
        finished.append(f"{info.key} (version {info.version_id}): processed by {record['batch_id']}, archived now")
    return left, finished
