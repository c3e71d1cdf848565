"""Stock that moves with sales (pure): what a purchase takes from stock and gives back, as legs,
each applied once per purchase whatever the order and number of its versions (events.records).

A purchase in a selling state (paid, processing, shipped, delivered, completed) takes its items'
quantities; one in a state that undoes the sale (cancelled, refunded, returned, failed) takes them
and gives them back. So a purchase seen paid and then cancelled, or cancelled first and paid
later (newest wins: it is cancelled), or only ever cancelled, ends with the stock as it was, and
one seen paid, shipped and delivered takes once. A pending purchase (no status) takes nothing.
Items come from the version that applies a leg first. Each item is taken from its own
`warehouse_id`, else the purchase's, else ECOMPIPE_SALES_WAREHOUSE."""

from __future__ import annotations

from collections import defaultdict

from events.models import Purchase

TAKE, GIVE_BACK = "take", "give_back"
SELLING = frozenset({"paid", "processing", "shipped", "delivered", "completed"})
UNDOING = frozenset({"cancelled", "refunded", "returned", "failed"})


def legs(purchase: Purchase, default_warehouse: str) -> list[tuple[str, dict[str, list[tuple[str, int]]]]]:
    """(leg, product -> [(warehouse, change in stock)]) for each leg this version applies."""
    status = purchase.status or "pending"
    if status not in SELLING | UNDOING:
        return []
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for item in purchase.items:
        warehouse = item.warehouse_id or purchase.warehouse_id or default_warehouse
        taken[(item.product_id, warehouse)] += item.quantity
    out = [(TAKE, _by_product(taken, -1))]
    if status in UNDOING:
        out.append((GIVE_BACK, _by_product(taken, +1)))
    return out


def _by_product(quantities: dict[tuple[str, str], int], sign: int) -> dict[str, list[tuple[str, int]]]:
    moves: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (product, warehouse), quantity in sorted(quantities.items()):
        moves[product].append((warehouse, sign * quantity))
    return dict(moves)
