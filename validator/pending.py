"""References and pending/: items whose order or product is not known yet are held, re-checked by
every later batch, resolved, superseded or expired. pending/ is keyed by item key like curated/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ecompipe.core.arrow import category_as_text
from ecompipe.core.keys import isin
from validator import reasons
from validator.model import PENDING_COLUMNS


def split_references(
    items: pd.DataFrame, order_ids: pd.Index, product_ids: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items whose order and product are known, and the others with their reason (a reason
    is made for the held rows only: a column of text for every item was most of this step)."""
    no_order = why_held(items["order_id"], order_ids)
    no_product = why_held(items["product_id"], product_ids)
    held = no_order | no_product
    held_rows = items[held].reset_index(drop=True)
    held_rows["reason"] = reason_text(no_order[held], no_product[held])
    return (items[~held] if held.any() else items).reset_index(drop=True), held_rows


def why_held(ids: pd.Series, known: pd.Index | pd.Series) -> np.ndarray:
    """Whether each id is unknown (not among `known`): its item is held."""
    return np.asarray(~isin(ids, known), dtype=bool)


def reason_text(no_order: np.ndarray, no_product: np.ndarray) -> pd.Series:
    """The reason of each held item, from what it lacks (text made for the held rows only)."""
    both = reasons.UNKNOWN_ORDER + ";" + reasons.UNKNOWN_PRODUCT
    text = np.where(no_order & no_product, both, np.where(no_order, reasons.UNKNOWN_ORDER, reasons.UNKNOWN_PRODUCT))
    return pd.Series(text.astype(object), dtype="str")


def waits_for(held: pd.DataFrame, order_ids: pd.Index, product_ids: pd.Index) -> dict[str, list[str]]:
    """The ids the held items wait for: their orders and products that are not known (sorted,
    each once). When one becomes known, what validation held is out of date (validator.snapshot)."""
    orders = held["order_id"][~isin(held["order_id"], order_ids)]
    products = held["product_id"][~isin(held["product_id"], product_ids)]
    return {
        "orders": sorted(orders.dropna().astype("str").unique().tolist()),
        "products": sorted(products.dropna().astype("str").unique().tolist()),
    }


@dataclass
class Carried:
    resolved: pd.DataFrame
    still: pd.DataFrame
    expired: pd.DataFrame
    superseded: pd.DataFrame  # held items this batch brings again (their first sighting is kept)
    counts: dict[str, int]


def carry(
    batch_id: str,
    held: pd.DataFrame,
    batch_items: pd.DataFrame,
    order_ids: pd.Index,
    product_ids: pd.Index,
    before: pd.DataFrame | None,
    now: datetime,
    max_age_days: int,
) -> tuple[Carried, pd.DataFrame]:
    """(what happens to the items held before, the pending set after the batch). `held`: the
    batch's own held items with their reasons; `batch_items`: every item the batch brings, held or
    not (an item it brings again supersedes its held copy)."""
    carried = recheck_pending(before, batch_items, order_ids, product_ids, now, max_age_days)
    fresh = first_seen(held, carried.superseded, batch_id, now)[PENDING_COLUMNS]
    # (an empty frame in a concat makes every column object: 3 s more at 10^6 held items)
    parts = [f for f in (carried.still, fresh) if len(f)]
    return carried, pd.concat(parts, ignore_index=True) if parts else fresh.reset_index(drop=True)


@dataclass
class Rechecked:
    """The pending part of a batch's validation done again at its commit (recheck)."""

    held: pd.DataFrame  # the batch's own items still held, with their reasons
    resolved: pd.DataFrame  # items to commit with the batch: its own that are resolved now, then earlier batches'
    carried: Carried
    pending: pd.DataFrame  # the pending set after the batch


def recheck(
    batch_id: str,
    accepted: pd.DataFrame,
    held: pd.DataFrame,
    order_ids: pd.Index,
    product_ids: pd.Index,
    before: pd.DataFrame | None,
    now: datetime,
    max_age_days: int,
) -> Rechecked:
    """What the batch's validation would say of its held items and of the pending set if it ran
    now, from what it staged: its own accepted items and the ones it held. Only these depend on
    the shared state (the pending set, the known ids) that another batch's commit changes; every
    other check is of the batch's own rows. `order_ids`/`product_ids`: known now, and the batch's."""
    resolved_own, still_own = split_references(held, order_ids, product_ids)
    brought = pd.concat([accepted[["item_key"]], held[["item_key"]]], ignore_index=True)
    carried, pending_after = carry(batch_id, still_own, brought, order_ids, product_ids, before, now, max_age_days)
    resolved = [f for f in (public(resolved_own), carried.resolved) if len(f)]
    return Rechecked(
        held=still_own,
        resolved=pd.concat(resolved, ignore_index=True) if resolved else carried.resolved,
        carried=carried,
        pending=pending_after,
    )


