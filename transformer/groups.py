"""The groups of a batch's transform: the staged batch, and which affected dates rebuild together
(closed under the batch's moves, recorded before any shared write). Rebuilding a group's cells
and KPIs is transformer.cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecompipe.aws import staged, transient
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.objects import Bucket, ObjectInfo
from ecompipe.core import cells as cell_math
from ecompipe.core import layout
from ecompipe.core.arrow import contiguous
from transformer import curate

FenceCheck = Callable[[str], None]  # ecompipe.aws.lock.Fence.check, or no_fence


@dataclass
class Batch:
    """The staged batch: its orders, items (its own, then the held items it resolves: `resolved`,
    their keys) and products, stamped with the batch. Each key is there once: validation stages
    the first row of a key and rejects the others (duplicate_key), and a held item the batch
    brings again is superseded, never resolved (validator.pending). `coded`: the file and batch
    columns are categories (Batch.load), for a reader that only passes the rows on
    (transformer.fanout.store_groups); a rebuild loads the batch as text."""

    orders: pd.DataFrame
    items: pd.DataFrame
    products: pd.DataFrame
    resolved: pd.Index = field(default_factory=lambda: pd.Index([], dtype="str"))
    coded: bool = False

    @classmethod
    def load(cls, bucket: Bucket, batch_id: str, coded: bool = False) -> Batch:
        items = staged.read(bucket, batch_id, ORDER_ITEMS, categories=coded)
        resolved = transient.get_frame_or_none(bucket, layout.staged_resolved_key(batch_id))
        if resolved is not None and len(resolved):  # (an empty frame in a concat makes every column object)
            if coded:  # (the resolved items' files are not among the batch's categories: text)
                coded_columns = [c for c in items.columns if isinstance(items[c].dtype, pd.CategoricalDtype)]
                items = items.astype(dict.fromkeys(coded_columns, "str"))
            items = contiguous(pd.concat([items, resolved], ignore_index=True))
        return cls(
            _stamped(staged.read(bucket, batch_id, ORDERS, categories=coded), batch_id, coded),
            _stamped(items, batch_id, coded),
            staged_products(bucket, batch_id),
            _keys(resolved),
            coded,
        )

    def counts(self, changed: int) -> dict[str, int]:
        return {
            "orders_upserted": len(self.orders),
            "items_upserted": len(self.items),
            "products_upserted": len(self.products),
            "products_recategorised": changed,
        }


def resolved_keys(bucket: Bucket, batch_id: str) -> pd.Index:
    """The keys of the held items the batch resolves, as staged now."""
    return _keys(transient.get_frame_or_none(bucket, layout.staged_resolved_key(batch_id), columns=["item_key"]))


def _keys(resolved: pd.DataFrame | None) -> pd.Index:
    return pd.Index([] if resolved is None else resolved["item_key"].unique(), dtype="str")


def staged_products(bucket: Bucket, batch_id: str) -> pd.DataFrame:
    """The batch's staged products (each once), stamped with the batch."""
    return _stamped(staged.read(bucket, batch_id, "products"), batch_id)


def _stamped(rows: pd.DataFrame, batch_id: str, coded: bool = False) -> pd.DataFrame:
    """The rows with their batch id (`coded`: as a category: one code per row, not the text)."""
    if not coded:
        return rows.assign(batch_id=batch_id)
    return rows.assign(batch_id=pd.Categorical.from_codes(np.zeros(len(rows), dtype=np.int8), [batch_id]))


def products_after(curated: CuratedStore, staged: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """(the catalogue after the batch, the products it recategorises)."""
    before = curated.products()
    return curate.upsert(before, staged, "product_id"), curate.changed_categories(before, staged)


def plan(
    bucket: Bucket,
    batch_id: str,
    curated: CuratedStore,
    batch: Batch,
    changed: pd.Index,
    bins: int,
    listed: dict[str, list[ObjectInfo]],
) -> tuple[list[list[str]], list[tuple[int, int]], pd.Series]:
    """(the affected dates in closed groups packed into at most `bins` bins, the share of each bin
    (`shares`), each batch item's date). The groups are recorded before any shared write and
    every later attempt of the batch keeps them together: a killed attempt may already have
    moved rows, so the curated store alone no longer shows every date or move (an order re-sent
    under a new date is gone from its old partition, whose KPIs would otherwise keep counting
    it)."""
    index = curated.index_for(batch.orders, batch.items, changed, listed)
    dates = curate.item_dates(batch.orders, batch.items, index)
    if dates.isna().any():
        orphans = batch.items.loc[dates.isna().to_numpy(), "item_key"].head(5).tolist()
        raise RuntimeError(f"curated items without an order in the affected partitions: {orphans}")
    before = _recorded(bucket, batch_id)
    groups = curate.date_components(batch.orders, batch.items, index, changed, before, dates)
    if groups != before:
        bucket.put_json(layout.affected_dates_key(batch_id), {"groups": groups})
    weight = pd.concat([index.items["order_date"], dates]).value_counts().to_dict()
    binned, shares = shares_of(groups, weight, bins)
    return binned, shares, dates


def shares_of(
    groups: list[list[str]], weight: dict[str, int], bins: int
) -> tuple[list[list[str]], list[tuple[int, int]]]:
    """The closed groups in at most `bins` bins, with each bin's share of its dates' cells
    (residue, of): a group weighing two bins or more (a day's batch is mostly one date) is split
    into `of` pieces (a power of two), piece r holding the orders whose id hashes to r mod `of`
    with their items (transformer.pieces); the other groups are packed whole, (0, 1), into the
    bins left (at least one: the pieces give way to groups of no weight)."""
    total = sum(weight.get(d, 0) for g in groups for d in g)
    split: list[tuple[list[str], int]] = []
    whole: list[list[str]] = []
    for group in groups:
        heavy, of = sum(weight.get(d, 0) for d in group) * bins, 1
        while of * 2 <= min(bins, cell_math.MAX_BUCKETS) and heavy >= of * 2 * total:
            of *= 2
        if of > 1:
            split.append((group, of))
        else:
            whole.append(group)
    while whole and split and sum(of for _, of in split) >= bins:  # (groups of no weight need a bin too)
        largest = max(range(len(split)), key=lambda i: split[i][1])
        group, of = split[largest]
        split[largest] = (group, of // 2)
        if of // 2 == 1:
            whole.append(split.pop(largest)[0])
    pieces = [(sorted(group), (r, of)) for group, of in split for r in range(of)]
    packed = curate.pack(whole, weight, max(1, bins - len(pieces))) if whole else []
    binned = [dates for dates, _ in pieces] + packed
    return binned, [share for _, share in pieces] + [(0, 1)] * len(packed)


def _recorded(bucket: Bucket, batch_id: str) -> list[list[str]]:
    """The groups an earlier attempt of the batch recorded (a bare list of dates, as recorded
    before the groups were, is one group)."""
    doc = bucket.get_json_or_none(layout.affected_dates_key(batch_id))
    if isinstance(doc, list):
        return [[d for d in doc if isinstance(d, str)]]
    groups = doc.get("groups", []) if isinstance(doc, dict) else []
    return [[d for d in g if isinstance(d, str)] for g in groups if isinstance(g, list)]
