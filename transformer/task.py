"""The transformer task: staged batch -> curated upsert -> KPIs of the affected dates -> DynamoDB.

The affected dates come in groups closed under the batch's moves (curate.date_components), so
each group's partitions and KPIs are rebuilt on their own: all of them in this task, or — for a
fanned-out run — one task per bin of groups (plan-transform, then transform-group in the state
machine's TransformDates Map), after which `run` does whatever no child did and finishes.

Writes are ordered so that a crash at any point leaves a state a rerun converges from: the groups
are recorded before any shared write; per group, curated partitions (an idempotent upsert), then
its KPIs (replace by date); then the key index, the product catalogue (a rerun before it still
finds the batch's recategorised products) and the pending set. Under a lease, each of those steps
is fenced on the run id first (ecompipe.aws.lock.Fence).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ecompipe.aws import parquet
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.lock import no_fence
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from ecompipe.core.arrow import arrow_column
from ecompipe.core.errors import EcompipeError
from transformer import curate, kpis

Fence = Callable[[str], None]


@dataclass
class Batch:
    """The staged batch: its orders, items and products."""

    orders: pd.DataFrame
    items: pd.DataFrame
    products: pd.DataFrame

    @classmethod
    def load(cls, bucket: Bucket, batch_id: str) -> Batch:
        staged = {kind: parquet.get_frame(bucket, layout.staging_key(batch_id, kind)) for kind in layout.KINDS}
        return cls(
            staged[ORDERS].assign(batch_id=batch_id),
            staged[ORDER_ITEMS].assign(batch_id=batch_id),
            staged["products"].assign(batch_id=batch_id),
        )

    def counts(self, changed: int) -> dict[str, int]:
        return {
            "orders_upserted": len(self.orders),
            "items_upserted": len(self.items),
            "products_upserted": len(self.products),
            "products_recategorised": changed,
        }


def run(bucket: Bucket, store: KpiStore, batch_id: str, fence: Fence = no_fence, run_id: str | None = None) -> dict:
    """Transform one validated batch; returns (and records) a summary. `fence(step)` raises when
    this run may no longer write (its lease is gone); it is called before every shared write.
    When plan-transform planned groups for `run_id`, the groups its children finished are taken as
    done and the others are done here; otherwise every affected date is done here, as one group."""
    curated = CuratedStore(bucket)
    plan = bucket.get_json_or_none(layout.transform_plan_key(batch_id, run_id)) if run_id else None
    if plan is None:
        batch = Batch.load(bucket, batch_id)
        products, changed = _products(curated, batch.products)
        groups, _ = _plan(bucket, batch_id, curated, batch, changed, bins=1)
        written = _rebuild(curated, store, groups[0] if groups else [], batch.orders, batch.items, products, fence)
        counts = batch.counts(len(changed))
    else:
        groups, counts = plan["groups"], plan["counts"]
        written = 0
        for i in range(len(groups)):
            done = _done(bucket, batch_id, run_id or "", plan["plan_id"], i)
            written += transform_group(bucket, store, batch_id, run_id or "", i, fence) if done is None else done
        products, _ = _products(curated, _staged_products(bucket, batch_id))
    for kind in (ORDERS, ORDER_ITEMS):
        curated.refresh_keys(kind)  # the next batch then reads only the partitions changed after this
    # the catalogue after the partitions: a run killed before this write is rerun against the old
    # catalogue, so it still sees which products the batch recategorised (and their dates)
    fence("the product catalogue write")
    if counts["products_upserted"]:
        curated.write_products(products)
    fence("the pending commit")
    _commit_pending(bucket, batch_id)
    summary = {
        "batch_id": batch_id,
        "affected_dates": sorted(d for group in groups for d in group),
        **counts,
        "kpi_items_written": written,
        **({"groups": len(groups)} if plan is not None else {}),
    }
    bucket.put_json(layout.transform_report_key(batch_id), summary)
    return summary


def plan_groups(bucket: Bucket, batch_id: str, run_id: str, bins: int) -> dict:
    """Split the batch's transform into at most `bins` groups of dates for the TransformDates Map:
    stores each group's rows of the batch, the plan, and the group numbers for the ItemReader (as
    text: they become a container's environment)."""
    curated = CuratedStore(bucket)
    batch = Batch.load(bucket, batch_id)
    _, changed = _products(curated, batch.products)
    groups, item_dates = _plan(bucket, batch_id, curated, batch, changed, bins)
    plan_id = uuid.uuid4().hex
    # the newest row of each key (the upsert keeps it) goes to the group of its date
    group_of = {d: i for i, dates in enumerate(groups) for d in dates}
    rows = {
        ORDERS: _newest(batch.orders, "order_id", _numbers(batch.orders["order_date"], group_of)),
        ORDER_ITEMS: _newest(batch.items, "item_key", _numbers(item_dates, group_of)),
    }
    for kind, (frame, group) in rows.items():
        for i in range(len(groups)):  # every group, with rows or not (its dates may need no batch row)
            key = layout.transform_group_key(batch_id, run_id, plan_id, i, kind)
            parquet.put_frame(bucket, key, frame[group == i].reset_index(drop=True))
    plan = {"plan_id": plan_id, "groups": groups, "counts": batch.counts(len(changed))}
    bucket.put_json(layout.transform_plan_key(batch_id, run_id), plan)
    bucket.put_json(layout.transform_groups_key(batch_id, run_id), [{"group": str(i)} for i in range(len(groups))])
    return {"groups": len(groups), "affected_dates": sum(len(g) for g in groups)}


