"""Event purchases into the batch pipeline: the consumer marks each purchase it stores, and a
landing (`ecompipe events land`, on AWS a Lambda every minute that lands every
ECOMPIPE_LANDING_SECONDS: events.landing.handler) writes the
marked purchases, as the purchases table holds them now, into incoming/ as one seed-dialect pair of
orders and order_items files. The trigger counts them like any upload; the validator, the curated
upsert (newest batch wins, by order id and item key) and the KPI recomputation of the affected dates
do the rest, so an order seen as a CSV row and as an event is counted once, and a later status
event changes the KPIs of its date.

Nothing is lost between the steps: a marker is written after the purchase is stored (a retry of
the message writes it again), and deleted only after both files are in incoming/; a landing that
stops in between lands the same purchases again, which the upsert counts once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecompipe.aws import clients as aws
from ecompipe.aws import dynamo
from ecompipe.aws.objects import Bucket
from ecompipe.core import event_layout, layout
from ecompipe.core.observability import logger
from ecompipe.core.settings import Settings
from events import purchase_rows
from events.kinds import PURCHASES

CHUNK = 10_000  # purchases per pair of files
_GET_BATCH = 100  # BatchGetItem's limit


def mark(bucket: Bucket, purchase_id: str, digest: str) -> None:
    """Say that this purchase changed (one empty object; the same payload again is the same key)."""
    bucket.put_bytes(event_layout.landing_marker_key(digest, purchase_id), b"")


@dataclass
class Landed:
    purchases: int = 0
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # marked, but not in the table (deleted by hand)

    def to_json(self) -> dict[str, Any]:
        return {"purchases": self.purchases, "files": self.files, "missing": self.missing}


def land(settings: Settings, dynamodb: Any, bucket: Bucket, now: datetime | None = None) -> Landed:
    """Land every marked purchase (in pairs of files of at most CHUNK purchases)."""
    markers = bucket.list(event_layout.LANDING)
    landed = Landed()
    by_id: dict[str, list[str]] = {}
    for info in markers:
        by_id.setdefault(event_layout.landing_marker_id(info.key), []).append(info.key)
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stored = dict(_stored(settings, dynamodb, bucket, chunk))
        landed.missing += [i for i in chunk if i not in stored]
        if stored:
            landed.files += _write_pair(bucket, [stored[i] for i in chunk if i in stored], now)
            landed.purchases += len(stored)
        bucket.delete_keys([key for i in chunk for key in by_id[i]])
    if landed.purchases or landed.missing:
        logger.info("landed event purchases", extra=landed.to_json())
    return landed


def _stored(settings: Settings, dynamodb: Any, bucket: Bucket, ids: list[str]) -> Iterator[tuple[str, dict]]:
    """(purchase id, the purchase as stored), read consistently; a claim-checked one from S3."""
    table = PURCHASES.table(settings)
    for start in range(0, len(ids), _GET_BATCH):
        keys = [dynamo.dump({"purchase_id": i}) for i in ids[start : start + _GET_BATCH]]
        request: dict[str, Any] = {table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            got = dynamodb.batch_get_item(RequestItems=request)
            for raw in got.get("Responses", {}).get(table, []):
                item = dynamo.load(raw)
                if "claim_s3" in item:
                    item = bucket.get_json(str(item["claim_s3"]).split("/", 3)[3])
                yield str(item["purchase_id"]), item
            request = got.get("UnprocessedKeys") or {}


def _write_pair(bucket: Bucket, purchases: list[dict], now: datetime | None) -> list[str]:
    """Items first, orders second: a batch that starts in between finds the items' orders later
    (items of unknown orders wait in pending/), never an order without its lines for good."""
    orders_name, items_name = event_layout.landed_file_names(f"{now or datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
    items_rows = [row for p in purchases for row in purchase_rows.item_rows(p)]
    orders_rows = [purchase_rows.order_row(p) for p in purchases]
    written = []
    for name, header, rows in (
        (items_name, purchase_rows.ITEMS_HEADER, items_rows),
        (orders_name, purchase_rows.ORDERS_HEADER, orders_rows),
    ):
        key = layout.incoming_key(name)
        bucket.put_bytes(key, purchase_rows.csv_bytes(header, rows), "text/csv")
        written.append(key)
    return written


def tick_offsets(every: int) -> list[int]:
    """The seconds into its minute at which the landing Lambda lands: every `every` seconds, the
    last one a whole interval before the next minute's invocation."""
    every = max(1, min(60, every))
    return list(range(0, 60 - every + 1, every))


def handler(_event: dict[str, Any], _context: Any = None) -> dict[str, Any]:
    """The scheduled Lambda (every minute, the shortest schedule): land what is marked every
    ECOMPIPE_LANDING_SECONDS within its minute, so a stored purchase waits at most that long to be
    landed; each landing's pair asks the trigger for its batch at once (trigger.decision)."""
    settings = Settings.from_env()
    bucket = Bucket(aws.client("s3", settings), settings.bucket)
    dynamodb = aws.client("dynamodb", settings)
    begun, total = time.monotonic(), Landed()
    for offset in tick_offsets(settings.landing_seconds):
        time.sleep(max(0.0, begun + offset - time.monotonic()))
        landed = land(settings, dynamodb, bucket)
        total.purchases += landed.purchases
        total.files += landed.files
        total.missing += landed.missing
    return total.to_json()
