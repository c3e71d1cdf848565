"""What leaves the consumer besides entity writes: invalid records kept in S3 for inspection, and
alerts published on SNS, each recorded in S3 so it is published once."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout
from events.alerts import Alert


class Outbox:
    def __init__(self, bucket: Bucket, sns: Any, topic_arn: str, sqs: Any = None, sales_dlq_url: str = "") -> None:
        self.bucket = bucket
        self.sns = sns
        self.topic_arn = topic_arn
        self.sqs = sqs
        self.sales_dlq_url = sales_dlq_url

    def keep_invalid(self, digest: str, record: dict[str, Any], now: datetime, park: bool = False) -> str:
        """Keep an invalid record (body, reasons, message id) under rejected/events/; the same body
        again is kept once. With `park` (an incomplete sales record) it also goes to the sales DLQ,
        once: parked first, kept after, so a failure in between parks it again rather than never.
        Returns its key."""
        key = event_layout.rejected_event_key(now.date().isoformat(), digest)
        # ASCII escapes: an invalid body may hold text no encoding can write (a lone surrogate)
        text = json.dumps(record, indent=2, ensure_ascii=True)
        if park:
            if self.bucket.exists(key):
                return key
            self.sqs.send_message(QueueUrl=self.sales_dlq_url, MessageBody=text)
        self.bucket.put_once(key, text.encode())
        return key

    def count_applied(self, applied: int, now: datetime) -> None:
        """Say how many records a consumer batch applied (one empty marker, its count in its name)."""
        if applied > 0:
            key = event_layout.activity_key(now.date().isoformat(), applied, uuid.uuid4().hex)
            self.bucket.put_bytes(key, b"")

    def count_batch(self, counts: Counter[tuple[str, str]], batch: str, now: datetime) -> None:
        """Say what a consumer batch did, per entity and outcome (one empty marker, the counts in
        its name, under the time: events.summary sums an interval's)."""
        if not counts:
            return
        by_entity: dict[str, dict[str, int]] = {}
        for (entity, outcome), n in counts.items():
            by_entity.setdefault(entity, {})[outcome] = n
        token = re.sub(r"[^A-Za-z0-9_-]", "-", batch)[:32] + "-" + uuid.uuid4().hex[:12]
        self.bucket.put_bytes(event_layout.tally_key(f"{now:%Y-%m-%dT%H%M%S}", token, by_entity), b"")

    def publish(self, alert: Alert) -> bool:
        """Publish an alert unless its record says it was: published first, recorded after, so a
        failure in between repeats it rather than losing it (at least once, duplicates rare)."""
        key = event_layout.alert_key(alert.kind, alert.alert_id)
        if self.bucket.exists(key):
            return False
        self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=alert.subject[:100],
            Message=json.dumps(alert.message, sort_keys=True, ensure_ascii=True),
            MessageAttributes={"alert": {"DataType": "String", "StringValue": alert.kind}},
        )
        record = {**alert.message, "published_at": datetime.now(UTC).isoformat()}
        self.bucket.put_once(key, json.dumps(record, sort_keys=True, ensure_ascii=True).encode())
        return True


def parked_views(text: str) -> list[dict[str, Any]]:
    """A sales DLQ message as a person reads it: per record, its source file and index, the reasons
    and the record. Three writers: the consumer (an invalid record as kept, the workflow's envelope
    in `body`), and the sales workflow (a record, or a batch of entries, the events queue refused)."""
    doc = json.loads(text)
    if "entries" in doc:  # the workflow's, a batch: each entry's body is the envelope
        return [_view(_json_or_text(e.get("MessageBody", "")), doc) for e in doc["entries"]]
    if "body" in doc:  # the consumer's
        return [_view(_json_or_text(doc["body"]), doc)]
    return [_view({"sales_record": doc.get("record"), **doc}, doc)]  # the workflow's, one record


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _view(envelope: Any, doc: dict[str, Any]) -> dict[str, Any]:
    source = envelope if isinstance(envelope, dict) else {}
    return {
        "file": source.get("source_file"),
        "index": source.get("source_index"),
        "reasons": doc.get("reasons", []),
        "record": source.get("sales_record", envelope),
        "message_id": doc.get("message_id"),
    }
