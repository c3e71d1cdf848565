"""One place for what went wrong and what was said, across every workload (docs/operations.md):
the problems feed (GET /api/errors, `ecompipe problems`, the dashboard's problems panel) and the
alerts feed (GET /api/alerts, `ecompipe alerts`, its panel).

Problems: the batch pipeline's rejected rows, rejected files and failed runs (questions.problems);
the events consumer's invalid records; JSON sales files' incomplete records (the sales DLQ) and
files rejected whole; and the messages in the events DLQ (events.feed). Alerts: the events
consumer's (large order, invalid data, low stock) and the batch runs' notifications (the ledger).
Each item names its source; filters by source, reason and day; newest first; paged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.aws import clients as aws
from ecompipe.batch.resources import Resources
from events import feed, queues
from events.kinds import ENTITIES
from questions import problems as batch_problems

BATCH = "batch"
SOURCES = (BATCH, feed.EVENTS, feed.SALES, feed.EVENTS_DLQ)


@dataclass(frozen=True)
class Filters:
    source: str | None = None  # one of SOURCES
    date_from: str | None = None  # YYYY-MM-DD: the day it happened (a batch's: the day it was validated)
    date_to: str | None = None
    reason: str | None = None  # a reason code (a batch's), or words of the reason (an event's)
    batch: str | None = None
    file: str | None = None

    def keeps(self, item: dict[str, Any]) -> bool:
        day = item.get("day") or ""
        reason = str(item.get("reason") or "")
        return (
            (self.source is None or item["source"] == self.source)
            and (self.date_from is None or (bool(day) and day >= self.date_from))
            and (self.date_to is None or (bool(day) and day <= self.date_to))
            and (self.reason is None or self.reason in reason.split(";") or self.reason.lower() in reason.lower())
            and (self.batch is None or item.get("batch_id") == self.batch)
            and (self.file is None or item.get("file") == self.file)
        )


def problems(res: Resources, filters: Filters) -> list[dict[str, Any]]:
    """Every problem of every source that passes the filters, newest day first."""
    sqs = aws.client("sqs", res.settings)
    readers: dict[str, Callable[[], list[dict[str, Any]]]] = {
        BATCH: lambda: [
            {"source": BATCH, "key": None, **p}
            for p in batch_problems.problems(
                res.bucket, res.ledger, batch_problems.Filters(filters.batch, filters.date_from, filters.date_to)
            )
        ],
        feed.EVENTS: lambda: feed.invalid_records(res.bucket, filters.date_from, filters.date_to),
        feed.SALES: lambda: (
            feed.rejected_sales_files(res.bucket)
            + _queue(sqs, res.settings.sales_dlq, lambda url: feed.parked_records(sqs, url))
        ),
        feed.EVENTS_DLQ: lambda: _queue(sqs, res.settings.events_dlq, lambda url: feed.dead_letters(sqs, url)),
    }
    found = [item for source, read in readers.items() if filters.source in (None, source) for item in read()]
    kept = [item for item in found if filters.keeps(item)]
    return sorted(kept, key=lambda p: (p.get("day") or "", p.get("batch_id") or "", p.get("line") or 0), reverse=True)


def alerts(res: Resources, source: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Every alert sent: the events consumer's, and each batch run's notification; newest first."""
    found: list[dict[str, Any]] = []
    if source in (None, feed.EVENTS):
        found += feed.published_alerts(res.bucket)
    if source in (None, BATCH):
        for run in res.ledger.recent(limit=10_000):
            if run.get("notification"):
                message = json.loads(str(run["notification"]))
                at = str(run.get("finished_at") or run.get("started_at") or "") or None
                found.append({"source": BATCH, "kind": str(run.get("event") or "run"), "at": at, "message": message})
    kept = [a for a in found if kind is None or a["kind"] == kind]
    return sorted(kept, key=lambda a: a.get("at") or "", reverse=True)


def activity(res: Resources) -> dict[str, Any]:
    """The events workload's tables and its per-day activity (events.feed.activity)."""
    sqs = aws.client("sqs", res.settings)
    tables = {e.name: e.table(res.settings) for e in ENTITIES}
    dlq = _queue(sqs, res.settings.events_dlq, lambda url: [url])
    return feed.activity(res.kpis.db, tables, res.bucket, sqs, dlq[0] if dlq else None)


def _queue(sqs: Any, name: str, read: Callable[[str], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """What `read` finds in the queue named, or nothing when the queue does not exist (the events
    workload not deployed here)."""
    try:
        url = queues.queue_url(sqs, name)
    except ClientError:
        return []
    return read(url)


def page(items: list[dict[str, Any]], number: int, size: int) -> dict[str, Any]:
    start = (number - 1) * size
    return {"total": len(items), "page": number, "page_size": size, "items": items[start : start + size]}
