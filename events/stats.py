"""`ecompipe events stats`: what the events workload holds, counted where it lives. Table counts are
distinct entities (items; inventory: product x warehouse), invalid records are the objects kept
under rejected/events/, alerts the records of the alerts published, dlq the DLQ's depth."""

from __future__ import annotations

from typing import Any

from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout
from ecompipe.core.settings import Settings
from events import alerts, queues
from events.kinds import ENTITIES


def count_items(dynamodb: Any, table: str) -> int:
    """Items in a table, counted by a paginated COUNT scan (exact; DescribeTable's count lags hours)."""
    total = 0
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += int(page["Count"])
    return total


def stats(settings: Settings, dynamodb: Any, bucket: Bucket, sqs: Any, dlq_url: str | None = None) -> dict[str, Any]:
    dlq_url = dlq_url or queues.queue_url(sqs, settings.events_dlq)
    return {
        "tables": {e.name: count_items(dynamodb, e.table(settings)) for e in ENTITIES},
        "invalid": bucket.count(event_layout.REJECTED_EVENTS),
        "dlq": queues.depth(sqs, dlq_url),
        "alerts": {kind: bucket.count(f"{event_layout.ALERTS}{kind}/") for kind in alerts.KINDS},
    }
