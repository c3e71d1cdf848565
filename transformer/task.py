"""The transformer task: staged batch -> curated upsert -> KPIs of the affected dates -> DynamoDB.

Writes are ordered so that a crash at any point leaves a state a rerun converges from: curated
partitions first (an idempotent upsert), then the product catalogue (a rerun before it still finds
the batch's recategorised products), then KPIs (replace by date), then the pending set.
Under a lease, each of those steps is fenced on the run id first (ecompipe.aws.lock.Fence).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ecompipe.aws import parquet
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.lock import no_fence
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from transformer import curate, kpis


def run(bucket: Bucket, store: KpiStore, batch_id: str, fence: Callable[[str], None] = no_fence) -> dict:
    """Transform one validated batch; returns (and records) a summary. `fence(step)` raises when
    this run may no longer write (its lease is gone); it is called before every shared write."""
    staged = {kind: parquet.get_frame(bucket, layout.staging_key(batch_id, kind)) for kind in layout.KINDS}
    batch_orders = staged[ORDERS].assign(batch_id=batch_id)
    batch_items = staged[ORDER_ITEMS].assign(batch_id=batch_id)
    curated = CuratedStore(bucket)

    products_before = curated.products()
    products = curate.upsert(products_before, staged["products"].assign(batch_id=batch_id), "product_id")
    changed = curate.changed_categories(products_before, staged["products"])

    dates = _recorded(bucket, batch_id, curate.affected_dates(batch_orders, batch_items, curated.index(), changed))
    existing_orders = curated.read_partitions(ORDERS, dates)
    existing_items = curated.read_partitions(ORDER_ITEMS, dates)
    orders, items = curate.rebuild(
        existing_orders if existing_orders is not None else batch_orders.iloc[0:0],
        existing_items if existing_items is not None else batch_items.iloc[0:0],
        batch_orders,
        batch_items,
    )
    if items["order_date"].isna().any():
        orphans = items.loc[items["order_date"].isna(), "item_key"].head(5).tolist()
        raise RuntimeError(f"curated items without an order in the affected partitions: {orphans}")

    order_kpis = kpis.order_kpis(orders, items)
    category_kpis = kpis.category_kpis(orders, items, products)

    fence("the curated write")
    curated.write_partitions(ORDERS, orders, dates)
    curated.write_partitions(ORDER_ITEMS, items, dates)
    for kind in (ORDERS, ORDER_ITEMS):
        curated.refresh_keys(kind)  # the next batch then reads only the partitions changed after this
    # the catalogue after the partitions: a run killed before this write is rerun against the old
    # catalogue, so it still sees which products the batch recategorised (and their dates)
    fence("the product catalogue write")
    if not staged["products"].empty:
        curated.write_products(products)
    fence("the KPI write")
    written = store.replace_dates(dates, kpis.order_records(order_kpis), kpis.category_records(category_kpis))
    fence("the pending commit")
    _commit_pending(bucket, batch_id)
    summary = {
        "batch_id": batch_id,
        "affected_dates": dates,
        "orders_upserted": len(batch_orders),
        "items_upserted": len(batch_items),
        "products_upserted": len(staged["products"]),
        "products_recategorised": len(changed),
        "kpi_items_written": written,
    }
    bucket.put_json(layout.transform_report_key(batch_id), summary)
    return summary


def _recorded(bucket: Bucket, batch_id: str, dates: list[str]) -> list[str]:
    """These dates and those an earlier attempt of the batch recorded, recorded before any shared
    write. A run killed after its curated write has already moved rows: an order re-sent under a
    new date is gone from its old partition, so a rerun would no longer find the old date (whose
    KPIs would keep counting the order). The record keeps it."""
    before = bucket.get_json_or_none(layout.affected_dates_key(batch_id)) or []
    union = sorted(set(dates) | {d for d in before if isinstance(d, str)})
    if union != before:
        bucket.put_json(layout.affected_dates_key(batch_id), union)
    return union


def _commit_pending(bucket: Bucket, batch_id: str) -> None:
    """The pending set computed by the validator becomes the current one."""
    pending = parquet.get_frame_or_none(bucket, layout.staged_pending_key(batch_id))
    if pending is None:
        return
    if pending.empty:
        if bucket.exists(layout.PENDING_ITEMS_KEY):
            bucket.delete(layout.PENDING_ITEMS_KEY)
    else:
        parquet.put_frame(bucket, layout.PENDING_ITEMS_KEY, pd.DataFrame(pending))
