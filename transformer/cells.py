"""A group of dates rebuilt in cells (docs/scaling.md, "The store in cells"): only what the batch
touches is read and written.

The orders the batch touches are its orders, its items' orders and the orders its re-sent items
leave; they are *affected*. Their stored rows are found through the key index (a new order costs
no read at all) and read with the cells that hold them; their new state is the upsert of the
batch onto those rows (transformer.curate.rebuild). Then, per date: a part that held an affected
order is rewritten without it, the affected orders' new rows go into one new part per cell, the
newest parts of a cell are merged four or more at a time (ecompipe.core.cells.tail_to_merge), and
a date whose cells outgrow their size doubles its bucket count for the parts written from then on
(the older parts stay: each says the count it was written under, so nothing is re-laid). A cell
holding a recategorised product has its parts' partials recomputed. Each new part's partial KPIs
are computed from its rows, the date's customers change by the affected orders, and the date's
KPIs are the merge of its parts' partials (transformer.partials).

Writes: the key index first (every location about to be written: a rerun finds what a killed
attempt moved), then per date its parts, customers and manifest, then the KPIs; each shared step
fenced as before (transformer.task)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecompipe.aws.cell_store import DateCells, Part, encoded, no_customers
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, PRODUCTS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.core import cells as cell_math
from ecompipe.core.arrow import contiguous
from ecompipe.core.keys import isin, pair_keys
from transformer import curate, kpis, partials
from transformer.cell_plan import META, ByDate, DatePlan
from transformer.groups import FenceCheck


@dataclass
class Rebuilt:
    """A rebuild as computed from the store as it was read (`compute`), not yet written (`write`):
    per date its manifest before (and that manifest's version as read), the plan of its parts, its
    manifest after and its customers after (None: unchanged); the affected orders' new rows."""

    dates: list[str]
    before: dict[str, DateCells]
    read: dict[str, str | None]
    plans: dict[str, DatePlan]
    after: dict[str, DateCells | None]
    moves: dict[str, tuple[pd.Series, pd.Series] | None]  # each date's users that go and come
    parts: dict[str, dict[str, tuple[int, bytes, bytes]]]  # each date's new parts, encoded
    index: list[tuple[str, np.ndarray, np.ndarray]]  # what it adds to the key index (_index_entries)
    customers: dict[str, pd.DataFrame | None]
    new_orders: pd.DataFrame
    new_items: pd.DataFrame
    catalogue: str | None = None  # the catalogue's version when it was computed
    listed: dict = field(default_factory=dict)  # the key index's runs it looked keys up in
    keys: dict[str, pd.Index] = field(default_factory=dict)  # kind -> the keys it looked up
    own: set[str] = field(default_factory=set)  # the key index runs it added (`put`)


def rebuild(
    curated: CuratedStore,
    store: KpiStore,
    dates: list[str],
    orders: pd.DataFrame,
    items: pd.DataFrame,
    products: pd.DataFrame,
    fence: FenceCheck,
    claims: curate.Claims | None = None,
    recategorised: pd.Index | None = None,
) -> int:
    """The cells of `dates` (a closed group, or several) rebuilt with the batch's rows of those
    dates (whose rows they may replace: curate.Claims), then their KPIs; returns the KPI items
    written."""
    return write(curated, store, compute(curated, dates, orders, items, products, claims, recategorised), fence)


def compute(
    curated: CuratedStore,
    dates: list[str],
    orders: pd.DataFrame,
    items: pd.DataFrame,
    products: pd.DataFrame,
    claims: curate.Claims | None = None,
    recategorised: pd.Index | None = None,
    share: tuple[int, int] = (0, 1),
) -> Rebuilt:
    """What a rebuild of `dates` writes, computed from the store as it is now (reads only);
    `share`: the rows are one piece of the dates' cells (cell_plan.DatePlan.make)."""
    catalogue = curated.catalogue_version()
    listed = curated.keys.listing()  # (one LIST for every lookup below; before the manifests are read)
    before = curated.date_cells(dates)
    read = {d: curated.cells.seen.get(d) for d in dates}
    gone_keys = pd.Series(claims.dropped if claims is not None else [], dtype="str")
    located_items = curated.locate(ORDER_ITEMS, pd.concat([items["item_key"], gone_keys]), "item_key", listed)
    affected = pd.Index(
        pd.concat([orders["order_id"], items["order_id"], located_items["order_id"]]).astype("str").unique()
    )
    # (a copy outside the group: another batch moved it since the plan, which the commit's finish
    # sees as a changed date and plans again for)
    located = curated.locate(ORDERS, affected, "order_id", listed)
    located = located[isin(located["order_date"], pd.Index(dates)).to_numpy()]
    to_read, rescore = _cells_to_read(curated, before, located, recategorised, listed)
    old_orders, old_items = _read(curated, before, to_read, (orders, items))
    hit_orders = isin(old_orders["order_id"], affected).to_numpy()
    hit_items = isin(old_items["order_id"], affected).to_numpy()
    new_orders, new_items = curate.rebuild(
        _newest(old_orders[hit_orders], "order_id"),
        _newest(old_items[hit_items], "item_key"),
        orders,
        items,
        claims,
    )
    if new_items["order_date"].isna().any():
        orphans = new_items.loc[new_items["order_date"].isna(), "item_key"].head(5).tolist()
        raise RuntimeError(f"curated items without an order in the affected partitions: {orphans}")
    _inside(dates, pd.concat([new_orders["order_date"], new_items["order_date"]]), "rows")
    dirty = set(old_orders.loc[hit_orders, "_part"]) | set(old_items.loc[hit_items, "_part"])
    new = (ByDate(new_orders), ByDate(new_items))
    kept = (ByDate(old_orders[~hit_orders]), ByDate(old_items[~hit_items]))
    plans = {d: DatePlan.make(d, before.get(d), new, kept, dirty, rescore.get(d, set()), share) for d in dates}
    for plan in plans.values():
        plan.complete(curated)
    fresh = [p for plan in plans.values() for p in plan.fresh]
    scored = (
        partials.of_parts(
            _concat([p.orders[partials.ORDER_COLUMNS] for p in fresh]),
            _concat([p.items[partials.ITEM_COLUMNS] for p in fresh]),
            products,
        )
        if fresh
        else {}
    )
    moves = {d: plan.moves(old_orders[hit_orders]) for d, plan in plans.items()}
    customers = {d: plan.customers(curated, moves[d]) for d, plan in plans.items()}
    after = {d: plan.manifest(scored) if plan.changed else before.get(d) for d, plan in plans.items()}
    keys = {
        ORDERS: affected,
        ORDER_ITEMS: pd.Index(pd.concat([items["item_key"], gone_keys]).astype("str").unique()),
        PRODUCTS: pd.Index(recategorised if recategorised is not None else [], dtype="str"),
    }
    parts = {d: encoded(plan.parts()) for d, plan in plans.items() if plan.changed}
    index = _index_entries(new_orders, new_items)
    rows = (new_orders, new_items)
    return Rebuilt(dates, before, read, plans, after, moves, parts, index, customers, *rows, catalogue, listed, keys)


def write(curated: CuratedStore, store: KpiStore, rebuilt: Rebuilt, fence: FenceCheck) -> int:
    """Write what `compute` computed (`put`, then `swap_in`); returns the KPI items written."""
    fence("the curated write")
    put(curated, rebuilt)
    return swap_in(curated, store, rebuilt, fence)


def put(curated: CuratedStore, rebuilt: Rebuilt) -> None:
    """The key index runs first (every location about to be written: a rerun finds what a killed
    attempt moved), then the new parts, named by no manifest yet."""
    rebuilt.own = {run for kind, hashes, at in rebuilt.index if (run := curated.keys.add(kind, hashes, at))}
    for date, parts in rebuilt.parts.items():
        curated.cells.put_parts(date, parts)


def swap_in(curated: CuratedStore, store: KpiStore, rebuilt: Rebuilt, fence: FenceCheck) -> int:
    """After `put`: per date its customers and manifest (the parts it no longer names deleted),
    then the dates' KPIs; returns the KPI items written."""
    for d, plan in rebuilt.plans.items():
        after = rebuilt.after[d]
        if plan.changed and after is not None:
            curated.cells.write(rebuilt.before.get(d), after, {}, rebuilt.customers[d])
    fence("the KPI write")
    return replace_kpis(store, rebuilt.dates, rebuilt.after)


def replace_kpis(store: KpiStore, dates: list[str], manifests: Mapping[str, DateCells | None]) -> int:
    """The KPI items of `dates` replaced by the merge of their manifests' partials (a date with no
    manifest, or no part, has none); the items written."""
    order_kpis, category_kpis = partials.kpi_frames(
        [(d, [p.partial for _, p in c.parts()], c.unique_customers) for d, c in manifests.items() if c is not None]
    )
    return store.replace_dates(dates, kpis.order_records(order_kpis), kpis.category_records(category_kpis))


def rescore(curated: CuratedStore, store: KpiStore, dates: list[str], products: pd.DataFrame) -> int:
    """Every part of `dates` scored again from its rows (its counts and partials), the dates'
    customers counted again from their orders, then their KPIs from those partials: what
    `ecompipe reprocess --from/--to` writes, so a manifest whose partials went wrong (a KPI rule
    fixed since, a damaged object) is repaired and the next batch merges right ones. Returns the
    KPI items written. Under the dates' leases (the caller's)."""
    after: dict[str, DateCells] = {}
    for date, before in sorted(curated.date_cells(dates).items()):
        orders = curated.cells.read_parts(ORDERS, before)
        items = curated.cells.read_parts(ORDER_ITEMS, before)
        if orders is None or items is None:
            continue
        scored = partials.of_parts(orders.drop(columns=["_bucket"]), items.drop(columns=["_bucket"]), products)
        order_counts, item_counts = orders[partials.PART].value_counts(), items[partials.PART].value_counts()
        cells = {
            b: [
                Part(
                    p.id,
                    int(order_counts.get(p.id, 0)),
                    int(item_counts.get(p.id, 0)),
                    scored.get(p.id, p.partial),
                    p.modulus,
                )
                for p in parts
            ]
            for b, parts in before.cells.items()
        }
        new = DateCells(date, before.buckets, cells, before.customers, before.unique_customers)
        customers = partials.customers_after(no_customers(), pd.Series([], dtype="str"), orders["user_id"])
        curated.cells.write(before, new, {}, customers)
        after[date] = new
    return replace_kpis(store, dates, after)


def _inside(dates: list[str], found: pd.Series, what: str) -> None:
    outside = set(pd.unique(found.dropna().astype("str"))) - set(dates)
    if outside:
        raise RuntimeError(
            f"{what} on dates outside the group rebuilt ({sorted(outside)[:5]}): the group is not closed"
        )


def _newest(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Each key once (a run killed between two dates' writes may leave a moved order in both)."""
    return curate.newest(rows.drop(columns=META), key).reset_index(drop=True)


def _cells_to_read(
    curated: CuratedStore,
    before: dict[str, DateCells],
    located: pd.DataFrame,
    recategorised: pd.Index | None,
    listed: dict,
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Per date, the buckets of the cells to read: those holding affected orders, and those that
    may hold items of recategorised products (to rescore: their parts' partials change)."""
    read: dict[str, set[int]] = {}
    rescore: dict[str, set[int]] = {}
    for date, ids in located.groupby("order_date")["order_id"]:
        if date in before:
            read.setdefault(str(date), set()).update(cell_math.buckets_of(ids, before[str(date)].buckets).tolist())
    if recategorised is not None and len(recategorised):
        hits = curated.keys.lookup(PRODUCTS, cell_math.key_hashes(pd.Index(recategorised)), listed)
        for loc in np.unique(hits["location"].to_numpy()):
            date = cell_math.day_dates(np.array([loc // cell_math.MAX_BUCKETS]))[0]
            if date in before:
                rescore.setdefault(date, set()).add(int(loc % cell_math.MAX_BUCKETS) % before[date].buckets)
    for date, buckets in rescore.items():
        read.setdefault(date, set()).update(buckets)
    return read, rescore


def _read(
    curated: CuratedStore,
    before: dict[str, DateCells],
    read: dict[str, set[int]],
    templates: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row of the cells `read` (orders, items), each with its part and bucket (META); with
    none, empty frames of the batch's columns."""
    out = []
    for kind, template in zip((ORDERS, ORDER_ITEMS), templates, strict=True):
        frames = [curated.cells.read_parts(kind, before[d], buckets) for d, buckets in sorted(read.items())]
        found = [f for f in frames if f is not None]
        empty = template.iloc[0:0].assign(_part=pd.Series([], dtype="str"), _bucket=pd.Series([], dtype="int64"))
        out.append(_concat(found) if found else empty)
    return out[0], out[1]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return contiguous(pd.concat(frames, ignore_index=True))


def _index_entries(orders: pd.DataFrame, items: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(kind, key hashes, locations) of every location the new rows take: what the write adds to
    the key index before it writes them (hashed with the compute, not under the lease). Items
    keyed by their order and product are found by their order id (CuratedStore._locations),
    whose rows a rebuild always writes with them: only items with ids of their own are added."""
    at, order_hashes = _locations(items), cell_math.key_hashes(orders["order_id"])
    own_ids = ~pair_keys(items["item_key"])
    entries = (
        (ORDERS, order_hashes, _locations(orders, order_hashes)),
        (ORDER_ITEMS, cell_math.key_hashes(items["item_key"][own_ids]), at[own_ids]),
        (PRODUCTS, cell_math.key_hashes(items["product_id"]), at),
    )
    return [(kind, hashes, locations) for kind, hashes, locations in entries if len(hashes)]


def _locations(rows: pd.DataFrame, order_hashes: np.ndarray | None = None) -> np.ndarray:
    """day * MAX_BUCKETS + fine bucket of each row (its order's; `order_hashes`: key_hashes of
    its order ids, when the caller has them)."""
    hashes = cell_math.key_hashes(rows["order_id"]) if order_hashes is None else order_hashes
    fine = cell_math.buckets_of_hashes(hashes, cell_math.MAX_BUCKETS)
    return cell_math.day_numbers(rows["order_date"]).astype(np.int64) * cell_math.MAX_BUCKETS + fine
