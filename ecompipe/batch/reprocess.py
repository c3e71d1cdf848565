"""Reprocessing: run a past batch again, recompute the KPIs of a date range, re-check pending items.
Each has a plan (what would happen) that --dry-run prints without changing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ecompipe.aws import parquet
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.manifests import Manifest, read_manifest, write_manifest
from ecompipe.batch.leases import Leases
from ecompipe.batch.pipeline import RunResult, run_manifest
from ecompipe.batch.resources import Resources
from ecompipe.core import layout
from ecompipe.core.errors import EcompipeError


@dataclass
class BatchPlan:
    """Where each file of a past batch is now, and the incoming/ key it goes back to."""

    batch_id: str
    copies: list[tuple[str, str]]  # (source key, incoming key)
    missing: list[str] = field(default_factory=list)


def plan_batch(res: Resources, batch_id: str) -> BatchPlan:
    """A past batch's files, found in processed/<id>/ or rejected/<id>/files/ (where a data owner
    may have put a fixed file), or still in incoming/ after a failed run."""
    manifest = read_manifest(res.bucket, batch_id)
    copies, missing = [], []
    for info in manifest.files:
        name = layout.file_name(info.key)
        for source in (
            layout.rejected_file_key(batch_id, name),
            layout.processed_key(batch_id, info.key),
            info.key,
        ):
            if res.bucket.exists(source):
                copies.append((source, layout.incoming_key(name)))
                break
        else:
            missing.append(info.key)
    if missing and not copies:
        raise EcompipeError(
            f"none of batch {batch_id}'s files can be found (looked in processed/, rejected/, incoming/)"
        )
    return BatchPlan(batch_id, copies, missing)


def put_back(res: Resources, plan: BatchPlan) -> list[str]:
    """Copy the batch's files into incoming/, where the normal path takes them as a new batch."""
    for source, target in plan.copies:
        if source != target:
            res.bucket.copy(source, target)
    return [target for _, target in plan.copies]


@dataclass
class KpiPlan:
    dates: list[str]
    order_rows: list[dict]
    category_rows: list[dict]
    to_write: int
    to_delete: int
    unchanged: int


def plan_kpis(res: Resources, date_from: str, date_to: str) -> KpiPlan:
    """The KPIs of [date_from, date_to] recomputed from curated/ (no raw file is read), compared
    with what the tables hold now."""
    from transformer import kpis

    curated = CuratedStore(res.bucket)
    current_orders = res.kpis.order_kpis(date_from, date_to)
    current_categories = res.kpis.category_kpis(date_from, date_to)
    stored_dates = {d for d in curated.dates() if date_from <= d <= date_to}
    dates = sorted(stored_dates | {r["order_date"] for r in current_orders + current_categories})
    orders = curated.read_rows(ORDERS, dates)
    items = curated.read_rows(ORDER_ITEMS, dates)
    if orders is None or items is None:
        order_rows: list[dict] = []
        category_rows: list[dict] = []
    else:
        products = curated.products()
        order_table, category_table = kpis.kpi_tables(orders, items, products)
        order_rows, category_rows = kpis.order_records(order_table), kpis.category_records(category_table)
    new = {_key(r): r for r in order_rows + category_rows}
    old = {_key(r): r for r in current_orders + current_categories}
    unchanged = sum(1 for k, r in new.items() if k in old and old[k] == r)
    return KpiPlan(dates, order_rows, category_rows, len(new) - unchanged, len(old.keys() - new.keys()), unchanged)


def apply_kpis(res: Resources, plan: KpiPlan) -> int:
    """The plan's dates rescored from their rows: every part's partials, the customers, then the
    KPIs (transformer.cells.rescore: the same items the plan computed directly)."""
    from transformer import cells

    curated = CuratedStore(res.bucket)
    products = curated.products()
    if products is None:
        return res.kpis.replace_dates(plan.dates, [], [])
    return cells.rescore(curated, res.kpis, plan.dates, products)


def _key(row: dict) -> tuple[str, str]:
    return (row.get("category", ""), row["order_date"])


def pending_manifest() -> Manifest:
    """A batch with no files: validating it only re-checks the pending set."""
    return Manifest(f"pending-{datetime.now(UTC):%Y%m%dT%H%M%S}", [])


def plan_pending(res: Resources) -> dict:
    """What re-checking pending/ now would do: resolved, expired, still pending (nothing written)."""
    from validator.batch import Known, validate_batch

    pending = parquet.get_frame_or_none(res.bucket, layout.PENDING_ITEMS_KEY)
    curated = CuratedStore(res.bucket)
    known = Known(product_ids=curated.known_product_ids(), find_orders=curated.known_orders)
    result = validate_batch(
        "dry-run", [], known, pending, now=datetime.now(UTC), max_pending_age_days=res.settings.pending_max_age_days
    )
    return {**result.report["pending"], "still_pending": len(result.pending)}


def recheck_pending(res: Resources, manifest: Manifest, leases: Leases | None = None) -> RunResult:
    """Validate a file-less batch (re-checking pending/) and transform what resolved (under
    `leases`, as a batch's commit: ecompipe.batch.commit)."""
    write_manifest(res.bucket, manifest)
    return run_manifest(res, manifest, leases=leases)
