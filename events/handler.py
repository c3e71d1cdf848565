"""The consumer Lambda: events.handler.handler(event, context), behind an SQS event source
mapping with ReportBatchItemFailures. Powertools does the batch (partial failures), the parsing of
the SQS records, idempotency, the structured logs, the EMF metrics and the tracing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from ecompipe.aws import clients as aws
from ecompipe.aws.objects import Bucket
from ecompipe.core.observability import NAMESPACE, logger
from ecompipe.core.settings import Settings
from events import queues
from events.outbox import Outbox
from events.records import Consumer
from events.store import APPLIED, EntityStore

SERVICE = "ecompipe-events"
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# metric name per outcome / alert kind (CloudWatch EMF; the alarms watch the DLQ and Lambda errors)
OUTCOME_METRICS = {
    "applied": "EventsApplied",
    "superseded": "EventsSuperseded",
    "duplicate": "EventsDuplicate",
    "invalid": "EventsInvalid",
}
ALERT_METRICS = {"large_order": "LargeOrderAlerts", "invalid": "InvalidAlerts", "low_stock": "LowStockAlerts"}


def consumer(settings: Settings) -> Consumer:
    """The consumer with its clients, from settings."""
    dynamodb = aws.client("dynamodb", settings)
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    sns, sqs = aws.client("sns", settings), aws.client("sqs", settings)
    outbox = Outbox(
        bucket, sns, queues.topic_arn(sns, settings.alerts_topic), sqs, queues.queue_url(sqs, settings.sales_dlq)
    )
    return Consumer(
        settings,
        EntityStore(dynamodb, bucket, settings),
        outbox,
        DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb),
    )


def make_handler(consumer_of: Callable[[], Consumer]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler around a consumer; `ecompipe events consume` runs this same function."""
    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel, raise_on_entire_batch_failure=False)

    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        work = consumer_of()
        outcomes, sent, by_entity = work.tally.outcomes.copy(), work.tally.alerts.copy(), work.tally.by_entity.copy()
        work.begin(context)
        response = process_partial_response(
            event=event, record_handler=work.record, processor=processor, context=context
        )
        batch = getattr(context, "aws_request_id", None) or "local"
        work.end(batch)
        now = datetime.now(UTC)
        work.outbox.count_applied(work.tally.outcomes[APPLIED] - outcomes[APPLIED], now)
        work.outbox.count_batch(work.tally.by_entity - by_entity, batch, now)
        failed = len(response.get("batchItemFailures", []))
        for outcome, name in OUTCOME_METRICS.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=work.tally.outcomes[outcome] - outcomes[outcome])
        for kind, name in ALERT_METRICS.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=work.tally.alerts[kind] - sent[kind])
        metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=failed)
        logger.info("consumer batch", extra={"records": len(event.get("Records", [])), "failed": failed})
        return response

    return handler


@functools.lru_cache(maxsize=4)
def _consumer(settings: Settings) -> Consumer:
    """Built once per container (and per settings), reused by warm invocations."""
    return consumer(settings)


handler = make_handler(lambda: _consumer(Settings.from_env()))
