"""Pure upsert logic for the curated store (DESIGN §4): newest batch wins, by key.

Orders and items live in partitions by order date. A batch touches the dates of its orders (new
and, for a changed order, old), the dates of the orders of its items, and the dates of items whose
product changed category. Those partitions are rebuilt whole; KPIs are computed from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
import pyarrow.compute as pc

from ecompipe.aws.curated import CuratedIndex
from ecompipe.core.arrow import arrow_column
from ecompipe.core.keys import all_distinct, isin, positions_in

ORDER_INDEX_COLUMNS = ["order_id", "order_date"]


def upsert(existing: pd.DataFrame | None, incoming: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rows of `incoming` (each key once: `newest`) replace rows of `existing` with the same key;
    the rest is kept."""
    if existing is None or existing.empty:
        return incoming.reset_index(drop=True)
    if incoming.empty:
        return existing.reset_index(drop=True)
    kept = existing[~isin(existing[key], incoming[key])]
    return pd.concat([kept, incoming], ignore_index=True)


PROVENANCE = ("source_file", "source_line", "batch_id")  # where a row came from, not what it says


def same_products(before: pd.DataFrame | None, after: pd.DataFrame) -> bool:
    """Whether two catalogues hold the same products with the same values, wherever each row came
    from: a batch re-sending products unchanged leaves the catalogue as it is, so a batch committing
    beside it does not see the catalogue change (ecompipe.batch.commit)."""
    if before is None or len(before) != len(after) or set(before.columns) != set(after.columns):
        return False
    columns = sorted(c for c in after.columns if c not in PROVENANCE)

    def values(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[columns].astype("str").sort_values("product_id").reset_index(drop=True)

    return values(before).equals(values(after))


def changed_categories(existing: pd.DataFrame | None, incoming: pd.DataFrame) -> pd.Index:
    """Product ids already curated whose category this batch changes (`incoming`: each product
    once, as the upsert takes it)."""
    if existing is None or existing.empty or incoming.empty:
        return pd.Index([], dtype="str")
    old = existing.set_index("product_id")["category"]
    new = incoming.set_index("product_id")["category"]
    common = new.index.intersection(old.index)
    return common[(new[common] != old[common]).to_numpy()]


def affected_dates(
    batch_orders: pd.DataFrame,
    batch_items: pd.DataFrame,
    index: CuratedIndex,
    changed_products: pd.Index,
) -> list[str]:
    """Every order date whose KPIs this batch can change (the batch's frames hold each key once,
    as validation stages them: date_components)."""
    return sorted(d for group in date_components(batch_orders, batch_items, index, changed_products) for d in group)


def newest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Each key once: its last row, the one the upsert keeps (the frame itself when no key repeats)."""
    return frame if all_distinct(frame[key]) else frame.drop_duplicates(key, keep="last")


def date_components(
    batch_orders: pd.DataFrame,
    batch_items: pd.DataFrame,
    index: CuratedIndex,
    changed_products: pd.Index,
    linked: Iterable[Iterable[str]] = (),
    dates_of_items: pd.Series | None = None,
) -> list[list[str]]:
    """The affected dates in groups closed under the batch's moves: a row the upsert moves (an
    order re-sent under a new date takes its items along; an item re-sent under another order)
    leaves one date of a group for another date of the same group. So a group's partitions are
    rebuilt from themselves and the batch's rows of its dates alone, whatever the other groups do.
    Dates in one of `linked` (groups recorded by an earlier attempt) stay together too.
    The batch's frames hold each key once (`newest`; the staged batch does by validation's
    duplicate_key rule). `dates_of_items`: item_dates of the batch's items, when the caller has
    them already.
    Groups sorted, each sorted; every date in exactly one."""
    if dates_of_items is None:
        dates_of_items = item_dates(batch_orders, batch_items, index)
    new_order = batch_orders[ORDER_INDEX_COLUMNS]
    new_item = batch_items[["item_key"]].assign(order_date=dates_of_items)
    moved_orders = _moves(index.orders, "order_id", new_order)
    moved_items = _moves(index.items, "item_key", new_item)
    dates = _distinct(batch_orders["order_date"]) | _distinct(new_item["order_date"])
    dates |= _distinct(moved_orders["order_date"]) | _distinct(moved_items["order_date"])
    dates |= set(index.product_dates) if len(changed_products) else set()
    links = [list(group) for group in linked]
    dates |= {d for group in links for d in group if isinstance(d, str)}
    parent = {d: d for d in dates}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    pairs = pd.concat(
        [f[["order_date", "order_date_new"]] for f in (moved_orders, moved_items)], ignore_index=True
    ).dropna()
    edges = list(pairs.drop_duplicates().itertuples(index=False, name=None))
    edges += [(g[0], d) for g in links for d in g[1:] if isinstance(g[0], str) and isinstance(d, str)]
    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for d in sorted(dates):
        groups.setdefault(root(d), []).append(d)
    return sorted(groups.values())


def item_dates(batch_orders: pd.DataFrame, batch_items: pd.DataFrame, index: CuratedIndex) -> pd.Series:
    """The order date each batch item takes: its order's in the batch, else in the curated store
    (null for an item whose order is in neither). `batch_orders` holds each order once."""
    dates = _lookup(batch_items["order_id"], batch_orders["order_id"], batch_orders["order_date"])
    missing = dates.isna().to_numpy()
    if missing.any() and len(index.orders):
        found = _lookup(batch_items["order_id"][missing], index.orders["order_id"], index.orders["order_date"])
        dates = dates.copy()
        dates[missing] = found.to_numpy()
    return dates


def _lookup(keys: pd.Series, table_keys: pd.Series, table_values: pd.Series) -> pd.Series:
    """table_values at the position of each key in table_keys (unique), null where absent."""
    if len(keys) == 0:  # (no hash table over table_keys, which may be the whole batch)
        return pd.Series([], index=keys.index, dtype=table_values.dtype)
    at = positions_in(arrow_column(keys), arrow_column(table_keys))
    found = pc.take(arrow_column(table_values), at).to_pandas()
    return found.set_axis(keys.index).astype(table_values.dtype)


def _moves(located: pd.DataFrame, key: str, new: pd.DataFrame) -> pd.DataFrame:
    """(order_date, order_date_new) of each located row whose key the batch re-sends."""
    rows = located.loc[isin(located[key], new[key]), [key, "order_date"]]
    return pd.DataFrame(
        {"order_date": rows["order_date"], "order_date_new": _lookup(rows[key], new[key], new["order_date"])}
    )


def _distinct(dates_column: pd.Series) -> set[str]:
    return {d for d in dates_column.dropna().unique() if isinstance(d, str)}


def pack(groups: list[list[str]], weight: Mapping[str, int], bins: int) -> list[list[str]]:
    """The groups packed into at most `bins` bins of about equal weight (the heaviest group first
    into the lightest bin); no bin is empty, each bin's dates sorted."""
    filled: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(bins, len(groups))))]
    for group in sorted(groups, key=lambda g: (-sum(weight.get(d, 0) for d in g), g)):
        lightest = min(range(len(filled)), key=lambda i: (filled[i][0], i))
        total, dates = filled[lightest]
        filled[lightest] = (total + sum(weight.get(d, 0) for d in group), dates + group)
    return [sorted(dates) for _, dates in filled if dates]


