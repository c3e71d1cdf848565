"""Test traffic for the queue (`ecompipe events produce`): a seeded mix of every entity's payloads,
with a share of invalid ones and of large orders, padded to a target size; and the sender
(SendMessageBatch, at a rate, with progress)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from events import queues

# SQS's limit for one message and for one SendMessageBatch call
MAX_MESSAGE_BYTES = 1024 * 1024
MIX = (
    ("purchases", 30), ("customers", 15), ("products", 15), ("subscriptions", 10), ("activity", 20), ("inventory", 10),
    ("sales", 5),
)  # fmt: skip
START = datetime(2025, 3, 1, tzinfo=UTC)


KINDS = tuple(name for name, _ in MIX)


def payloads(
    count: int,
    seed: int = 0,
    invalid_rate: float = 0.0,
    large_rate: float = 0.0,
    target_kb: int = 0,
    kinds: tuple[str, ...] = KINDS,
) -> Iterator[str]:
    """`count` message bodies of these kinds (in MIX's proportions); each one distinct (its own time
    or event id), so sent = kept."""
    rng = random.Random(seed)
    pool = max(10, count // 10)
    names, weights = zip(*[(n, w) for n, w in MIX if n in kinds], strict=True)
    for i in range(count):
        moment = (START + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        if rng.random() < invalid_rate:
            body: Any = _invalid(rng, i, moment)
        else:
            kind = rng.choices(names, weights)[0]
            body = _BUILDERS[kind](rng, i, pool, moment, rng.random() < large_rate)
        yield _padded(body, target_kb) if isinstance(body, dict) else body


def _money(cents: int) -> float:
    return round(cents / 100, 2)  # its JSON text has two places at most; the consumer reads it exactly


def _purchase(rng: random.Random, i: int, pool: int, moment: str, large: bool) -> dict:
    lines = [
        {"product_id": rng.randint(1, pool), "quantity": rng.randint(1, 3), "price": _money(rng.randint(100, 9999))}
        for _ in range(rng.randint(1, 3))
    ]
    if large:
        lines.append({"product_id": rng.randint(1, pool), "quantity": 5, "price": _money(rng.randint(20_000, 90_000))})
    total = sum(round(line["price"] * 100) * line["quantity"] for line in lines)
    return {
        "purchase_id": 100_000 + i,
        "customer_id": rng.randint(1, pool),
        "items": lines,
        "total_amount": _money(total),
        "status": rng.choice(["paid", "pending", "shipped"]),
        "purchased_at": moment,
    }


def _customer(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    n = rng.randint(1, pool)
    return {
        "customerId": n,
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
        "shipping_address": {"street": f"{n} Main St", "city": "Anytown", "postal_code": f"{10000 + n}"},
        "updated_at": moment,
    }


def _product(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    n = rng.randint(1, pool)
    return {
        "product_id": n,
        "name": f"Product {n}",
        "price": _money(rng.randint(100, 50_000)),
        "stock_quantity": rng.randint(0, 500),
        "category": rng.choice(["Electronics", "Jeans", "Outerwear", "Accessories"]),
        "updated_at": moment,
    }


def _subscription(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    n = rng.randint(1, pool)
    return {
        "subscription_id": n,
        "customer_id": rng.randint(1, pool),
        "plan": rng.choice(["Basic", "Premium"]),
        "status": rng.choice(["active", "paused", "cancelled"]),
        "next_billing_date": (START + timedelta(days=30 + i % 28)).date().isoformat(),
        "updated_at": moment,
    }


def _activity(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    return {
        "user_id": rng.randint(1, pool),
        "activity_type": rng.choice(["login", "product_view", "cart_add"]),
        "timestamp": moment,
        "device": rng.choice(["mobile", "desktop"]),
        "ip_address": f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    }


def _inventory(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    product, warehouse = rng.randint(1, pool), rng.randint(1, 3)
    if rng.random() < 0.3:
        return {
            "event_id": f"inv-{i}",
            "product_id": product,
            "quantity": rng.randint(1, 30),
            "from_warehouse_id": warehouse,
            "to_warehouse_id": warehouse % 3 + 1,
            "timestamp": moment,
        }
    field_name = "restocked_quantity" if rng.random() < 0.8 else "returned_quantity"
    return {
        "event_id": f"inv-{i}",
        "product_id": product,
        field_name: rng.randint(1, 100),
        "warehouse_id": warehouse,
        "stock_threshold": 20,
        "timestamp": moment,
    }


def _sale(rng: random.Random, i: int, pool: int, moment: str, _large: bool) -> dict:
    """A record of a sales file, as users write them (OrderId or orderId, quantities as text)."""
    n = rng.randint(1, pool)
    order = {"OrderId" if i % 2 else "orderId": str(200_000 + i), "item-id": str(rng.randint(1, pool)),
             "item-desc": f"Item {n}", "qty": str(rng.randint(1, 5))}  # fmt: skip
    return {"order-info": order, "contact-info": {"name": f"Customer {n}", "email": f"customer{n}@example.com"}}


_BUILDERS: dict[str, Callable[[random.Random, int, int, str, bool], dict]] = {
    "purchases": _purchase,
    "customers": _customer,
    "products": _product,
    "subscriptions": _subscription,
    "activity": _activity,
    "inventory": _inventory,
    "sales": _sale,
}


def _invalid(rng: random.Random, i: int, moment: str) -> Any:
    """One of the ways payloads go wrong; each distinct (it carries its index)."""
    kinds = [
        {"purchase_id": i, "customer_id": 1, "items": [{"product_id": 1, "quantity": 0, "price": 9.99}]},
        {"purchase_id": i, "customer_id": 1, "items": [{"product_id": 1, "quantity": 1, "price": "12.345"}]},
        {"customer_id": i, "name": "No Email", "email": "not-an-email"},
        {"subscription_id": i, "customer_id": 1, "plan": "Basic", "status": "on", "next_billing_date": "2025-02-30"},
        {"note": f"no entity here {i}"},
        f"not json {i} {{",
        {"user_id": i, "activity_type": "login", "timestamp": moment, "ip_address": "999.1.1.1"},
        {"order-info": {"OrderId": str(i), "item-id": "1", "item-desc": "No contact", "qty": "1"}},
    ]
    body = rng.choice(kinds)
    return body if isinstance(body, str) else _padded(body, 0)


def _padded(body: dict, target_kb: int) -> str:
    text = json.dumps(body, separators=(",", ":"))
    missing = target_kb * 1024 - len(text) - len(',"note":""')
    if missing > 0:
        text = json.dumps({**body, "note": "x" * missing}, separators=(",", ":"))
    return text


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def send(
    sqs: Any,
    queue_url: str,
    bodies: Iterable[str],
    batch_size: int = queues.BATCH,
    rate: float = 0.0,
    progress: Callable[[Sent], None] | None = None,
) -> Sent:
    """SendMessageBatch in batches of `batch_size` (each under SQS's 1 MiB per call), at most
    `rate` messages a second (0: as fast as the queue takes them)."""
    out = Sent()
    started = time.monotonic()
    for batch in _batches(bodies, batch_size):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(batch)]
        resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        out.sent += len(resp.get("Successful", []))
        for failure in resp.get("Failed", []):
            out.failed += 1
            if len(out.errors) < 10:
                out.errors.append(f"{failure.get('Code')}: {failure.get('Message')}")
        if progress:
            progress(out)
        if rate > 0:
            ahead = (out.sent + out.failed) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return out


def _batches(bodies: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    weight = 0
    for body in bodies:
        n = len(body.encode())
        if batch and (len(batch) >= size or weight + n > MAX_MESSAGE_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(body)
        weight += n
    if batch:
        yield batch
