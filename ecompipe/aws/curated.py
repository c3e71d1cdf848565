"""The curated store (DESIGN §4, docs/scaling.md "The store in cells"): orders and items in cells
of order date × bucket (ecompipe.aws.cell_store), the key index that says where a key may be
(ecompipe.aws.key_index), and the product catalogue (one object).

Finding a key reads only what may hold it: the index names candidate cells, the cells' key
columns say which of them do. So a batch reads what its keys touch, whatever else is stored."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecompipe.aws import parquet
from ecompipe.aws.cell_store import ORDER_ITEMS, ORDERS, CellStore, DateCells
from ecompipe.aws.key_index import KeyIndex
from ecompipe.aws.objects import Bucket, ObjectInfo, side_by_side
from ecompipe.core import cells as cell_math
from ecompipe.core import layout
from ecompipe.core.arrow import contiguous
from ecompipe.core.keys import isin, pair_key_orders

__all__ = ["KEY_COLUMNS", "ORDERS", "ORDER_ITEMS", "PRODUCTS", "CuratedIndex", "CuratedStore"]

PRODUCTS = "products"
KEY_COLUMNS = {ORDERS: ["order_id", "order_date"], ORDER_ITEMS: ["item_key", "order_id", "product_id", "order_date"]}


def _wanted(keys: pd.Series | pd.Index) -> pd.Index:
    """The distinct keys asked for, as text (no nulls)."""
    return pd.Index(pd.Series(keys, dtype="str").dropna().unique())


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})


@dataclass
class CuratedIndex:
    """Where the stored keys a batch names are: its orders and its items' orders (order_id,
    order_date), its items (item_key, order_id, product_id, order_date), and the dates that may
    hold items of the products it recategorises."""

    orders: pd.DataFrame = field(default_factory=lambda: _empty(KEY_COLUMNS[ORDERS]))
    items: pd.DataFrame = field(default_factory=lambda: _empty(KEY_COLUMNS[ORDER_ITEMS]))
    product_dates: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls) -> CuratedIndex:
        return cls()


class CuratedStore:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.cells = CellStore(bucket)
        self.keys = KeyIndex(bucket)

    def dates(self) -> list[str]:
        """Every order date with rows."""
        return sorted(self.cells.manifests())

    def catalogue_version(self) -> str | None:
        """The catalogue's ETag (None without one): one HEAD."""
        products = self.bucket.head(layout.CURATED_PRODUCTS_KEY)
        return None if products is None else products.etag

    def locate(
        self,
        kind: str,
        keys: pd.Series | pd.Index,
        by: str,
        listed: dict[str, list[ObjectInfo]] | None = None,
        parts: bool = False,
        extra: tuple[str, ...] = (),
    ) -> pd.DataFrame:
        """The stored rows' key columns (KEY_COLUMNS, and `extra`) of the given keys of `kind`
        (`by`: the key column they are, order_id or item_key): each found key once per place it
        is stored. `listed`: the index's runs (KeyIndex.listing), when the caller listed them
        already; `parts`: with the part each row is in (`_part`)."""
        columns = [*KEY_COLUMNS[kind], *extra, *(["_part"] if parts else [])]
        wanted, listed = self._asked(kind, keys, listed)
        if not len(wanted):
            return _empty(columns)
        rows = self._key_rows(kind, self._locations(kind, wanted, listed), columns)
        return rows[isin(rows[by], wanted).to_numpy()].drop_duplicates(ignore_index=True)

    def _asked(
        self, kind: str, keys: pd.Series | pd.Index, listed: dict[str, list[ObjectInfo]] | None
    ) -> tuple[pd.Index, dict[str, list[ObjectInfo]] | None]:
        """The distinct keys to look up, and the index's runs (listed here when not given): no
        key when the index holds no run of `kind` (a store's first batch of it finds nothing
        stored, so its keys are not hashed for nothing)."""
        if not len(keys):
            return pd.Index([], dtype="str"), listed
        listed = self.keys.listing() if listed is None else listed
        runs = any(listed.get(k) for k in ((ORDERS, ORDER_ITEMS) if kind == ORDER_ITEMS else (kind,)))
        return (_wanted(keys) if runs else pd.Index([], dtype="str")), listed

    def _locations(self, kind: str, wanted: pd.Index, listed: dict[str, list[ObjectInfo]] | None) -> np.ndarray:
        """The index's candidate locations of these keys. An item keyed by its order and product
        is always where its order is (a part holds whole orders), so it is found by its order id
        in the orders' runs, and only items with ids of their own are in the items' runs
        (transformer.cells writes them so)."""
        if kind != ORDER_ITEMS:
            return self.keys.lookup(kind, cell_math.key_hashes(wanted), listed)["location"].to_numpy()
        pair, orders = pair_key_orders(wanted)
        by_order = self.keys.lookup(ORDERS, cell_math.key_hashes(orders), listed)
        by_key = self.keys.lookup(ORDER_ITEMS, cell_math.key_hashes(wanted[~pair]), listed)
        return np.concatenate([by_order["location"].to_numpy(), by_key["location"].to_numpy()])

    def _key_rows(self, kind: str, locations: np.ndarray, columns: list[str]) -> pd.DataFrame:
        """The key columns of the cells holding these index locations (day * 64 + fine bucket)."""
        by_date: dict[str, set[int]] = {}
        for loc in np.unique(locations):
            date = cell_math.day_dates(np.array([loc // cell_math.MAX_BUCKETS]))[0]
            by_date.setdefault(date, set()).add(int(loc % cell_math.MAX_BUCKETS))
        manifests = self.cells.read_many(sorted(by_date))

        def read(date: str) -> pd.DataFrame | None:
            cells = manifests[date]
            buckets = {fine % cells.buckets for fine in by_date[date]}
            return self.cells.read_parts(kind, cells, buckets, [c for c in columns if c != "_part"])

        frames = [f for f in side_by_side(read, sorted(manifests)) if f is not None]
        if not frames:
            return _empty(columns)
        return contiguous(pd.concat(frames, ignore_index=True))[columns]

    def product_dates(self, product_ids: pd.Index, listed: dict[str, list[ObjectInfo]] | None = None) -> list[str]:
        """The dates that may hold items of these products (a superset: the index's candidates)."""
        return self.candidate_dates(PRODUCTS, product_ids, listed)

    def candidate_dates(
        self, kind: str, keys: pd.Series | pd.Index, listed: dict[str, list[ObjectInfo]] | None = None
    ) -> list[str]:
        """The dates the index names as candidates for these keys of `kind` (nothing read but the
        index: a superset of where they are)."""
        wanted, listed = self._asked(kind, keys, listed)
        if not len(wanted):
            return []
        return cell_math.day_dates(np.unique(self._locations(kind, wanted, listed) // cell_math.MAX_BUCKETS))

    def index_for(
        self,
        orders: pd.DataFrame,
        items: pd.DataFrame,
        recategorised: pd.Index,
        listed: dict[str, list[ObjectInfo]] | None = None,
    ) -> CuratedIndex:
        """Where the batch's stored keys are (CuratedIndex), by the index's runs `listed` (listed
        now when not given)."""
        listed = self.keys.listing() if listed is None else listed
        located_items = self.locate(ORDER_ITEMS, items["item_key"], "item_key", listed)
        order_ids = pd.concat([orders["order_id"], items["order_id"], located_items["order_id"]], ignore_index=True)
        located_orders = self.locate(ORDERS, order_ids, "order_id", listed)
        return CuratedIndex(located_orders, located_items, self.product_dates(recategorised, listed))

    def known_orders(self, order_ids: pd.Series | pd.Index) -> pd.Index:
        """The ids among `order_ids` that the store holds."""
        return pd.Index(self.locate(ORDERS, order_ids, "order_id")["order_id"].unique())

    def read_rows(self, kind: str, dates: list[str], columns: list[str] | None = None) -> pd.DataFrame | None:
        """Every row (or `columns`) of `kind` on the given dates; None when there is none."""
        manifests = self.cells.read_many(dates)
        frames = [self.cells.read_parts(kind, manifests[d], columns=columns) for d in sorted(manifests)]
        found = [f.drop(columns=["_part", "_bucket"]) for f in frames if f is not None]
        return contiguous(pd.concat(found, ignore_index=True)) if found else None

    def read_keys(self, kind: str, dates: list[str]) -> pd.DataFrame | None:
        """The key columns of `kind` on the given dates; None when there is none."""
        return self.read_rows(kind, dates, KEY_COLUMNS[kind])

    def date_cells(self, dates: list[str]) -> dict[str, DateCells]:
        return self.cells.read_many(dates)

    def legacy_dates(self) -> list[str]:
        """Dates still in the layout before cells (one object per kind and date): to migrate."""
        found = set()
        for kind in (ORDERS, ORDER_ITEMS):
            for o in self.bucket.list(layout.curated_prefix(kind)):
                date = layout.partition_date(o.key)
                if date and o.key == layout.legacy_partition_key(kind, date):
                    found.add(date)
        return sorted(found)

    def products(self) -> pd.DataFrame | None:
        return parquet.get_frame_or_none(self.bucket, layout.CURATED_PRODUCTS_KEY)

    def known_product_ids(self) -> pd.Index:
        products = self.products()
        return pd.Index([], dtype="str") if products is None else pd.Index(products["product_id"].unique())

    def write_products(self, frame: pd.DataFrame) -> None:
        parquet.put_frame(self.bucket, layout.CURATED_PRODUCTS_KEY, frame.reset_index(drop=True))
