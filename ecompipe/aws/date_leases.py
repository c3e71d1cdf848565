"""Leases on order dates (locks/dates/<date>.lock): a batch rebuilds a date's partitions and KPIs
only while it holds that date (ecompipe.batch.commit). Each is a lease like the commit lease
(ecompipe.aws.lock), at its own key. boto3 only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ecompipe.aws.lock import FencedOut, Lease, LeaseStore
from ecompipe.core import layout
from ecompipe.core.errors import LayoutError


class DateLeases:
    """One run's leases on order dates (locks/dates/<date>.lock): a batch rebuilds a date's
    partitions and KPIs only while it holds that date, so batches whose dates do not overlap
    rebuild at the same time and batches that share a date take turns on it.

    Dates are always taken in ascending order, each waiting while another run holds it, and a run
    holding dates may then wait for the commit lease but never the other way round: whoever waits
    waits for a run that can go on, so there is no deadlock. A run that needs more dates than it
    holds frees them all and takes the union from the start (ecompipe.batch.commit)."""

    def __init__(self, leases: LeaseStore, run_id: str, owner: str, abandoned: Callable[[Lease], bool] | None = None):
        self.leases = leases
        self.run_id = run_id
        self.owner = owner
        self.abandoned = abandoned
        self.mine: dict[str, Lease] = {}  # the leases this process took, with their ETags
        self.seen: dict[str, Lease] = {}  # the run's leases a check read (another process took them)

    def of(self, date: str) -> LeaseStore:
        return self.leases.other(layout.date_lock_key(date), self.abandoned)

    def hold(self, dates: list[str], timeout: timedelta, on_wait: Callable[[Lease | None], None] | None = None) -> None:
        """Take each date not held yet, in ascending order, waiting for each; LockHeld once
        `timeout` has passed (the dates taken so far stay held: a retry goes on from there)."""
        deadline = self.leases.clock() + timeout
        for date in sorted(set(dates)):
            if date in self.mine and not self.mine[date].is_expired(self.leases.clock()):
                continue
            left = max(timedelta(0), deadline - self.leases.clock())
            self.mine[date] = self.of(date).acquire_waiting(self.run_id, self.owner, left, on_wait)

    def held(self) -> list[str]:
        """The dates this run holds (live leases only)."""
        now = self.leases.clock()
        held = date_leases(self.leases).items()
        return sorted(d for d, lease in held if lease.run_id == self.run_id and not lease.is_expired(now))

    def release(self) -> list[str]:
        """Free every date lease of this run (each only if still its own); returns the dates freed.
        One LIST; a lease this process took is deleted by its ETag, any other is read first."""
        freed = []
        for date, etag in _listed(self.leases).items():
            lease = self.mine.get(date)
            lease = lease if lease is not None and lease.etag == etag else self.of(date).current()
            if lease is not None and lease.run_id == self.run_id and self.of(date).release(lease):
                freed.append(date)
        self.mine.clear()
        return sorted(freed)

    def check(self, dates: list[str], step: str) -> None:
        """FencedOut unless this run holds a live lease on each of `dates`: one LIST when this
        process took them or an earlier check read them (their ETags unchanged since), else one
        read per date (a TransformDates child's first fence: the plan-transform task took them)."""
        now = self.leases.clock()
        listed = _listed(self.leases)
        for date in sorted(set(dates)):
            known = self.mine.get(date) or self.seen.get(date)
            if known is not None and listed.get(date) == known.etag and not known.is_expired(now):
                continue
            held = self.of(date).current()
            if held is None or held.run_id != self.run_id or held.is_expired(now):
                who = "nobody" if held is None else f"run {held.run_id}" if held.run_id != self.run_id else "it expired"
                raise FencedOut(f"run {self.run_id} no longer holds the lease on {date} ({who}); stopped before {step}")
            self.seen[date] = held


def date_leases(leases: LeaseStore) -> dict[str, Lease]:
    """Every date lease in the bucket of `leases`, by date (whoever holds it)."""
    found: dict[str, Lease] = {}
    paginator = leases.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=leases.bucket, Prefix=layout.DATE_LOCKS):
        for entry in page.get("Contents", []):
            date = _date_of(entry["Key"])
            lease = leases.other(entry["Key"]).current() if date else None
            if date and lease is not None:
                found[date] = lease
    return found


def _listed(leases: LeaseStore) -> dict[str, str]:
    """The ETag of every date lease, by date (one LIST)."""
    listed: dict[str, str] = {}
    for page in leases.s3.get_paginator("list_objects_v2").paginate(Bucket=leases.bucket, Prefix=layout.DATE_LOCKS):
        for entry in page.get("Contents", []):
            date = _date_of(entry["Key"])
            if date:
                listed[date] = str(entry["ETag"]).strip('"')
    return listed


def _date_of(key: str) -> str | None:
    """The order date a date lease key names, or None for anything else under locks/dates/."""
    date = key.removeprefix(layout.DATE_LOCKS).removesuffix(".lock")
    try:
        return date if layout.date_lock_key(date) == key else None
    except LayoutError:
        return None
