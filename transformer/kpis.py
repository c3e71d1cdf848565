"""KPI computation (DESIGN §3), pure: canonical frames in, KPI frames out, all in integers.

Money is integer cents; rates are integer ten-thousandths; divisions round half-up. Nothing is
accumulated in floats, so every figure is exact to the cent.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

CANCELLED = "cancelled"
RETURNED = "returned"

ORDER_KPI_COLUMNS = [
    "order_date",
    "total_orders",
    "total_revenue_cents",
    "total_items_sold",
    "return_rate_e4",
    "unique_customers",
    "returned_orders",
    "sold_orders",
]
CATEGORY_KPI_COLUMNS = [
    "category",
    "order_date",
    "daily_revenue_cents",
    "avg_order_value_cents",
    "avg_return_rate_e4",
    "order_count",
    "sold_order_count",
    "returned_count",
]


def div_half_up(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Integer division rounding half up, for non-negative integers; 0 where the denominator is 0."""
    num = numerator.astype("int64")
    den = denominator.astype("int64")
    safe = den.where(den > 0, 1)
    return ((2 * num + safe) // (2 * safe)).where(den > 0, 0).astype("int64")


def _lines(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Items joined to their order's date, status and user, with line amounts in cents."""
    o = orders[["order_id", "order_date", "status"]]
    lines = items[["order_id", "product_id", "quantity", "unit_price_cents"]].merge(o, on="order_id", how="inner")
    lines["quantity"] = lines["quantity"].astype("int64")
    lines["line_cents"] = lines["quantity"] * lines["unit_price_cents"].astype("int64")
    lines["sold"] = lines["status"] != CANCELLED
    return lines


def order_kpis(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per order date present in `orders` (pass every order and item of those dates)."""
    if orders.empty:
        return pd.DataFrame(columns=ORDER_KPI_COLUMNS)
    o = orders.assign(returned=orders["status"] == RETURNED, sold=orders["status"] != CANCELLED)
    per_day = o.groupby("order_date").agg(
        total_orders=("order_id", "nunique"),
        unique_customers=("user_id", "nunique"),
        returned_orders=("returned", "sum"),
        sold_orders=("sold", "sum"),
    )
    lines = _lines(orders, items)
    sold = (
        lines[lines["sold"]]
        .groupby("order_date")
        .agg(total_revenue_cents=("line_cents", "sum"), total_items_sold=("quantity", "sum"))
    )
    out = per_day.join(sold, how="left").fillna({"total_revenue_cents": 0, "total_items_sold": 0})
    out["return_rate_e4"] = div_half_up(out["returned_orders"] * 10_000, out["total_orders"])
    out = out.reset_index()
    return out[ORDER_KPI_COLUMNS].astype({c: "int64" for c in ORDER_KPI_COLUMNS[1:]}).sort_values("order_date")


def category_kpis(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per (category, date) with at least one item of that category on that date."""
    lines = _lines(orders, items).merge(
        products[["product_id", "category"]], on="product_id", how="left", validate="many_to_one"
    )
    if lines["category"].isna().any():
        missing = sorted(lines.loc[lines["category"].isna(), "product_id"].unique())[:5]
        raise ValueError(f"items reference products with no category: {missing}")
    if lines.empty:
        return pd.DataFrame(columns=CATEGORY_KPI_COLUMNS)
    lines["sold_cents"] = lines["line_cents"].where(lines["sold"], 0)
    # orders(C, D): distinct orders of D with at least one item of category C
    per_order = lines.groupby(["category", "order_date", "order_id"], sort=False).agg(
        cents=("sold_cents", "sum"), status=("status", "first")
    )
    per_order["returned"] = per_order["status"] == RETURNED
    per_order["sold"] = per_order["status"] != CANCELLED
    out = per_order.groupby(level=["category", "order_date"]).agg(
        daily_revenue_cents=("cents", "sum"),
        order_count=("cents", "size"),
        sold_order_count=("sold", "sum"),
        returned_count=("returned", "sum"),
    )
    out["avg_order_value_cents"] = div_half_up(out["daily_revenue_cents"], out["sold_order_count"])
    out["avg_return_rate_e4"] = div_half_up(out["returned_count"] * 10_000, out["order_count"])
    out = out.reset_index().sort_values(["order_date", "category"])
    return out[CATEGORY_KPI_COLUMNS].astype({c: "int64" for c in CATEGORY_KPI_COLUMNS[2:]})


def money(cents: int) -> Decimal:
    """Integer cents as a Decimal with exactly two places."""
    return Decimal(int(cents)).scaleb(-2)


def rate(e4: int) -> Decimal:
    """Integer ten-thousandths as a Decimal with exactly four places."""
    return Decimal(int(e4)).scaleb(-4)


def order_records(kpis: pd.DataFrame) -> list[dict]:
    """OrderKPIs items (DESIGN §3 names; Decimal money and rates, int counts)."""
    return [
        {
            "order_date": r.order_date,
            "total_orders": int(r.total_orders),
            "total_revenue": money(r.total_revenue_cents),
            "total_items_sold": int(r.total_items_sold),
            "return_rate": rate(r.return_rate_e4),
            "unique_customers": int(r.unique_customers),
            "returned_orders": int(r.returned_orders),
            "sold_orders": int(r.sold_orders),
        }
        for r in kpis.itertuples(index=False)
    ]


def category_records(kpis: pd.DataFrame) -> list[dict]:
    """CategoryKPIs items (DESIGN §3 names)."""
    return [
        {
            "category": r.category,
            "order_date": r.order_date,
            "daily_revenue": money(r.daily_revenue_cents),
            "avg_order_value": money(r.avg_order_value_cents),
            "avg_return_rate": rate(r.avg_return_rate_e4),
            "order_count": int(r.order_count),
            "sold_order_count": int(r.sold_order_count),
            "returned_count": int(r.returned_count),
        }
        for r in kpis.itertuples(index=False)
    ]
