"""KPI computation (DESIGN §3), pure: canonical frames in, KPI frames out, all in integers.

Money is integer cents; rates are integer ten-thousandths; divisions round half-up. Nothing is
accumulated in floats and no sum can wrap (ecompipe.core.money), so every figure is exact to the cent.
"""

from __future__ import annotations

import pandas as pd

from ecompipe.core import kpis as model
from ecompipe.core import money_frames

CANCELLED = "cancelled"
RETURNED = "returned"

ORDER_KPI_COLUMNS = [model.column(f) for f in model.ORDER_FIELDS + model.ORDER_EXTRA]
CATEGORY_KPI_COLUMNS = [model.column(f) for f in model.CATEGORY_FIELDS + model.CATEGORY_EXTRA]


def _lines(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Items joined to their order's date, status and user, with line amounts in cents (each at
    most ecompipe.core.money.MAX_CENTS, so no product wraps)."""
    o = orders[["order_id", "order_date", "status"]]
    lines = items[["order_id", "product_id", "quantity", "unit_price_cents"]].merge(o, on="order_id", how="inner")
    lines["quantity"] = lines["quantity"].astype("int64")
    lines["line_cents"] = lines["quantity"] * lines["unit_price_cents"].astype("int64")
    lines["sold"] = lines["status"] != CANCELLED
    return lines


def order_kpis(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per order date present in `orders` (pass every order and item of those dates).
    Sums are exact Python integers (ecompipe.core.money), counts int64."""
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
    sold = money_frames.exact_group_sums(
        lines[lines["sold"]].rename(columns={"line_cents": "total_revenue_cents", "quantity": "total_items_sold"}),
        "order_date",
        ["total_revenue_cents", "total_items_sold"],
    )
    out = per_day.astype("int64").join(sold, how="left")
    for column in ("total_revenue_cents", "total_items_sold"):
        out[column] = out[column].astype(object).where(out[column].notna(), 0)
    out["return_rate_e4"] = money_frames.div_half_up(out["returned_orders"] * 10_000, out["total_orders"])
    out = out.reset_index()
    return out[ORDER_KPI_COLUMNS].sort_values("order_date", ignore_index=True)


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
    keys = ["category", "order_date", "order_id"]
    per_order = lines.groupby(keys, sort=False).agg(status=("status", "first"))
    per_order["returned"] = per_order["status"] == RETURNED
    per_order["sold"] = per_order["status"] != CANCELLED
    out = per_order.groupby(level=["category", "order_date"]).agg(
        order_count=("status", "size"),
        sold_order_count=("sold", "sum"),
        returned_count=("returned", "sum"),
    )
    out = out.astype("int64").join(
        money_frames.exact_group_sums(
            lines.rename(columns={"sold_cents": "daily_revenue_cents"}),
            ["category", "order_date"],
            ["daily_revenue_cents"],
        )
    )
    out["avg_order_value_cents"] = money_frames.div_half_up(out["daily_revenue_cents"], out["sold_order_count"])
    out["avg_return_rate_e4"] = money_frames.div_half_up(out["returned_count"] * 10_000, out["order_count"])
    out = out.reset_index().sort_values(["order_date", "category"], ignore_index=True)
    return out[CATEGORY_KPI_COLUMNS]


def order_records(frame: pd.DataFrame) -> list[dict]:
    """OrderKPIs items: the model's fields and extras, as DynamoDB stores them."""
    return _records(frame, model.ORDER_FIELDS + model.ORDER_EXTRA)


def category_records(frame: pd.DataFrame) -> list[dict]:
    """CategoryKPIs items (DESIGN §3 names)."""
    return _records(frame, model.CATEGORY_FIELDS + model.CATEGORY_EXTRA)


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    columns = {f: frame[model.column(f)].tolist() for f in fields}
    return [{f: model.stored(f, columns[f][i]) for f in fields} for i in range(len(frame))]
