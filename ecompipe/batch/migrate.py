"""A store written before cells (one object per kind and order date, and one key cache) re-laid in
cells (docs/scaling.md, "The store in cells"): each old partition's rows go into its date's cells
as a batch of their own would (transformer.cells), its KPIs are recomputed from the cells'
partials, then the old partition goes. A date whose cells exist already (a migration killed
after them) is upserted again onto them, so a rerun ends where one run would have.

The first commit against a store runs it when the store has no layout marker
(`indexes/layout.json`); `ecompipe migrate` runs it on demand. Under leases, it takes the old
dates' leases (ascending) and then the commit lease, as a commit does."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ecompipe.aws import parquet
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.lock import Fence, no_fence
from ecompipe.batch.leases import Leases
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.observability import logger

LAYOUT_MARKER = layout.KEY_INDEX + "layout.json"  # the store is in cells (written once, by the first commit)
LAYOUT = {"layout": "cells", "version": 2}
CHUNK_BYTES = 64 * 2**20  # old partitions re-laid at a time (Parquet: ~1M items)


def if_needed(res: Resources, leases: Leases | None = None) -> dict | None:
    """Migrate when the store has no layout marker and holds old partitions; what was done (None
    when the marker says the store is in cells already). One HEAD when it is."""
    if res.bucket.exists(LAYOUT_MARKER):
        return None
    return migrate(res, leases)


def migrate(
    res: Resources, leases: Leases | None = None, progress: Callable[[str, int, int], None] | None = None
) -> dict:
    """Re-lay every old partition in cells; {"dates": n, "orders": n, "items": n, "kpis_changed": n}
    (kpis_changed: KPI items that differ from what the tables held before: 0 unless they were stale)."""
    from transformer import cells, groups

    curated = CuratedStore(res.bucket)
    dates = curated.legacy_dates()
    done = {"dates": 0, "orders": 0, "items": 0, "kpis_changed": 0}
    fence = no_fence
    try:
        if leases is not None and dates:
            leases.dates.hold(dates, leases.patience)
            leases.commit.acquire_waiting(leases.run_id, leases.dates.owner, leases.patience)
            fence = Fence(leases.commit, leases.run_id).check
        products, _ = groups.products_after(curated, pd.DataFrame({"product_id": [], "category": []}))
        before = _kpis(res)
        for chunk in _chunks(res, dates):
            orders, items = _legacy(res, ORDERS, chunk), _legacy(res, ORDER_ITEMS, chunk)
            if orders is not None:
                items = items if items is not None else orders.iloc[0:0].assign(item_key=[])
                cells.rebuild(curated, res.kpis, chunk, orders, items, products, fence)
                done["orders"] += len(orders)
                done["items"] += len(items)
            fence("the old partitions' removal")
            res.bucket.delete_keys([layout.legacy_partition_key(k, d) for d in chunk for k in (ORDERS, ORDER_ITEMS)])
            done["dates"] += len(chunk)
            if progress:
                progress(chunk[-1], done["dates"], len(dates))
        if dates:
            after = _kpis(res)
            done["kpis_changed"] = sum(1 for key, row in after.items() if before.get(key) != row)
            done["kpis_changed"] += len(before.keys() - after.keys())
        res.bucket.delete_keys([o.key for o in res.bucket.list(layout.LEGACY_KEY_INDEX)])
        res.bucket.put_json(LAYOUT_MARKER, LAYOUT)
    finally:
        if leases is not None and dates:
            leases.release()
    if dates:
        logger.info("the curated store was re-laid in cells: %s", done)
    return done


def _chunks(res: Resources, dates: list[str]) -> list[list[str]]:
    """The dates in runs of at most CHUNK_BYTES of old partitions (one rebuild each)."""
    sizes = {
        d: sum(o.size for k in (ORDERS, ORDER_ITEMS) for o in res.bucket.list(layout.legacy_partition_key(k, d)))
        for d in dates
    }
    chunks: list[list[str]] = [[]]
    total = 0
    for date in dates:
        if chunks[-1] and total + sizes[date] > CHUNK_BYTES:
            chunks.append([])
            total = 0
        chunks[-1].append(date)
        total += sizes[date]
    return [c for c in chunks if c]


def _legacy(res: Resources, kind: str, dates: list[str]) -> pd.DataFrame | None:
    """The rows of the old partitions of `kind` on these dates (items without their order_date:
    they take their order's again)."""
    frames = [parquet.get_frame_or_none(res.bucket, layout.legacy_partition_key(kind, d)) for d in dates]
    found = [f for f in frames if f is not None]
    if not found:
        return None
    frame = pd.concat(found, ignore_index=True)
    return frame.drop(columns=["order_date"]) if kind == ORDER_ITEMS else frame


def _kpis(res: Resources) -> dict[tuple[str, str], dict]:
    """Every KPI item, by (category or "", date)."""
    rows = res.kpis.order_kpis() + res.kpis.category_kpis()
    return {(r.get("category", ""), r["order_date"]): r for r in rows}
