"""I/O of the curated store (DESIGN §4): order/item partitions by order date, one products file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from ecompipe.aws import parquet
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout

ORDERS, ORDER_ITEMS = "orders", "order_items"
_PARALLEL_READS = 8


@dataclass
class CuratedIndex:
    """Where every curated order and item lives (the partitions' key columns)."""

    orders: pd.DataFrame  # order_id, order_date
    items: pd.DataFrame  # item_key, product_id, order_date

    @classmethod
    def empty(cls) -> CuratedIndex:
        return cls(_empty(["order_id", "order_date"]), _empty(["item_key", "product_id", "order_date"]))


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})


class CuratedStore:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def partition_dates(self, kind: str) -> list[str]:
        keys = (o.key for o in self.bucket.list(layout.curated_prefix(kind)))
        return sorted(d for d in map(layout.partition_date, keys) if d)

    def index(self) -> CuratedIndex:
        """Key columns of every partition (read in parallel; column projection keeps it light)."""
        orders = self._read(ORDERS, self.partition_dates(ORDERS), ["order_id"])
        items = self._read(ORDER_ITEMS, self.partition_dates(ORDER_ITEMS), ["item_key", "product_id"])
        return CuratedIndex(
            orders if orders is not None else CuratedIndex.empty().orders,
            items if items is not None else CuratedIndex.empty().items,
        )

    def known_order_ids(self) -> pd.Index:
        frame = self._read(ORDERS, self.partition_dates(ORDERS), ["order_id"])
        return pd.Index([], dtype="str") if frame is None else pd.Index(frame["order_id"].unique())

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

        with ThreadPoolExecutor(_PARALLEL_READS) as pool:
            frames = list(pool.map(one, dates))
        return pd.concat(frames, ignore_index=True)

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
