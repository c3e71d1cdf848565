"""Leases on order dates (locks/dates/): a batch rebuilds a date only while it holds the date's
lease, or, for a date written per group of its cells (ecompipe.core.cells.grouped), the leases of
the groups it writes (locks/dates/<date>/g<g>.lock). Each is a lease like the commit lease
(ecompipe.aws.lock), at its own key. boto3 only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from ecompipe.aws.lock import FencedOut, Lease, LeaseStore, LockHeld
from ecompipe.aws.objects import side_by_side
from ecompipe.core import layout
from ecompipe.core.errors import LayoutError

Unit = tuple[str, str]  # (order date, part): "" the whole date, "g3" a group of its cells, "swap"


class DateLeases:
    """One run's leases on order dates, so that batches whose dates (or groups of one date's
    cells) do not overlap rebuild at the same time and batches that share one take turns on it.

    - A whole date: its lease, once no other run holds a group of it (a group's holder that finds
      the date's lease held gives way: `hold_groups`).
    - Groups of a date: their leases, while no other run holds the whole date. Batches holding
      different groups of one date write side by side; each puts its parts under its groups and
      then takes the date's *swap* lease only to make its manifest, customers and KPIs the date's
      (`swap`): held for a few requests, never while waiting for any other lease.

    Leases are taken in one order: groups (ascending date and group), then whole dates (ascending),
    then the commit lease; a swap lease is taken last and waits for nothing. Whoever waits waits for
    a run that can go on, so there is no deadlock. A run that needs more than it holds frees it all
    and takes the union from the start (ecompipe.batch.commit)."""

    def __init__(self, leases: LeaseStore, run_id: str, owner: str, abandoned: Callable[[Lease], bool] | None = None):
        self.leases = leases
        self.run_id = run_id
        self.owner = owner
        self.abandoned = abandoned
        self.mine: dict[Unit, Lease] = {}  # the leases this process took, with their ETags
        self.seen: dict[Unit, Lease] = {}  # the run's leases a check read (another process took them)
        self.groups: dict[str, set[int]] = {}  # the dates this run holds by groups, and which

    def of(self, date: str, part: str = "") -> LeaseStore:
        return self.leases.other(layout.date_lock_key(date, part), self.abandoned)

    def hold(self, dates: list[str], timeout: timedelta, on_wait: Callable[[Lease | None], None] | None = None) -> None:
        """Take each date not held yet, in ascending order, waiting for each, then wait until no
        other run holds a group of any of them; LockHeld once `timeout` has passed (the dates taken
        so far stay held: a retry goes on from there)."""
        deadline, wanted, told = self.leases.clock() + timeout, set(dates), False
        self._take_all([(date, "") for date in wanted], deadline, on_wait)
        while wanted:
            others = self._held_by_others([u for u in _listed(self.leases) if u[0] in wanted and u[1]])
            if not others:
                return
            if self.leases.clock() >= deadline:
                raise LockHeld(others[0][1], f"another run holds {_label(others[0][0])}")
            if on_wait is not None and not told:  # (said once: it waits for the groups' holders to finish)
                on_wait(others[0][1])
                told = True
            time.sleep(0.05)

    def hold_groups(
        self, groups: Mapping[str, set[int]], timeout: timedelta, on_wait: Callable[[Lease | None], None] | None = None
    ) -> None:
        """Take these groups of these dates (ascending), waiting for each; then, where another run
        holds the whole date, free them, wait for that date and take them again. LockHeld once
        `timeout` has passed."""
        deadline = self.leases.clock() + timeout
        wanted = {(d, f"g{g}") for d, gs in groups.items() for g in gs}
        if not wanted <= set(self.mine) and any(not part for _, part in self.mine):
            self.release()  # (groups come before whole dates: never take one while holding the other)
        while True:
            self._take_all(list(wanted), deadline, on_wait)
            self.groups = {d: set(gs) for d, gs in groups.items()}
            listed = sorted(u for u in _listed(self.leases) if u[0] in groups and not u[1])
            whole = [date for (date, _), _lease in self._held_by_others(listed)]
            if not whole:
                return
            self.release()
            for date in whole:  # (it goes first: wait for it without holding anything)
                left = max(timedelta(0), deadline - self.leases.clock())
                self.of(date).release(self.of(date).acquire_waiting(self.run_id, self.owner, left, on_wait))

    @contextmanager
    def swap(self, dates: list[str], timeout: timedelta) -> Iterator[None]:
        """Hold the swap leases of `dates` (ascending) for what is inside: a grouped date's
        manifest, customers and KPIs are written under it."""
        deadline = self.leases.clock() + timeout
        try:
            for date in sorted(set(dates)):
                self._take((date, "swap"), deadline, None)
            yield
        finally:
            for date in sorted(set(dates)):
                lease = self.mine.pop((date, "swap"), None)
                if lease is not None:
                    self.of(date, "swap").release(lease)

    def held(self) -> list[str]:
        """The dates this run holds, whole or by groups (live leases only)."""
        now = self.leases.clock()
        held = _held(self.leases).items()
        return sorted({u[0] for u, lease in held if lease.run_id == self.run_id and not lease.is_expired(now)})

    def release(self) -> list[str]:
        """Free every lease of this run on dates (each only if still its own); returns the dates
        freed. One LIST; a lease this process took is deleted by its ETag, any other is read first."""

        def free(entry: tuple[Unit, str]) -> str | None:
            unit, etag = entry
            lease = self.mine.get(unit)
            lease = lease if lease is not None and lease.etag == etag else self.of(*unit).current()
            mine = lease is not None and lease.run_id == self.run_id
            return unit[0] if mine and self.of(*unit).release(lease) else None

        freed = side_by_side(free, list(_listed(self.leases).items()))
        self.mine.clear()
        self.groups = {}
        return sorted({date for date in freed if date is not None})

    def check(self, dates: list[str], step: str) -> None:
        """FencedOut unless this run holds a live lease on each of `dates` (on the groups it holds
        of a date it holds by groups): one LIST when this process took them or an earlier check
        read them (their ETags unchanged since), else one read each (a TransformDates child's first
        fence: the plan-transform task took them)."""
        now = self.leases.clock()
        listed = _listed(self.leases)
        for date in sorted(set(dates)):
            units = [(date, f"g{g}") for g in sorted(self.groups[date])] if date in self.groups else [(date, "")]
            for unit in units:
                known = self.mine.get(unit) or self.seen.get(unit)
                if known is not None and listed.get(unit) == known.etag and not known.is_expired(now):
                    continue
                held = self.of(*unit).current()
                if held is None or held.run_id != self.run_id or held.is_expired(now):
                    who = "nobody" if held is None else f"run {held.run_id}"
                    who = "it expired" if held is not None and held.run_id == self.run_id else who
                    raise FencedOut(f"run {self.run_id} no longer holds {_label(unit)} ({who}); stopped before {step}")
                self.seen[unit] = held

    def _take_all(self, units: list[Unit], deadline: datetime, on_wait: Callable[[Lease | None], None] | None) -> None:
        """Take these leases in ascending order, waiting for each. All are first tried at once
        without waiting; those taken above the first one held elsewhere are freed again, so a
        lease is only ever waited for while holding leases below it."""
        now = self.leases.clock()
        todo = sorted(u for u in set(units) if u not in self.mine or self.mine[u].is_expired(now))
        tried = side_by_side(self._try, todo) if len(todo) > 1 else []
        first_held = next((i for i, lease in enumerate(tried) if lease is None), len(tried))
        for i, (unit, lease) in enumerate(zip(todo, tried, strict=False)):
            if lease is not None and i < first_held:
                self.mine[unit] = lease
            elif lease is not None:
                self.of(*unit).release(lease)
        for unit in todo:
            self._take(unit, deadline, on_wait)

    def _try(self, unit: Unit) -> Lease | None:
        try:
            return self.of(*unit).acquire(self.run_id, self.owner)
        except LockHeld:
            return None

    def _take(self, unit: Unit, deadline: datetime, on_wait: Callable[[Lease | None], None] | None) -> None:
        if unit in self.mine and not self.mine[unit].is_expired(self.leases.clock()):
            return
        left = max(timedelta(0), deadline - self.leases.clock())
        self.mine[unit] = self.of(*unit).acquire_waiting(self.run_id, self.owner, left, on_wait)

    def _held_by_others(self, units: list[Unit]) -> list[tuple[Unit, Lease]]:
        """Those of `units` another run holds live (one read each)."""
        return [(u, lease) for u in units if (lease := self.of(*u).current()) is not None and self._other(lease)]

    def _other(self, lease: Lease) -> bool:
        """Whether another run holds `lease` live (not expired, its run not ended)."""
        if lease.run_id == self.run_id or lease.is_expired(self.leases.clock()):
            return False
        return not (self.abandoned is not None and self.abandoned(lease))


def date_leases(leases: LeaseStore) -> dict[Unit, Lease]:
    """Every lease on dates in the bucket of `leases`, by (date, part) (whoever holds it)."""
    return _held(leases)


def describe(unit: Unit) -> str:
    """How a lease on dates is named to people: "2025-06-01", "2025-06-01 (group 3)"."""
    date, part = unit
    return date if not part else f"{date} ({'group ' + part[1:] if part.startswith('g') else part})"


def _label(unit: Unit) -> str:
    return f"the lease on {describe(unit)}"


def _held(leases: LeaseStore) -> dict[Unit, Lease]:
    found: dict[Unit, Lease] = {}
    for unit in _listed(leases):
        lease = leases.other(layout.date_lock_key(*unit)).current()
        if lease is not None:
            found[unit] = lease
    return found


def _listed(leases: LeaseStore) -> dict[Unit, str]:
    """The ETag of every lease on dates, by (date, part) (one LIST)."""
    listed: dict[Unit, str] = {}
    for page in leases.s3.get_paginator("list_objects_v2").paginate(Bucket=leases.bucket, Prefix=layout.DATE_LOCKS):
        for entry in page.get("Contents", []):
            unit = _unit_of(entry["Key"])
            if unit is not None:
                listed[unit] = str(entry["ETag"]).strip('"')
    return listed


def _unit_of(key: str) -> Unit | None:
    """The (date, part) a lease key under locks/dates/ names, or None for anything else there."""
    date, _, part = key.removeprefix(layout.DATE_LOCKS).removesuffix(".lock").partition("/")
    try:
        return (date, part) if layout.date_lock_key(date, part) == key else None
    except LayoutError:
        return None
