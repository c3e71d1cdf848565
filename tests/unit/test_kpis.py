"""KPI definitions (DESIGN §3) on the worked example of docs/kpis.md, computed by hand."""

from decimal import Decimal

import pandas as pd
import pytest

from ecompipe.core.money_frames import div_half_up
from transformer.kpis import category_kpis, category_records, kpi_tables, order_kpis, order_records

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


@pytest.mark.parametrize("dtype", ["str", object])
def test_kpis_of_frames_whatever_their_text_dtype_or_emptiness(dtype: object) -> None:
    """The KPIs look items up in orders and products through Arrow: text columns of any pandas
    dtype, and empty or all-null ones, must agree on one Arrow type (an empty object column is
    Arrow's null type, which no lookup accepts)."""
    orders = ORDERS.astype(dtype)
    items = ITEMS.astype({"order_id": dtype, "product_id": dtype})
    products = PRODUCTS.astype(dtype)
    expected = order_kpis(ORDERS, ITEMS), category_kpis(ORDERS, ITEMS, PRODUCTS)
    assert order_records(order_kpis(orders, items)) == order_records(expected[0])
    assert category_records(category_kpis(orders, items, products)) == category_records(expected[1])
    no_items = items.iloc[0:0].astype({"order_id": object, "product_id": object})
    assert order_records(order_kpis(orders, no_items))[0]["total_revenue"] == 0
    assert category_kpis(orders, no_items, products.iloc[0:0].astype(object)).empty


def test_kpis_refuse_orders_whose_ids_repeat() -> None:
    """Both producers (the validator, the curated upsert) leave order ids unique; a caller that
    does not gets an error, never KPIs that count an order twice."""
    with pytest.raises(ValueError, match="unique"):
        order_kpis(pd.concat([ORDERS, ORDERS.iloc[:1]]), ITEMS)


def test_category_kpis_name_the_products_the_catalogue_lacks() -> None:
    """An item of an order there is whose product the catalogue lacks stops the category KPIs
    with the products named (sorted, at most five); an item of no order there is never counts."""
    items = pd.concat([ITEMS, _items([("O2", "P9", 1, 100), ("O1", "P8", 1, 100), ("O9", "P7", 1, 100)])])
    with pytest.raises(ValueError, match=r"no category: \['P8', 'P9'\]"):
        category_kpis(ORDERS, items, PRODUCTS)
    of_no_order = items[~items["product_id"].isin(["P8", "P9"])]  # (O9, P7) left
    assert category_records(category_kpis(ORDERS, of_no_order, PRODUCTS)) == category_records(
        category_kpis(ORDERS, ITEMS, PRODUCTS)
    )


@pytest.mark.parametrize("orders", [ORDERS, ORDERS.iloc[0:0]])
def test_both_tables_of_one_join_are_each_tables_own(orders: pd.DataFrame) -> None:
    both = kpi_tables(orders, ITEMS, PRODUCTS)
    pd.testing.assert_frame_equal(both[0], order_kpis(orders, ITEMS))
    pd.testing.assert_frame_equal(both[1], category_kpis(orders, ITEMS, PRODUCTS))
