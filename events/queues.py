"""The queue and its DLQ (SQS, an injected client): where they are, how deep, and moving what sits
in the DLQ back to the queue safely."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# SQS's own batch limit for receive, send and delete
BATCH = 10
_DEPTH = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]


def queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("http://", "https://")):
        return name_or_url
    return str(sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"])


def topic_arn(sns: Any, name_or_arn: str) -> str:
    """An ARN as given; a name is looked up by creating it (idempotent on SNS)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return str(sns.create_topic(Name=name_or_arn)["TopicArn"])


def depth(sqs: Any, url: str) -> int:
    """Messages in a queue: waiting, in flight and delayed (SQS's approximate counts)."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_DEPTH)["Attributes"]
    return sum(int(attrs.get(name, 0)) for name in _DEPTH)


def redrive(
    sqs: Any, dlq_url: str, target_url: str, limit: int | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Move DLQ messages back to the queue, bodies and attributes unchanged: each is deleted from
    the DLQ only after the queue accepted it, so none is lost; one sent but not yet deleted (a
    crash in between) is sent again later, and the consumer's idempotency gives it one effect.
    Returns how many moved."""
    moved = 0
    while limit is None or moved < limit:
        want = BATCH if limit is None else min(BATCH, limit - moved)
        got = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not got:
            return moved
        entries = [{"Id": str(i), "MessageBody": m["Body"], **_attributes(m)} for i, m in enumerate(got)]
        sent = sqs.send_message_batch(QueueUrl=target_url, Entries=entries).get("Successful", [])
        done = [got[int(s["Id"])] for s in sent]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        moved += len(done)
        if progress:
            progress(moved)
        if len(done) < len(got):  # the queue refused some: stop rather than spin; they stay in the DLQ
            return moved
    return moved


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    attrs = message.get("MessageAttributes")
    return {"MessageAttributes": attrs} if attrs else {}


def peek(sqs: Any, url: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Up to `limit` messages of a queue, read and left in place (visibility 0): {message_id, body,
    receive_count, sent_at}. A dead-letter queue is looked at this way before anything is moved."""
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=BATCH, VisibilityTimeout=0, AttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        new = [m for m in got if m["MessageId"] not in seen]
        if not new:
            break
        for m in new:
            attributes = m.get("Attributes", {})
            count = int(attributes.get("ApproximateReceiveCount", 0))
            sent = attributes.get("SentTimestamp")
            sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat() if sent else None
            seen[m["MessageId"]] = {"message_id": m["MessageId"], "body": m["Body"], "receive_count": count,
                                    "sent_at": sent_at}  # fmt: skip
    return list(seen.values())[:limit]
