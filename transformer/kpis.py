"""KPI computation (DESIGN §3), pure: canonical frames in, KPI frames out, all in integers.

Money is integer cents; rates are integer ten-thousandths; divisions round half-up. Nothing is
accumulated in floats and no sum can wrap (ecompipe.core.money), so every figure is exact to the cent.

Strings are hashed once (order ids, dates, users, categories become integer codes through Arrow);
every grouping then runs on integers (numpy bincount, pandas on int64), never on strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ecompipe.core import kpis as model
from ecompipe.core import money_frames
from ecompipe.core.arrow import arrow_column

CANCELLED = "cancelled"
RETURNED = "returned"

ORDER_KPI_COLUMNS = [model.column(f) for f in model.ORDER_FIELDS + model.ORDER_EXTRA]
CATEGORY_KPI_COLUMNS = [model.column(f) for f in model.CATEGORY_FIELDS + model.CATEGORY_EXTRA]


@dataclass
class _Orders:
    """The orders as integer codes."""

    dates: np.ndarray  # the distinct order dates; `date` indexes it
    date: np.ndarray  # per order
    returned: np.ndarray  # per order, 0/1
    sold: np.ndarray  # per order, 0/1 (not cancelled)


@dataclass
class _Lines:
    """The items that have an order among the orders given, in item order."""

    known: np.ndarray  # per item: whether its order is there
    order: np.ndarray  # per line: its order's position
    quantity: np.ndarray
    cents: np.ndarray  # quantity × unit price, at most ecompipe.core.money.MAX_CENTS: no product wraps


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, each row's index into them) of a column without nulls."""
    encoded = pc.dictionary_encode(arrow_column(column))
    return np.asarray(encoded.dictionary, dtype=object), np.asarray(encoded.indices, dtype=np.int64)


def _orders(orders: pd.DataFrame) -> _Orders:
    ids = arrow_column(orders["order_id"])
    if not np.array_equal(np.asarray(pc.index_in(ids, value_set=ids)), np.arange(len(ids))):
        raise ValueError("order ids must be unique in the orders the KPIs are computed from")
    dates, date = _codes(orders["order_date"])
    status = arrow_column(orders["status"])
    returned = np.asarray(pc.equal(status, RETURNED), dtype=np.int64)
    return _Orders(dates, date, returned, np.asarray(pc.not_equal(status, CANCELLED), dtype=np.int64))


def _lines(orders: pd.DataFrame, items: pd.DataFrame) -> _Lines:
    """Items joined to their order by an Arrow hash lookup (items of no order dropped)."""
    at = pc.index_in(arrow_column(items["order_id"]), value_set=arrow_column(orders["order_id"]))
    known = np.asarray(at.is_valid(), dtype=bool)
    quantity = items["quantity"].to_numpy(dtype="int64")[known]
    cents = quantity * items["unit_price_cents"].to_numpy(dtype="int64")[known]
    return _Lines(known, np.asarray(at.filter(at.is_valid()), dtype=np.int64), quantity, cents)


def _per_group(group: np.ndarray, groups: int, values: np.ndarray | None = None) -> np.ndarray:
    """Per group, the count (or the sum of 0/1 `values`) as int64; exact below 2^53 rows."""
    return np.bincount(group, weights=values, minlength=groups).astype(np.int64)


