"""Recent batches as S3 records them (manifest, validation report, transform summary)."""

from __future__ import annotations

from ecompipe.aws.manifests import Manifest
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout


def recent_batches(bucket: Bucket, limit: int) -> list[dict]:
    """The newest `limit` batches with what is known of each: taken, validated, transformed."""
    manifests = []
    for obj in bucket.list(layout.BATCHES):
        if obj.key.endswith("/manifest.json"):
            manifests.append(Manifest.from_json(bucket.get_json(obj.key)))
    manifests.sort(key=lambda m: m.created_at, reverse=True)
    out = []
    for m in manifests[:limit]:
        entry: dict = {"batch_id": m.batch_id, "created_at": m.created_at, "files": len(m.files)}
        report = bucket.get_json_or_none(layout.report_key(m.batch_id))
        transform = bucket.get_json_or_none(layout.transform_report_key(m.batch_id))
        if report is None:
            entry["state"] = "taken (not validated yet, or failed before)"
        elif transform is not None:
            entry["state"] = "done"
        elif not report["outcome"]["has_work"]:
            entry["state"] = "rejected (nothing valid)"
        else:
            entry["state"] = "validated (not transformed yet, or failed in transform)"
        if report is not None:
            entry.update({k: report["totals"][k] for k in ("accepted", "rejected", "pending")})
        if transform is not None:
            entry["dates"] = len(transform["affected_dates"])
        out.append(entry)
    return out
