"""Pure upsert logic for the curated store (DESIGN §4): newest batch wins, by key.

Orders and items live in partitions by order date. A batch touches the dates of its orders (new
and, for a changed order, old), the dates of the orders of its items, and the dates of items whose
product changed category. Those partitions are rebuilt whole; KPIs are computed from them.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc

from ecompipe.aws.curated import CuratedIndex
from ecompipe.core.arrow import arrow_column
from ecompipe.core.keys import isin

ORDER_INDEX_COLUMNS = ["order_id", "order_date"]


def upsert(existing: pd.DataFrame | None, incoming: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rows of `incoming` replace rows of `existing` with the same key; the rest is kept. A key
    seen twice in `incoming` is stored once (its last row)."""
    incoming = incoming.drop_duplicates(key, keep="last")
    if existing is None or existing.empty:
        return incoming.reset_index(drop=True)
    if incoming.empty:
        return existing.reset_index(drop=True)
    kept = existing[~isin(existing[key], incoming[key])]
    return pd.concat([kept, incoming], ignore_index=True)


def changed_categories(existing: pd.DataFrame | None, incoming: pd.DataFrame) -> pd.Index:
    """Product ids already curated whose category this batch changes."""
    if existing is None or existing.empty or incoming.empty:
        return pd.Index([], dtype="str")
    old = existing.set_index("product_id")["category"]
    new = incoming.drop_duplicates("product_id", keep="last").set_index("product_id")["category"]
    common = new.index.intersection(old.index)
    return common[(new[common] != old[common]).to_numpy()]


def affected_dates(
    batch_orders: pd.DataFrame,
    batch_items: pd.DataFrame,
    index: CuratedIndex,
    changed_products: pd.Index,
) -> list[str]:
    """Every order date whose KPIs this batch can change."""
    order_dates = pd.concat([index.orders, batch_orders[ORDER_INDEX_COLUMNS]]).drop_duplicates("order_id", keep="last")

    def distinct(dates_column: pd.Series) -> set:
        return set(dates_column.dropna().unique())

    dates = distinct(batch_orders["order_date"])
    dates |= distinct(index.orders.loc[isin(index.orders["order_id"], batch_orders["order_id"]), "order_date"])
    dates |= distinct(order_dates.loc[isin(order_dates["order_id"], batch_items["order_id"]), "order_date"])
    # an item re-sent under another order leaves its old date too
    dates |= distinct(index.items.loc[isin(index.items["item_key"], batch_items["item_key"]), "order_date"])
    dates |= distinct(index.items.loc[isin(index.items["product_id"], changed_products), "order_date"])
    return sorted(d for d in dates if isinstance(d, str))


def rebuild(
    existing_orders: pd.DataFrame,
    existing_items: pd.DataFrame,
    batch_orders: pd.DataFrame,
    batch_items: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full contents of the affected partitions after the upsert.

    `existing_*` hold every row of the affected partitions; the batch's rows replace theirs by key.
    Items take the date of their (possibly changed) order.
    """
    orders = upsert(existing_orders, batch_orders, "order_id")
    items = upsert(existing_items.drop(columns=["order_date"], errors="ignore"), batch_items, "item_key")
    items = items.drop(columns=["order_date"], errors="ignore").reset_index(drop=True)
    # each item takes its order's date (null without one) by an Arrow hash lookup, not a merge
    at = pc.index_in(arrow_column(items["order_id"]), value_set=arrow_column(orders["order_id"]))
    dates = pc.take(arrow_column(orders["order_date"]), at)
    items["order_date"] = pd.Series(dates.to_pandas(), index=items.index).astype(orders["order_date"].dtype)
    return orders, items
