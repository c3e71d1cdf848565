"""KPI definitions (DESIGN §3) on the worked example of docs/kpis.md, computed by hand."""

from decimal import Decimal

import pandas as pd
import pytest

from ecompipe.core.money_frames import div_half_up
from transformer.kpis import category_kpis, category_records, order_kpis, order_records

pytestmark = pytest.mark.unit


def _orders(rows):
    return pd.DataFrame(rows, columns=["order_id", "user_id", "order_date", "status"])


def _items(rows):
    frame = pd.DataFrame(rows, columns=["order_id", "product_id", "quantity", "unit_price_cents"])
    return frame.astype({"quantity": "Int64", "unit_price_cents": "Int64"})


ORDERS = _orders(
    [
        ("O1", "U1", "2025-06-01", "delivered"),
        ("O2", "U2", "2025-06-01", "returned"),
        ("O3", "U1", "2025-06-01", "cancelled"),
        ("O4", "U3", "2025-06-01", "returned"),
        ("O5", "U4", "2025-06-02", "cancelled"),
    ]
)
ITEMS = _items(
    [
        ("O1", "P1", 2, 1000),
        ("O1", "P2", 1, 550),
        ("O2", "P1", 1, 1000),
        ("O3", "P2", 3, 550),
        ("O4", "P3", 1, 499),
        ("O5", "P1", 1, 1000),
    ]
)
PRODUCTS = pd.DataFrame({"product_id": ["P1", "P2", "P3"], "category": ["Books", "Toys", "Toys"]})


def test_order_kpis_of_the_worked_example() -> None:
    rows = order_records(order_kpis(ORDERS, ITEMS))
    assert [
        {
            k: r[k]
            for k in (
                "order_date",
                "total_orders",
                "total_revenue",
                "total_items_sold",
                "return_rate",
                "unique_customers",
            )
        }
        for r in rows
    ] == [
        {
            "order_date": "2025-06-01",
            "total_orders": 4,
            "total_revenue": Decimal("40.49"),  # 25.50 + 10.00 + 4.99; the cancelled O3 does not count
            "total_items_sold": 5,
            "return_rate": Decimal("0.5000"),
            "unique_customers": 3,
        },
        {
            "order_date": "2025-06-02",
            "total_orders": 1,
            "total_revenue": Decimal("0.00"),
            "total_items_sold": 0,
            "return_rate": Decimal("0.0000"),
            "unique_customers": 1,
        },
    ]


def test_category_kpis_of_the_worked_example() -> None:
    rows = category_records(category_kpis(ORDERS, ITEMS, PRODUCTS))
    got = {
        (r["category"], r["order_date"]): (
            r["daily_revenue"],
            r["avg_order_value"],
            r["avg_return_rate"],
            r["order_count"],
        )
        for r in rows
    }
    assert got == {
        ("Books", "2025-06-01"): (Decimal("30.00"), Decimal("15.00"), Decimal("0.5000"), 2),
        # orders(Toys) = O1, O3 (cancelled), O4: 10.49 over 2 sold orders = 5.245 -> 5.25 half-up
        ("Toys", "2025-06-01"): (Decimal("10.49"), Decimal("5.25"), Decimal("0.3333"), 3),
        ("Books", "2025-06-02"): (Decimal("0.00"), Decimal("0.00"), Decimal("0.0000"), 1),
    }


def test_categories_reconcile_with_orders_per_day() -> None:
    per_day = category_kpis(ORDERS, ITEMS, PRODUCTS).groupby("order_date")["daily_revenue_cents"].sum()
    totals = order_kpis(ORDERS, ITEMS).set_index("order_date")["total_revenue_cents"]
    assert per_day.to_dict() == totals.to_dict()


def test_half_up_division() -> None:
    got = div_half_up(pd.Series([5, 15, 25, 1, 2, 10, 7]), pd.Series([10, 10, 10, 3, 3, 0, 2]))
    assert got.tolist() == [1, 2, 3, 0, 1, 0, 4]


def test_an_order_with_items_in_two_categories_counts_in_both() -> None:
    rows = category_records(category_kpis(ORDERS[ORDERS.order_id == "O1"], ITEMS, PRODUCTS))
    assert [(r["category"], r["order_count"], r["daily_revenue"]) for r in rows] == [
        ("Books", 1, Decimal("20.00")),
        ("Toys", 1, Decimal("5.50")),
    ]
