"""Thin S3 I/O for one bucket: bytes and JSON. boto3 only (the trigger Lambda imports this)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from ecompipe.core.errors import EcompipeError, ObjectMissing, error_code, is_missing

_NO_SUCH_VERSION = {"NoSuchVersion", "InvalidArgument"}  # a version id S3 does not hold (or cannot parse)
_DELETE_BATCH = 1000  # keys per DeleteObjects request (the S3 limit)
_SIDE_BY_SIDE = 8  # objects transferred at a time by side_by_side
T, R = TypeVar("T"), TypeVar("R")


def side_by_side(work: Callable[[T], R], items: Iterable[T], at_once: int = _SIDE_BY_SIDE) -> list[R]:
    """work(item) for each item, `at_once` at a time, results in the items' order. For work on
    objects: the transfer, (de)compression and Arrow's decoding release the GIL, so a task's
    other cores work too (a batch's parts, its staged frames, a plan's slices, partitions)."""
    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(work, items))


@dataclass(frozen=True)
class ObjectInfo:
    """One object, or in a versioned bucket one version of it: one upload (docs/trigger.md)."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None = None
    version_id: str | None = None  # None: the bucket keeps no versions (or the object predates them)

    def source(self) -> dict[str, str]:
        """Key and version, as GetObject, CopyObject and DeleteObject take them."""
        return {"Key": self.key, **({"VersionId": self.version_id} if self.version_id else {})}


def _version(value: Any) -> str | None:
    """S3 names the version of an object written while versioning was off "null"."""
    return None if value in (None, "", "null") else str(value)


