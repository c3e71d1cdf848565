"""A validated record as the item its table stores (pure): keys, the fields as sent (free-form maps
and undeclared fields as JSON text), and the two attributes that make writes exactly-once and
newest-wins: `_seq` (the update's order) and `_digest` (the payload's identity)."""

from __future__ import annotations

import json
from typing import Any

from events import kinds
from events.fields import epoch_micros
from events.models import Activity, Model, Sale, Versioned
from events.routing import Accepted

SEQ, DIGEST = "_seq", "_digest"
# beside them on entities that take patches (events.patches): which fields patches won, whether no
# whole record came yet, and a token each merged write changes (the merge's condition)
PATCHED, PARTIAL, REV = "_patched", "_partial", "_rev"


def order_of(record: Model, sent_at_ms: int) -> int:
    """The order of an update: its `version` when sent, else `updated_at` in microseconds, else the
    time the queue received it (SQS SentTimestamp). One entity's updates should use one of them."""
    if isinstance(record, Versioned):
        if record.version is not None:
            return record.version
        if record.updated_at is not None:
            return epoch_micros(record.updated_at)
    return int(sent_at_ms) * 1000


def fields_of(record: Model) -> dict[str, Any]:
    """The record's fields that are set (undeclared ones, at any level, as JSON text in `extra`)."""
    return record.model_dump(exclude_none=True)


def item_of(accepted: Accepted, seq: int, received_at: str) -> dict[str, Any]:
    """The item for customers, purchases, products, subscriptions and sales (activity and inventory
    are written by their own rules: activity_item, and stock moves). A sale's keys live inside its
    order info: they are copied to the top, where the table's key is. A patch's item holds the
    fields it names, None for those it removes (events.patches merges it)."""
    record = accepted.record
    keys = record.keys() if isinstance(record, Sale) else {}
    fields = patch_fields(record) if accepted.patch else fields_of(record)
    return {**fields, **keys, SEQ: seq, DIGEST: accepted.digest, "received_at": received_at}


def patch_fields(record: Model) -> dict[str, Any]:
    """The fields a patch names, as item values (None: removed)."""
    dumped = record.model_dump(exclude_none=True)
    return {name: dumped.get(name) for name in record.model_fields_set}


def activity_item(accepted: Accepted, received_at: str, expires_at: int) -> dict[str, Any]:
    """One activity, kept until `expires_at` (epoch seconds, the table's TTL attribute); sorted by
    its time within the user, and unique per payload."""
    record = accepted.record
    assert isinstance(record, Activity)
    return {
        **fields_of(record),
        "activity_key": f"{record.timestamp}#{accepted.digest}",
        DIGEST: accepted.digest,
        "received_at": received_at,
        "expires_at": expires_at,
    }


def payload_json(item: dict[str, Any]) -> bytes:
    return json.dumps(item, default=str, ensure_ascii=False, sort_keys=True).encode()


def size_of(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, closely enough to stay under its 400 KB limit."""
    return len(payload_json(item))


def claim_stub(item: dict[str, Any], entity: kinds.Entity, location: str, size: int) -> dict[str, Any]:
    """What stays in the table when the payload moves to S3: keys, order, identity and the short
    scalar fields; the rest is at `claim_s3`."""
    keep = {k: v for k, v in item.items() if not isinstance(v, dict | list) and len(str(v)) <= 1024}
    if PATCHED in item:  # (small, and what a whole record's write must see: events.store)
        keep[PATCHED] = item[PATCHED]
    return {**keep, **{k: item[k] for k in entity.keys}, "claim_s3": location, "claim_bytes": size}
