"""The embedded engine kept open across requests (`ecompipe serve`): opened once, and opened again
only when the store changed, which is told by what every write leaves behind: the ETags of
curated/ and of the validation reports, and of the marker each KPI write rewrites
(layout.KPIS_WRITTEN_KEY). Each request waits for a reading of them that began after it arrived
(requests arriving together share one), so a batch that landed is in the next answer and no answer
comes from a store older than its request; a request that finds the store unchanged runs at once
on the open engine, side by side with others (each query on a cursor of its own).

A snapshot also keeps the KPI rows it loaded (the KPI routes answer from them) and the answers it
gave: the same request on the same store is the same answer."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from ecompipe.core.settings import Settings
from questions import engines
from questions.answers import Engine

ANSWERS_KEPT = 512  # answers a snapshot keeps, the least recently used going first


def fingerprint(bucket: Bucket) -> str:
    """What the engine's tables are made of, as ETags: equal fingerprints, equal tables. The three
    reads go side by side."""
    with ThreadPoolExecutor(3) as pool:
        curated, reports = pool.map(bucket.list, (layout.CURATED, layout.REPORTS))
        marker = pool.submit(bucket.head, layout.KPIS_WRITTEN_KEY).result()
    digest = hashlib.sha256()
    for obj in [*curated, *reports]:
        digest.update(f"{obj.key}\0{obj.etag}\n".encode())
    digest.update((marker.etag if marker else "-").encode())
    return digest.hexdigest()


@dataclass
class Snapshot:
    """The store as one opening of the engine saw it."""

    engine: Engine
    order_kpis: list[dict]
    category_kpis: list[dict]
    _answers: OrderedDict = field(default_factory=OrderedDict)
    _working: dict = field(default_factory=dict)  # key -> Event set when its answer is in _answers
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, key: Hashable, work: Callable[[], Any]) -> Any:
        """`work()`'s result, computed once per key on this snapshot: a request that comes while
        the same one is being worked out waits for its answer (a failure is not kept: each caller
        then works it out itself)."""
        while True:
            with self._lock:
                if key in self._answers:
                    self._answers.move_to_end(key)
                    return self._answers[key]
                underway = self._working.get(key)
                if underway is None:
                    self._working[key] = threading.Event()
                    break
            underway.wait()
            with self._lock:
                if key not in self._answers:  # it failed: work it out here
                    return work()
        try:
            result = work()
            with self._lock:
                self._answers[key] = result
                while len(self._answers) > ANSWERS_KEPT:
                    self._answers.popitem(last=False)
            return result
        finally:
            with self._lock:
                self._working.pop(key).set()


class _Shared:
    """One reading at a time, shared by every request that arrived before it began."""

    def __init__(self, read: Callable[[], str]) -> None:
        self.read = read
        self.cond = threading.Condition()
        self.running = False
        self.started = 0  # readings begun
        self.done = 0  # readings finished (the latest result below)
        self.result = ""

    def fresh(self) -> str:
        """A reading that began after this call."""
        with self.cond:
            need = self.started + 1
            while self.done < need:
                if not self.running:
                    self.running, self.started = True, self.started + 1
                    mine = self.started
                    break
                self.cond.wait()
            else:
                return self.result
        try:
            value = self.read()
        finally:
            with self.cond:
                self.running = False
                self.cond.notify_all()
        with self.cond:
            if mine > self.done:
                self.done, self.result = mine, value
            return value


class LiveEngine:
    """One DuckDB engine over the store, reopened when its fingerprint changed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket = Bucket(aws.client("s3", settings), settings.bucket)
        self._readings = _Shared(lambda: fingerprint(self.bucket))
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._seen: str | None = None
        self.opened = 0  # how many times it was opened (the bench and the tests read it)

    def current(self) -> Snapshot:
        """The snapshot of the store as it is now: the open one, or one opened afresh when anything
        it reads changed since (the store read after the fingerprint: never older than it)."""
        now = self._readings.fresh()
        with self._lock:
            if self._snapshot is None or now != self._seen:
                self._snapshot, self._seen = Snapshot(*engines.open_duck(self.settings, kept_open=True)), now
                self.opened += 1
            return self._snapshot
