"""Routing and validation of event payloads (pure): the rules of docs/events.md, one by one, and
properties over any JSON a queue could hold."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import kinds, producer
from events.names import canonical
from events.routing import Accepted, Invalid, read, route

pytestmark = pytest.mark.unit


def _accepted(payload: object) -> Accepted:
    result = route(payload)
    assert isinstance(result, Accepted), result
    return result


def _reasons(payload: object) -> dict[str, str]:
    result = route(payload)
    assert isinstance(result, Invalid), result
    return {p.field: p.reason for p in result.problems}


@pytest.mark.parametrize(
    ("raw", "name"),
    [("OrderId", "order_id"), ("orderId", "order_id"), ("order-id", "order_id"), ("Order ID", "order_id"),
     ("ORDER_ID", "order_id"), ("IPAddress", "ip_address"), ("qty", "quantity"), ("item-id", "item_id")],
)  # fmt: skip
def test_field_names_are_made_canonical(raw: str, name: str) -> None:
    assert canonical(raw) == name


@pytest.mark.parametrize(
    ("payload", "entity"),
    [
        ({"purchase_id": 1, "customer_id": 2, "items": [{"product_id": 3, "quantity": 1, "price": 5}]}, "purchases"),
        ({"OrderId": "1", "customerId": 2, "items": [{"productId": 3, "qty": "1", "price": "5.00"}]}, "purchases"),
        ({"subscription_id": 1, "customer_id": 2, "plan": "Basic", "status": "Active"}, "subscriptions"),
        ({"user_id": 1, "activity_type": "Cart Add", "timestamp": "2024-11-23T10:15:00"}, "activity"),
        ({"product_id": 1, "returned_quantity": 2, "warehouse_id": 3}, "inventory"),
        ({"product_id": 1, "quantity": 2, "from_warehouse_id": 3, "to_warehouse_id": 4}, "inventory"),
        ({"product_id": 1, "name": "Mouse", "price": "49.99"}, "products"),
        ({"customer_id": 1, "name": "Ann", "email": "a@b.co"}, "customers"),
        # an explicit type decides, whatever the shape says
        ({"type": "Customer", "customer_id": 1, "name": "Ann", "email": "a@b.co", "product_id": 9}, "customers"),
    ],
)
def test_the_routing_rules(payload: dict, entity: str) -> None:
    assert _accepted(payload).entity.name == entity


def test_ambiguous_unknown_and_clashing_shapes_are_invalid_with_the_reason() -> None:
    assert "ambiguous" in _reasons({"purchase_id": 1, "subscription_id": 2})["body"]
    assert "ambiguous" in _reasons({"product_id": 1, "customer_id": 2, "rating": 5})["body"]
    assert "unknown shape" in _reasons({"hello": "world"})["body"]
    assert "not an entity type" in _reasons({"type": "refund", "purchase_id": 1})["type"]
    assert "given twice" in _reasons({"OrderId": 1, "order_id": 2, "customer_id": 1, "items": []})["order_id"]
    assert "given twice" in _reasons({"order_id": 1, "purchase_id": 1, "customer_id": 1, "items": []})["purchase_id"]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("price", 99.999, "more than two decimal places"),
        ("price", "-0.01", "must not be negative"),
        ("price", "1e16", "above"),
        ("price", True, "must be an amount"),
        ("price", "NaN", "is not a number"),
        ("quantity", 0, "from 1"),
        ("quantity", 2.5, "whole number"),
        ("quantity", "3.0", "whole number"),
        ("quantity", True, "whole number"),
        ("product_id", "", "must be an id"),
        ("product_id", -1, "must be an id"),
        ("product_id", 1.5, "must be an id"),
        ("product_id", "a/b", "must be an id"),
    ],
)
def test_item_values_are_checked_one_by_one(field: str, value: object, words: str) -> None:
    item = {"product_id": 1, "quantity": 1, "price": "1.00", field: value}
    payload = {"purchase_id": 1, "customer_id": 1, "items": [{"product_id": 2, "quantity": 1, "price": 1}, item]}
    reasons = _reasons(json.loads(json.dumps(payload), parse_float=Decimal))
    assert list(reasons) == [f"items[1].{field}"] and words in reasons[f"items[1].{field}"]


def test_money_is_exact_and_keeps_two_places() -> None:
    record = _accepted(read_json('{"product_id": 1, "name": "M", "price": 0.1}')).record
    assert record.price == Decimal("0.10") and str(record.price) == "0.10"
    big = _accepted(read_json('{"product_id": 1, "name": "M", "price": 999999999999999.99}')).record
    assert big.price == Decimal("999999999999999.99")


def read_json(text: str) -> object:
    return json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"customer_id": 1, "name": "Ann", "email": "not-an-email"}, "email"),
        ({"customer_id": 1, "email": "not-an-email"}, "email"),  # a patch with a bad value
        ({"customer_id": 1, "name": None}, "name"),  # a patch cannot remove a required field
        ({"purchase_id": 1, "status": "lost"}, "status"),
        ({"customer_id": 1, "version": 3}, "body"),  # a patch names a field to change
        ({"customer_id": 1, "name": " ", "email": "a@b.co"}, "name"),
        ({"subscription_id": 1, "customer_id": 1, "plan": "B", "status": "active", "next_billing_date": "2025-02-30"},
         "next_billing_date"),
        ({"subscription_id": 1, "customer_id": 1, "plan": "B", "status": "sleeping"}, "status"),
        ({"user_id": 1, "activity_type": "login", "timestamp": "yesterday"}, "timestamp"),
        ({"user_id": 1, "activity_type": "login", "timestamp": "2024-11-23T10:15:00Z", "ip_address": "999.1.1.1"},
         "ip_address"),
        ({"user_id": 1, "activity_type": "dance", "timestamp": "2024-11-23T10:15:00Z"}, "activity_type"),
        ({"product_id": 1, "restocked_quantity": 5}, "inventory"),
        ({"product_id": 1, "restocked_quantity": 5, "returned_quantity": 1, "warehouse_id": 1}, "inventory"),
        ({"product_id": 1, "quantity": 5, "from_warehouse_id": 1, "to_warehouse_id": 1}, "inventory"),
        ({"product_id": 1, "action": "return", "restocked_quantity": 5, "warehouse_id": 1}, "inventory"),
        ({"purchase_id": 1, "customer_id": 1, "items": []}, "items"),
        ({"purchase_id": 1, "customer_id": 1, "items": "two mice"}, "items"),
    ],
)  # fmt: skip
def test_each_entity_rule_names_the_field(payload: dict, field: str) -> None:
    assert field in _reasons(payload)


def test_timestamps_without_a_zone_are_utc_and_zones_are_converted() -> None:
    naive = _accepted({"user_id": 1, "activity_type": "login", "timestamp": "2024-11-23T10:15:00"}).record
    zoned = _accepted({"user_id": 1, "activity_type": "login", "timestamp": "2024-11-23T11:15:00+01:00"}).record
    assert naive.timestamp == zoned.timestamp == "2024-11-23T10:15:00Z"


def test_the_same_payload_however_spelt_has_one_digest_and_a_change_another() -> None:
    a = _accepted({"OrderId": "7", "customerId": 1, "items": [{"productId": 3, "qty": "2", "price": "5.5"}]})
    b = _accepted(
        {"items": [{"price": Decimal("5.50"), "quantity": 2, "product_id": 3}], "customer_id": "1", "order_id": 7}
    )
    c = _accepted({"order_id": 7, "customer_id": 1, "items": [{"product_id": 3, "quantity": 3, "price": "5.50"}]})
    assert a.digest == b.digest != c.digest


def test_free_form_maps_and_unknown_fields_are_kept_as_sent() -> None:
    record = _accepted(
        {"customer_id": 1, "name": "A", "email": "a@b.co", "preferences": {"Newsletter": True}, "Loyalty Tier": "gold"}
    ).record
    assert json.loads(record.preferences) == {"Newsletter": True}  # names inside are the user's own
    assert json.loads(record.extra) == {"loyalty_tier": "gold"}


surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | surrogates,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
near_miss = st.fixed_dictionaries(
    {},
    optional={
        k: json_values
        for k in ("purchase_id", "customer_id", "items", "product_id", "warehouse_id", "restocked_quantity",
                  "quantity", "price", "name", "email", "type", "activity_type", "timestamp", "subscription_id")
    },
)  # fmt: skip


@given(st.one_of(json_values, near_miss))
def test_any_json_value_is_routed_or_refused_never_crashes(payload: object) -> None:
    result = read(json.dumps(payload))
    assert isinstance(result, Accepted | Invalid)
    if isinstance(result, Invalid):
        assert result.problems and all(p.reason for p in result.problems)


@given(st.text(max_size=200))
def test_any_text_body_is_routed_or_refused(body: str) -> None:
    assert isinstance(read(body), Accepted | Invalid)


def test_text_that_is_not_unicode_is_refused_with_its_reason() -> None:
    lone = read('{"customer_id": 1, "name": "a\\ud800b", "email": "a@b.co"}')
    assert isinstance(lone, Invalid) and "lone surrogate" in lone.summary()
    inside = read('{"customer_id": 1, "name": "x", "email": "a@b.co", "preferences": {"k": "\\udc00"}}')
    assert isinstance(inside, Invalid)
    pair = read('{"customer_id": 1, "name": "\\ud83d\\ude00", "email": "a@b.co"}')  # a pair is one character
    assert isinstance(pair, Accepted) and pair.record.name == "\U0001f600"


def test_deep_nesting_and_huge_numbers_are_refused_not_raised() -> None:
    assert isinstance(read("[" * 5000 + "]" * 5000), Invalid)
    assert isinstance(read('{"a":' * 40 + "1" + "}" * 40), Invalid)
    assert isinstance(read('{"product_id": 1, "name": "M", "price": 1' + "0" * 5000 + "}"), Invalid)
    assert isinstance(read('{"product_id": 1, "name": "M", "price": NaN}'), Invalid)


def test_the_producer_is_seeded_and_says_what_each_message_is() -> None:
    bodies = list(producer.payloads(600, seed=4, invalid_rate=0.2, large_rate=0.1, target_kb=2))
    assert bodies == list(producer.payloads(600, seed=4, invalid_rate=0.2, large_rate=0.1, target_kb=2))
    results = [read(b) for b in bodies]
    accepted = [r for r in results if isinstance(r, Accepted)]
    assert 0.1 < 1 - len(accepted) / 600 < 0.3
    assert {r.entity.name for r in accepted} == set(kinds.BY_NAME)
    assert len({r.digest for r in accepted}) == len(accepted)  # each one distinct: sent = kept
    assert all(len(b) >= 2000 for b, r in zip(bodies, results, strict=True) if isinstance(r, Accepted))
