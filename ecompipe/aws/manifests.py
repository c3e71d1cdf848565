"""Batch identity and the manifest: the exact uploads a batch took (key, version, size, ETag)."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.core import fan_layout, layout
from ecompipe.core.errors import ManifestError, ObjectMissing


def batch_id_for(files: list[ObjectInfo]) -> str:
    """Derived from the sorted set of uploads, (key, version) or where the bucket keeps no versions
    (key, ETag): the same uploads always give the same batch id, so a duplicate delivery of the same
    events cannot start a second batch. Valid as an execution name."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.key):
        digest.update(f"{f.key}\0{f.version_id or f.etag}\n".encode())
    return "batch-" + digest.hexdigest()[:20]


@dataclass
class Manifest:
    batch_id: str
    files: list[ObjectInfo]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def for_files(cls, files: list[ObjectInfo]) -> Manifest:
        if not files:
            raise ManifestError("a batch needs at least one file")
        ordered = sorted(files, key=lambda f: f.key)
        names = sorted(layout.file_name(f.key) for f in ordered)
        twice = sorted({a for a, b in itertools.pairwise(names) if a == b})
        if twice:
            # one upload of a name per batch (its archive is processed/<batch>/<name>): a later one
            # is applied by a later batch, in upload order
            raise ManifestError(f"a batch takes one upload of a name, and {', '.join(twice)} came twice")
        return cls(batch_id_for(ordered), ordered)

    def shards(self) -> int:
        """How many shards the batch is validated in when it fans out (from the sizes of its
        orders and items files: ecompipe.core.fan_layout.shard_count_for_bytes)."""
        sharded = layout.KINDS[:2]  # orders and order items (the products are whole in every shard)
        split = [f.size for f in self.files if layout.kind_of(layout.file_name(f.key)) in sharded]
        return fan_layout.shard_count_for_bytes(sum(split))

    def to_json(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "created_at": self.created_at,
            "files": [_file_json(f) for f in self.files],
        }

    @classmethod
    def from_json(cls, value: dict) -> Manifest:
        try:
            files = [
                ObjectInfo(f["key"], int(f["size"]), str(f["etag"]), version_id=f.get("version_id"))
                for f in value["files"]
            ]
            return cls(str(value["batch_id"]), files, str(value.get("created_at", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"not a batch manifest: {exc}") from None


def _file_json(f: ObjectInfo) -> dict:
    return {"key": f.key, "size": f.size, "etag": f.etag, **({"version_id": f.version_id} if f.version_id else {})}


def write_manifest(bucket: Bucket, manifest: Manifest) -> str:
    """The manifest, its files again as a bare array (batches/<id>/files.json) and, for a batch of
    several shards, its shard numbers (batches/<id>/shards.json), for the state machine's
    Distributed Maps to read when the batch fans out."""
    document = manifest.to_json()
    bucket.put_json(layout.manifest_files_key(manifest.batch_id), document["files"])
    count = manifest.shards()
    if count > 1:  # (a batch of one shard is validated whole: no ValidateShards Map)
        shards = [{"shard": str(s)} for s in range(count)]  # (text: a container's environment)
        bucket.put_json(fan_layout.shards_key(manifest.batch_id), shards)
    bucket.put_json(layout.manifest_key(manifest.batch_id), document)
    return layout.manifest_key(manifest.batch_id)


def read_manifest(bucket: Bucket, batch_id: str) -> Manifest:
    try:
        return Manifest.from_json(bucket.get_json(layout.manifest_key(batch_id)))
    except ObjectMissing:
        raise ManifestError(f"batch {batch_id} has no manifest at {layout.manifest_key(batch_id)}") from None
