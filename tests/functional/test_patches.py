"""Partial updates through the consumer on moto (docs/events.md, "Partial updates"): a patch
changes the fields it names, any arrival order and redelivery of whole records and patches ends in
the same stored item, a patch before its entity is kept and completed, merges racing each other
are done again, and a claim-checked item is merged whole."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecompipe.core import event_layout
from events import kinds, landing
from events.items import PARTIAL, PATCHED, REV
from tests.support.events import World, send_redelivered

pytestmark = pytest.mark.functional

SEED = [
    {"customer_id": 123, "name": "John Doe", "email": "john.doe@example.com", "phone": "555",
     "shipping_address": {"street": "123 Main St", "city": "Anytown", "postal_code": "12345"}},
    {"purchase_id": 456, "customer_id": 123, "items": [{"product_id": 789, "quantity": 2, "price": 99.99}],
     "total_amount": 199.99, "status": "paid"},
    {"product_id": 789, "name": "Wireless Mouse", "price": 49.99, "stock_quantity": 150, "category": "Electronics"},
]  # fmt: skip
PATCHES = [
    {"purchase_id": 456, "status": "shipped"},
    {"product_id": 789, "price": 44.99},
    {"customer_id": 123, "shipping_address": {"street": "9 Elm St", "city": "Springfield", "country": "US"}},
]


def _stored(w: World, entity: kinds.Entity, **key: str) -> dict[str, Any]:
    item = w.item(entity, **key)
    assert item is not None
    return {k: v for k, v in item.items() if k not in ("received_at", REV)}


def test_the_issues_partial_updates_change_what_they_name_and_keep_the_rest(events_world: World) -> None:
    w = events_world
    w.send(*SEED)
    w.consume()
    w.send(*PATCHES)
    assert w.consume().failed == 0
    assert w.consumer.tally.outcomes == {"applied": 6}
    purchase = _stored(w, kinds.PURCHASES, purchase_id="456")
    assert (purchase["status"], purchase["customer_id"], purchase["total_amount"]) == (
        "shipped",
        "123",
        Decimal("199.99"),
    )
    product = _stored(w, kinds.PRODUCTS, product_id="789")
    assert (product["price"], product["name"], product["stock_quantity"]) == (Decimal("44.99"), "Wireless Mouse", 150)
    customer = _stored(w, kinds.CUSTOMERS, customer_id="123")
    assert customer["shipping_address"] == {"street": "9 Elm St", "city": "Springfield", "country": "US"}
    assert (customer["name"], customer["email"], customer["phone"]) == ("John Doe", "john.doe@example.com", "555")
    assert not w.bucket.list(event_layout.REJECTED_EVENTS)


def test_a_patch_with_a_bad_value_is_invalid_with_the_field_named_and_changes_nothing(events_world: World) -> None:
    w = events_world
    w.send(SEED[0])
    w.consume()
    before = _stored(w, kinds.CUSTOMERS, customer_id="123")
    w.send({"customer_id": 123, "email": "not-an-email", "phone": "1"}, {"purchase_id": 456, "status": "lost"})
    w.consume()
    kept = [w.bucket.get_json(o.key) for o in w.bucket.list(event_layout.REJECTED_EVENTS)]
    assert sorted(r["field"] for k in kept for r in k["reasons"]) == ["email", "status"]
    assert _stored(w, kinds.CUSTOMERS, customer_id="123") == before
    assert w.item(kinds.PURCHASES, purchase_id="456") is None


def test_a_patch_before_its_purchase_is_kept_partial_and_landed_only_once_complete(events_world: World) -> None:
    w = events_world
    w.send({"purchase_id": 456, "status": "returned", "version": 2})
    w.consume()
    partial = _stored(w, kinds.PURCHASES, purchase_id="456")
    assert partial[PARTIAL] is True and partial["status"] == "returned" and "customer_id" not in partial
    assert landing.land(w.settings, w.dynamodb, w.bucket).purchases == 0  # nothing to land yet
    w.send({**SEED[1], "version": 1})
    w.consume()
    whole = _stored(w, kinds.PURCHASES, purchase_id="456")
    assert PARTIAL not in whole and (whole["status"], whole["customer_id"]) == ("returned", "123")
    assert landing.land(w.settings, w.dynamodb, w.bucket).purchases == 1


_EXAMPLES = itertools.count()  # (each hypothesis example on a customer of its own)


def _history(n: int) -> list[dict]:
    """A customer's updates as a feed sends them: whole records and patches, ordered by version."""
    return [
        {"customer_id": n, "version": 1, "name": "Ann", "email": "ann@example.com", "phone": "1", "tier": "bronze"},
        {"customer_id": n, "version": 2, "phone": "2", "shipping_address": {"city": "Oslo"}},
        {"customer_id": n, "version": 3, "name": "Ann B", "email": "annb@example.com", "phone": "3"},
        {"customer_id": n, "version": 4, "tier": "gold", "phone": None},
        {"customer_id": n, "version": 5, "email": "ann@b.example.com"},
        {"customer_id": n, "updated_at": "2024-01-01T00:00:00Z", "name": "Late"},  # a time: after any version
    ]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.permutations(range(6)), st.data())
