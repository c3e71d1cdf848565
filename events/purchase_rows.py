"""Purchases as the batch pipeline reads them (pure): rows of the seed dialect's orders and
order_items files (docs/validation.md), so event purchases reach the KPIs through the validator and
the curated upsert like any upload, keyed as a CSV batch keys the same orders (docs/events.md).

- order_id = purchase_id, user_id = customer_id, order_date = purchased_at, total_amount = the
  total as sent (else the sum of the lines), status by STATUS (a purchase without one is pending);
- one order_items row per product of the purchase (seed items are keyed by order and product):
  lines of one product at one price are one row with their quantities summed; a product at two
  prices stays two rows, and the validator rejects the second as a duplicate key, in its report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ecompipe.core import money

ORDERS_HEADER = ("order_id", "user_id", "order_date", "total_amount", "status")
ITEMS_HEADER = ("order_id", "product_id", "quantity", "unit_price")
# A purchase's status as the pipeline knows statuses (validator/dialects.py KNOWN_STATUSES):
# paid and not yet shipped is processing; a failed payment never became a sale; refunded money is
# counted as a return.
STATUS = {
    "pending": "pending",
    "paid": "processing",
    "processing": "processing",
    "shipped": "shipped",
    "delivered": "delivered",
    "completed": "completed",
    "failed": "cancelled",
    "cancelled": "cancelled",
    "refunded": "returned",
    "returned": "returned",
}
NO_STATUS = "pending"


def order_row(purchase: dict[str, Any]) -> tuple[str, ...]:
    """The orders row of a stored purchase (its fields as the purchases table holds them)."""
    lines = purchase.get("items") or []
    total = purchase.get("total_amount")
    cents = _cents(total) if total is not None else sum(_cents(i["price"]) * int(i["quantity"]) for i in lines)
    return (
        str(purchase["purchase_id"]),
        str(purchase["customer_id"]),
        str(purchase.get("purchased_at") or ""),  # none: the validator rejects the row (missing_value)
        money.format_cents(cents),
        STATUS.get(str(purchase.get("status") or NO_STATUS), NO_STATUS),
    )


def item_rows(purchase: dict[str, Any]) -> list[tuple[str, ...]]:
    """The order_items rows of a stored purchase: one per (product, price), in the order sent."""
    quantities: dict[tuple[str, int], int] = {}
    for line in purchase.get("items") or []:
        key = (str(line["product_id"]), _cents(line["price"]))
        quantities[key] = quantities.get(key, 0) + int(line["quantity"])
    order_id = str(purchase["purchase_id"])
    return [(order_id, product, str(qty), money.format_cents(cents)) for (product, cents), qty in quantities.items()]


def csv_bytes(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _cents(value: Any) -> int:
    """Exact cents of a stored amount (a Decimal from DynamoDB, or its text from a claim check)."""
    cents, why = money.decimal_cents(str(value if not isinstance(value, Decimal) else format(value, "f")))
    if cents is None:
        raise ValueError(f"stored amount {value!r} is not money ({why})")
    return cents
