"""The embedded engine kept open across requests (`ecompipe serve`): opened once, and opened again
only when the store changed, which is told by what every write leaves behind: the ETags of
curated/ and of the validation reports, and of the marker each KPI write rewrites
(layout.KPIS_WRITTEN_KEY). Each request reads them first (two listings and a HEAD), so a batch that
landed is in the next answer, never a stale one; a request that finds the store unchanged runs at
once on the open engine, side by side with others (each query on a cursor of its own)."""

from __future__ import annotations

import hashlib
import threading

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from questions import engines
from questions.answers import Engine


def fingerprint(bucket: Bucket) -> str:
    """What the engine's tables are made of, as ETags: equal fingerprints, equal tables."""
    digest = hashlib.sha256()
    for prefix in (layout.CURATED, layout.REPORTS):
        for obj in bucket.list(prefix):
            digest.update(f"{obj.key}\0{obj.etag}\n".encode())
    marker = bucket.head(layout.KPIS_WRITTEN_KEY)
    digest.update((marker.etag if marker else "-").encode())
    return digest.hexdigest()


class LiveEngine:
    """One DuckDB engine over the store, reopened when its fingerprint changed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = Bucket(aws.client("s3", settings), settings.bucket)
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._seen: str | None = None
        self.opened = 0  # how many times it was opened (the bench and the tests read it)

    def current(self) -> Engine:
        """The engine over the store as it is now: the open one, or one opened afresh when anything
        it reads changed since (the store read after the fingerprint: never older than it)."""
        now = fingerprint(self.bucket)
        with self._lock:
            if self._engine is None or now != self._seen:
                self._engine, self._seen = engines.open_engine(self.settings), now
                self.opened += 1
            return self._engine
