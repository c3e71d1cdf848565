"""The transformer task: staged batch -> curated upsert -> KPIs of the affected dates -> DynamoDB.

The affected dates come in groups closed under the batch's moves (curate.date_components), so
each group's partitions and KPIs are rebuilt on their own: all of them in this task, or — for a
fanned-out run — one task per bin of groups (plan-transform, then transform-group in the state
machine's TransformDates Map), after which `run` does whatever no child did and finishes.

Writes are ordered so that a crash at any point leaves a state a rerun converges from: the groups
are recorded before any shared write; per group, curated partitions (an idempotent upsert), then
its KPIs (replace by date); then the key index's merge, the product catalogue (a rerun before it still
finds the batch's recategorised products) and the pending set. Under a lease, each of those steps
is fenced on the run id first (ecompipe.aws.lock.Fence).
"""

from __future__ import annotations

import pandas as pd

from ecompipe.aws import parquet, transient
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.lock import no_fence
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from transformer import curate, fanout, groups, pieces, plans
from transformer.groups import FenceCheck


def run(
    bucket: Bucket, store: KpiStore, batch_id: str, fence: FenceCheck = no_fence, run_id: str | None = None
) -> dict:
    """Transform one validated batch, alone (no other batch commits meanwhile: ecompipe.batch.commit
    runs the same steps under leases); returns (and records) a summary. `fence(step)` raises when
    this run may no longer write; it is called before every shared write.
    When plan-transform planned groups for `run_id`, the groups its children finished are taken as
    done and the others are done here; otherwise every affected date is done here, as one group."""
    plan = fanout.stored_plan(bucket, batch_id, run_id) if run_id else None
    if plan is None:
        plan = plans.make(bucket, batch_id)
        written, _ = plans.rebuild(bucket, store, batch_id, plan, plan.dates, fence)
    else:
        written = fanout.rebuild_undone(bucket, store, batch_id, run_id or "", plan, fence)
    return finish(bucket, batch_id, plan, written, fence, len(plan.groups) if plan.plan_id else None)


def finish(
    bucket: Bucket, batch_id: str, plan: plans.Plan, written: int, fence: FenceCheck, fanned_out: int | None = None
) -> dict:
    """What the batch's commit writes once its dates are rebuilt: the key index, the product
    catalogue (upserted onto the catalogue as it is now), the pending set and the summary
    (`fanned_out`: how many groups the TransformDates Map had)."""
    curated = CuratedStore(bucket)
    fence("the key index merge")
    pieces.sweep(bucket, curated, batch_id)  # (what pieces of a killed run put and no manifest names)
    curated.keys.compact()  # its runs stay few: a lookup reads each
    # the catalogue after the partitions: a run killed before this write is rerun against the old
    # catalogue, so it still sees which products the batch recategorised (and their dates)
    fence("the product catalogue write")
    if plan.counts["products_upserted"]:
        before = curated.products()
        products = curate.upsert(before, groups.staged_products(bucket, batch_id), "product_id")
        if not curate.same_products(before, products):  # else the catalogue (and its ETag) stays as it is
            curated.write_products(products)
    fence("the pending commit")
    _commit_pending(bucket, batch_id)
    summary = {
        "batch_id": batch_id,
        "affected_dates": plan.dates,
        **plan.counts,
        "kpi_items_written": written,
        **({"groups": fanned_out} if fanned_out is not None else {}),
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
