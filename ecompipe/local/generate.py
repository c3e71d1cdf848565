"""Deterministic, realistic batches in either dialect (tests, sample data, benchmarks).

Multi-item orders across categories, returns and cancellations, order files that each span many
days, and an order's items split across two item files, like the public data. An optional share
of bad rows covers the row-level problems the validator knows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

CATEGORIES = ["Beauty", "Books", "Clothing", "Electronics", "Home & Kitchen", "Sports", "Toys", "Garden"]
STATUSES = ["delivered", "shipped", "returned", "cancelled", "processing", "pending", "completed"]
STATUS_WEIGHTS = [0.55, 0.1, 0.14, 0.09, 0.05, 0.03, 0.04]

# the bad-row kinds, by file kind; each turns one cell of a row bad
BAD_ORDER_KINDS = ("bad_date", "future_date", "unknown_status", "missing_user", "duplicate_order", "bad_total")
BAD_ITEM_KINDS = (
    "bad_price",
    "negative_price",
    "zero_quantity",
    "bad_quantity",
    "missing_product",
    "unknown_product",
    "unknown_order",
)


@dataclass(frozen=True)
class Spec:
    order_items: int
    dialect: str = "seed"
    days: int = 30
    files: int = 5
    bad_rate: float = 0.0
    seed: int = 0
    start: str = "2025-01-01"
    first_id: int = 1  # order and item ids count from here (batches with distinct keys)


def generate(spec: Spec) -> dict[str, bytes]:
    """File name -> CSV bytes: orders_partN.csv, order_items_partN.csv, products.csv."""
    if spec.dialect not in ("seed", "thelook"):
        raise ValueError(f"dialect must be seed or thelook, not {spec.dialect!r}")
    rng = np.random.default_rng(spec.seed)
    products = _products(rng, max(20, spec.order_items // 40))
    orders, items = _orders_and_items(rng, spec, products)
    if spec.bad_rate > 0:
        orders = _spoil(rng, orders, spec.bad_rate, BAD_ORDER_KINDS)
        items = _spoil(rng, items, spec.bad_rate, BAD_ITEM_KINDS)
    out = {"products.csv": _csv(_product_columns(products, spec.dialect))}
    for i, part in enumerate(np.array_split(np.arange(len(orders)), spec.files), start=1):
        out[f"orders_part{i}.csv"] = _csv(_order_columns(orders.iloc[part], spec.dialect))
    # split items at item (not order) boundaries, so an order's items can straddle two files
    for i, part in enumerate(np.array_split(np.arange(len(items)), spec.files), start=1):
        data = _csv(_item_columns(items.iloc[part], spec.dialect))
        if spec.bad_rate > 0:  # rows with the wrong number of fields, which only raw text can hold
            data += b"1,2\n" * max(1, round(len(part) * spec.bad_rate / len(BAD_ITEM_KINDS)))
        out[f"order_items_part{i}.csv"] = data
    return out


def _products(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": np.arange(1, n + 1),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
            "name": [f"Product {i}" for i in range(1, n + 1)],
            "price_cents": rng.integers(199, 30000, n),
            "cost_cents": rng.integers(50, 150, n),
        }
    )


def _orders_and_items(
    rng: np.random.Generator, spec: Spec, products: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_order = rng.integers(1, 5, max(1, spec.order_items // 2))
    per_order = per_order[np.cumsum(per_order) <= spec.order_items]
    if per_order.sum() < spec.order_items:
        per_order = np.append(per_order, spec.order_items - per_order.sum())
    n_orders = len(per_order)
    start = np.datetime64(spec.start, "s")
    seconds = rng.integers(0, spec.days * 86400, n_orders)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(spec.first_id, spec.first_id + n_orders),
            "user_id": rng.integers(1, max(2, int(n_orders * 0.8)), n_orders),
            "order_ts": (start + seconds.astype("timedelta64[s]")).astype("datetime64[s]"),
            "status": rng.choice(STATUSES, n_orders, p=STATUS_WEIGHTS),
            "num_of_item": per_order,
        }
    )
    order_of_item = np.repeat(orders["order_id"].to_numpy(), per_order)
    product_idx = rng.integers(0, len(products), len(order_of_item))
    discount = rng.choice([100, 100, 100, 90, 75], len(order_of_item))
    items = pd.DataFrame(
        {
            "item_id": np.arange(spec.first_id, spec.first_id + len(order_of_item)),
            "order_id": order_of_item,
            "product_id": products["product_id"].to_numpy()[product_idx],
            "quantity": rng.choice([1, 1, 1, 2, 3], len(order_of_item)) if spec.dialect == "seed" else 1,
            "unit_price_cents": products["price_cents"].to_numpy()[product_idx] * discount // 100,
        }
    )
    # seed product ids must be unique per order: keep one row per (order, product)
    if spec.dialect == "seed":
        items = items.drop_duplicates(["order_id", "product_id"]).reset_index(drop=True)
    lines = items.assign(line=items["quantity"] * items["unit_price_cents"]).groupby("order_id")["line"].sum()
    orders["total_amount_cents"] = orders["order_id"].map(lines).fillna(0).astype("int64")
    orders["num_of_item"] = orders["order_id"].map(items.groupby("order_id").size()).fillna(0).astype("int64")
    return orders.astype({"order_ts": "str"}), items


def _spoil(rng: np.random.Generator, frame: pd.DataFrame, rate: float, kinds: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.astype("object").copy()
    n_bad = round(len(frame) * rate)
    rows = rng.choice(len(frame), n_bad, replace=False) if n_bad else np.array([], dtype=int)
    for i, row in enumerate(sorted(rows)):
        kind = kinds[i % len(kinds)]
        if kind == "bad_date":
            frame.iat[row, frame.columns.get_loc("order_ts")] = "2025-13-45"
        elif kind == "future_date":
            frame.iat[row, frame.columns.get_loc("order_ts")] = "2999-01-01T00:00:00"
        elif kind == "unknown_status":
            frame.iat[row, frame.columns.get_loc("status")] = "lost_in_space"
        elif kind == "missing_user":
            frame.iat[row, frame.columns.get_loc("user_id")] = ""
        elif kind == "duplicate_order":
            frame.iat[row, frame.columns.get_loc("order_id")] = frame.iat[max(0, row - 1), 0]
        elif kind == "bad_price":
            frame.iat[row, frame.columns.get_loc("unit_price_cents")] = "12,5O"
        elif kind == "negative_price":
            frame.iat[row, frame.columns.get_loc("unit_price_cents")] = -500
        elif kind == "zero_quantity":
            frame.iat[row, frame.columns.get_loc("quantity")] = 0
        elif kind == "missing_product":
            frame.iat[row, frame.columns.get_loc("product_id")] = ""
        elif kind == "unknown_product":
            frame.iat[row, frame.columns.get_loc("product_id")] = 990_000_000 + row
        elif kind == "unknown_order":
            frame.iat[row, frame.columns.get_loc("order_id")] = 990_000_000 + row
        elif kind == "bad_quantity":
            frame.iat[row, frame.columns.get_loc("quantity")] = "two"
        elif kind == "bad_total":
            frame.iat[row, frame.columns.get_loc("total_amount_cents")] = "n/a"
    return frame


def _money(cents: pd.Series) -> pd.Series:
    """Integer cents as text with two decimals; anything else (a spoiled cell) as it is."""
    numeric = pd.to_numeric(cents, errors="coerce")
    ok = numeric.notna()
    text = cents.astype("str")
    value = numeric[ok].astype("int64")
    sign = np.where(value < 0, "-", "")
    text[ok] = sign + (value.abs() // 100).astype("str") + "." + (value.abs() % 100).astype("str").str.zfill(2)
    return text


def _product_columns(p: pd.DataFrame, dialect: str) -> pd.DataFrame:
    if dialect == "seed":
        return pd.DataFrame(
            {
                "product_id": p["product_id"],
                "category": p["category"],
                "name": p["name"],
                "price": _money(p["price_cents"]),
            }
        )
    return pd.DataFrame(
        {
            "id": p["product_id"],
            "sku": "SKU-" + p["product_id"].astype("str"),
            "cost": _money(p["cost_cents"]),
            "category": p["category"],
            "name": p["name"],
            "brand": "Acme",
            "retail_price": _money(p["price_cents"]),
            "department": "Main",
        }
    )


def _order_columns(o: pd.DataFrame, dialect: str) -> pd.DataFrame:
    if dialect == "seed":
        return pd.DataFrame(
            {
                "order_id": o["order_id"],
                "user_id": o["user_id"],
                "order_date": o["order_ts"].astype("str").str.replace("T", " "),
                "total_amount": _money(o["total_amount_cents"]),
                "status": o["status"],
            }
        )
    ts = o["order_ts"].astype("str").str.replace(" ", "T")
    return pd.DataFrame(
        {
            "order_id": o["order_id"],
            "user_id": o["user_id"],
            "status": o["status"],
            "created_at": ts,
            "returned_at": "",
            "shipped_at": "",
            "delivered_at": "",
            "num_of_item": o["num_of_item"],
        }
    )


def _item_columns(i: pd.DataFrame, dialect: str) -> pd.DataFrame:
    if dialect == "seed":
        return pd.DataFrame(
            {
                "order_id": i["order_id"],
                "product_id": i["product_id"],
                "quantity": i["quantity"],
                "unit_price": _money(i["unit_price_cents"]),
            }
        )
    return pd.DataFrame(
        {
            "id": i["item_id"],
            "order_id": i["order_id"],
            "user_id": "",
            "product_id": i["product_id"],
            "status": "",
            "created_at": "",
            "shipped_at": "",
            "delivered_at": "",
            "returned_at": "",
            "sale_price": _money(i["unit_price_cents"]),
        }
    )


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False, lineterminator="\n")
    return out.getvalue().encode()
