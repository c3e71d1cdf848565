"""Consistency warnings (never rejections): each order against the items the batch holds of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core import money, money_frames
from ecompipe.core.arrow import arrow_column

TYPES = ("total_amount_mismatch", "num_of_item_mismatch")  # in the order a report lists them
ORDER_COLUMNS = ["order_id", "total_amount_cents", "num_of_item", "source_file", "source_line"]
ITEM_COLUMNS = ["order_id", "quantity", "unit_price_cents"]  # what warnings_of reads


def warnings_of(orders: pd.DataFrame, items: pd.DataFrame, held: pd.DataFrame) -> list[dict]:
    """The warnings of these orders (of the batch, or of a shard: an order's items are in its
    shard), judged on the items this batch holds of each: its accepted `items` and `held` ones.
    Whole columns are read, never concatenated or copied: only the orders that warn are taken
    (a copy of every order with its sums was ~0.5 GiB at 10M items, at the task's peak)."""
    rows = (items, held)
    # each item's order by position among the orders (accepted order ids are unique)
    ids = pa.chunked_array([arrow_column(r["order_id"]) for r in rows], type=pa.large_string())
    at = pc.index_in(ids, value_set=arrow_column(orders["order_id"]))
    found = np.asarray(at.is_valid(), dtype=bool)
    quantity = np.concatenate([r["quantity"].to_numpy(dtype="int64") for r in rows])[found]
    price = np.concatenate([r["unit_price_cents"].to_numpy(dtype="int64") for r in rows])[found]
    lines = {"items": np.ones(len(quantity), dtype=np.int64), "units": quantity, "cents": quantity * price}
    per_order = money_frames.exact_sums_at(np.asarray(at.drop_null(), dtype=np.int64), len(orders), lines)
    per_order.index = orders.index
    counted = per_order["items"] > 0
    amount = counted & money_frames.differ_by_more_than(orders["total_amount_cents"], per_order["cents"], 1)
    count = counted & orders["num_of_item"].notna() & (orders["num_of_item"] != per_order["items"])
    amount_rows = orders[amount].assign(cents=per_order["cents"][amount])
    count_rows = orders[count].assign(items=per_order["items"][count])
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


def in_batch_order(found: list[list[dict]], files: list[str]) -> list[dict]:
    """The shards' warnings as one check of the whole batch lists them: by type, then by the
    order's file (in the batch's order of files) and line."""
    position = {key: i for i, key in enumerate(files)}
    merged = [w for shard in found for w in shard]
    return sorted(merged, key=lambda w: (TYPES.index(w["type"]), position[w["file"]], w["line"]))
