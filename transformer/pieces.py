"""A heavy date split into pieces of its cells (docs/scaling.md, "Fan-out"): piece r of `of`
holds the batch's orders whose id hashes to r mod `of`, with their items, and is computed and put
by its own task; the task that finishes merges the pieces into the dates' manifests.

A piece is a rebuild of the group's dates with its rows only (transformer.cells.compute with its
share): its new parts are written under `of` buckets or more, so they and the tails it merges
hold its residue only, and it rescores only the parts it owns. Its task puts the key index run
and its parts (named by no manifest yet), then its *delta*: per date the manifest it read, the
manifest it would write, the parts it rescored and its customers' moves. The merge applies the
deltas one after another onto each date's manifest (transformer.rebase.onto) and writes each date
once. Two pieces that rewrite or rescore one part (a part written under fewer buckets than `of`
holding orders of both) conflict: the merge reports it and the caller rebuilds the group whole.

A date whose merge was written (a piece's new part is in its manifest, or its removed parts are
gone) is taken as it is: a rerun after a kill between two dates' writes adds nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ecompipe.aws import transient
from ecompipe.aws.cell_store import DateCells, no_customers, object_keys, part_keys
from ecompipe.aws.curated import CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket
from ecompipe.core import layout
from transformer import partials
from transformer.cells import Rebuilt, replace_kpis
from transformer.groups import FenceCheck
from transformer.rebase import onto


@dataclass
class DateDelta:
    """What a piece does to one date: the manifest it read (`before`), the one it computed
    (`after`), the stored parts it rescored and its customers' moves (users gone, users added)."""

    before: DateCells | None
    after: DateCells
    rescored: set[str]
    moves: tuple[pd.Series, pd.Series] | None

    def applied(self, current: DateCells | None) -> bool:
        """Whether `current` already holds this delta (a merge written before a kill)."""
        there = _ids(current)
        new, removed = _ids(self.after) - _ids(self.before), _ids(self.before) - _ids(self.after)
        if new:
            return bool(new & there)
        return bool(removed) and not removed & there


Delta = dict[str, DateDelta]  # a piece's delta, per date it changes
Key = Callable[[str], str]  # a piece's object named by what it holds (layout.transform_group_key)


def delta_of(rebuilt: Rebuilt) -> Delta:
    """The delta of a piece's computed rebuild."""
    out: Delta = {}
    for date, plan in rebuilt.plans.items():
        after = rebuilt.after[date]
        if plan.changed and after is not None:
            out[date] = DateDelta(rebuilt.before.get(date), after, plan.rescored, rebuilt.moves[date])
    return out


def put(bucket: Bucket, curated: CuratedStore, rebuilt: Rebuilt, key: Key, fence: FenceCheck) -> None:
    """A piece's writes: the objects it is about to put (piece.intent: a rerun deletes them), its
    key index run, its parts, then its delta (piece, and its moves: piece.moves)."""
    keys = {date: part_keys(date, parts) for date, parts in rebuilt.parts.items()}
    bucket.put_json(key("piece.intent"), {"keys": keys})
    fence("the curated write")
    for kind, hashes, locations in rebuilt.index:
        curated.keys.add(kind, hashes, locations)
    for date, parts in rebuilt.parts.items():
        curated.cells.put_parts(date, parts)
    fence("the piece's delta")
    delta = delta_of(rebuilt)
    moves = [
        pd.DataFrame({"order_date": date, "gone": gone_or_added == 0, "user_id": users.astype("str").to_numpy()})
        for date, d in delta.items()
        if d.moves is not None
        for gone_or_added, users in enumerate(d.moves)
    ]
    frame = pd.concat(moves, ignore_index=True) if moves else _no_moves()
    transient.put_frame(bucket, key("piece.moves"), frame)
    doc = {
        date: {
            "before": d.before.to_json() if d.before is not None else None,
            "after": d.after.to_json(),
            "rescored": sorted(d.rescored),
            "moves": d.moves is not None,
        }
        for date, d in delta.items()
    }
    bucket.put_json(key("piece"), {"dates": doc})