def _sums(group: np.ndarray, groups: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Exact sums (ecompipe.core.money_frames) per group code, one row per code in `groups` (0 for
    a group with no rows; int64 where every sum fits, else Python ints)."""
    size = int(max(group.max(initial=-1), groups.max(initial=-1))) + 1
    return money_frames.exact_sums_at(group, size, columns).iloc[groups].reset_index(drop=True)


def order_kpis(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per order date present in `orders` (pass every order and item of those dates; order
    ids unique). Sums are exact Python integers (ecompipe.core.money), counts int64."""
    if orders.empty:
        return pd.DataFrame(columns=ORDER_KPI_COLUMNS)
    o = _orders(orders)
    out = _order_sums(o, _lines(orders, items))
    _, user = _codes(orders["user_id"])
    customers = pd.DataFrame({"day": o.date, "user": user}).groupby("day")["user"].nunique()
    out["unique_customers"] = customers.reindex(range(len(o.dates)), fill_value=0).to_numpy(dtype=np.int64)
    out["return_rate_e4"] = money_frames.div_half_up(out["returned_orders"] * 10_000, out["total_orders"])
    return out[ORDER_KPI_COLUMNS].sort_values("order_date", ignore_index=True)


def category_kpis(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per (category, date) with at least one item of that category on that date."""
    return _category_kpis(_orders(orders), _lines(orders, items), items, products)


def sums_of(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The figures of order_kpis that are sums (per date: orders, returned and sold orders, revenue
    and items sold; not unique_customers) and category_kpis, of the same rows: the orders' codes
    and the items' lines worked out once (transformer.partials, a part standing in for a date)."""
    o, lines = _orders(orders), _lines(orders, items)
    return _order_sums(o, lines), _category_kpis(o, lines, items, products)


def _order_sums(o: _Orders, lines: _Lines) -> pd.DataFrame:
    """Per order date (in code order): the orders, the returned and sold ones, and the sold
    orders' revenue and items."""
    days = len(o.dates)
    out = pd.DataFrame(
        {
            "order_date": pd.Series(o.dates, dtype="str"),
            "total_orders": _per_group(o.date, days),
            "returned_orders": _per_group(o.date, days, o.returned),
            "sold_orders": _per_group(o.date, days, o.sold),
        }
    )
    sold = o.sold[lines.order].astype(bool)
    sums = _sums(
        o.date[lines.order][sold],
        np.arange(days),
        {"total_revenue_cents": lines.cents[sold], "total_items_sold": lines.quantity[sold]},
    )
    for column in ("total_revenue_cents", "total_items_sold"):
        out[column] = sums[column].astype(object)
    return out


def _category_kpis(o: _Orders, lines: _Lines, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    product_ids = arrow_column(items["product_id"]).filter(lines.known)
    at = pc.index_in(product_ids, value_set=arrow_column(products["product_id"]))
    if at.null_count:
        missing = sorted(set(product_ids.filter(at.is_null()).to_pylist()))[:5]
        raise ValueError(f"items reference products with no category: {missing}")
    if len(lines.order) == 0:
        return pd.DataFrame(columns=CATEGORY_KPI_COLUMNS)
    categories, category_of_product = _codes(products["category"])
    days = len(o.dates)
    # one group per (category, date): category code × days + date code
    group = category_of_product[np.asarray(at, dtype=np.int64)] * days + o.date[lines.order]
    # orders(C, D): distinct orders of D with at least one item of category C
    per_order = pd.DataFrame({"group": group, "order": lines.order}).drop_duplicates()
    g, order = per_order["group"].to_numpy(), per_order["order"].to_numpy()
    groups = len(categories) * days
    order_count = _per_group(g, groups)
    present = np.flatnonzero(order_count)
    sold = o.sold[lines.order].astype(bool)
    revenue = _sums(group, present, {"daily_revenue_cents": np.where(sold, lines.cents, 0)})
    out = pd.DataFrame(
        {
            "category": pd.Series(categories[present // days], dtype="str"),
            "order_date": pd.Series(o.dates[present % days], dtype="str"),
            "order_count": order_count[present],
            "sold_order_count": _per_group(g, groups, o.sold[order])[present],
            "returned_count": _per_group(g, groups, o.returned[order])[present],
            "daily_revenue_cents": revenue["daily_revenue_cents"],
        }
    )
    out["avg_order_value_cents"] = money_frames.div_half_up(out["daily_revenue_cents"], out["sold_order_count"])
    out["avg_return_rate_e4"] = money_frames.div_half_up(out["returned_count"] * 10_000, out["order_count"])
    return out.sort_values(["order_date", "category"], ignore_index=True)[CATEGORY_KPI_COLUMNS]


def order_records(frame: pd.DataFrame) -> list[dict]:
    """OrderKPIs items: the model's fields and extras, as DynamoDB stores them."""
    return _records(frame, model.ORDER_FIELDS + model.ORDER_EXTRA)


def category_records(frame: pd.DataFrame) -> list[dict]:
    """CategoryKPIs items (DESIGN §3 names)."""
    return _records(frame, model.CATEGORY_FIELDS + model.CATEGORY_EXTRA)


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    columns = {f: frame[model.column(f)].tolist() for f in fields}
    return [{f: model.stored(f, columns[f][i]) for f in fields} for i in range(len(frame))]
