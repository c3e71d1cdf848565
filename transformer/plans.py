"""A batch's transform as planned against the curated store at one moment: its groups of dates,
what the plan read of the store (its basis: transformer.basis), and each batch item's date.
Whether a plan still holds is transformer.basis; ecompipe.batch.commit decides what to do when it
does not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core.arrow import arrow_column
from transformer import basis, cells, curate, groups
from transformer.groups import Batch, FenceCheck

CATALOGUE = "products"


@dataclass
class Plan:
    """groups: the affected dates in bins of closed groups, and each bin's share of its dates'
    cells (`shares`: residue, of; (0, 1) for the whole dates; transformer.groups.shares_of);
    counts: what the batch upserts; basis: what the plan read, as versions (transformer.basis);
    items_at: a digest of each batch item's date; plan_id: set when the groups were stored for a
    fanned-out transform."""

    groups: list[list[str]]
    counts: dict[str, int]
    basis: dict
    items_at: str
    plan_id: str = ""
    shares: list[tuple[int, int]] = field(default_factory=list)
    batch: Batch | None = field(default=None, repr=False, compare=False)  # in memory only
    item_dates: pd.Series | None = field(default=None, repr=False, compare=False)

    @property
    def dates(self) -> list[str]:
        return sorted({d for group in self.groups for d in group})

    def share(self, group: int) -> tuple[int, int]:
        return self.shares[group] if group < len(self.shares) else (0, 1)

    def to_json(self) -> dict:
        return {
            "plan_id": self.plan_id,
            "groups": self.groups,
            "counts": self.counts,
            "basis": self.basis,
            "items_at": self.items_at,
            "shares": [list(s) for s in self.shares],
        }

    @classmethod
    def from_json(cls, doc: dict) -> Plan:
        """A stored plan (one without a basis, stored before plans had one, holds nothing)."""
        basis = doc.get("basis") or {}
        shares = [(int(r), int(of)) for r, of in doc.get("shares", [])]
        return cls(
            doc["groups"], doc["counts"], basis, str(doc.get("items_at", "")), str(doc.get("plan_id", "")), shares
        )


def make(bucket: Bucket, batch_id: str, bins: int = 1) -> Plan:
    """The batch's transform planned against the store as it is now, in at most `bins` bins (more
    than one: the groups' rows are stored for their tasks, so the batch is loaded `coded`)."""
    curated = CuratedStore(bucket)
    catalogue, listed = basis.taken(curated)  # before anything is read: a write after them shows
    batch = Batch.load(bucket, batch_id, coded=bins > 1)
    changed = curate.changed_categories(curated.products(), batch.products)
    planned, shares, item_dates = groups.plan(bucket, batch_id, curated, batch, changed, bins, listed)
    read = basis.of(catalogue, listed, curated)
    counts = batch.counts(len(changed))
    return Plan(planned, counts, read, digest(item_dates), shares=shares, batch=batch, item_dates=item_dates)


def digest(item_dates: pd.Series) -> str:
    """A digest of each batch item's date, in the batch's order: of the distinct dates in order of
    appearance and each item's position among them (10M items: 0.15 s; hashing each item's date
    took 0.7 s)."""
    encoded = pc.dictionary_encode(arrow_column(item_dates.astype("str").fillna("")))
    digest = hashlib.sha256("\n".join(encoded.dictionary.to_pylist()).encode())
    digest.update(np.asarray(encoded.indices, dtype=np.int32).tobytes())
    return digest.hexdigest()


def rebuild(
    bucket: Bucket,
    store: KpiStore,
    batch_id: str,
    plan: Plan,
    dates: list[str],
    fence: FenceCheck,
    dropped: pd.Index | None = None,
    owned: pd.Index | None = None,
) -> tuple[int, str]:
    """The partitions and KPIs of `dates` (the plan's, or more) rebuilt in this process with the
    batch's rows (items of `dropped` it wrote before go, items of `owned` are restamped as its
    own: curate.Claims). Returns the KPI items written and the categories they were computed
    with (`categories`)."""
    rebuilt, used = compute(bucket, batch_id, plan, dates, dropped, owned)
    return cells.write(CuratedStore(bucket), store, rebuilt, fence), used


def compute(
    bucket: Bucket,
    batch_id: str,
    plan: Plan,
    dates: list[str],
    dropped: pd.Index | None = None,
    owned: pd.Index | None = None,
) -> tuple[cells.Rebuilt, str]:
    """What `rebuild` writes, computed from the store as it is now (reads only: no lease needed),
    and the categories it was computed with."""
    batch = plan.batch if plan.batch is not None and not plan.batch.coded else Batch.load(bucket, batch_id)
    curated = CuratedStore(bucket)
    products, changed = groups.products_after(curated, batch.products)
    none = curate.Claims().dropped
    claims = curate.Claims(
        batch_id, batch.resolved, none if dropped is None else dropped, none if owned is None else owned
    )
    rebuilt = cells.compute(curated, dates, batch.orders, batch.items, products, claims, changed)
    return rebuilt, categories(products)


def categories(products: pd.DataFrame) -> str:
    """A digest of each product's category: all the category KPIs take from the catalogue."""
    pairs = products[["product_id", "category"]].astype("str").sort_values("product_id")
    hashed = pd.util.hash_pandas_object(pairs, index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def categories_now(bucket: Bucket, batch: Batch) -> str:
    """`categories` of the catalogue a rebuild of the batch would use now."""
    products, _ = groups.products_after(CuratedStore(bucket), batch.products)
    return categories(products)
