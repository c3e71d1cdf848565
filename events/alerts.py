"""The alerts (pure): one SNS topic, the kind in the `alert` message attribute to filter on, the
numbers in the message. Each alert has an id that names it once: a large order alerts once per
purchase, low stock once per crossing below the threshold, and the invalid records of one
consumer batch make one alert (never one per record)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

LARGE_ORDER, INVALID, LOW_STOCK, SUMMARY = "large_order", "invalid", "low_stock", "summary"
KINDS = (LARGE_ORDER, INVALID, LOW_STOCK, SUMMARY)
EXAMPLES = 10  # invalid records an alert lists; the rest are counted and kept in S3


@dataclass(frozen=True)
class Alert:
    kind: str
    alert_id: str  # names the alert once (its marker in S3)
    subject: str
    message: dict[str, Any] = field(default_factory=dict)


def _id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def large_order(purchase_id: str, customer_id: str, total: Decimal, items: int, threshold: Decimal) -> Alert | None:
    """A purchase whose total is at or above the threshold, once per purchase."""
    if total < threshold:
        return None
    return Alert(
        LARGE_ORDER,
        _id(LARGE_ORDER, purchase_id),
        f"Large order {purchase_id[:40]}: {total}",
        {
            "alert": LARGE_ORDER,
            "purchase_id": purchase_id,
            "customer_id": customer_id,
            "total_amount": str(total),
            "items": items,
            "threshold": str(threshold),
        },
    )


def low_stock(product_id: str, warehouse_id: str, stock: int, threshold: int, crossing: int) -> Alert:
    """Stock fell below its threshold: once per crossing (the level must rise to the threshold
    again before the next one)."""
    return Alert(
        LOW_STOCK,
        _id(LOW_STOCK, product_id, warehouse_id, str(crossing)),
        f"Low stock: product {product_id[:40]} in warehouse {warehouse_id[:40]} at {stock}",
        {
            "alert": LOW_STOCK,
            "product_id": product_id,
            "warehouse_id": warehouse_id,
            "stock": stock,
            "threshold": threshold,
            "crossing": crossing,
        },
    )


def invalid_summary(invalid: list[dict[str, Any]], batch: str) -> Alert | None:
    """One alert for the invalid records of a consumer batch: how many, the reasons counted, where
    each record is kept, and the first few. `invalid` holds {message_id, entity, reasons, key}."""
    if not invalid:
        return None
    reasons: Counter[str] = Counter()
    for record in invalid:
        reasons.update({r["reason"].split(" (")[0][:80] for r in record["reasons"]})
    keys = sorted(r["key"] for r in invalid)
    return Alert(
        INVALID,
        _id(INVALID, *keys),
        f"{len(invalid)} invalid event record{'s' if len(invalid) != 1 else ''}",
        {
            "alert": INVALID,
            "batch": batch,
            "invalid_records": len(invalid),
            "by_entity": dict(Counter(r["entity"] or "unknown" for r in invalid)),
            "top_reasons": [{"reason": r, "count": n} for r, n in reasons.most_common(5)],
            "examples": [
                {"message_id": r["message_id"], "key": r["key"], "reasons": r["reasons"][:3]}
                for r in invalid[:EXAMPLES]
            ],
        },
    )


def summary(
    start: str, end: str, counts: dict[str, dict[str, int]], outcomes: tuple[str, ...], dlq: dict[str, int]
) -> Alert:
    """What the consumer did over [start, end) (UTC, YYYY-MM-DDTHH:MM), per outcome and per entity,
    and what waits in the dead-letter queues now: one message per interval, never one per event."""
    totals = {o: sum(c.get(o, 0) for c in counts.values()) for o in outcomes}
    waiting = sum(dlq.values())
    return Alert(
        SUMMARY,
        _id(SUMMARY, start, end),
        f"Events {start} to {end} UTC: {totals.get('applied', 0)} applied, {totals.get('invalid', 0)} invalid, "
        f"{waiting} in the DLQs",
        {
            "alert": SUMMARY,
            "from": start,
            "to": end,
            "totals": totals,
            "by_entity": {e: {o: c.get(o, 0) for o in outcomes} for e, c in sorted(counts.items())},
            "dlq": dlq,
        },
    )
