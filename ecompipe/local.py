"""The local starter: the trigger's Starter that runs a batch in process on the emulator (or any
endpoint) instead of starting Step Functions, and releases the lease at the end like the state
machine's Release step does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ecompipe.batches import read_manifest
from ecompipe.lock import Lease, LeaseStore
from ecompipe.pipeline import Resources, RunResult, run_manifest


class LocalStarter:
    def __init__(self, res: Resources, leases: LeaseStore, now: datetime | None = None) -> None:
        self.res = res
        self.leases = leases
        self.now = now
        self.result: RunResult | None = None

    def start(self, batch_id: str, execution_input: dict[str, Any]) -> str:
        """Run the batch to the end (a rerun of the same batch id is allowed: it is idempotent)."""
        lease = Lease(batch_id, "local", datetime.min, datetime.min, execution_input["lock_etag"])
        try:
            self.result = run_manifest(self.res, read_manifest(self.res.bucket, batch_id), self.now)
        finally:
            self.leases.release(lease)
        return f"local:{batch_id}"
