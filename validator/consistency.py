"""Consistency warnings (never rejections): each order against the items the batch holds of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ecompipe.core import money, money_frames
from ecompipe.core.arrow import arrow_column
from ecompipe.core.keys import positions_in

TYPES = ("total_amount_mismatch", "num_of_item_mismatch")  # in the order a report lists them
ORDER_COLUMNS = ["order_id", "total_amount_cents", "num_of_item", "source_file", "source_line"]
ITEM_COLUMNS = ["order_id", "quantity", "unit_price_cents"]  # what warnings_of reads


def warnings_of(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    orders_counted: np.ndarray | None = None,
    items_counted: np.ndarray | None = None,
    item_orders: pa.Array | None = None,
) -> list[dict]:
    """The warnings of these orders (of the batch, or of a shard: an order's items are in its
    shard), judged on the items this batch holds of each, accepted or held. `orders_counted` and
    `items_counted` (masks; all when None) say which rows are the batch's accepted ones, so a
    caller's frames need not be filtered first. Whole columns are read, never concatenated or
    copied: only the orders that warn are taken (a copy of every order with its sums was ~0.5 GiB
    at 10M items, at the task's peak). `item_orders`: each item's position among the counted
    orders (null: none), when the caller found it already."""
    counted = np.ones(len(orders), bool) if orders_counted is None else np.asarray(orders_counted, bool)
    of_orders = np.flatnonzero(counted)
    # each item's order by position among the counted orders (their ids are unique)
    at = orders_of_items(orders, items, counted) if item_orders is None else item_orders
    found = np.asarray(at.is_valid(), dtype=bool)
    if items_counted is not None:
        found &= np.asarray(items_counted, bool)
    quantity = items["quantity"].to_numpy(dtype="int64", na_value=0)[found]
    price = items["unit_price_cents"].to_numpy(dtype="int64", na_value=0)[found]
    lines = {"items": np.ones(len(quantity), dtype=np.int64), "units": quantity, "cents": quantity * price}
    positions = np.asarray(at.fill_null(0), dtype=np.int64)[found]
    per_order = money_frames.exact_sums_at(positions, len(of_orders), lines)
    total = orders["total_amount_cents"].take(of_orders).reset_index(drop=True)
    number = orders["num_of_item"].take(of_orders).reset_index(drop=True)
    with_items = per_order["items"] > 0
    amount = with_items & money_frames.differ_by_more_than(total, per_order["cents"], 1)
    count = with_items & number.notna() & (number != per_order["items"])
    amount_rows = orders.take(of_orders[amount.to_numpy()]).assign(cents=per_order["cents"][amount].to_numpy())
    count_rows = orders.take(of_orders[count.to_numpy(dtype=bool)]).assign(
        items=per_order["items"][count.to_numpy(dtype=bool)].to_numpy()
    )
    out: list[dict] = []
    for r in amount_rows.itertuples():
        out.append(
            {
                "type": TYPES[0],
                "file": r.source_file,
                "line": int(r.source_line),
                "order_id": r.order_id,
                "message": f"total_amount {money.format_cents(r.total_amount_cents)} differs from the sum of its "
                f"items in this batch {money.format_cents(r.cents)} by more than 0.01",
            }
        )
    for r in count_rows.itertuples():
        out.append(
            {
                "type": TYPES[1],
                "file": r.source_file,
                "line": int(r.source_line),
                "order_id": r.order_id,
                "message": f"num_of_item {int(r.num_of_item)} but this batch holds {int(r.items)} of its items",
            }
        )
    return out


def orders_of_items(orders: pd.DataFrame, items: pd.DataFrame, counted: np.ndarray) -> pa.Array:
    """Each item's position among the `counted` orders (their ids are unique); null when its order
    is not one of them."""
    ids = arrow_column(orders["order_id"]).filter(pa.array(counted))
    return positions_in(arrow_column(items["order_id"]), ids)


def in_batch_order(found: list[list[dict]], files: list[str]) -> list[dict]:
    """The shards' warnings as one check of the whole batch lists them: by type, then by the
    order's file (in the batch's order of files) and line."""
    position = {key: i for i, key in enumerate(files)}
    merged = [w for shard in found for w in shard]
    return sorted(merged, key=lambda w: (TYPES.index(w["type"]), position[w["file"]], w["line"]))