def first_seen(fresh: pd.DataFrame, superseded: pd.DataFrame, batch_id: str, now: datetime) -> pd.DataFrame:
    """Newly held items, stamped with this batch, except those held before: an item sent again
    keeps its first batch and first sighting, so re-sending it never resets its pending age."""
    # as columns, not per row: a batch holding 10^6 items stamped them in 4 s through Python objects
    ours = pd.Series(batch_id, index=fresh.index, dtype="str")
    now_utc = pd.Series(pd.Timestamp(now), index=fresh.index).dt.tz_convert("UTC").dt.as_unit("us")
    first = superseded.drop_duplicates("item_key", keep="first").set_index("item_key")
    if first.empty:
        return fresh.assign(first_batch_id=ours, first_seen_at=now_utc)
    earlier = fresh["item_key"].map(first["first_batch_id"])
    since = pd.to_datetime(fresh["item_key"].map(first["first_seen_at"]), utc=True).dt.as_unit("us")
    return fresh.assign(
        first_batch_id=earlier.where(earlier.notna(), ours).astype("str"),
        first_seen_at=since.where(since.notna(), now_utc),
    )


def recheck_pending(
    before: pd.DataFrame | None,
    batch_items: pd.DataFrame,
    order_ids: pd.Index,
    product_ids: pd.Index,
    now: datetime,
    max_age_days: int,
) -> Carried:
    """Items held by earlier batches: resolved when their order and product are now known, expired
    after the maximum age, superseded when this batch brings the same item again."""
    if before is None or before.empty:
        empty = pd.DataFrame(columns=PENDING_COLUMNS)
        return Carried(
            public(empty), empty, empty, empty, dict.fromkeys(("carried_in", "resolved", "superseded", "expired"), 0)
        )
    before = before.drop_duplicates("item_key", keep="last")  # heals a set written before it was keyed
    superseded = isin(before["item_key"], batch_items["item_key"])
    rest = before[~superseded]
    known = isin(rest["order_id"], order_ids) & isin(rest["product_id"], product_ids)
    first_seen = pd.to_datetime(rest["first_seen_at"], utc=True)
    too_old = ~known & (first_seen < pd.Timestamp(now) - timedelta(days=max_age_days))
    still = rest[~known & ~too_old].copy()
    still["reason"] = _pending_reason(still, order_ids, product_ids)
    expired = rest[too_old].copy()
    expired["reason"] = reasons.PENDING_EXPIRED + ": " + expired["reason"].astype("str")
    return Carried(
        resolved=public(rest[known]),
        still=still[PENDING_COLUMNS].reset_index(drop=True),
        expired=expired[PENDING_COLUMNS].reset_index(drop=True),
        superseded=before[superseded],
        counts={
            "carried_in": len(before),
            "resolved": int(known.sum()),
            "superseded": int(superseded.sum()),
            "expired": int(too_old.sum()),
        },
    )


def _pending_reason(items: pd.DataFrame, order_ids: pd.Index, product_ids: pd.Index) -> pd.Series:
    no_order = ~isin(items["order_id"], order_ids)
    no_product = ~isin(items["product_id"], product_ids)
    out = pd.Series(reasons.UNKNOWN_PRODUCT, index=items.index, dtype="str")
    out = out.mask(no_order, reasons.UNKNOWN_ORDER)
    return out.mask(no_order & no_product, reasons.UNKNOWN_ORDER + ";" + reasons.UNKNOWN_PRODUCT)


def public(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the validator's bookkeeping columns (those starting with '_'); the file column, a
    category inside the validator, leaves it as plain text."""
    out = staged_rows(frame)
    if isinstance(out.get("source_file", pd.Series(dtype="str")).dtype, pd.CategoricalDtype):
        out["source_file"] = category_as_text(out["source_file"])
    return out


def staged_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """public() with the file column left a category: the batch's own staged rows, which go only to
    S3 as transient objects, where a category is stored as a dictionary and read back as text
    (ecompipe.aws.transient). Decoding it here made 10M rows of text at validation's peak
    (2.4-2.7 s, 0.8-0.9 GiB)."""
    keep = [
        c
        for c in frame.columns
        if not str(c).startswith("_") and c not in ("reason", "first_batch_id", "first_seen_at")
    ]
    return frame[keep].reset_index(drop=True)
