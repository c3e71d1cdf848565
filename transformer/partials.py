"""Partial KPIs, pure: what each part of a cell adds to its date's KPIs, and a date's KPI rows as
the merge of its parts' partials and its customers (docs/kpis.md, "From cells").

A part holds whole orders with all their items, so every additive figure of docs/kpis.md is a sum
over parts: orders, returned and sold orders, revenue and items sold per date; per category the
orders with an item of it, the sold and returned among them, and its revenue (an order is in one
part, so "orders with an item of C" never counts an order twice). The one figure that is not a
sum, distinct customers, comes from the date's customers and their order counts. Sums are exact
Python integers; the divisions are the same half-up ones as transformer.kpis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core import money_frames
from ecompipe.core.arrow import arrow_column
from ecompipe.core.keys import isin
from transformer import kpis

PART = "_part"  # the column that names each row's part
# what of_parts reads of the orders and the items (a caller that stacks parts to score them need
# stack no more: at 10M items, combining every column of the new parts took 6 s)
ORDER_COLUMNS = ["order_id", "user_id", "status", PART]
ITEM_COLUMNS = ["order_id", "product_id", "quantity", "unit_price_cents"]


def of_parts(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> dict[str, dict]:
    """Each part's partial (orders and items carry PART; each order once): {"order": {...},
    "categories": {category: {...}}}, every value an int.

    An item whose product the catalogue does not hold yet counts in its order's figures and in no
    category's. Validation holds such items back, so only a batch's unfinished write puts them in
    the store (its catalogue comes at its finish): alive, it holds their cells until then and a
    rebuild computed meanwhile conflicts on the catalogue (transformer.rebase); killed, its run
    again rewrites them with the catalogue it brings."""
    if orders.empty:
        return {}
    # the part stands in for the date: the KPI functions group by it
    as_dates = orders.assign(order_date=orders[PART].astype("str"))
    known = isin(items["product_id"], products["product_id"]).to_numpy()
    if known.all():
        day_rows, category_rows = kpis.sums_of(as_dates, items, products)
    else:
        day_rows = kpis.order_kpis(as_dates, items)
        category_rows = kpis.category_kpis(as_dates, items[known], products)
    out: dict[str, dict] = {
        str(r["order_date"]): {"order": {c: int(r[c]) for c in kpis.ORDER_SUMS}, "categories": {}}
        for r in day_rows.to_dict("records")
    }
    for r in category_rows.to_dict("records"):
        out[str(r["order_date"])]["categories"][str(r["category"])] = {c: int(r[c]) for c in kpis.CATEGORY_SUMS}
    return out


def kpi_frames(dates: list[tuple[str, list[dict], int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(OrderKPIs, CategoryKPIs) frames, as transformer.kpis computes them, of dates given as
    (date, its parts' partials, its unique customers); a date with no part has no rows."""
    order_rows, category_rows = [], []
    for date, partials, unique in sorted(dates):
        if not partials:
            continue
        day = {c: sum(p["order"][c] for p in partials) for c in kpis.ORDER_SUMS}
        order_rows.append({"order_date": date, **day, "unique_customers": unique})
        categories: dict[str, dict[str, int]] = {}
        for p in partials:
            for name, sums in p["categories"].items():
                into = categories.setdefault(name, dict.fromkeys(kpis.CATEGORY_SUMS, 0))
                for c in kpis.CATEGORY_SUMS:
                    into[c] += sums[c]
        category_rows += [{"category": n, "order_date": date, **s} for n, s in categories.items()]
    return _order_frame(order_rows), _category_frame(category_rows)


def _order_frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=kpis.ORDER_KPI_COLUMNS)
    out = pd.DataFrame(rows)
    for c in ("total_revenue_cents", "total_items_sold"):
        out[c] = out[c].astype(object)
    out["return_rate_e4"] = money_frames.div_half_up(out["returned_orders"] * 10_000, out["total_orders"])
    return out[kpis.ORDER_KPI_COLUMNS].sort_values("order_date", ignore_index=True)


def _category_frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=kpis.CATEGORY_KPI_COLUMNS)
    out = pd.DataFrame(rows)
    out["daily_revenue_cents"] = out["daily_revenue_cents"].astype(object)
    out["avg_order_value_cents"] = money_frames.div_half_up(out["daily_revenue_cents"], out["sold_order_count"])
    out["avg_return_rate_e4"] = money_frames.div_half_up(out["returned_count"] * 10_000, out["order_count"])
    return out.sort_values(["order_date", "category"], ignore_index=True)[kpis.CATEGORY_KPI_COLUMNS]


def customers_after(before: pd.DataFrame, gone: pd.Series, added: pd.Series) -> pd.DataFrame:
    """A date's customers (user_id, orders) after orders of users `gone` left it and orders of
    users `added` came (one entry per order); customers with no order left are dropped. The
    batch's users are hashed, not the date's: one probe of the date's customers (Arrow)."""
    users = pd.concat([added.astype("str"), gone.astype("str")], ignore_index=True)
    if users.empty:
        return before
    signs = np.concatenate([np.ones(len(added), np.int64), -np.ones(len(gone), np.int64)])
    codes, distinct = pd.factorize(users)
    change = np.bincount(codes, weights=signs, minlength=len(distinct)).astype(np.int64)
    keep = change != 0
    distinct, change = np.asarray(distinct, dtype=object)[keep], change[keep]
    at = pc.index_in(arrow_column(before["user_id"].astype("str")), value_set=pa.array(distinct, pa.string()))
    found = np.asarray(at.is_valid(), dtype=bool)
    counts = before["orders"].to_numpy(dtype=np.int64).copy()
    counts[found] += change[np.asarray(at.filter(at.is_valid()), dtype=np.int64)]
    is_new = np.ones(len(distinct), dtype=bool)
    is_new[np.asarray(at.filter(at.is_valid()), dtype=np.int64)] = False
    if (change[is_new] < 0).any() or (counts < 0).any():
        raise ValueError("a date's customers would count an order that is not there")
    stay = counts > 0
    return pd.DataFrame(
        {
            "user_id": pd.concat(
                [
                    before["user_id"].astype("str")[stay].reset_index(drop=True),
                    pd.Series(distinct[is_new], dtype="str"),
                ],
                ignore_index=True,
            ),
            "orders": np.concatenate([counts[stay], change[is_new]]),
        }
    )
