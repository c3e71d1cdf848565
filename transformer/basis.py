"""What a plan read of the curated store, as versions (its basis), and whether the plan still
holds (ecompipe.batch.commit asks before it rebuilds and again under the commit lease).

A basis holds the catalogue's ETag and the key index's runs as listed before the plan read
anything, and the ETag of each date's manifest the plan read (transformer.plans.make). It names
no date the plan did not read, so its size and the cost of checking it follow the batch, not the
store: a plan of three dates is checked with a HEAD per date read and one LIST of the runs,
whatever number of dates the store holds.

Why that suffices: whoever writes a key into a cell adds an index run naming that cell first
(ecompipe.aws.key_index). So a key of this batch that another batch stored after the plan's
listing is in a run the basis does not list (checked against the cells themselves: a run's
entry is a candidate, never a fact); one stored by a batch whose run was listed but whose write
came after the plan's read changed a manifest the plan read."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.objects import ObjectInfo
from ecompipe.core.keys import isin
from transformer import curate
from transformer.groups import Batch

CATALOGUE, RUNS, READ = "products", "runs", "cells"


def taken(curated: CuratedStore) -> tuple[str | None, dict[str, list[ObjectInfo]]]:
    """(the catalogue's version, the index's runs): read before a plan reads anything, so that a
    write after them shows as a change."""
    return curated.catalogue_version(), curated.keys.listing()


def of(catalogue: str | None, listed: dict[str, list[ObjectInfo]], curated: CuratedStore) -> dict:
    """The basis of a plan made through `curated` after `taken` gave (catalogue, listed)."""
    runs = sorted(r.key for kind in listed.values() for r in kind)
    return {CATALOGUE: catalogue, RUNS: runs, READ: dict(sorted(curated.cells.seen.items()))}


def same_catalogue(before: dict, after: dict) -> bool:
    """Whether two bases saw the same catalogue (an empty basis, or one stored before bases
    named their runs, matches nothing)."""
    return RUNS in before and RUNS in after and before[CATALOGUE] == after[CATALOGUE]


def same_catalogue_now(curated: CuratedStore, basis: dict) -> bool:
    """Whether the catalogue is the one the plan read."""
    return RUNS in basis and curated.catalogue_version() == basis[CATALOGUE]


def held_unchanged(curated: CuratedStore, basis: dict, held: Iterable[str]) -> bool:
    """Whether the catalogue and every held date the plan read are as the plan read them (a held
    date it did not read holds none of the batch's keys as of its listing; a key written there
    since is found by the rebuild, which locates every key it writes)."""
    if not same_catalogue_now(curated, basis):
        return False
    read = {d: v for d, v in basis[READ].items() if d in set(held)}
    return curated.cells.versions(sorted(read)) == read


def stands(curated: CuratedStore, batch: Batch, basis: dict, held: Iterable[str]) -> bool:
    """Whether nothing outside the `held` dates changed in a way the plan depends on: the
    catalogue is as it was, no date the plan read outside them changed to hold any of the batch's
    orders, its items' orders, its items or items of the products it recategorises, and no run
    added since the plan places any of those keys outside them."""
    if RUNS not in basis or curated.catalogue_version() != basis[CATALOGUE]:
        return False
    inside = set(held)
    read = {d: v for d, v in basis[READ].items() if d not in inside}
    now = curated.cells.versions(sorted(read))
    changed = [d for d in read if now[d] != read[d]]
    listed = set(basis[RUNS])
    added = {k: [r for r in runs if r.key not in listed] for k, runs in curated.keys.listing().items()}
    if not changed and not any(added.values()):
        return True
    recategorised = curate.changed_categories(curated.products(), batch.products)
    return not (
        _in_changed_dates(curated, batch, recategorised, changed)
        or _placed_outside(curated, batch, recategorised, added, inside)
    )


def stored_by_others(curated: CuratedStore, batch_id: str, resolved: pd.Index) -> set[str]:
    """The held items the batch resolves that are stored under another batch's stamp. Asked at
    its commit, under the commit lease and holding their dates, where they are still held: such a
    row is a killed run's, whose batch has not resolved them (curate.Claims.owned)."""
    if not len(resolved):
        return set()
    rows = curated.locate(ORDER_ITEMS, resolved, "item_key", extra=("batch_id",))
    return set(rows.loc[(rows["batch_id"].astype("str") != batch_id).to_numpy(), "item_key"].astype("str"))


def _mine(batch: Batch) -> pd.Series:
    """The batch's orders and its items' orders."""
    return pd.concat([batch.orders["order_id"], batch.items["order_id"]], ignore_index=True)


def _in_changed_dates(curated: CuratedStore, batch: Batch, recategorised: pd.Index, changed: list[str]) -> bool:
    """Whether the `changed` dates hold any of the batch's keys (their key columns read)."""
    if not changed:
        return False
    orders = curated.read_keys(ORDERS, changed)
    if orders is not None and isin(orders["order_id"], _mine(batch)).any():
        return True
    items = curated.read_keys(ORDER_ITEMS, changed)
    if items is None:
        return False
    mine = isin(items["item_key"], batch.items["item_key"]) | isin(items["product_id"], recategorised)
    return bool(mine.any())


def _placed_outside(
    curated: CuratedStore,
    batch: Batch,
    recategorised: pd.Index,
    added: dict[str, list[ObjectInfo]],
    inside: set[str],
) -> bool:
    """Whether the runs `added` place any of the batch's keys on a date outside `inside`: orders
    and items as the cells confirm, recategorised products as candidates (a new item of such a
    product outside the held dates is a date whose category KPIs the batch changes). The batch's
    own runs name held dates only: their candidates cost no read."""
    if set(curated.product_dates(recategorised, added)) - inside:
        return True
    for kind, keys, by in ((ORDERS, _mine(batch), "order_id"), (ORDER_ITEMS, batch.items["item_key"], "item_key")):
        if not set(curated.candidate_dates(kind, keys, added)) - inside:
            continue
        if set(curated.locate(kind, keys, by, added)["order_date"]) - inside:
            return True
    return False
