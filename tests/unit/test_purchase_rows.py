"""Stored purchases as seed-dialect rows (events/purchase_rows.py): exact money, one item row per
product and price, statuses in the pipeline's vocabulary, and files the validator reads as seed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from events import purchase_rows
from validator.dialects import DIALECTS, KNOWN_STATUSES, ORDER_ITEMS, ORDERS


def _purchase(**fields) -> dict:
    base = {
        "purchase_id": "P1",
        "customer_id": "C1",
        "items": [{"product_id": "7", "quantity": Decimal("2"), "price": Decimal("19.9")}],
        "purchased_at": "2025-03-01T10:00:00Z",
        "status": "paid",
    }
    return {**base, **fields}


def test_an_order_row_in_the_seed_dialect() -> None:
    assert purchase_rows.order_row(_purchase(total_amount=Decimal("39.8"))) == (
        "P1", "C1", "2025-03-01T10:00:00Z", "39.80", "processing"
    )  # fmt: skip


def test_the_total_is_the_sum_of_the_lines_when_none_was_sent_exact_to_the_cent() -> None:
    lines = [
        {"product_id": "1", "quantity": 3, "price": Decimal("0.1")},
        {"product_id": "2", "quantity": 1, "price": "0.2"},
    ]
    assert purchase_rows.order_row(_purchase(items=lines))[3] == "0.50"


def test_lines_of_one_product_at_one_price_are_one_row_and_two_prices_stay_two() -> None:
    lines = [
        {"product_id": "1", "quantity": 1, "price": Decimal("5")},
        {"product_id": "2", "quantity": 1, "price": Decimal("1.25")},
        {"product_id": "1", "quantity": 2, "price": Decimal("5.00")},
        {"product_id": "1", "quantity": 1, "price": Decimal("4.50")},
    ]
    assert purchase_rows.item_rows(_purchase(items=lines)) == [
        ("P1", "1", "3", "5.00"), ("P1", "2", "1", "1.25"), ("P1", "1", "1", "4.50")
    ]  # fmt: skip


@pytest.mark.parametrize(("sent", "known"), [*purchase_rows.STATUS.items(), (None, "pending")])
def test_every_purchase_status_maps_to_a_status_the_validator_knows(sent: str | None, known: str) -> None:
    row = purchase_rows.order_row(_purchase(status=sent))
    assert row[4] == known
    assert known in KNOWN_STATUSES


def test_every_status_the_events_model_allows_is_mapped() -> None:
    from ecompipe.core import vocabulary

    assert set(vocabulary.words(vocabulary.PURCHASE_STATUS)) == set(purchase_rows.STATUS)


def test_a_purchase_without_its_time_leaves_the_date_empty_for_the_validator_to_reject() -> None:
    assert purchase_rows.order_row(_purchase(purchased_at=None))[2] == ""


def test_a_stored_amount_that_is_not_money_is_an_error_not_a_rounding() -> None:
    with pytest.raises(ValueError, match="not money"):
        purchase_rows.item_rows(_purchase(items=[{"product_id": "1", "quantity": 1, "price": Decimal("1.005")}]))


@pytest.mark.parametrize(
    ("kind", "header"), [(ORDERS, purchase_rows.ORDERS_HEADER), (ORDER_ITEMS, purchase_rows.ITEMS_HEADER)]
)
def test_the_headers_are_the_validators_seed_dialect(kind: str, header: tuple[str, ...]) -> None:
    seed = next(d for d in DIALECTS[kind] if d.name == "seed")
    assert set(seed.required) <= set(header) <= set(seed.required) | set(seed.optional)


def test_csv_bytes_quote_what_needs_quoting() -> None:
    data = purchase_rows.csv_bytes(("a", "b"), [("x,y", 'say "hi"')])
    assert list(csv.reader(io.StringIO(data.decode()))) == [["a", "b"], ["x,y", 'say "hi"']]
