"""I/O of one date's cells (ecompipe.core.cells): its manifest, its parts and its customers.

A date's manifest (`curated/cells/order_date=D/cells.json`) is the truth about the date: its
bucket count, each cell's parts (oldest first) with each part's partial KPIs, and the version of
its customers object. A part is a set of whole orders with all their items, so its partial KPIs
are its own and a date's KPIs are the sum of its parts' (transformer.partials). Writing a date
puts its new parts and customers first, then the manifest, then deletes what the manifest no
longer names: a reader of the manifest never sees half a write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecompipe.aws import parquet, transient
from ecompipe.aws.objects import Bucket, side_by_side
from ecompipe.core import layout
from ecompipe.core.arrow import contiguous

ORDERS, ORDER_ITEMS = "orders", "order_items"
LAYOUT_VERSION = 2
# a part's columns of about one value a row, written plain, not as a dictionary: 33k orders took
# 15 -> 9 ms to write, 12 -> 6 ms to read, and 821 -> 578 KB
PLAIN = ("order_id", "item_key", "item_id", "user_id", "order_ts", "source_line")


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Part:
    """One part of a cell: how many orders and items it holds, its partial KPIs, and the bucket
    count it was written under (`modulus`): it holds orders whose hash modulo that is its bucket.
    A date whose bucket count doubles keeps its parts; a later cell c reads the parts (m, b) with
    c mod m = b (`holds`)."""

    id: str
    orders: int
    items: int
    partial: dict[str, Any]
    modulus: int = 1

    def holds(self, bucket: int, cell: int) -> bool:
        """Whether this part (in `bucket`) may hold orders of cell `cell` (of a bucket count that
        is a multiple of the part's modulus)."""
        return cell % self.modulus == bucket

    @property
    def size(self) -> int:
        return self.orders + self.items


@dataclass
class DateCells:
    """A date's manifest."""

    date: str
    buckets: int
    cells: dict[int, list[Part]] = field(default_factory=dict)
    customers: str | None = None  # the version of its customers object
    unique_customers: int = 0

    def parts(self) -> list[tuple[int, Part]]:
        return [(b, p) for b in sorted(self.cells) for p in self.cells[b]]

    def items(self) -> int:
        return sum(p.items for _, p in self.parts())

    def to_json(self) -> dict:
        return {
            "layout": LAYOUT_VERSION,
            "order_date": self.date,
            "buckets": self.buckets,
            "customers": self.customers,
            "unique_customers": self.unique_customers,
            "cells": {str(b): [vars(p) for p in parts] for b, parts in sorted(self.cells.items()) if parts},
        }

    @classmethod
    def from_json(cls, doc: dict) -> DateCells:
        cells = {int(b): [Part(**p) for p in parts] for b, parts in doc.get("cells", {}).items()}
        return cls(
            str(doc["order_date"]),
            int(doc["buckets"]),
            cells,
            doc.get("customers"),
            int(doc.get("unique_customers", 0)),
        )


def encoded(parts: dict[str, tuple[int, pd.DataFrame, pd.DataFrame]]) -> dict[str, tuple[int, bytes, bytes]]:
    """New parts (part id -> bucket, orders, items) as the Parquet bytes `CellStore.write` puts:
    encoded when the rebuild is computed, so the write (under the date's lease) only puts them."""
    return {
        pid: (b, parquet.encode(orders, plain=PLAIN), parquet.encode(items, plain=PLAIN))
        for pid, (b, orders, items) in parts.items()
    }


def no_customers() -> pd.DataFrame:
    """A date's customers when it has none (user_id, orders)."""
    return pd.DataFrame({"user_id": pd.Series([], dtype="str"), "orders": pd.Series([], dtype="int64")})


class CellStore:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.seen: dict[str, str | None] = {}  # each date's manifest as read: its ETag (None: there was none)

    def manifests(self) -> dict[str, str]:
        """Order date -> ETag of every date's manifest (one LIST)."""
        listed = self.bucket.list(layout.CELLS)
        return {
            date: o.etag
            for o in listed
            if o.key.endswith("/cells.json") and (date := layout.partition_date(o.key)) is not None
        }

    def read(self, date: str) -> DateCells | None:
        """A date's manifest (None without one), its version noted in `seen`."""
        found = self.bucket.get_json_and_etag(layout.cells_manifest_key(date))
        self.seen[date] = None if found is None else found[1]
        return None if found is None else DateCells.from_json(found[0])

    def versions(self, dates: list[str]) -> dict[str, str | None]:
        """Each date's manifest ETag now (None without one): a HEAD each."""
        heads = side_by_side(lambda d: self.bucket.head(layout.cells_manifest_key(d)), dates)
        return {d: None if h is None else h.etag for d, h in zip(dates, heads, strict=True)}

    def read_many(self, dates: list[str]) -> dict[str, DateCells]:
        found = side_by_side(self.read, dates)
        return {d: cells for d, cells in zip(dates, found, strict=True) if cells is not None}

    def read_parts(
        self,
        kind: str,
        cells: DateCells,
        buckets: set[int] | None = None,
        columns: list[str] | None = None,
        only: set[str] | None = None,
    ) -> pd.DataFrame | None:
        """The rows of the date's parts (those that may hold orders of the cells `buckets`, of the
        part ids `only`, when given), each
        with its part id (`_part`) and bucket (`_bucket`), in manifest order; None when none."""
        wanted = [
            (b, p)
            for b, p in cells.parts()
            if (buckets is None or any(p.holds(b, c) for c in buckets)) and (only is None or p.id in only)
        ]
        if not wanted:
            return None

        def one(entry: tuple[int, Part]) -> pd.DataFrame:
            b, part = entry
            key = layout.cell_part_key(kind, cells.date, b, part.id)
            return parquet.get_frame(self.bucket, key, columns).assign(_part=part.id, _bucket=b)

        return contiguous(pd.concat(side_by_side(one, wanted), ignore_index=True))

    def customers(self, cells: DateCells) -> pd.DataFrame:
        """The date's customers: user_id and how many of the date's orders are theirs (> 0)."""
        if cells.customers is None:
            return no_customers()
        return transient.get_frame(self.bucket, layout.customers_key(cells.date, cells.customers))

    def put_parts(self, date: str, parts: dict[str, tuple[int, bytes, bytes]]) -> None:
        """Put new parts of the date (`encoded`), named by no manifest yet."""

        def put(entry: tuple[str, str, int, bytes]) -> None:
            kind, part_id, b, data = entry
            self.bucket.put_bytes(layout.cell_part_key(kind, date, b, part_id), data, parquet.CONTENT_TYPE)

        puts = [(k, pid, b, rows) for pid, (b, o, i) in parts.items() for k, rows in ((ORDERS, o), (ORDER_ITEMS, i))]
        side_by_side(put, puts)

    def write(
        self,
        before: DateCells | None,
        after: DateCells,
        parts: dict[str, tuple[int, bytes, bytes]],
        customers: pd.DataFrame | None,
    ) -> None:
        """Make `after` the date's manifest: `parts` (part id -> bucket, its orders and its items as
        Parquet: `encoded`) are the parts it names that are new, `customers` its customers when
        they changed (a new version). What `before` named and `after` does not is deleted after the
        manifest is written."""
        self.put_parts(after.date, parts)
        if customers is not None:
            after.customers = new_id() if len(customers) else None
            after.unique_customers = len(customers)
            if after.customers is not None:
                transient.put_frame(self.bucket, layout.customers_key(after.date, after.customers), customers)
        if after.parts():
            self.bucket.put_json(layout.cells_manifest_key(after.date), after.to_json())
        elif before is not None:
            self.bucket.delete(layout.cells_manifest_key(after.date))
        self.bucket.delete_keys(_gone(before, after))


def part_keys(date: str, parts: dict[str, tuple[int, bytes, bytes]]) -> list[str]:
    """The objects `CellStore.put_parts` writes for these parts."""
    return [layout.cell_part_key(k, date, b, pid) for pid, (b, _, _) in parts.items() for k in (ORDERS, ORDER_ITEMS)]


def object_keys(cells: DateCells) -> list[str]:
    """Every object the date's manifest names, the manifest too."""
    keys = [layout.cell_part_key(k, cells.date, b, p.id) for b, p in cells.parts() for k in (ORDERS, ORDER_ITEMS)]
    if cells.customers is not None:
        keys.append(layout.customers_key(cells.date, cells.customers))
    if cells.parts():
        keys.append(layout.cells_manifest_key(cells.date))
    return keys


def _gone(before: DateCells | None, after: DateCells) -> list[str]:
    if before is None:
        return []
    return sorted(set(object_keys(before)) - set(object_keys(after)) - {layout.cells_manifest_key(after.date)})
