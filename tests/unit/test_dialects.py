"""Dialect detection from the header and file kinds from names."""

import pytest

from validator import reasons
from validator.dialects import detect, kind_of
from validator.reading import MalformedFile

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("orders_part1.csv", "orders"),
        ("ORDERS_2025.CSV", "orders"),
        ("order_items_part19.csv", "order_items"),
        ("products.csv", "products"),
        ("products_v2.csv", "products"),
        ("orders.csv", None),
        ("customers_1.csv", None),
        ("order_items.csv", None),
        ("notes.txt", None),
    ],
)
def test_kind_from_file_name(name: str, kind: str | None) -> None:
    assert kind_of(name) == kind


@pytest.mark.parametrize(
    ("kind", "header", "dialect"),
    [
        ("orders", ["order_id", "user_id", "order_date", "total_amount", "status"], "seed"),
        ("orders", ["order_id", "user_id", "status", "created_at", "returned_at", "num_of_item"], "thelook"),
        ("order_items", ["order_id", "product_id", "quantity", "unit_price"], "seed"),
        ("order_items", ["id", "order_id", "user_id", "product_id", "status", "sale_price"], "thelook"),
        ("products", ["product_id", "category", "name", "price"], "seed"),
        ("products", ["id", "sku", "cost", "category", "name", "brand", "retail_price", "department"], "thelook"),
    ],
)
def test_dialect_detected_from_header(kind: str, header: list[str], dialect: str) -> None:
    assert detect(kind, header).name == dialect


def test_missing_column_names_the_closest_dialect_and_what_is_missing() -> None:
    with pytest.raises(MalformedFile) as exc:
        detect("order_items", ["order_id", "product_id", "unit_price"])
    assert exc.value.reason == reasons.MISSING_COLUMN
    assert "quantity" in exc.value.message and "seed" in exc.value.message
