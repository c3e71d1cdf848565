"""A batch's transform as planned against the curated store at one moment: its groups of dates,
what the store looked like when the plan read it (its basis: each partition's and the catalogue's
version), and each batch item's date. Whether a plan still holds is a comparison of bases;
ecompipe.batch.commit decides what to do when it does not."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from ecompipe.aws.curated import CELLS, ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core.keys import isin
from transformer import cells, curate, groups
from transformer.groups import Batch, FenceCheck

CATALOGUE = "products"


@dataclass
class Plan:
    """groups: the affected dates in bins of closed groups; counts: what the batch upserts; basis:
    CuratedStore.basis() read before the plan read the store; items_at: a digest of each batch
    item's date; plan_id: set when the groups were stored for a fanned-out transform."""

    groups: list[list[str]]
    counts: dict[str, int]
    basis: dict
    items_at: str
    plan_id: str = ""
    batch: Batch | None = field(default=None, repr=False, compare=False)  # in memory only
    item_dates: pd.Series | None = field(default=None, repr=False, compare=False)

    @property
    def dates(self) -> list[str]:
        return sorted(d for group in self.groups for d in group)

    def to_json(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "groups": self.groups,
            "counts": self.counts,
            "basis": self.basis,
            "items_at": self.items_at,
        }

    @classmethod
    def from_json(cls, doc: dict) -> Plan:
        """A stored plan (one without a basis, stored before plans had one, holds nothing)."""
        basis = doc.get("basis") or {}
        return cls(doc["groups"], doc["counts"], basis, str(doc.get("items_at", "")), str(doc.get("plan_id", "")))


def make(bucket: Bucket, batch_id: str, bins: int = 1) -> Plan:
    """The batch's transform planned against the store as it is now, in at most `bins` bins."""
    curated = CuratedStore(bucket)
    basis = curated.basis()  # before anything is read: a write after it shows as a change
    batch = Batch.load(bucket, batch_id)
    changed = curate.changed_categories(curated.products(), batch.products)
    planned, item_dates = groups.plan(bucket, batch_id, curated, batch, changed, bins)
    return Plan(planned, batch.counts(len(changed)), basis, digest(item_dates), batch=batch, item_dates=item_dates)


def digest(item_dates: pd.Series) -> str:
    """A digest of each batch item's date, in the batch's order."""
    hashed = pd.util.hash_pandas_object(item_dates.astype("str").fillna(""), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def unchanged(before: dict, after: dict, dates: Iterable[str] | None = None, outside: Iterable[str] = ()) -> bool:
    """Whether the catalogue and the partitions of `dates` (of every date not in `outside` when
    `dates` is None) have the same versions in both bases. An empty basis matches nothing."""
    if not before or not after or before.get(CATALOGUE) != after.get(CATALOGUE):
        return False
    return not _differing(before, after, dates, outside)


def _differing(before: dict, after: dict, dates: Iterable[str] | None = None, outside: Iterable[str] = ()) -> list[str]:
    """The dates (of `dates`, or all; none of `outside`) whose cells differ between two bases."""
    old, new = before.get(CELLS, {}), after.get(CELLS, {})
    which = set(old) | set(new) if dates is None else set(dates)
    return sorted(d for d in which - set(outside) if old.get(d) != new.get(d))


def untouched(bucket: Bucket, batch: Batch, before: dict, after: dict, held: Iterable[str]) -> bool:
    """Whether what changed between two bases leaves a plan of `batch` as it was: the catalogue is
    the same, and the partitions that changed outside `held` (another batch's dates) hold none of
    the batch's orders, its items' orders, its items, nor items of the products it recategorises.
    Reads the key columns of those partitions only (a plan again reads every date's)."""
    if before.get(CATALOGUE) != after.get(CATALOGUE):
        return False
    curated = CuratedStore(bucket)
    changed = _differing(before, after, outside=held)
    orders = curated.read_keys(ORDERS, changed)
    items = curated.read_keys(ORDER_ITEMS, changed)
    mine = pd.concat([batch.orders["order_id"], batch.items["order_id"]], ignore_index=True)
    if orders is not None and isin(orders["order_id"], mine).any():
        return False
    if items is None:
        return True
    recategorised = curate.changed_categories(curated.products(), batch.products)
    return not (
        isin(items["item_key"], batch.items["item_key"]).any() or isin(items["product_id"], recategorised).any()
    )


def rebuild(
    bucket: Bucket,
    store: KpiStore,
    batch_id: str,
    plan: Plan,
    dates: list[str],
    fence: FenceCheck,
    dropped: pd.Index | None = None,
) -> tuple[int, str]:
    """The partitions and KPIs of `dates` (the plan's, or more) rebuilt in this process with the
    batch's rows (items of `dropped` it wrote before go: curate.rebuild). Returns the KPI items
    written and the categories they were computed with (`categories`)."""
    batch = plan.batch or Batch.load(bucket, batch_id)
    curated = CuratedStore(bucket)
    products, changed = groups.products_after(curated, batch.products)
    claims = curate.Claims(batch_id, batch.resolved, dropped if dropped is not None else curate.Claims().dropped)
    written = cells.rebuild(curated, store, dates, batch.orders, batch.items, products, fence, claims, changed)
    return written, categories(products)


def categories(products: pd.DataFrame) -> str:
    """A digest of each product's category: all the category KPIs take from the catalogue."""
    pairs = products[["product_id", "category"]].astype("str").sort_values("product_id")
    hashed = pd.util.hash_pandas_object(pairs, index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def categories_now(bucket: Bucket, batch: Batch) -> str:
    """`categories` of the catalogue a rebuild of the batch would use now."""
    products, _ = groups.products_after(CuratedStore(bucket), batch.products)
    return categories(products)
