"""The AWS-facing objects of one run (the bucket, the KPI store, the run ledger, the leases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ecompipe.aws import clients as aws
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.ledger import Ledger
from ecompipe.aws.lock import LeaseStore
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from ecompipe.core.settings import Settings


@dataclass
class Resources:
    """The AWS-facing objects of one run, built once from settings."""

    settings: Settings
    bucket: Bucket
    kpis: KpiStore
    ledger: Ledger

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        dynamodb = aws.client("dynamodb", settings)
        bucket = Bucket(aws.client("s3", settings), settings.bucket)
        # every KPI write rewrites the marker whose ETag tells a kept-open query engine to reload
        written = lambda: bucket.put_json(layout.KPIS_WRITTEN_KEY, {"written_at": datetime.now(UTC).isoformat()})  # noqa: E731
        return cls(settings, bucket, KpiStore(dynamodb, settings, after_write=written), Ledger(dynamodb, settings))

    def leases(self) -> LeaseStore:
        """The commit lease (locks/pipeline.lock) in this bucket; the sweep lease is `.other(SWEEP_LOCK_KEY)`."""
        return LeaseStore(self.bucket.s3, self.settings.bucket, timedelta(minutes=self.settings.lock_ttl_minutes))

    def init(self) -> None:
        """Create the bucket and the tables if missing (idempotent)."""
        self.bucket.ensure(self.settings.region)
        self.kpis.ensure_tables()
        self.ledger.ensure_table()
