"""A rebuild computed before its dates' leases were taken, written under them onto what the dates
hold by then (docs/scaling.md, "The store in cells": two batches of one date side by side).

A batch computes its rebuild (transformer.cells.compute: every read, the upsert, the new parts and
their partials) without the date leases, beside other batches of the same dates; only the write
(the key index run, the parts, the customers, the manifest, the KPIs) takes turns on the leases.
Another batch may have written one of its dates in between. What it wrote conflicts with this
rebuild only when it:

- removed or rescored a part this rebuild removes or rescores (a part is never changed in place:
  one still named holds the rows this rebuild read);
- stored one of this rebuild's keys (its orders, its items, items of the products it
  recategorises) in a part this rebuild did not read: whoever writes a key adds an index run
  naming its cell first (ecompipe.aws.key_index), so that shows as a run added since this
  rebuild's listing placing the key on one of its dates, in a part its manifest as read did not
  name (a run merged from older ones names keys where the rebuild read them: no conflict);
- changed the catalogue this rebuild scored its parts with.

Anything else it added are parts of other orders: this rebuild's parts are added beside them, its
removed parts taken out, its customers' moves applied to the customers as they are now. A conflict
is not resolved here: the caller rebuilds under the leases from the store as it is (ecompipe.batch.commit).
"""

from __future__ import annotations

import pandas as pd

from ecompipe.aws.cell_store import DateCells, Part, no_customers
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from transformer import partials
from transformer.cells import Rebuilt


def rebased(curated: CuratedStore, rebuilt: Rebuilt) -> Rebuilt | None:
    """`rebuilt` made to write onto its dates as they are now (itself when none changed since it
    was computed); None when another batch's write conflicts with it."""
    now = curated.cells.versions(rebuilt.dates)
    changed = [d for d in rebuilt.dates if now[d] != rebuilt.read[d]]
    if not changed:
        return rebuilt
    if _conflicts(curated, rebuilt, changed):
        return None
    current = curated.date_cells(changed)
    for date in changed:
        rebuilt.read[date] = curated.cells.seen.get(date)  # (what a second rebase compares with)
        plan = rebuilt.plans[date]
        if not plan.changed:  # nothing of its own to write there: its KPIs are the date's as it is
            rebuilt.before[date] = rebuilt.after[date] = current.get(date)  # type: ignore[assignment]
            continue
        after = rebuilt.after[date]
        assert after is not None
        merged = onto(current.get(date), rebuilt.before.get(date), after, plan.rescored)
        if merged is None:
            return None
        moves = rebuilt.moves[date]
        if moves is not None:
            stored = curated.cells.customers(current[date]) if date in current else no_customers()
            rebuilt.customers[date] = partials.customers_after(stored, *moves)
        rebuilt.before[date] = current.get(date)  # type: ignore[assignment]
        rebuilt.after[date] = merged
    return rebuilt


def onto(current: DateCells | None, before: DateCells | None, after: DateCells, rescored: set[str]) -> DateCells | None:
    """`after` (computed from `before`) applied onto `current`: the parts it removed taken out, the
    parts it rescored replaced, its new parts added to their cells; None when a part it removes or
    rescores is no longer in `current`."""
    ids = {p.id for _, p in before.parts()} if before is not None else set()
    mine = {p.id: (b, p) for b, p in after.parts()}
    removed = ids - set(mine)
    there = {p.id for _, p in current.parts()} if current is not None else set()
    if not (removed | rescored) <= there:
        return None
    cells: dict[int, list[Part]] = {}
    for b, part in current.parts() if current is not None else []:
        if part.id not in removed:
            cells.setdefault(b, []).append(mine[part.id][1] if part.id in rescored else part)
    for part_id, (b, part) in mine.items():
        if part_id not in ids:
            cells.setdefault(b, []).append(part)
    buckets = max(after.buckets, current.buckets if current is not None else 1)
    customers, unique = (current.customers, current.unique_customers) if current is not None else (None, 0)
    return DateCells(after.date, buckets, cells, customers, unique)


def _conflicts(curated: CuratedStore, rebuilt: Rebuilt, changed: list[str]) -> bool:
    """Whether the catalogue changed, or a run added since the rebuild's listing places one of its
    keys on a `changed` date in a part the rebuild did not see: its orders and items as the cells
    confirm (a run added since may be a merge of older runs, whose keys are where the rebuild
    read them), items of the products it recategorises as candidates."""
    if curated.catalogue_version() != rebuilt.catalogue:
        return True
    listed = {r.key for runs in rebuilt.listed.values() for r in runs} | rebuilt.own
    added = {k: [r for r in runs if r.key not in listed] for k, runs in curated.keys.listing().items()}
    if not any(added.values()):
        return False
    seen = {p.id for d in changed if rebuilt.before.get(d) is not None for _, p in rebuilt.before[d].parts()}
    for kind, keys in rebuilt.keys.items():
        if not len(keys) or not set(curated.candidate_dates(kind, pd.Series(keys), added)) & set(changed):
            continue
        if kind not in _KEY_COLUMN:
            return True
        found = curated.locate(kind, pd.Series(keys), _KEY_COLUMN[kind], added, parts=True)
        on_changed = found[found["order_date"].isin(changed).to_numpy()]
        if not on_changed["_part"].isin(seen).all():
            return True
    return False


_KEY_COLUMN = {ORDERS: "order_id", ORDER_ITEMS: "item_key"}  # (products: candidates only)