def _no_keys() -> pd.Index:
    return pd.Index([], dtype="str")


@dataclass(frozen=True)
class Claims:
    """Whose rows a batch's rebuild may replace. `batch_id`: the stamp on the rows it writes;
    `resolved`: the held items among its rows (taken from the pending set); `dropped`: held items
    it resolved and wrote before, and no longer holds since a recheck at its commit.

    A batch holding a held item's date stores it only once it resolves it. So a resolved item
    already stored under another batch's stamp was taken by that batch's commit (it resolved or
    re-sent the item) after this batch's recheck: the stored row stays, as it will once this
    batch's commit rechecks and drops the item. Without that, the rebuild would restamp the row as
    its own and the drop would then delete a row another batch committed. But a run killed after
    its curated write and before its commit leaves a row stamped by a batch that has not resolved
    the item; `owned` are such items, found still held at this batch's commit (nobody else can
    have taken them then): they are restamped as this batch's, or that batch's run again would
    drop them as lost when they are this batch's."""

    batch_id: str | None = None
    resolved: pd.Index = field(default_factory=_no_keys)
    dropped: pd.Index = field(default_factory=_no_keys)
    owned: pd.Index = field(default_factory=_no_keys)


def rebuild(
    existing_orders: pd.DataFrame,
    existing_items: pd.DataFrame,
    batch_orders: pd.DataFrame,
    batch_items: pd.DataFrame,
    claims: Claims | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full contents of the affected partitions after the upsert.

    `existing_*` hold every row of the affected partitions; the batch's rows (each key once)
    replace theirs by key, but for resolved items another batch committed (Claims). Items of
    `claims.dropped` that this batch wrote go: held items it resolved, wrote, and then no longer
    held when it rechecked them at its commit, because another batch's commit took them meanwhile
    (ecompipe.batch.commit). Items take the date of their (possibly changed) order.
    """
    if claims is not None and claims.batch_id is not None:
        existing_items = without_dropped(existing_items, claims.dropped, claims.batch_id)
        batch_items = batch_items[~isin(batch_items["item_key"], taken(existing_items, claims)).to_numpy()]
    orders = upsert(existing_orders, batch_orders, "order_id")
    items = upsert(existing_items.drop(columns=["order_date"], errors="ignore"), batch_items, "item_key")
    items = items.drop(columns=["order_date"], errors="ignore").reset_index(drop=True)
    # each item takes its order's date (null without one) by an Arrow hash lookup, not a merge
    items["order_date"] = _lookup(items["order_id"], orders["order_id"], orders["order_date"])
    return orders, items


def taken(existing: pd.DataFrame, claims: Claims) -> pd.Index:
    """The batch's resolved items that `existing` holds under another batch's stamp."""
    if not len(claims.resolved) or existing.empty or "batch_id" not in existing.columns:
        return _no_keys()
    others = ~isin(existing["batch_id"], pd.Index([claims.batch_id], dtype="str")).to_numpy()
    keys = existing.loc[others, "item_key"]
    mine = isin(keys, claims.resolved).to_numpy() & ~isin(keys, claims.owned).to_numpy()
    return pd.Index(keys[mine].unique(), dtype="str")


def without_dropped(existing: pd.DataFrame, dropped: pd.Index, batch_id: str) -> pd.DataFrame:
    """`existing` items without those of `dropped` stamped with `batch_id`."""
    if not len(dropped) or existing.empty or "batch_id" not in existing.columns:
        return existing
    mine = isin(existing["batch_id"], pd.Index([batch_id], dtype="str")).to_numpy()
    gone = mine & isin(existing["item_key"], dropped).to_numpy() if mine.any() else mine
    return existing[~gone] if gone.any() else existing
