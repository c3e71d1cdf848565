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

import pandas as pd

from ecompipe.aws import parquet, transient
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.lock import no_fence
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from transformer import fanout, groups
from transformer.groups import Batch, FenceCheck


def run(
    bucket: Bucket, store: KpiStore, batch_id: str, fence: FenceCheck = no_fence, run_id: str | None = None
) -> dict:
    """Transform one validated batch; returns (and records) a summary. `fence(step)` raises when
    this run may no longer write (its lease is gone); it is called before every shared write.
    When plan-transform planned groups for `run_id`, the groups its children finished are taken as
    done and the others are done here; otherwise every affected date is done here, as one group."""
    curated = CuratedStore(bucket)
    planned = bucket.get_json_or_none(layout.transform_plan_key(batch_id, run_id)) if run_id else None
    if planned is None:
        batch = Batch.load(bucket, batch_id)
        products, changed = groups.products_after(curated, batch.products)
        dates, _ = groups.plan(bucket, batch_id, curated, batch, changed, bins=1)
        written = groups.rebuild(curated, store, dates[0] if dates else [], batch.orders, batch.items, products, fence)
        counts = batch.counts(len(changed))
    else:
        dates, counts = planned["groups"], planned["counts"]
        products, _ = groups.products_after(curated, groups.staged_products(bucket, batch_id))
        written = 0
        for i in range(len(dates)):
            done = fanout.done(bucket, batch_id, run_id or "", planned["plan_id"], i)
            if done is None:
                done = fanout.rebuild_group(bucket, store, curated, batch_id, run_id or "", planned, i, products, fence)
            written += done
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
        "affected_dates": sorted(d for group in dates for d in group),
        **counts,
        "kpi_items_written": written,
        **({"groups": len(dates)} if planned is not None else {}),
    }
    bucket.put_json(layout.transform_report_key(batch_id), summary)
    return summary


def _commit_pending(bucket: Bucket, batch_id: str) -> None:
    """The pending set computed by the validator becomes the current one."""
    pending = transient.get_frame_or_none(bucket, layout.staged_pending_key(batch_id))
    if pending is None:
        return
    if pending.empty:
        if bucket.exists(layout.PENDING_ITEMS_KEY):
            bucket.delete(layout.PENDING_ITEMS_KEY)
    else:
        parquet.put_frame(bucket, layout.PENDING_ITEMS_KEY, pd.DataFrame(pending))