def stored(bucket: Bucket, key: Key) -> Delta | None:
    """The delta a piece's task stored, or None when none finished it."""
    doc = bucket.get_json_or_none(key("piece"))
    if doc is None:
        return None
    moves = transient.get_frame(bucket, key("piece.moves"))
    out: Delta = {}
    for date, d in doc["dates"].items():
        mine = moves[(moves["order_date"] == date).to_numpy()]
        users = (mine.loc[mine["gone"], "user_id"], mine.loc[~mine["gone"], "user_id"]) if d["moves"] else None
        before = DateCells.from_json(d["before"]) if d["before"] is not None else None
        out[date] = DateDelta(before, DateCells.from_json(d["after"]), set(d["rescored"]), users)
    return out


def intended(bucket: Bucket, key: Key) -> list[str]:
    """The objects a piece's task said it would put (none when it did not get that far)."""
    doc = bucket.get_json_or_none(key("piece.intent"))
    return [k for keys in doc["keys"].values() for k in keys] if doc is not None else []


def sweep(bucket: Bucket, curated: CuratedStore, batch_id: str) -> int:
    """Delete the parts any run of the batch put for its pieces that no manifest names (a run
    killed between a piece's parts and its merge, then followed by another run, which planned
    its own pieces); returns how many objects went. Under the commit lease, after the batch's
    rebuild: every part of its own runs that a manifest will name is named by then."""
    intent = layout.transform_group_suffix("piece.intent")
    intents = [o.key for o in bucket.list(layout.transform_plans_prefix(batch_id)) if o.key.endswith(intent)]
    put: dict[str, set[str]] = {}
    for key in intents:
        for date, keys in bucket.get_json(key)["keys"].items():
            put.setdefault(date, set()).update(keys)
    if not put:
        return 0
    named = {k for cells in curated.date_cells(sorted(put)).values() for k in object_keys(cells)}
    stray = sorted(k for keys in put.values() for k in keys if k not in named)
    bucket.delete_keys(stray)
    return len(stray)


def merge(
    curated: CuratedStore, store: KpiStore, dates: list[str], deltas: list[Delta], fence: FenceCheck
) -> int | None:
    """Every piece's delta applied onto the dates' manifests, each date written once (its
    customers moved by every piece), then the dates' KPIs; the KPI items written, or None (nothing
    written) when two pieces rewrite or rescore one part."""
    current = curated.date_cells(dates)
    merged: dict[str, DateCells] = {}
    customers: dict[str, pd.DataFrame | None] = {}
    for date in dates:
        mine = [d[date] for d in deltas if date in d]
        now = current.get(date)
        if not mine or any(d.applied(now) for d in mine):
            continue
        after: DateCells | None = now
        for d in mine:
            after = onto(after, d.before, d.after, d.rescored)
            if after is None:
                return None
        merged[date] = after  # type: ignore[assignment]
        moves = [d.moves for d in mine if d.moves is not None]
        customers[date] = None
        if moves:
            users = curated.cells.customers(now) if now is not None else no_customers()
            for gone, added in moves:
                users = partials.customers_after(users, gone, added)
            customers[date] = users
    fence("the curated write")
    for date, after in merged.items():
        curated.cells.write(current.get(date), after, {}, customers[date])
    fence("the KPI write")
    return replace_kpis(store, dates, {**current, **merged})


def _ids(cells: DateCells | None) -> set[str]:
    return {p.id for _, p in cells.parts()} if cells is not None else set()


def _no_moves() -> pd.DataFrame:
    empty = {"order_date": "str", "gone": "bool", "user_id": "str"}
    return pd.DataFrame({column: pd.Series([], dtype=dtype) for column, dtype in empty.items()})
