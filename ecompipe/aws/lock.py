"""Leases: one object each, held by at most one holder at a time. locks/pipeline.lock is the
commit lease (a batch's shared writes, ecompipe.batch.tasks); locks/sweep.lock lets one sweep at a
time take files (trigger.sweep).

S3 conditional writes make this safe without any other service:
- create:    PutObject If-None-Match:*  succeeds only when no lease exists;
- take over: PutObject If-Match:<etag>  replaces exactly the expired lease we read, so of many
             contenders that read the same expired lease, exactly one write succeeds;
- release:   DeleteObject If-Match:<etag> deletes only our own lease, never a successor's.
409 ConditionalRequestConflict (a conditional write racing another) is retried, as S3 asks.
boto3 only: the trigger Lambda imports this.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.core import layout
from ecompipe.core.errors import EcompipeError, error_code, is_missing

PRECONDITION_FAILED = {"PreconditionFailed", "412"}
CONFLICT = {"ConditionalRequestConflict", "409", "OperationAborted"}


class LockHeld(EcompipeError):
    """Another run holds a live lease."""

    def __init__(self, holder: Lease | None, message: str) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class Lease:
    run_id: str
    owner: str
    acquired_at: datetime
    expires_at: datetime
    etag: str = ""

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def age(self, now: datetime) -> timedelta:
        return now - self.acquired_at

    def body(self) -> bytes:
        return json.dumps(
            {
                "run_id": self.run_id,
                "owner": self.owner,
                "acquired_at": self.acquired_at.isoformat(),
                "expires_at": self.expires_at.isoformat(),
            }
        ).encode()

    @classmethod
    def parse(cls, data: bytes, etag: str, last_modified: datetime, ttl: timedelta) -> Lease:
        """A lease from its object. An unreadable body is treated as a lease taken when the object
        was written, so it expires after the TTL instead of blocking the pipeline for ever."""
        try:
            doc = json.loads(data)
            return cls(
                str(doc["run_id"]),
                str(doc["owner"]),
                datetime.fromisoformat(doc["acquired_at"]),
                datetime.fromisoformat(doc["expires_at"]),
                etag,
            )
        except (ValueError, KeyError, TypeError):
            return cls("(unreadable)", "(unreadable)", last_modified, last_modified + ttl, etag)


def cli_owner() -> str:
    """The owner a CLI process writes into a lease or claim: cli:HOST:PID:START, START the process's
    start time (so a later process given the same pid is never taken for it; omitted where the
    system does not say it)."""
    start = _started(os.getpid())
    return f"cli:{socket.gethostname()}:{os.getpid()}" + (f":{start}" if start else "")


def owner_alive(owner: str) -> bool | None:
    """Whether the CLI process named in a lease owner (cli:HOST:PID[:START]) still runs; None when
    that cannot be told from here (another host, the trigger Lambda, a task)."""
    kind, host, pid, start = ([*owner.split(":"), "", "", ""])[:4]
    if kind != "cli" or host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _started(int(pid)) if start else None
    return not (now and now != start)  # the pid runs another process now: the owner is gone


def _started(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux's /proc/PID/stat, field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class LeaseStore:
    """One lease object (`key`, default the commit lease) in one bucket, through an injected boto3
    S3 client."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        conflict_retries: int = 5,
        key: str = layout.LOCK_KEY,
        abandoned: Callable[[Lease], bool] = lambda _lease: False,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.ttl = ttl
        self.clock = clock
        self.sleep = sleep
        self.conflict_retries = conflict_retries
        self.key = key
        self.abandoned = abandoned  # a live lease whose holder is known to be gone is taken over too

    def other(self, key: str, abandoned: Callable[[Lease], bool] | None = None) -> LeaseStore:
        """The lease at another key, with the same client, TTL and clock."""
        retries = self.conflict_retries
        return LeaseStore(
            self.s3, self.bucket, self.ttl, self.clock, self.sleep, retries, key, abandoned or self.abandoned
        )

    def current(self) -> Lease | None:
        """The lease as it stands (with its ETag), or None when nobody holds one."""
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise
        return Lease.parse(obj["Body"].read(), obj["ETag"].strip('"'), obj["LastModified"], self.ttl)

    def acquire(self, run_id: str, owner: str) -> Lease:
        """Take the lease for run_id, or raise LockHeld naming the live holder."""
        for attempt in range(self.conflict_retries):
            now = self.clock()
            mine = Lease(run_id, owner, now, now + self.ttl)
            try:
                # CREATE_IF_ABSENT: succeeds only when no lease object exists at all.
                return replace(mine, etag=self._put(mine, IfNoneMatch="*"))
            except ClientError as exc:
                if error_code(exc) in CONFLICT:
                    self._backoff(attempt)
                    continue
                if error_code(exc) not in PRECONDITION_FAILED:
                    raise
            held = self.current()
            if held is None:
                continue  # released between our write and our read: try again from the top
            if not held.is_expired(now) and not self.abandoned(held):
                # A LIVE lease is never taken, whoever holds it (unless its holder is known gone).
                raise LockHeld(held, held_message(held, now))
            try:
                # TAKE_OVER_IF_EXPIRED_AND_UNCHANGED: replace exactly the expired (or abandoned) lease we read. If
                # another contender replaced (or its owner released) it since, the ETag differs,
                # this write fails, and that contender is the one that won.
                return replace(mine, etag=self._put(mine, IfMatch=f'"{held.etag}"'))
            except ClientError as exc:
                if error_code(exc) in CONFLICT:
                    self._backoff(attempt)
                    continue
                if error_code(exc) not in PRECONDITION_FAILED and not is_missing(exc):
                    raise
                winner = self.current()
                raise LockHeld(winner, "an expired lease was taken over by another run first") from None
        raise LockHeld(self.current(), f"the lease stayed contended after {self.conflict_retries} tries")

    def acquire_waiting(
        self, run_id: str, owner: str, timeout: timedelta, on_wait: Callable[[Lease | None], None] | None = None
    ) -> Lease:
        """Take the lease for run_id, waiting while another holds it (the first wait is reported to
        `on_wait`); LockHeld after `timeout`. A holder's lease expires after the TTL and is taken
        over then, so a dead holder delays this by at most the TTL. A lease run_id already holds is
        kept (a retried step of the same run)."""
        deadline = self.clock() + timeout
        told = False
        delay = 0.05
        while True:
            try:
                return self.acquire(run_id, owner)  # (one PUT when nobody holds it)
            except LockHeld as exc:
                held = exc.holder
                if held is not None and held.run_id == run_id and not held.is_expired(self.clock()):
                    return held
                if self.clock() >= deadline:
                    raise
                if not told and on_wait is not None:
                    on_wait(exc.holder)
                    told = True
            self.sleep(delay)
            delay = min(2.0, delay * 2)

    def release(self, lease: Lease) -> bool:
        """Delete the lease only if it is still ours (same ETag). False when it was not."""
        for attempt in range(self.conflict_retries):
            try:
                # RELEASE_ONLY_OWN: a successor's lease has another ETag and survives this call.
                self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=f'"{lease.etag}"')
                return True
            except ClientError as exc:
                if error_code(exc) in CONFLICT:
                    self._backoff(attempt)
                    continue
                if error_code(exc) in PRECONDITION_FAILED or is_missing(exc):
                    return False
                raise
        return False

    def _put(self, lease: Lease, **condition: str) -> str:
        resp = self.s3.put_object(
            Bucket=self.bucket, Key=self.key, Body=lease.body(), ContentType="application/json", **condition
        )
        return str(resp["ETag"]).strip('"')

    def _backoff(self, attempt: int) -> None:
        self.sleep(min(1.0, 0.05 * 2**attempt))


