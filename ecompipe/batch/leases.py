"""The leases one run commits under (ecompipe.batch.commit): the commit lease and its leases on
dates, and whether a lease's run has ended."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ecompipe.aws.date_leases import DateLeases
from ecompipe.aws.lock import Lease, LeaseStore
from ecompipe.batch.resources import Resources
from ecompipe.core import statuses


@dataclass
class Leases:
    """The leases one run commits under: the commit lease and its per-date leases."""

    commit: LeaseStore
    dates: DateLeases
    patience: timedelta  # how long a step waits for a lease before LockHeld

    @classmethod
    def of(cls, res: Resources, run_id: str, owner: str, patience: timedelta) -> Leases:
        commit = res.leases()
        return cls(commit, DateLeases(commit, run_id, owner, abandoned=ended_runs(res)), patience)

    @property
    def run_id(self) -> str:
        return self.dates.run_id

    def release(self) -> None:
        """Free the commit lease if this run holds it, and every date lease it holds."""
        self.release_commit()
        self.dates.release()

    def release_commit(self) -> None:
        """Free the commit lease if this run holds it."""
        held = self.commit.current()
        if held is not None and held.run_id == self.run_id:
            self.commit.release(held)


def ended_runs(res: Resources) -> Callable[[Lease], bool]:
    """Whether a lease's run has ended (the ledger says so): its lease is abandoned and taken over
    at once, not after the TTL (a task killed hard cannot free its date leases itself)."""

    def ended(lease: Lease) -> bool:
        run = res.ledger.get(lease.run_id)
        return run is not None and run.get("status") in statuses.ENDED

    return ended