class Bucket:
    """One S3 bucket seen through an injected boto3 client."""

    def __init__(self, s3: Any, name: str) -> None:
        self.s3 = s3
        self.name = name

    def ensure(self, region: str) -> None:
        """Create the bucket if it does not exist, versioned as the stack's is (idempotent): an
        upload under a name already waiting in incoming/ becomes a version of its own, never a
        replacement."""
        try:
            self.s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            if not is_missing(exc):
                raise
            self._create(region)
        if self.s3.get_bucket_versioning(Bucket=self.name).get("Status") != "Enabled":
            self.s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})

    def _create(self, region: str) -> None:
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.s3.create_bucket(**kwargs)
        except ClientError as exc:
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise

    def list(self, prefix: str, after: str = "") -> list[ObjectInfo]:
        """Every object under prefix (whose key sorts after `after`, when given), sorted by key."""
        out: list[ObjectInfo] = []
        since = {"StartAfter": after} if after else {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix, **since):
            for obj in page.get("Contents", []):
                out.append(ObjectInfo(obj["Key"], int(obj["Size"]), obj["ETag"].strip('"'), obj.get("LastModified")))
        return sorted(out, key=lambda o: o.key)

    def versions(self, prefix: str) -> list[ObjectInfo]:
        """Every version under prefix (delete markers left out), by key, each key's oldest first:
        the uploads in the order they landed."""
        out: list[ObjectInfo] = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.name, Prefix=prefix):
            for v in page.get("Versions", []):
                info = ObjectInfo(v["Key"], int(v["Size"]), v["ETag"].strip('"'), v.get("LastModified"))
                out.append(replace(info, version_id=_version(v.get("VersionId"))))
        # S3 lists a key's versions newest first; reversed per key (a stable sort keeps the rest)
        return sorted(reversed(out), key=lambda o: o.key)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.name, Key=key)["Body"].read()
        except ClientError as exc:
            if is_missing(exc):
                raise ObjectMissing(f"s3://{self.name}/{key} does not exist") from None
            raise

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Write an object; returns its ETag."""
        return self.put(key, data, content_type).etag

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Write an object; returns what was written, with its version in a versioned bucket."""
        resp = self.s3.put_object(Bucket=self.name, Key=key, Body=data, ContentType=content_type)
        etag = str(resp.get("ETag", "")).strip('"')
        return ObjectInfo(key, len(data), etag, version_id=_version(resp.get("VersionId")))

    def put_once(self, key: str, data: bytes, content_type: str = "application/json") -> bool:
        """Write an object only if none is there (If-None-Match: *); False when one already was."""
        try:
            self.s3.put_object(Bucket=self.name, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in {"PreconditionFailed", "412"}:
                return False
            raise

    def count(self, prefix: str) -> int:
        """How many objects lie under prefix (listed, not estimated)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sum(int(page.get("KeyCount", 0)) for page in pages)

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.name, Key=key)
            return True
        except ClientError as exc:
            if is_missing(exc):
                return False
            raise

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """The object (its current version, or `version_id`), None when there is none."""
        try:
            resp = self.s3.head_object(Bucket=self.name, **ObjectInfo(key, 0, "", version_id=version_id).source())
        except ClientError as exc:
            if is_missing(exc) or error_code(exc) in _NO_SUCH_VERSION:
                return None
            raise
        info = ObjectInfo(key, int(resp["ContentLength"]), resp["ETag"].strip('"'), resp.get("LastModified"))
        return replace(info, version_id=_version(resp.get("VersionId")))

    def copy(self, source: str | ObjectInfo, target: str) -> None:
        """Copy an object (a key's current version, or exactly the version an ObjectInfo names)."""
        origin = source.source() if isinstance(source, ObjectInfo) else {"Key": source}
        self.s3.copy_object(Bucket=self.name, Key=target, CopySource={"Bucket": self.name, **origin})

    def delete(self, key: str | ObjectInfo) -> None:
        """Delete an object; given an ObjectInfo with a version, that version for good (the key's
        other versions, later uploads of the same name, stay)."""
        self.s3.delete_object(Bucket=self.name, **(key.source() if isinstance(key, ObjectInfo) else {"Key": key}))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix; returns how many."""
        keys = [o.key for o in self.list(prefix)]
        self.delete_keys(keys)
        return len(keys)

    def delete_keys(self, keys: list[str]) -> None:
        """Delete these objects, 1,000 a request. Raises naming the first key S3 refused (after the
        rest of its request went through): a delete that did not happen is never taken as done."""
        for start in range(0, len(keys), _DELETE_BATCH):
            chunk = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            errors = self.s3.delete_objects(Bucket=self.name, Delete={"Objects": chunk, "Quiet": True}).get("Errors")
            if errors:
                first = errors[0]
                raise EcompipeError(
                    f"could not delete {len(errors)} object(s) of s3://{self.name}, "
                    f"first {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
                )

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def get_json_or_none(self, key: str) -> Any:
        """The JSON object at key, or None when it does not exist (one request, not exists + get)."""
        try:
            return self.get_json(key)
        except ObjectMissing:
            return None

    def get_json_and_etag(self, key: str) -> tuple[Any, str] | None:
        """The JSON object at key with its ETag (one GET), or None when it does not exist."""
        try:
            resp = self.s3.get_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return json.loads(resp["Body"].read()), str(resp.get("ETag", "")).strip('"')

    def put_json(self, key: str, value: Any) -> str:
        data = json.dumps(value, indent=2, sort_keys=False, default=str).encode()
        return self.put_bytes(key, data, "application/json")


class ObjectChanged(Exception):
    """The object no longer has the ETag a manifest recorded (it was re-uploaded)."""


def get_pinned(bucket: Bucket, info: ObjectInfo) -> bytes:
    """Exactly the upload a manifest recorded: its version (a version never changes), and where
    the bucket keeps none, the object only if it still has the recorded ETag (GetObject If-Match)."""
    return _pinned_body(bucket, info).read()


def download_pinned(bucket: Bucket, info: ObjectInfo, path: Path) -> None:
    """get_pinned into the file at `path`, block by block (never the whole object in memory)."""
    body = _pinned_body(bucket, info)
    with path.open("wb") as out:
        for block in body.iter_chunks(_DOWNLOAD_BLOCK):
            out.write(block)


_DOWNLOAD_BLOCK = 8 << 20


def _pinned_body(bucket: Bucket, info: ObjectInfo) -> Any:
    """The body (a stream) of the upload a manifest recorded (get_pinned)."""
    try:
        return bucket.s3.get_object(Bucket=bucket.name, IfMatch=f'"{info.etag}"', **info.source())["Body"]
    except ClientError as exc:
        code = error_code(exc)
        if code in {"PreconditionFailed", "412"}:
            raise ObjectChanged(
                f"{info.key} changed since the batch was taken (ETag is no longer {info.etag})"
            ) from None
        if is_missing(exc) or code in _NO_SUCH_VERSION:
            what = f"{info.key} (version {info.version_id})" if info.version_id else info.key
            raise ObjectMissing(f"s3://{bucket.name}/{what} does not exist") from None
        raise
