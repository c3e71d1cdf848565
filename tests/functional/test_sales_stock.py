"""Stock moves with sales (events.sales_stock): a purchase's items lower each product's stock once,
a cancellation or return puts them back once, whatever the order and redeliveries of its
versions; crossing the threshold alerts once per crossing; a product nobody stocks moves nothing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import kinds
from tests.support.events import World, send_redelivered

pytestmark = pytest.mark.functional

RESTOCK = {"product_id": "p", "restocked_quantity": 20, "warehouse_id": "main", "stock_threshold": 10}


_EXAMPLES = itertools.count()  # (each hypothesis example on a product and purchase of its own)


def _purchase(status: str | None, version: int, n: int = 1, quantity: int = 3, product: str = "p") -> dict:
    body = {"purchase_id": n, "customer_id": 7, "version": version,
            "items": [{"product_id": product, "quantity": quantity, "price": "5.00"}]}  # fmt: skip
    return body if status is None else {**body, "status": status}


def _stock(w: World, warehouse: str = "main", product: str = "p") -> int | None:
    item = w.item(kinds.INVENTORY, product_id=product, warehouse_id=warehouse)
    return None if item is None else int(item["stock"])


# the versions of purchase 1 as its shop sends them; each history is sent in any order, some twice
HISTORIES = {
    "paid, shipped, delivered": ([("paid", 1), ("shipped", 2), ("delivered", 3)], 20 - 3),
    "paid, then cancelled": ([("paid", 1), ("cancelled", 2)], 20),
    "paid, delivered, returned": ([("paid", 1), ("delivered", 2), ("Returned", 3)], 20),
    "pending only": ([(None, 1)], 20),
    "pending, then canceled": ([(None, 1), ("canceled", 2)], 20),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(HISTORIES)), st.data())
def test_any_order_and_redelivery_of_a_purchases_versions_moves_stock_once(events_world: World, name, data) -> None:
    w = events_world
    k = next(_EXAMPLES)
    product, purchase = f"p{k}", 1000 + k
    versions, expected = HISTORIES[name]
    w.send({**RESTOCK, "product_id": product})
    w.consume()
    send_redelivered(
        w, data.draw(st.permutations([_purchase(s, v, purchase, product=product) for s, v in versions])), data
    )
    assert _stock(w, product=product) == expected


def test_selling_below_the_threshold_alerts_once_per_crossing_and_a_return_rearms(events_world: World) -> None:
    w = events_world
    w.send(RESTOCK)
    w.consume()
    steps = [_purchase("paid", 1, n=1, quantity=8), _purchase("paid", 1, n=2, quantity=5),  # 12, then 7: low
             _purchase("paid", 1, n=3, quantity=1),  # 6: still low, no second alert
             _purchase("returned", 2, n=2, quantity=5), _purchase("returned", 2, n=3, quantity=1),  # 12: re-armed
             _purchase("shipped", 1, n=4, quantity=4)]  # fmt: skip  # 8: the second crossing
    for step in steps:
        w.send(step)
        w.consume()
    low = [m for kind, m in w.alerts() if kind == "low_stock"]
    assert [(m["stock"], m["threshold"], m["crossing"]) for m in low] == [(7, 10, 1), (8, 10, 2)]
    assert _stock(w) == 8


def test_items_take_from_their_warehouse_and_an_unstocked_product_moves_nothing(events_world: World) -> None:
    w = events_world
    w.send(RESTOCK, {**RESTOCK, "warehouse_id": "north"})
    w.consume()
    lines = [{"product_id": "p", "quantity": 2, "price": "5.00", "warehouse_id": "north"},
             {"product_id": "p", "quantity": 1, "price": "5.00"},
             {"product_id": "nobody-stocks-it", "quantity": 9, "price": "1.00"}]  # fmt: skip
    w.send({"purchase_id": 5, "customer_id": 7, "status": "paid", "items": lines})
    w.consume()
    assert (_stock(w, "north"), _stock(w, "main")) == (18, 19)
    assert w.item(kinds.INVENTORY, product_id="nobody-stocks-it", warehouse_id="main") is None
    assert not [m for kind, m in w.alerts() if kind == "low_stock"]


def test_a_later_version_takes_nothing_again_after_the_stock_items_memory_of_moves_has_moved_on(
    events_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stock item remembers its last RECENT_KEPT moves (for retries); a purchase's later versions
    can come days and many moves later, so its legs are marked once applied."""
    from events import store

    monkeypatch.setattr(store, "RECENT_KEPT", 1)
    w = events_world
    for body in (RESTOCK, _purchase("paid", 1), {**RESTOCK, "restocked_quantity": 1}, _purchase("shipped", 2)):
        w.send(body)
        w.consume()
    assert _stock(w) == 20 - 3 + 1