def test_any_arrival_order_and_redelivery_of_whole_records_and_patches_ends_in_the_same_item(
    events_world: World, order: list[int], data: st.DataObject
) -> None:
    w = events_world
    n = 5000 + next(_EXAMPLES)
    history = _history(n)
    send_redelivered(w, [history[i] for i in order], data)
    item = _stored(w, kinds.CUSTOMERS, customer_id=str(n))
    assert (item["name"], item["email"], item.get("phone")) == ("Late", "ann@b.example.com", None)
    # the whole record of version 3 names no address: the older patch's address is gone with it
    assert "shipping_address" not in item and item["extra"] == '{"tier": "gold"}'
    assert item["_seq"] == 3 and set(item[PATCHED]) == {"name", "email", "phone", "extra.tier", "version", "updated_at"}


def test_merges_racing_each_other_are_done_again_and_both_count(events_world: World) -> None:
    """A patch whose put meets another patch written since it read the item merges again."""
    w = events_world
    w.send({"customer_id": 9, "version": 1, "name": "Ann", "email": "ann@example.com"})
    w.consume()
    db = w.consumer.store.db
    raced: list[str] = []

    def race(params: dict, model: Any, **_: Any) -> None:
        if model.name == "PutItem" and "#rev" in params.get("ExpressionAttributeNames", {}) and not raced:
            raced.append("once")  # another consumer's patch lands between this one's read and put
            w.consumer.store.upsert(kinds.CUSTOMERS, {"customer_id": "9", "phone": "77", "_seq": 2,
                                                      "_digest": "b" * 32, "received_at": "t"}, patch=True)  # fmt: skip

    db.meta.events.register("before-parameter-build.dynamodb", race, unique_id="race")
    try:
        w.send({"customer_id": 9, "version": 3, "name": "Bo"})
        assert w.consume().failed == 0
    finally:
        db.meta.events.unregister("before-parameter-build.dynamodb", unique_id="race")
    item = _stored(w, kinds.CUSTOMERS, customer_id="9")
    assert raced and (item["name"], item["phone"], item["email"]) == ("Bo", "77", "ann@example.com")


def test_a_claim_checked_customer_is_merged_whole(events_world: World) -> None:
    w = events_world
    notes = {"notes": "x" * 400_000}
    big = {"customer_id": 11, "version": 1, "name": "Ann", "email": "a@example.com", "preferences": notes}
    w.send(big)
    w.consume()
    assert "claim_s3" in _stored(w, kinds.CUSTOMERS, customer_id="11")
    w.send({"customer_id": 11, "version": 2, "phone": "5"})
    w.consume()
    stub = _stored(w, kinds.CUSTOMERS, customer_id="11")
    assert stub["phone"] == "5" and "claim_s3" in stub and PATCHED in stub
    whole = w.bucket.get_json(str(stub["claim_s3"]).split("/", 3)[3])
    assert (whole["name"], whole["phone"]) == ("Ann", "5") and "x" * 400_000 in whole["preferences"]


@pytest.mark.parametrize("patch_first", [False, True])
def test_a_cancellation_patch_puts_the_stock_back_once(events_world: World, patch_first: bool) -> None:
    w = events_world
    w.send({"product_id": "p", "restocked_quantity": 20, "warehouse_id": "main"})
    w.consume()
    whole = {"purchase_id": 1, "customer_id": 7, "version": 1, "status": "paid",
             "items": [{"product_id": "p", "quantity": 3, "price": "5.00"}]}  # fmt: skip
    patch = {"purchase_id": 1, "status": "cancelled", "version": 2}
    for body in [patch, whole, patch] if patch_first else [whole, patch, patch]:
        w.send(body)
        w.consume()
    assert w.item(kinds.INVENTORY, product_id="p", warehouse_id="main")["stock"] == 20
