"""I/O of the curated store (DESIGN §4): order/item partitions by order date, one products file."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.aws import parquet
from ecompipe.aws.objects import Bucket, side_by_side
from ecompipe.core import layout
from ecompipe.core.arrow import arrow_column, contiguous
from ecompipe.core.errors import ObjectMissing

ORDERS, ORDER_ITEMS = "orders", "order_items"


@dataclass
class CuratedIndex:
    """Where every curated order and item lives (the partitions' key columns)."""

    orders: pd.DataFrame  # order_id, order_date
    items: pd.DataFrame  # item_key, product_id, order_date

    @classmethod
    def empty(cls) -> CuratedIndex:
        return cls(_empty(["order_id", "order_date"]), _empty(["item_key", "product_id", "order_date"]))


KEY_COLUMNS = {ORDERS: ["order_id"], ORDER_ITEMS: ["item_key", "product_id"]}


def _in_date_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by order date, each date's rows in the order they were read (as reading the
    partitions one date after another gives them)."""
    encoded = pc.dictionary_encode(arrow_column(frame["order_date"]))
    rank = np.argsort(np.argsort(np.asarray(encoded.dictionary, dtype=object)))
    order = np.argsort(rank[np.asarray(encoded.indices, dtype=np.int64)], kind="stable")
    return frame.take(order).reset_index(drop=True)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})


class CuratedStore:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def partition_dates(self, kind: str) -> list[str]:
        return sorted(self._partitions(kind))

    def _partitions(self, kind: str) -> dict[str, str]:
        """Order date -> ETag of every partition of `kind` (one LIST)."""
        listed = ((layout.partition_date(o.key), o.etag) for o in self.bucket.list(layout.curated_prefix(kind)))
        return {date: etag for date, etag in listed if date}

    def basis(self) -> dict:
        """What a plan of the store is made from, as versions: each partition's ETag by kind and
        date, and the catalogue's ETag (None without one). Two LISTs and one HEAD."""
        products = self.bucket.head(layout.CURATED_PRODUCTS_KEY)
        return {
            ORDERS: self._partitions(ORDERS),
            ORDER_ITEMS: self._partitions(ORDER_ITEMS),
            "products": None if products is None else products.etag,
        }

    def index(self) -> CuratedIndex:
        """Key columns of every partition, with each row's order date (ecompipe.aws.curated.keys)."""
        orders = self.keys(ORDERS)
        items = self.keys(ORDER_ITEMS)
        return CuratedIndex(
            orders if orders is not None else CuratedIndex.empty().orders,
            items if items is not None else CuratedIndex.empty().items,
        )

    def known_order_ids(self) -> pd.Index:
        frame = self.keys(ORDERS)
        return pd.Index([], dtype="str") if frame is None else pd.Index(frame["order_id"].unique())

    def keys(self, kind: str) -> pd.DataFrame | None:
        """The key columns of every partition of `kind` and their order date, in date order.

        Read through a cache (layout.key_index_key) that records the ETag of each partition it
        holds: one LIST says which partitions changed since, and only those are read. Its content
        is checked on every use, so a stale or lost cache costs reads, never a wrong key. Reading
        never writes (a dry run stays a dry run): the transformer refreshes the cache after each
        write of partitions (refresh_keys). A batch reads what changed, not the whole history,
        which grew the time of every batch with the number of batches before it."""
        return self._keys(kind)[0]

    def refresh_keys(self, kind: str) -> None:
        """Bring the cache in step with the partitions as they are now (after writing them)."""
        frame, partitions, changed = self._keys(kind)
        if changed:
            note = {"partitions": json.dumps(partitions, sort_keys=True)}
            empty = pd.DataFrame({c: pd.Series([], dtype="str") for c in [*KEY_COLUMNS[kind], "order_date"]})
            parquet.put_frame(self.bucket, layout.key_index_key(kind), empty if frame is None else frame, note)

    def _keys(self, kind: str) -> tuple[pd.DataFrame | None, dict[str, str], bool]:
        """(the keys, the partitions they are from by date -> ETag, whether the cache was stale)."""
        listed = self._partitions(kind)
        cached, etags = self._cached_keys(kind)
        kept = [d for d, etag in etags.items() if listed.get(d) == etag]
        changed = sorted(d for d in listed if etags.get(d) != listed[d])
        parts = [] if cached is None else [cached[cached["order_date"].isin(kept)]]
        fresh = self._read(kind, changed, KEY_COLUMNS[kind])
        parts += [] if fresh is None else [fresh]
        frame = _in_date_order(contiguous(pd.concat(parts, ignore_index=True))) if parts else None
        stale = bool(changed) or len(kept) != len(etags)
        return (None if frame is None or frame.empty else frame), {d: listed[d] for d in listed}, stale

    def _cached_keys(self, kind: str) -> tuple[pd.DataFrame | None, dict[str, str]]:
        try:
            frame, note = parquet.get_frame_and_note(self.bucket, layout.key_index_key(kind))
            etags = json.loads(note["partitions"])
        except ObjectMissing:
            return None, {}
        except (KeyError, ValueError, OSError, pa.ArrowException):  # unreadable: rebuilt from the partitions
            return None, {}
        return frame, {str(d): str(e) for d, e in etags.items()}

    def read_keys(self, kind: str, dates: list[str]) -> pd.DataFrame | None:
        """The key columns of the given date partitions that exist (None when none does)."""
        existing = set(self.partition_dates(kind))
        return self._read(kind, [d for d in dates if d in existing], KEY_COLUMNS[kind])

    def read_partitions(self, kind: str, dates: list[str]) -> pd.DataFrame | None:
        """Every row of the given date partitions that exist (None when none does)."""
        existing = set(self.partition_dates(kind))
        return self._read(kind, [d for d in dates if d in existing], None)

    def _read(self, kind: str, dates: list[str], columns: list[str] | None) -> pd.DataFrame | None:
        if not dates:
            return None

        def one(date: str) -> pd.DataFrame:
            frame = parquet.get_frame(self.bucket, layout.curated_partition_key(kind, date), columns)
            return frame.assign(order_date=date) if columns is not None else frame

        return contiguous(pd.concat(side_by_side(one, dates), ignore_index=True))

    def write_partitions(self, kind: str, frame: pd.DataFrame, dates: list[str]) -> int:
        """Rewrite the partitions of `dates` from `frame`; a date left with no rows loses its
        partition, but only after every other partition is written (rows moved there first)."""
        groups = dict(tuple(frame.groupby("order_date", sort=True)))
        written = 0
        for date, rows in groups.items():
            parquet.put_frame(self.bucket, layout.curated_partition_key(kind, str(date)), rows.reset_index(drop=True))
            written += len(rows)
        existing = set(self.partition_dates(kind))
        for date in dates:
            if date not in groups and date in existing:
                self.bucket.delete(layout.curated_partition_key(kind, date))
        return written

    def products(self) -> pd.DataFrame | None:
        return parquet.get_frame_or_none(self.bucket, layout.CURATED_PRODUCTS_KEY)

    def known_product_ids(self) -> pd.Index:
        products = self.products()
        return pd.Index([], dtype="str") if products is None else pd.Index(products["product_id"].unique())

    def write_products(self, frame: pd.DataFrame) -> None:
        parquet.put_frame(self.bucket, layout.CURATED_PRODUCTS_KEY, frame.reset_index(drop=True))
