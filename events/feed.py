"""The events workload's problems and alerts, read where they live, in the shape of the one feed
across workloads (ecompipe.batch.feeds): invalid records kept under rejected/events/, sales
records parked in the sales DLQ, sales files rejected whole (rejected/sales/), messages in the
events DLQ, and the alerts published (their records under events/alerts/). boto3 only."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout, layout
from ecompipe.core.errors import ObjectMissing, is_missing
from events import alerts, kinds, queues
from events.outbox import parked_views

EVENTS, SALES, EVENTS_DLQ = "events", "sales", "events_dlq"
REJECTED_SALES = layout.REJECTED + "sales/"
DETAIL = 300  # characters of a body shown in a problem's detail
PEEK = 1000  # messages of a DLQ listed at most (its depth is counted whole)


def _day_of(key: str) -> str:
    return key.removeprefix(event_layout.REJECTED_EVENTS).split("/", 1)[0]


def invalid_records(bucket: Bucket, date_from: str | None, date_to: str | None) -> list[dict[str, Any]]:
    """The invalid events kept under rejected/events/<day>/ (sales records are listed from their
    DLQ instead, `parked_records`), each with its reasons."""
    out = []
    for info in bucket.list(event_layout.REJECTED_EVENTS):
        day = _day_of(info.key)
        if (date_from and day < date_from) or (date_to and day > date_to):
            continue
        try:
            doc = bucket.get_json(info.key)
        except (ObjectMissing, ValueError):
            continue
        if doc.get("entity") == kinds.SALES.name:
            continue  # a sales record: listed from the sales DLQ
        out.append(
            {
                "source": EVENTS, "kind": "record", "day": day, "file": None, "line": None,
                "reason": _reasons(doc.get("reasons")), "detail": _text(doc.get("body")),
                "batch_id": None, "run_id": None, "key": info.key,
            }
        )  # fmt: skip
    return out


def parked_records(sqs: Any, sales_dlq_url: str) -> list[dict[str, Any]]:
    """The incomplete sales records in the sales DLQ: file, index in it, reasons."""
    out = []
    for message in queues.peek(sqs, sales_dlq_url, PEEK):
        day = (message["sent_at"] or "")[:10] or None
        for view in parked_views(message["body"]):
            out.append(
                {
                    "source": SALES, "kind": "record", "day": day, "file": view["file"], "line": view["index"],
                    "reason": _reasons(view["reasons"]), "detail": _text(view["record"]),
                    "batch_id": None, "run_id": None, "key": None,
                }
            )  # fmt: skip
    return out


def rejected_sales_files(bucket: Bucket) -> list[dict[str, Any]]:
    """Sales files rejected whole (not JSON, no orders list, no records), with their reason."""
    out = []
    for info in bucket.list(REJECTED_SALES):
        try:
            doc = bucket.get_json(info.key)
        except (ObjectMissing, ValueError):
            continue
        day = info.last_modified.date().isoformat() if info.last_modified else None
        out.append(
            {
                "source": SALES, "kind": "file", "day": day, "file": layout.file_name(str(doc.get("key", ""))),
                "line": None, "reason": doc.get("reason"), "detail": doc.get("message"),
                "batch_id": None, "run_id": None, "key": info.key,
            }
        )  # fmt: skip
    return out


def dead_letters(sqs: Any, events_dlq_url: str) -> list[dict[str, Any]]:
    """Messages the consumer failed on past the retries, waiting in the events DLQ (`ecompipe
    events redrive` moves them back)."""
    return [
        {
            "source": EVENTS_DLQ, "kind": "message", "day": (m["sent_at"] or "")[:10] or None,
            "file": None, "line": None,
            "reason": "retries_exhausted", "detail": _text(m["body"]),
            "batch_id": None, "run_id": None, "key": m["message_id"],
        }
        for m in queues.peek(sqs, events_dlq_url, PEEK)
    ]  # fmt: skip


def published_alerts(bucket: Bucket) -> list[dict[str, Any]]:
    """Every alert the consumer published (large order, invalid data, low stock), from its record."""
    out = []
    for kind in alerts.KINDS:
        for info in bucket.list(f"{event_layout.ALERTS}{kind}/"):
            try:
                doc = bucket.get_json(info.key)
            except (ObjectMissing, ValueError):
                continue
            at = str(doc.pop("published_at", "")) or None
            out.append({"source": EVENTS, "kind": kind, "at": at, "message": doc})
    return out


def _reasons(reasons: Any) -> str | None:
    """`field: reason; ...` from the problems a record was kept with."""
    said = [f"{r.get('field')}: {r.get('reason')}" if isinstance(r, dict) else str(r) for r in reasons or []]
    return "; ".join(said) or None


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= DETAIL else text[: DETAIL - 1] + "…"


def activity(dynamodb: Any, tables: dict[str, str], bucket: Bucket, sqs: Any, dlq_url: str | None) -> dict[str, Any]:
    """The real-time side at a glance: entities per table, and per day the records applied (the
    consumer's markers), the entities whose latest accepted event arrived that day, the invalid
    records kept and the messages that reached the DLQ."""
    days: dict[str, dict[str, int]] = {}

    def add(day: str | None, what: str, n: int = 1) -> None:
        if day:
            days.setdefault(day, {"applied": 0, "updated": 0, "invalid": 0, "dlq": 0})[what] += n

    counts = {}
    for entity, table in tables.items():
        counts[entity] = 0
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="received_at", ConsistentRead=True
        )
        try:
            for page in pages:
                counts[entity] += int(page["Count"])
                for item in page["Items"]:
                    add(item.get("received_at", {}).get("S", "")[:10] or None, "updated")
        except ClientError as exc:
            if not is_missing(exc):
                raise
            del counts[entity]  # the events workload has no such table here
    for info in bucket.list(event_layout.REJECTED_EVENTS):
        add(_day_of(info.key), "invalid")
    for info in bucket.list(event_layout.ACTIVITY):
        counted = event_layout.activity_count(info.key)
        if counted is not None:
            add(counted[0], "applied", counted[1])
    for message in queues.peek(sqs, dlq_url, PEEK) if dlq_url else []:
        add((message["sent_at"] or "")[:10] or None, "dlq")
    return {"tables": counts, "days": [{"day": d, **n} for d, n in sorted(days.items())]}