def no_fence(_step: str) -> None:
    """The fence of a run that holds no lease (`ecompipe run` without the trigger, tests)."""


class FencedOut(EcompipeError):
    """This run no longer holds the lease: it must not write anything shared."""


@dataclass(frozen=True)
class Fence:
    """Writes fenced on the run id: before each commit step a run checks that the lease is still
    its own and live. A run whose lease expired and was taken over stops there, before it can
    overwrite what its successor wrote (curated partitions, KPIs, the pending set, the archive)."""

    leases: LeaseStore
    run_id: str

    def check(self, step: str) -> None:
        held = self.leases.current()
        now = self.leases.clock()
        if held is not None and held.run_id == self.run_id and not held.is_expired(now):
            return
        if held is None:
            who = "nobody holds it: a run's commit takes it for its batch-wide step (transform)"
        elif held.run_id == self.run_id:
            who = f"it expired at {held.expires_at.isoformat()}"
        else:
            who = f"held by run {held.run_id}"
        raise FencedOut(f"run {self.run_id} no longer holds the pipeline lease ({who}); stopped before {step}")


def held_message(held: Lease, now: datetime) -> str:
    """Who holds a live lease, since and until when; how to free it when its process is gone."""
    minutes = int(held.age(now).total_seconds() // 60)
    return (
        f"the lease is held by run {held.run_id} ({held.owner}) since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC "
        f"({minutes} min), until {held.expires_at:%H:%M:%S} UTC"
        + (
            "; its process is gone: `ecompipe unlock --force` frees it (docs/operations.md)"
            if owner_alive(held.owner) is False
            else ""
        )
    )
