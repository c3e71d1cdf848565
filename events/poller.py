"""The SQS event source mapping, played locally (moto's needs Docker, and ignores
batchItemFailures): receive up to 10 messages with their attributes, build the Lambda's SQS event,
call the real handler, delete what succeeded, and make the failures visible again at once so the
next receive retries them (on AWS they wait out the visibility timeout). SQS itself moves a
message to the DLQ when it is received past maxReceiveCount."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from events import queues

# an event source mapping retries a failure after the visibility timeout; locally, at once
RETRY_VISIBILITY_SECONDS = 0


@dataclass
class LocalContext:
    """What the handler and Powertools read from a Lambda context."""

    function_name: str = "ecompipe-events-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ecompipe-events-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@dataclass
class Polled:
    batches: int = 0
    received: int = 0
    succeeded: int = 0
    failed: int = 0


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda receives from SQS for these messages (as boto3's ReceiveMessage gives them)."""
    return {"Records": [_record(m, queue_arn, region) for m in messages]}


def _record(m: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = {
        k[0].lower() + k[1:]: {
            "stringValue": v.get("StringValue"),
            "binaryValue": v.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": v["DataType"],
        }
        for k, v in (m.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def poll(
    sqs: Any,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    region: str,
    until_empty: bool = True,
    max_batches: int | None = None,
    progress: Callable[[Polled], None] | None = None,
) -> Polled:
    """Deliver the queue's messages to the handler in batches of up to 10, as the mapping does."""
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    polled = Polled()
    empty_receives = 0
    while max_batches is None or polled.batches < max_batches:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=queues.BATCH,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0 if until_empty else 1,
        ).get("Messages", [])
        if not got:
            empty_receives += 1
            if until_empty and (empty_receives >= 2 or queues.depth(sqs, queue_url) == 0):
                return polled
            continue
        empty_receives = 0
        response = handler(sqs_event(got, arn, region), LocalContext())
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        settle(sqs, queue_url, got, failed)
        polled.batches += 1
        polled.received += len(got)
        polled.failed += len(failed)
        polled.succeeded += len(got) - len(failed)
        if progress:
            progress(polled)
    return polled


def settle(sqs: Any, queue_url: str, messages: list[dict[str, Any]], failed: set[str]) -> None:
    """Delete what succeeded; make the failures visible again (they are retried by the next receive)."""
    done = [m for m in messages if m["MessageId"] not in failed]
    again = [m for m in messages if m["MessageId"] in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
        )
    if again:
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": RETRY_VISIBILITY_SECONDS}
                for i, m in enumerate(again)
            ],
        )
