"""The validator's pure core: the files of one batch in, staged / rejected / pending rows and the
report out. No AWS here; validator.task does the I/O.

Every raw row ends in exactly one of accepted (staged), rejected or pending, so for every file
rows_read = accepted + rejected + pending holds by construction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core.arrow import arrow_column
from ecompipe.core.keys import first_of_each, isin
from validator import consistency, intake, outcome, pending, shards, spill
from validator.dialects import (
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
)
from validator.model import BatchValidation, InputFile, Known, ParsedFile

KINDS = (PRODUCTS, ORDERS, ORDER_ITEMS)


def validate_batch(
    batch_id: str,
    files: list[InputFile],
    known: Known,
    pending_before: pd.DataFrame | None,
    *,
    now: datetime,
    max_pending_age_days: int = 7,
    examples: int = 20,
    exact: bool = False,
    parsed_before: Mapping[str, ParsedFile] | None = None,
    shard_rows: int = shards.SHARD_ROWS,
    report_only: bool = False,
) -> BatchValidation:
    """Validate one batch. `now` (UTC) fixes 'today' for future-date checks and pending ages.
    `exact`: read with the csv module and parse cell by cell: the slow reference path, which the
    default vectorised one must match on any input (tests/functional/test_reference_path.py).
    `parsed_before`: files already parsed by `parse_file` (by key; a fanned-out run's parts, whose
    orders and items are on disk by shard: their shard count is the batch's): the batch-wide checks
    below are the same whoever parsed them. `shard_rows`: the most order and item rows the
    batch-wide step takes at once (validator.shards); the outcome is the same for any value.
    `report_only`: the report and the pending set alone, as `ecompipe validate` prints them: the
    accepted rows are counted, not staged, and the rejected rows not written out (`staged` and
    `rejected_rows` are empty)."""
    file_keys = intake.file_keys(files)
    before = parsed_before or {}
    # parts split by shard already decide the shard count (one for the batch: validator.parts)
    pieces = [p.spilled for p in before.values() if p.spilled is not None]
    count = len(pieces[0].sizes) if pieces else shards.count_for(intake.rows_about(files, before), shard_rows)
    # (a folder for the spilled shards only when there are shards to spill)
    spilled = count > 1 or bool(pieces)
    with tempfile.TemporaryDirectory(prefix="ecompipe-shards-") if spilled else nullcontext() as directory:
        spiller = spill.Spiller(count, directory) if directory is not None else None
        parsed = intake.parsed_files(files, before, exact, file_keys, spiller)
        taken = taken_from(parsed, file_keys, known, pending_before, spiller, now.date().isoformat(), report_only)
    return outcome.finished(
        batch_id,
        parsed,
        file_keys,
        taken,
        pending_before,
        now=now,
        max_pending_age_days=max_pending_age_days,
        examples=examples,
        report_only=report_only,
    )


def validate_shard(
    files: list[InputFile],
    parsed: Mapping[str, ParsedFile],
    known: Known,
    pending_of_shard: pd.DataFrame | None,
    *,
    today: str,
    first: bool,
) -> outcome.Taken:
    """What one shard of a fanned-out batch takes (outcome.combined adds the shards up): `parsed`
    holds every file but those rejected unread, its orders and items those of the shard alone
    (validator.parts), `pending_of_shard` the pending items whose order is in it. The products are
    the batch's in every shard, so only the `first` one keeps what it found of them."""
    file_keys = intake.file_keys(files)
    with tempfile.TemporaryDirectory(prefix="ecompipe-shard-") as directory:
        spiller = spill.Spiller(1, directory)
        files_read = intake.parsed_files(files, parsed, False, file_keys, spiller)
        taken = taken_from(files_read, file_keys, known, pending_of_shard, spiller, today)
    if not first:
        products = [p.key for p in files_read if p.kind == PRODUCTS]
        codes = [file_keys.categories.get_loc(k) for k in products]
        taken.failures = taken.failures[~taken.failures["file"].isin(codes)].reset_index(drop=True)
        taken.accepted = {k: n for k, n in taken.accepted.items() if k not in products}
        taken.staged.pop(PRODUCTS, None)
    return taken


def taken_from(
    parsed: list[ParsedFile],
    file_keys: pd.CategoricalDtype,
    known: Known,
    pending_before: pd.DataFrame | None,
    spiller: spill.Spiller | None,
    today: str,
    report_only: bool = False,
) -> outcome.Taken:
    """The two passes over the rows of the parsed files (two shards at a time, when spilled), and
    what the outcome is made of taken from them (`report_only`: no accepted rows staged)."""
    from validator import checks  # (loaded while the files parsed: validator.files)

    files_of = {kind: [p for p in parsed if p.kind == kind and p.frame is not None] for kind in KINDS}
    rows = {kind: intake.rows_of(kind, files_of[kind], spiller) for kind in KINDS}
    at, key_firsts = _split(rows, 1 if spiller is None else spiller.count, report_only)
    # first pass: the row rules, two shards at a time (shards.each_shard)
    found = {
        kind: shards.each_shard(
            lambda s, k=kind: checks.failed(k, rows[k], at[k][s], today, key_firsts[k]), len(at[kind])
        )
        for kind in KINDS
    }
    bad = {kind: _marked(len(rows[kind]), found[kind]) for kind in KINDS}
    # second pass: references and warnings
    why, warned, order_ids, product_ids = _referencing(rows, at, bad, known, pending_before)
    failures = pd.concat(
        [checks.located(files_of[k], rows[k], found[k], file_keys.categories) for k in KINDS], ignore_index=True
    )
    held_at = np.flatnonzero(why > 0)
    held = rows[ORDER_ITEMS].frame(held_at, rows[ORDER_ITEMS].names)
    order = rows[ORDER_ITEMS].batch_order(held_at)  # (a spilled batch numbers its rows shard by shard)
    held, held_at = held.take(order).reset_index(drop=True), held_at[order]
    held["reason"] = pending.reason_text(why[held_at] & 1 > 0, why[held_at] & 2 > 0)
    accepted = {ORDERS: ~bad[ORDERS], PRODUCTS: ~bad[PRODUCTS], ORDER_ITEMS: ~bad[ORDER_ITEMS] & (why == 0)}
    per_file = {}
    for kind in KINDS:
        per_file.update({p.key: n for p, n in zip(files_of[kind], rows[kind].counts(accepted[kind]), strict=False)})
    # the batch's orders that the pending set's items and the held ones name: what carrying the
    # pending set and its waits ask of the known orders besides the store's
    named = [held["order_id"]] + ([pending_before["order_id"]] if pending_before is not None else [])
    if any(len(n) for n in named):
        wanted = pd.concat(named, ignore_index=True)
        for a in at[ORDERS]:  # (shard by shard: a spilled batch's ids are read a shard at a time)
            own = rows[ORDERS].frame(a, ["order_id"], position=False)["order_id"]
            order_ids = order_ids.union(pd.Index(own[accepted[ORDERS][a] & isin(own, wanted).to_numpy()]))
    kinds = () if report_only else (ORDERS, PRODUCTS, ORDER_ITEMS)
    return outcome.Taken(
        failures=failures,
        held=held,
        brought=_brought(rows[ORDER_ITEMS], ~bad[ORDER_ITEMS], pending_before),
        accepted=per_file,
        warned=warned,
        order_ids=order_ids,
        product_ids=product_ids,
        staged={k: pending.staged_rows(rows[k].kept(accepted[k])) for k in kinds},
    )


def _split(rows: dict[str, shards.KindRows], count: int, report_only: bool) -> tuple[dict, dict]:
    """Each kind's rows by shard (products: one), and, when item keys of an item's own id may
    repeat under another order (so in another shard), which item rows are the first of their key
    in the batch. A batch of one shard stacks its rows at once (but for a report alone, which
    reads them where they are)."""
    for kind in KINDS if count == 1 and not report_only else (PRODUCTS,):
        rows[kind].stack()
    at = {kind: rows[kind].shard_positions(count) for kind in (ORDERS, ORDER_ITEMS)}
    at[PRODUCTS] = [np.arange(len(rows[PRODUCTS]))]
    by_id = count > 1 and rows[ORDER_ITEMS].item_ids()
    return at, {PRODUCTS: None, ORDERS: None, ORDER_ITEMS: _first_keys(rows[ORDER_ITEMS]) if by_id else None}


def _referencing(
    rows: dict[str, shards.KindRows],
    at: dict[str, list[np.ndarray]],
    bad: dict[str, np.ndarray],
    known: Known,
    pending_before: pd.DataFrame | None,
) -> tuple[np.ndarray, list[list[dict]], pd.Index, pd.Index]:
    """The second pass, over each shard's rows with the failed ones masked: why each item is held
    (1: unknown order, 2: unknown product, 3: both; 0: not held), each shard's warnings, and the
    order and product ids known (the orders the shards name beyond their own looked up at once)."""
    count = len(at[ORDERS])
    held_before = _pending_ids(pending_before, count)
    products = rows[PRODUCTS].frame(np.flatnonzero(~bad[PRODUCTS]), ["product_id"])["product_id"]
    product_ids = known.product_ids.union(pd.Index(products.unique()))
    why = np.zeros(len(rows[ORDER_ITEMS]), dtype=np.int8)

    def one(s: int) -> tuple[np.ndarray, tuple[np.ndarray, pd.Series], list[dict]]:
        orders, items = _shard_rows(rows, at, s)
        ok_orders, ok_items = ~bad[ORDERS][at[ORDERS][s]], ~bad[ORDER_ITEMS][at[ORDER_ITEMS][s]]
        # each item's order among its shard's accepted orders: one hash pass over the items' order
        # ids, shared by the orders named beyond the shard's own, the held items and the warnings
        own = consistency.orders_of_items(orders, items, ok_orders)
        no_order = np.asarray(own.is_null(), dtype=bool) & ok_items  # not the shard's: known, or held
        why[at[ORDER_ITEMS][s]] = 2 * pending.why_held(items["product_id"], product_ids) * ok_items
        return (
            _referenced(orders, items, ok_orders, ok_items, held_before[s], own),
            (at[ORDER_ITEMS][s][no_order], items["order_id"][no_order]),
            consistency.warnings_of(orders, items, ok_orders, ok_items, own),
        )

    # two shards at a time (shards.each_shard), each writing its own items' reasons
    named, beyond, warned = (list(part) for part in zip(*shards.each_shard(one, count), strict=True))
    known_orders = known.orders_among(pd.Index(np.sort(np.concatenate(named)), dtype="str"))
    for positions, ids in beyond:
        why[positions] += np.asarray(pending.why_held(ids, known_orders), dtype=np.int8)
    return why, warned, known_orders, product_ids


def _first_keys(items: shards.KindRows) -> np.ndarray:
    """Whether each item row's key is the first of its key in the batch."""
    keys = items.frame(np.arange(len(items)), ["item_key"], position=False)["item_key"]
    order = items.batch_order()
    first = np.empty(len(keys), dtype=bool)
    first[order] = first_of_each(keys.take(order).reset_index(drop=True)).to_numpy()
    return first


def _brought(items: shards.KindRows, passed: np.ndarray, before: pd.DataFrame | None) -> pd.Series:
    """The keys of the items the batch brings (held or not), which supersede their held copies
    in the pending set: read only when there is a pending set."""
    at = np.flatnonzero(passed) if before is not None and len(before) else np.zeros(0, np.int64)
    return items.frame(at, ["item_key"], position=False)["item_key"]


def _marked(rows: int, found: list[pd.DataFrame]) -> np.ndarray:
    """A mask over `rows` rows: the positions some failure names."""
    mask = np.zeros(rows, dtype=bool)
    for f in found:
        mask[f["position"].to_numpy(dtype=np.int64)] = True
    return mask


def _pending_ids(before: pd.DataFrame | None, count: int) -> list[pd.Series]:
    """The order ids of the pending set's items, by shard."""
    if before is None or before.empty:
        return [pd.Series([], dtype="str") for _ in range(count)]
    ids = before["order_id"].astype("str").reset_index(drop=True)
    return [ids.take(a) for a in shards.positions([ids], count)]


def _shard_rows(
    rows: dict[str, shards.KindRows], at: dict[str, list[np.ndarray]], s: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shard `s`'s orders and items, with what the second pass reads of them (the stacked columns
    themselves when the batch is one shard)."""
    orders = rows[ORDERS].frame(at[ORDERS][s], consistency.ORDER_COLUMNS, position=False)
    items = rows[ORDER_ITEMS].frame(at[ORDER_ITEMS][s], [*consistency.ITEM_COLUMNS, "product_id"], position=False)
    return orders, items


def _referenced(
    orders: pd.DataFrame,
    items: pd.DataFrame,
    ok_orders: np.ndarray,
    ok_items: np.ndarray,
    held: pd.Series,
    own: pa.Array,
) -> np.ndarray:
    """The order ids a shard's accepted items and pending items name, but for its own accepted
    orders (`own`: each item's among them, so only the pending items' ids are looked up)."""
    beyond = ok_items & np.asarray(own.is_null(), dtype=bool)
    from_items = arrow_column(items["order_id"]).filter(pa.array(beyond))
    from_held = arrow_column(held.astype("str"))
    if len(from_held):
        mine = arrow_column(orders["order_id"]).filter(pa.array(ok_orders))
        from_held = from_held.filter(pc.invert(pc.is_in(from_held, value_set=mine)))
    named = pa.chunked_array([c.cast(pa.large_string()) for c in (from_items, from_held)], type=pa.large_string())
    return np.asarray(pc.unique(named).drop_null().to_pylist(), dtype=object)