def _numbers(dates: pd.Series, group_of: dict[str, int]) -> np.ndarray:
    """Each row's group number, by its date (one lookup per distinct date)."""
    encoded = pc.dictionary_encode(arrow_column(dates))
    lookup = np.array([group_of[d] for d in encoded.dictionary.to_pylist()] or [0], dtype=np.int64)
    return lookup[np.asarray(encoded.indices, dtype=np.int64)]


def _newest(frame: pd.DataFrame, key: str, group: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """(the newest row of each key, its group number)."""
    newest = ~frame[key].duplicated(keep="last").to_numpy()
    return frame[newest], group[newest]


def transform_group(bucket: Bucket, store: KpiStore, batch_id: str, run_id: str, group: int, fence: Fence) -> int:
    """One group of the run's plan: its partitions and KPIs rebuilt, then its done marker. Returns
    the KPI items written."""
    plan = bucket.get_json_or_none(layout.transform_plan_key(batch_id, run_id))
    if plan is None or not 0 <= group < len(plan["groups"]):
        raise EcompipeError(f"run {run_id} of batch {batch_id} has no transform group {group} (no plan-transform?)")

    def key(what: str) -> str:
        return layout.transform_group_key(batch_id, run_id, plan["plan_id"], group, what)

    curated = CuratedStore(bucket)
    products, _ = _products(curated, _staged_products(bucket, batch_id))
    orders, items = parquet.get_frame(bucket, key(ORDERS)), parquet.get_frame(bucket, key(ORDER_ITEMS))
    written = _rebuild(curated, store, plan["groups"][group], orders, items, products, fence)
    bucket.put_json(key("done"), {"kpi_items_written": written})
    return written


def _done(bucket: Bucket, batch_id: str, run_id: str, plan_id: str, group: int) -> int | None:
    """The KPI items a child wrote for the group, or None when no child finished it."""
    done = bucket.get_json_or_none(layout.transform_group_key(batch_id, run_id, plan_id, group, "done"))
    return None if done is None else int(done["kpi_items_written"])


def _staged_products(bucket: Bucket, batch_id: str) -> pd.DataFrame:
    return parquet.get_frame(bucket, layout.staging_key(batch_id, "products")).assign(batch_id=batch_id)


def _products(curated: CuratedStore, staged: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """(the catalogue after the batch, the products it recategorises)."""
    before = curated.products()
    return curate.upsert(before, staged, "product_id"), curate.changed_categories(before, staged)


def _plan(
    bucket: Bucket, batch_id: str, curated: CuratedStore, batch: Batch, changed: pd.Index, bins: int
) -> tuple[list[list[str]], pd.Series]:
    """(the affected dates in closed groups packed into at most `bins` bins, each batch item's
    date). The groups are recorded before any shared write and every later attempt of the batch
    keeps them together: a killed attempt may already have moved rows, so the curated store alone
    no longer shows every date or move (an order re-sent under a new date is gone from its old
    partition, whose KPIs would otherwise keep counting it)."""
    index = curated.index()
    dates = curate.item_dates(batch.orders, batch.items, index)
    if dates.isna().any():
        orphans = batch.items.loc[dates.isna().to_numpy(), "item_key"].head(5).tolist()
        raise RuntimeError(f"curated items without an order in the affected partitions: {orphans}")
    before = _recorded(bucket, batch_id)
    groups = curate.date_components(batch.orders, batch.items, index, changed, before, dates)
    if groups != before:
        bucket.put_json(layout.affected_dates_key(batch_id), {"groups": groups})
    weight = pd.concat([index.items["order_date"], dates]).value_counts().to_dict()
    return curate.pack(groups, weight, bins), dates


def _recorded(bucket: Bucket, batch_id: str) -> list[list[str]]:
    """The groups an earlier attempt of the batch recorded (a bare list of dates, as recorded
    before the groups were, is one group)."""
    doc = bucket.get_json_or_none(layout.affected_dates_key(batch_id))
    if isinstance(doc, list):
        return [[d for d in doc if isinstance(d, str)]]
    groups = doc.get("groups", []) if isinstance(doc, dict) else []
    return [[d for d in g if isinstance(d, str)] for g in groups if isinstance(g, list)]


def _rebuild(
    curated: CuratedStore,
    store: KpiStore,
    dates: list[str],
    orders: pd.DataFrame,
    items: pd.DataFrame,
    products: pd.DataFrame,
    fence: Fence,
) -> int:
    """The partitions of `dates` (a closed group, or several) rebuilt with the batch's rows of those
    dates and written, then their KPIs. Returns the KPI items written."""
    existing_orders = curated.read_partitions(ORDERS, dates)
    existing_items = curated.read_partitions(ORDER_ITEMS, dates)
    new_orders, new_items = curate.rebuild(
        existing_orders if existing_orders is not None else orders.iloc[0:0],
        existing_items if existing_items is not None else items.iloc[0:0],
        orders,
        items,
    )
    if new_items["order_date"].isna().any():
        orphans = new_items.loc[new_items["order_date"].isna(), "item_key"].head(5).tolist()
        raise RuntimeError(f"curated items without an order in the affected partitions: {orphans}")
    outside = (set(new_orders["order_date"].unique()) | set(new_items["order_date"].unique())) - set(dates)
    if outside:
        raise RuntimeError(f"rows of dates outside the group rebuilt ({sorted(outside)[:5]}): the group is not closed")
    order_kpis = kpis.order_kpis(new_orders, new_items)
    category_kpis = kpis.category_kpis(new_orders, new_items, products)
    fence("the curated write")
    curated.write_partitions(ORDERS, new_orders, dates)
    curated.write_partitions(ORDER_ITEMS, new_items, dates)
    fence("the KPI write")
    return store.replace_dates(dates, kpis.order_records(order_kpis), kpis.category_records(category_kpis))


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
