"""Is a batch ready? Pure: pending files and settings in, a decision with its reason out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ecompipe.aws.manifests import Manifest
from ecompipe.aws.objects import ObjectInfo
from ecompipe.core import event_layout, layout
from ecompipe.core.settings import Settings


@dataclass(frozen=True)
class Counts:
    orders: int
    order_items: int
    products: int  # including 1 for products already in the curated store
    other: int  # CSV files of no known kind (they go with the batch and are rejected with a reason)

    def describe(self, settings: Settings) -> str:
        return (
            f"{self.orders}/{settings.min_order_files} order files, "
            f"{self.order_items}/{settings.min_item_files} item files, "
            f"{self.products}/{settings.min_product_files} product files"
        )


@dataclass(frozen=True)
class Decision:
    start: bool
    reason: str
    counts: Counts
    oldest_minutes: float | None


def count(files: list[ObjectInfo], curated_products: bool) -> Counts:
    kinds = [layout.kind_of(layout.file_name(f.key)) for f in files]
    return Counts(
        orders=kinds.count("orders"),
        order_items=kinds.count("order_items"),
        products=kinds.count("products") + (1 if curated_products else 0),
        other=kinds.count(None),
    )


def decide(
    files: list[ObjectInfo],
    curated_products: bool,
    settings: Settings,
    now: datetime,
    backlog: frozenset[str] = frozenset(),
) -> Decision:
    """Start when every threshold is met, when a full batch (ECOMPIPE_MAX_BATCH_MB) is waiting, when
    files a size-capped batch left behind (`backlog`) are still pending, or when the oldest pending
    file has waited ECOMPIPE_FORCE_AFTER_MINUTES (then with whatever is there)."""
    counts = count(files, curated_products)
    if not files:
        return Decision(False, "no pending files in incoming/", counts, None)
    stamps = [f.last_modified for f in files if f.last_modified is not None]
    oldest = (now - min(stamps)).total_seconds() / 60 if stamps else None
    met = (
        counts.orders >= settings.min_order_files
        and counts.order_items >= settings.min_item_files
        and counts.products >= settings.min_product_files
    )
    if met:
        return Decision(True, f"thresholds met: {counts.describe(settings)}", counts, oldest)
    landed = event_layout.landed_pairs([layout.file_name(f.key) for f in files])
    if landed:  # event purchases: the landing asks for its batch (docs/events.md, "Event purchases in the KPIs")
        return Decision(
            True, f"event purchases landed ({landed[0]}): starting with {counts.describe(settings)}", counts, oldest
        )
    if backlog & {f.key for f in files}:
        return Decision(True, "continuing a drop that the previous batch's size cap split", counts, oldest)
    pending_bytes = sum(f.size for f in files)
    if settings.max_batch_mb and pending_bytes >= settings.max_batch_mb * 2**20:
        # a full batch is waiting (e.g. the rest of a large drop split by ECOMPIPE_MAX_BATCH_MB)
        return Decision(True, f"{pending_bytes / 2**20:.0f} MiB pending: at least one full batch", counts, oldest)
    if oldest is not None and oldest >= settings.force_after_minutes:
        return Decision(
            True,
            f"oldest file waited {oldest:.0f} min >= FORCE_AFTER {settings.force_after_minutes} min: "
            f"starting with {counts.describe(settings)}",
            counts,
            oldest,
        )
    waited = f"{oldest:.0f}" if oldest is not None else "?"
    return Decision(
        False,
        f"below thresholds: {counts.describe(settings)}; oldest file waited {waited} of "
        f"{settings.force_after_minutes} min",
        counts,
        oldest,
    )


_KIND_ORDER = {"products": 0, "orders": 1, "order_items": 2}


def take(files: list[ObjectInfo], max_bytes: int) -> list[ObjectInfo]:
    """The files one automatic batch takes: products, then orders, then items (each by key), up
    to max_bytes in all; the first file always, so nothing waits for ever. The rest stays in
    incoming/ for the next sweep: KPIs are recomputed from everything known for each date, so
    splitting a drop into batches changes no number (items whose order comes later wait in pending/)."""
    ordered = sorted(files, key=lambda f: (_KIND_ORDER.get(layout.kind_of(layout.file_name(f.key)) or "", 3), f.key))
    if max_bytes <= 0:
        return ordered
    taken, total = [], 0
    for f in ordered:
        if taken and total + f.size > max_bytes:
            break
        taken.append(f)
        total += f.size
    return taken


def fans_out(settings: Settings, manifest: Manifest) -> bool:
    """Whether the batch's files are parsed one task each before the batch-wide validation: a
    batch of several files, at least ECOMPIPE_FAN_OUT_MIN_MB of them, whose tasks may run side by
    side (ECOMPIPE_FAN_OUT_CONCURRENCY above 1: one at a time, the fan-out only adds its own writes
    and reads of parts and group slices, at 10M 0-17 s over one task, docs/benchmarks.md)."""
    total = sum(f.size for f in manifest.files)
    side_by_side = settings.fan_out_concurrency > 1
    return side_by_side and len(manifest.files) > 1 and total >= settings.fan_out_min_mb * 2**20


def one_task(settings: Settings, manifest: Manifest) -> bool:
    """Whether the batch is small enough to be validated, transformed and archived by one task
    (one container start instead of three: what keeps event purchases within two minutes of the
    KPIs on Fargate, docs/events.md); never a batch that fans out."""
    total = sum(f.size for f in manifest.files)
    return not fans_out(settings, manifest) and total <= settings.one_task_max_mb * 2**20
