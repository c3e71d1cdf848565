"""One consumer batch (the record handler Powertools' BatchProcessor calls): each SQS record read,
routed and applied once, invalid ones kept and summarised in one alert when the batch ends.

Raising from `record` makes the record a batch item failure: SQS delivers it again, and after
max_receive_count deliveries moves it to the DLQ. Only transient trouble raises (throttling, 5xx,
a delivery racing another): an invalid record is kept and returns normally, never retried.

Exactly one effect: Powertools idempotency (DynamoDB) keyed by the payload's digest turns a
redelivered or re-sent payload into a replay of the first outcome, without touching the tables;
and every table write is conditional (events.store), so even a record that passes idempotency
twice (a crash between its write and the idempotency record, an expired record) changes nothing
the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

from ecompipe.core import event_layout, money
from ecompipe.core.observability import logger
from ecompipe.core.settings import Settings
from events import alerts, items, kinds, landing, patches, routing, sales_runs, sales_stock
from events.models import Inventory, Purchase
from events.outbox import Outbox
from events.store import DUPLICATE, EFFECT_TTL_SECONDS, INVALID, SUPERSEDED, EntityStore

UNKNOWN = "unknown"  # an invalid record routing could not tell the entity of


@dataclass
class Tally:
    """What the consumer did, per message outcome and per alert kind published."""

    outcomes: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    by_entity: Counter[tuple[str, str]] = field(default_factory=Counter)  # (entity, outcome)

    def to_json(self) -> dict[str, Any]:
        return {"outcomes": dict(self.outcomes), "alerts": dict(self.alerts)}


class Consumer:
    def __init__(
        self, settings: Settings, store: EntityStore, outbox: Outbox, idempotency: BasePersistenceLayer
    ) -> None:
        self.settings = settings
        self.store = store
        self.outbox = outbox
        cents, _ = money.decimal_cents(settings.large_order_total)
        self.large_order = money.to_decimal(int(cents or 0))
        self.config = IdempotencyConfig(
            event_key_jmespath="digest", expires_after_seconds=EFFECT_TTL_SECONDS, response_hook=_replayed
        )
        self._apply_once = idempotent_function(
            self._apply, data_keyword_argument="work", persistence_store=idempotency, config=self.config
        )
        self.tally = Tally()
        self._invalid: list[dict[str, Any]] = []

    def begin(self, context: Any = None) -> None:
        self._invalid = []
        if context is not None:
            self.config.register_lambda_context(context)

    def record(self, record: SqsRecordModel) -> str:
        """Handle one SQS record; returns its outcome (applied, superseded, duplicate or invalid)."""
        now = datetime.now(UTC)
        result = routing.read(record.body)
        if isinstance(result, routing.Invalid):
            self._keep_invalid(record, result, now)
            self._judged(result.origin, sales_runs.DLQ)
            self.tally.outcomes[INVALID] += 1
            self.tally.by_entity[(result.entity or UNKNOWN, INVALID)] += 1
            return INVALID
        sent_ms = int(record.attributes.SentTimestamp.timestamp() * 1000)
        work = {"digest": result.digest, "entity": result.entity.name}
        done = self._apply_once(work=work, accepted=result, sent_ms=sent_ms)
        self._judged(result.origin, sales_runs.COMPLETE)  # (after its effect: a repeat counts too)
        self.tally.outcomes[done["outcome"]] += 1
        self.tally.by_entity[(result.entity.name, str(done["outcome"]))] += 1
        self.tally.alerts.update(done["alerts"])
        return str(done["outcome"])

    def _judged(self, origin: tuple[str, int] | None, outcome: str) -> None:
        """A record of a sales workflow's execution counted once for it (events.sales_runs)."""
        if origin is not None:
            sales_runs.judged(self.store.db, self.settings, origin[0], origin[1], outcome)

    def end(self, batch: str) -> None:
        """One alert for the batch's invalid records (if any)."""
        alert = alerts.invalid_summary(self._invalid, batch)
        if alert is not None and self.outbox.publish(alert):
            self.tally.alerts[alerts.INVALID] += 1
        if self._invalid:
            logger.info("invalid event records", extra={"count": len(self._invalid), "batch": batch})
        self._invalid = []

    def _keep_invalid(self, record: SqsRecordModel, invalid: routing.Invalid, now: datetime) -> None:
        reasons = [p.to_json() for p in invalid.problems]
        kept = {
            "message_id": record.messageId,
            "received_at": now.isoformat(),
            "entity": invalid.entity,
            "reasons": reasons,
            "body": record.body,
        }
        park = invalid.entity == kinds.SALES.name
        key = self.outbox.keep_invalid(routing.body_digest(record.body, invalid.origin), kept, now, park=park)
        self._invalid.append({"message_id": record.messageId, "entity": invalid.entity, "reasons": reasons, "key": key})

    def _apply(self, work: dict[str, str], accepted: routing.Accepted, sent_ms: int) -> dict[str, Any]:
        """The effect of one valid record and the alerts it raises (run once per digest)."""
        now = datetime.now(UTC)
        at = now.isoformat()
        record = accepted.record
        published: list[str] = []
        if accepted.entity is kinds.ACTIVITY:
            expires = int((now + timedelta(days=self.settings.activity_ttl_days)).timestamp())
            outcome = self.store.append(accepted.entity, items.activity_item(accepted, at, expires))
        elif isinstance(record, Inventory):
            outcome, states = self.store.move_stock(
                record.product_id, record.moves(), record.stock_threshold, accepted.digest, at
            )
            published += self._low_stock(record.product_id, states)
        else:
            seq = items.order_of(record, sent_ms)
            outcome, merged = self.store.upsert(accepted.entity, items.item_of(accepted, seq, at), accepted.patch)
            if accepted.entity is kinds.PURCHASES:
                purchase = record if merged is None else patches.stored_purchase(merged)
                assert purchase is None or isinstance(purchase, Purchase)
                published += self._purchase(purchase, outcome, accepted.digest, at)
        return {"outcome": outcome, "alerts": published}

    def _purchase(self, purchase: Purchase | None, outcome: str, digest: str, at: str) -> list[str]:
        """What a stored purchase sets off (None: partial, waiting for its whole record: nothing yet)."""
        if purchase is None:
            return []
        published: list[str] = []
        if outcome != SUPERSEDED:
            # stored (or stored before a crash): the KPIs hear of it, and the alert goes once
            landing.mark(self.outbox.bucket, purchase.purchase_id, digest)
            published += self._large_order(purchase)
        # (an older version too: its legs may not be applied yet)
        return published + self._sold(purchase, digest, at)

    def _sold(self, purchase: Purchase, digest: str, at: str) -> list[str]:
        """The purchase's stock legs (events.sales_stock), each once per purchase: a leg is marked
        after its moves, and a move retried before the mark is one the stock item counted already."""
        published: list[str] = []
        for leg, moves in sales_stock.legs(purchase, self.settings.sales_warehouse):
            key = event_layout.stock_leg_key(purchase.purchase_id, leg)
            if self.outbox.bucket.exists(key):
                continue
            leg_digest = f"{leg}:{purchase.purchase_id}"
            for product_id, legs in moves.items():
                _, states = self.store.move_stock(product_id, legs, None, leg_digest, at, tracked_only=True)
                published += self._low_stock(product_id, [s for s in states if "stock" in s])
            self.outbox.bucket.put_once(key, digest.encode(), "text/plain")
        return published

    def _large_order(self, purchase: Purchase) -> list[str]:
        total = purchase.total
        alert = alerts.large_order(
            purchase.purchase_id, purchase.customer_id, total, len(purchase.items), self.large_order
        )
        return [alert.kind] if alert is not None and self.outbox.publish(alert) else []

    def _low_stock(self, product_id: str, states: list[dict[str, Any]]) -> list[str]:
        """Alert once per crossing below the threshold; re-arm when the level is back up."""
        published = []
        for state in states:
            warehouse = str(state["warehouse_id"])
            if int(state.get("stock", 0)) >= int(state.get("threshold", 0)):
                if state.get("low"):
                    self.store.rearm(product_id, warehouse)
                continue
            if not state.get("low"):
                claimed = self.store.claim_low(product_id, warehouse)
                if claimed is None:
                    continue
                state = claimed
            alert = alerts.low_stock(
                product_id, warehouse, int(state["stock"]), int(state["threshold"]), int(state.get("crossings", 1))
            )
            if self.outbox.publish(alert):
                published.append(alert.kind)
        return published


def _replayed(response: dict[str, Any], _record: Any) -> dict[str, Any]:
    """A payload seen before: the first outcome stands; nothing was done, nothing is alerted."""
    return {**response, "outcome": DUPLICATE, "alerts": []}
