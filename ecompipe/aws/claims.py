"""Claims: the files each running batch took from incoming/, one object per run
(locks/claims/<run_id>.json). A sweep leaves claimed files alone, so batches run side by side
without sharing a file; sweeps take turns on locks/sweep.lock to read and write claims.

A claim lives until its run releases it (the state machine's Release states, If-Match on the ETag
the sweep got) or until it expires (ECOMPIPE_LOCK_TTL_MINUTES after it was written: a run that died
without releasing it holds its files no longer). boto3 only: the trigger Lambda imports this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.aws.lock import PRECONDITION_FAILED, Lease, LeaseStore, owner_alive
from ecompipe.aws.objects import ObjectInfo
from ecompipe.core import layout
from ecompipe.core.errors import error_code, is_missing


@dataclass(frozen=True)
class Claim:
    run_id: str
    batch_id: str
    owner: str
    keys: tuple[str, ...]  # the names it holds: no other batch takes any upload of them meanwhile
    expires_at: datetime
    etag: str = ""
    versions: tuple[str | None, ...] = ()  # the upload of each name it took (None: no versions kept)

    @property
    def key(self) -> str:
        return f"{layout.RUN_CLAIMS}{self.run_id}.json"

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def body(self) -> bytes:
        return json.dumps(
            {
                "run_id": self.run_id,
                "batch_id": self.batch_id,
                "owner": self.owner,
                "keys": list(self.keys),
                "versions": list(self.versions),
                "expires_at": self.expires_at.isoformat(),
            }
        ).encode()

    @classmethod
    def parse(cls, key: str, data: bytes, etag: str, last_modified: datetime, ttl: Any) -> Claim:
        """A claim from its object; an unreadable one claims nothing and expires after the TTL."""
        run_id = key.removeprefix(layout.RUN_CLAIMS).removesuffix(".json")
        try:
            doc = json.loads(data)
            return cls(
                run_id,
                str(doc["batch_id"]),
                str(doc["owner"]),
                tuple(str(k) for k in doc["keys"]),
                datetime.fromisoformat(doc["expires_at"]),
                etag,
                tuple(None if v is None else str(v) for v in doc.get("versions", [])),
            )
        except (ValueError, KeyError, TypeError):
            return cls(run_id, "(unreadable)", "(unreadable)", (), last_modified + ttl, etag)


def claimed_keys(claims: list[Claim], now: datetime) -> frozenset[str]:
    """The incoming keys the live ones of these claims hold."""
    return frozenset(k for c in claims if not c.is_expired(now) for k in c.keys)


def holder_alive(lease: Lease, claims: list[Claim]) -> bool | None:
    """Whether the process holding a lease still runs: told by its owner (a CLI on this host), or
    for a task's lease by the owner of its run's claim (the command that started the run); None
    when neither can be told from here."""
    alive = owner_alive(lease.owner)
    if alive is None:
        alive = next((owner_alive(c.owner) for c in claims if c.run_id == lease.run_id), None)
    return alive


class Claims:
    """The claims in one bucket; TTL and clock as the leases' (a LeaseStore gives them)."""

    def __init__(self, leases: LeaseStore) -> None:
        self.s3 = leases.s3
        self.bucket = leases.bucket
        self.ttl = leases.ttl
        self.clock = leases.clock

    def all(self) -> list[Claim]:
        """Every claim object, live or expired, by run id."""
        claims = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=layout.RUN_CLAIMS):
            for entry in page.get("Contents", []):
                try:
                    obj = self.s3.get_object(Bucket=self.bucket, Key=entry["Key"])
                except ClientError as exc:
                    if is_missing(exc):
                        continue  # released between the listing and the read
                    raise
                body, etag = obj["Body"].read(), obj["ETag"].strip('"')
                claims.append(Claim.parse(entry["Key"], body, etag, obj["LastModified"], self.ttl))
        return sorted(claims, key=lambda c: c.run_id)

    def live(self) -> list[Claim]:
        now = self.clock()
        return [c for c in self.all() if not c.is_expired(now)]

    def take(self, run_id: str, batch_id: str, owner: str, files: list[ObjectInfo]) -> Claim:
        """Write run_id's claim on these uploads: their names, and the version of each it took
        (the caller holds the sweep lease)."""
        keys, versions = tuple(f.key for f in files), tuple(f.version_id for f in files)
        claim = Claim(run_id, batch_id, owner, keys, self.clock() + self.ttl, versions=versions)
        resp = self.s3.put_object(
            Bucket=self.bucket, Key=layout.run_claim_key(run_id), Body=claim.body(), ContentType="application/json"
        )
        return replace(claim, etag=str(resp["ETag"]).strip('"'))

    def release(self, claim: Claim) -> bool:
        """Delete the claim only if it is still this one (same ETag). False when it was not."""
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=claim.key, IfMatch=f'"{claim.etag}"')
        except ClientError as exc:
            if error_code(exc) in PRECONDITION_FAILED or is_missing(exc):
                return False
            raise
        return True

    def drop_expired(self, claims: list[Claim]) -> None:
        """Delete the expired ones of these claims (each only if unchanged since it was read)."""
        now = self.clock()
        for claim in claims:
            if claim.is_expired(now):
                self.release(claim)
