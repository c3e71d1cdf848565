"""The events workload's resources on an account or an emulator (`ecompipe init` locally; SAM
creates the same on AWS): the entity tables, the idempotency table, the queue with its DLQ, the
alerts topic. Idempotent."""

from __future__ import annotations

import json
from typing import Any

from ecompipe.aws import tables
from ecompipe.core.settings import Settings
from events.kinds import ACTIVITY, ENTITIES

# SQS: a consumer batch may take up to 6 x the Lambda timeout to come back (AWS's advice)
VISIBILITY_TIMEOUT_SECONDS = 360
RETENTION_SECONDS = 14 * 24 * 3600


def table_definitions(settings: Settings) -> list[dict]:
    defs = [tables.on_demand(e.table(settings), [(k, "S") for k in e.keys]) for e in ENTITIES]
    return [
        *defs,
        tables.on_demand(settings.idempotency_table, [("id", "S")]),
        tables.on_demand(settings.sales_runs_table, [("id", "S")]),
    ]


def ensure(settings: Settings, dynamodb: Any, sqs: Any, sns: Any) -> dict[str, str]:
    """Create what is missing; returns the queue URLs and the topic ARN."""
    tables.ensure(
        dynamodb,
        table_definitions(settings),
        ttl={
            ACTIVITY.table(settings): "expires_at",
            settings.idempotency_table: "expiration",
            settings.sales_runs_table: "expires_at",
        },
    )
    dlq_url = sqs.create_queue(
        QueueName=settings.events_dlq, Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
    queue_url = sqs.create_queue(
        QueueName=queue_name(settings.events_queue),
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "MessageRetentionPeriod": str(RETENTION_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    sales_dlq_url = sqs.create_queue(
        QueueName=queue_name(settings.sales_dlq), Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS)}
    )["QueueUrl"]
    topic_arn = sns.create_topic(Name=settings.alerts_topic.rsplit(":", 1)[-1])["TopicArn"]
    return {"queue_url": queue_url, "dlq_url": dlq_url, "sales_dlq_url": sales_dlq_url, "topic_arn": topic_arn}


def queue_name(name_or_url: str) -> str:
    return name_or_url.rstrip("/").rsplit("/", 1)[-1]
