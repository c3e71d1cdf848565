"""The validator's pure core: the files of one batch in, staged / rejected / pending rows and the
report out. No AWS here; validator.task does the I/O.

Every raw row ends in exactly one of accepted (staged), rejected or pending, so for every file
rows_read = accepted + rejected + pending holds by construction.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core import money, money_frames
from ecompipe.core.arrow import arrow_column
from validator import compressed, pending, reasons
from validator.columns import kept, stacked
from validator.dialects import (
    CANONICAL_COLUMNS,
    ORDER_ITEMS,
    ORDERS,
    PRODUCTS,
    detect,
    kind_of,
    to_canonical,
)
from validator.model import PENDING_OF_FILE, BatchValidation, InputFile, Known, ParsedFile
from validator.reading import MalformedFile, read_csv
from validator.report import build_report
from validator.schemas import failures


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
) -> BatchValidation:
    """Validate one batch. `now` (UTC) fixes 'today' for future-date checks and pending ages.
    `exact`: read with the csv module and parse cell by cell: the slow reference path, which the
    default vectorised one must match on any input (tests/functional/test_reference_path.py).
    `parsed_before`: files already parsed by `parse_file` (by key; a fanned-out run's parts): the
    batch-wide checks below are the same whoever parsed them."""
    today = now.date().isoformat()
    # one file-name category set for the batch: a per-row file column costs a code, not a string
    file_keys = pd.CategoricalDtype(list(dict.fromkeys(f.key for f in files)))
    before, todo = parsed_before or {}, [f for f in files if f.key not in (parsed_before or {})]
    with ThreadPoolExecutor(2) as pool:  # two files at a time: Arrow's reader and compute release the GIL
        fresh = {p.key: p for p in pool.map(lambda f: _parsed_here(f, exact), todo)}
    parsed = [_with_source(before[f.key] if f.key in before else fresh[f.key], file_keys) for f in files]
    accepted: dict[str, pd.DataFrame] = {}
    for kind in (PRODUCTS, ORDERS, ORDER_ITEMS):
        accepted[kind] = _check_kind(kind, [p for p in parsed if p.kind == kind], today)

    batch_orders = pd.Index(accepted[ORDERS]["order_id"].unique())
    order_ids = known.orders_among(_referenced(accepted[ORDER_ITEMS], pending_before, batch_orders)).union(batch_orders)
    product_ids = known.product_ids.union(pd.Index(accepted[PRODUCTS]["product_id"].unique()))
    items, new_pending = pending.split_references(accepted[ORDER_ITEMS], order_ids, product_ids)
    for p in parsed:
        if p.kind == ORDER_ITEMS and p.frame is not None:
            mine = new_pending[new_pending["source_file"] == p.key]
            p.pending = pd.DataFrame(
                {k: mine[c].to_numpy() for k, c in PENDING_OF_FILE.items()}, columns=list(PENDING_OF_FILE)
            )

    # pending/ is keyed by item_key like curated/: a held item this batch brings again (re-upload,
    # recovery re-run) replaces its old copy, whether it resolves now or is held again
    held = pending.public(new_pending).assign(reason=new_pending["reason"].to_numpy())
    carried, pending_after = pending.carry(
        batch_id, held, accepted[ORDER_ITEMS], order_ids, product_ids, pending_before, now, max_pending_age_days
    )
    staged = {kind: pending.staged_rows(accepted[kind]) for kind in (ORDERS, PRODUCTS)}
    staged[ORDER_ITEMS] = pending.staged_rows(items)

    report = build_report(
        batch_id,
        parsed,
        _per_file([accepted[ORDERS], accepted[PRODUCTS], items], file_keys),
        carried_counts=carried.counts,
        pending_after=len(pending_after),
        expired=len(carried.expired),
        warnings=_warnings(accepted[ORDERS], staged[ORDER_ITEMS], new_pending),
        now=now,
        examples=examples,
    )
    return BatchValidation(
        staged=staged,
        resolved=carried.resolved,
        held=held,
        rejected_rows={p.name: _rejected_rows(p) for p in parsed if p.raw is not None and _has_rejections(p)},
        malformed={p.key: p.malformed for p in parsed if p.malformed is not None},
        pending=pending_after,
        expired=carried.expired,
        report=report,
        waits_for=pending.waits_for(pending_after, order_ids, product_ids),
    )


def _per_file(frames: list[pd.DataFrame], file_keys: pd.CategoricalDtype) -> dict[str, int]:
    """How many rows of these frames each file holds (their file column's codes counted: no
    whole-batch concatenation of the column)."""
    counts = np.zeros(len(file_keys.categories), dtype=np.int64)
    for frame in frames:
        column = frame["source_file"]
        if len(column):
            codes = column.cat.codes.to_numpy() if isinstance(column.dtype, pd.CategoricalDtype) else None
            if codes is None:
                codes = file_keys.categories.get_indexer(column.astype("str"))
            counts += np.bincount(codes, minlength=len(counts))
    return {str(k): int(n) for k, n in zip(file_keys.categories, counts, strict=True)}


def parse_file(f: InputFile, exact: bool = False) -> ParsedFile:
    """One file on its own: read, dialect, canonical form and the cells that failed to parse."""
    p = ParsedFile(f.key, f.name, kind=kind_of(f.name))
    if p.kind is None:
        unrecognised = reasons.UNRECOGNISED_FILE
        p.malformed = MalformedFile(unrecognised, f"{f.name}: {reasons.DESCRIPTIONS[unrecognised]}")
        return p
    if f.data is None:
        p.malformed = MalformedFile(
            reasons.FILE_TOO_LARGE,
            f"{f.name} is {f.size / 2**20:.1f} MiB: {reasons.DESCRIPTIONS[reasons.FILE_TOO_LARGE]}",
        )
        return p
    try:
        data = compressed.expand(f.name, f.data, f.max_bytes) if compressed.is_compressed(f.name) else f.data
        p.raw = read_csv(data, exact=exact)
        p.dialect = detect(p.kind, p.raw.header)
    except MalformedFile as exc:
        p.raw, p.malformed = None, exc
        return p
    assert p.raw.cells is not None  # (as read: nothing forgot them yet)
    canonical = to_canonical(p.dialect, p.raw.cells, exact, decimal_comma=p.raw.separator != ",")
    p.frame = canonical.frame
    p.errors = canonical.errors
    return p


def _parsed_here(f: InputFile, exact: bool) -> ParsedFile:
    """parse_file, its raw cells let go at once (what a report shows is read again by line:
    RawTable.rows), so the batch holds one file's cells at a time, not every file's."""
    p = parse_file(f, exact)
    if p.raw is not None:
        p.raw.forget_cells()
    return p


def _with_source(p: ParsedFile, file_keys: pd.CategoricalDtype) -> ParsedFile:
    """The lineage columns of each row: its file (a code into the batch's files) and line."""
    if p.frame is not None and p.raw is not None:
        code = file_keys.categories.get_loc(p.key)
        source = pd.Categorical.from_codes(np.full(len(p.frame), code), dtype=file_keys)
        p.frame = p.frame.assign(source_file=source, source_line=p.raw.lines)
    return p


def _check_kind(kind: str, files: list[ParsedFile], today: str) -> pd.DataFrame:
    """Run the pandera schema over every parsed row of one kind in the batch (so duplicate keys are
    found across files); record failures on their files; return the rows that passed."""
    taken = [(p.frame, np.flatnonzero(~p.frame.index.isin(p.errors["row"]))) for p in files if p.frame is not None]
    if not taken:
        return pd.DataFrame(columns=[*CANONICAL_COLUMNS[kind], "source_file", "source_line", "_row"])
    for p in files:  # each file's rows go into the batch's frame, column by column
        p.frame = p.frame.iloc[0:0] if p.frame is not None else None
    combined = stacked([frame for frame, _ in taken], [rows for _, rows in taken], "_row")
    del taken
    failed = failures(kind, combined, today)
    by_key = {p.key: p for p in files}
    for key, group in failed.groupby(combined.loc[failed["index"], "source_file"].to_numpy()):
        p = by_key[key]
        rows = combined.loc[group["index"], "_row"].to_numpy()
        columns = [p.dialect.source_of(c) for c in group["column"]] if p.dialect else list(group["column"])
        values = _raw_values(p, rows, columns)
        found = pd.DataFrame({"row": rows, "column": columns, "value": values, "reason": group["reason"].to_numpy()})
        p.errors = pd.concat([p.errors, found], ignore_index=True)
    return kept(combined, np.flatnonzero(~combined.index.isin(failed["index"])))


def _raw_values(p: ParsedFile, rows: np.ndarray, columns: list[str]) -> np.ndarray:
    """The cells as written in the file (not their parsed form), for reports and rejected rows;
    a column `a+b` (a derived key) shows as `a/b`. One lookup per column, not per cell."""
    assert p.raw is not None
    named = np.asarray(columns, dtype=object)
    out = np.full(len(rows), "", dtype=object)
    if not len(rows):
        return out
    distinct, at = np.unique(rows, return_inverse=True)
    cells = p.raw.rows(distinct)
    for column in dict.fromkeys(columns):
        chosen = named == column
        parts = [cells[c].take(at[chosen]).astype("str") for c in column.split("+") if c in cells]
        if parts:
            out[chosen] = functools.reduce(lambda a, b: a + "/" + b.to_numpy(), parts).to_numpy(dtype=object)
    return out


def _warnings(orders: pd.DataFrame, items: pd.DataFrame, held: pd.DataFrame) -> list[dict]:
    """Consistency warnings (never rejections), judged on the items this batch holds of each order.
    Whole-batch columns are read, never concatenated or copied: only the orders that warn are
    taken (a copy of every order with its sums was ~0.5 GiB at 10M items, at the task's peak)."""
    rows = (items, held)
    # each item's order by position among the batch's orders (accepted order ids are unique)
    ids = pa.chunked_array([arrow_column(r["order_id"]) for r in rows], type=pa.large_string())
    at = pc.index_in(ids, value_set=arrow_column(orders["order_id"]))
    found = np.asarray(at.is_valid(), dtype=bool)
    quantity = np.concatenate([r["quantity"].to_numpy(dtype="int64") for r in rows])[found]
    price = np.concatenate([r["unit_price_cents"].to_numpy(dtype="int64") for r in rows])[found]
    lines = {"items": np.ones(len(quantity), dtype=np.int64), "units": quantity, "cents": quantity * price}
    per_order = money_frames.exact_sums_at(np.asarray(at.drop_null(), dtype=np.int64), len(orders), lines)
    per_order.index = orders.index
    counted = per_order["items"] > 0
    amount = counted & money_frames.differ_by_more_than(orders["total_amount_cents"], per_order["cents"], 1)
    count = counted & orders["num_of_item"].notna() & (orders["num_of_item"] != per_order["items"])
    amount_rows = orders[amount].assign(cents=per_order["cents"][amount])
    count_rows = orders[count].assign(items=per_order["items"][count])
    out: list[dict] = []
    for r in amount_rows.itertuples():
        out.append(
            {
                "type": "total_amount_mismatch",
                "file": r.source_file,
                "line": int(r.source_line),
                "order_id": r.order_id,
                "message": f"total_amount {money.format_cents(r.total_amount_cents)} differs from the sum of its "
                f"items in this batch {money.format_cents(r.cents)} by more than 0.01",
            }
        )
    for r in count_rows.itertuples():
        out.append(
            {
                "type": "num_of_item_mismatch",
                "file": r.source_file,
                "line": int(r.source_line),
                "order_id": r.order_id,
                "message": f"num_of_item {int(r.num_of_item)} but this batch holds {int(r.items)} of its items",
            }
        )
    return out


def _has_rejections(p: ParsedFile) -> bool:
    return bool(len(p.errors)) or bool(p.raw and p.raw.ragged)


def _rejected_rows(p: ParsedFile) -> pd.DataFrame:
    """The rejected rows of one file as they were written, with line, reason and detail."""
    assert p.raw is not None
    errs = p.errors.drop_duplicates(["row", "reason", "column"])
    detail = errs["column"].astype("str") + "=" + errs["value"].astype("str").map(repr) + " (" + errs["reason"] + ")"
    errs = errs.assign(detail=detail)
    # most rejected rows have one problem: only rows with several go through a Python-level join
    several = errs["row"].duplicated(keep=False).to_numpy()
    grouped = errs[~several].set_index("row")[["reason", "detail"]]
    if several.any():
        joined = (
            errs[several]
            .groupby("row")
            .agg(reason=("reason", lambda s: ";".join(dict.fromkeys(s))), detail=("detail", "; ".join))
        )
        grouped = pd.concat([grouped, joined])
    grouped = grouped.sort_index()
    cells = p.raw.rows(grouped.index.to_numpy())
    rows = pd.DataFrame(
        {"line": p.raw.lines[grouped.index.to_numpy()], "reason": grouped["reason"], "detail": grouped["detail"]}
    )
    rows = pd.concat([rows.reset_index(drop=True), cells.reset_index(drop=True)], axis=1)
    if p.raw.ragged:
        ragged = pd.DataFrame(
            {
                "line": [r.line for r in p.raw.ragged],
                "reason": reasons.RAGGED_ROW,
                "detail": [f"{r.fields} fields, header has {len(p.raw.header)}" for r in p.raw.ragged],
                "raw": [r.text for r in p.raw.ragged],
            }
        )
        rows = pd.concat([rows, ragged], ignore_index=True)
    return rows.sort_values("line", kind="stable").reset_index(drop=True)


def _referenced(items: pd.DataFrame, pending_before: pd.DataFrame | None, own: pd.Index) -> pd.Index:
    """The order ids this batch's items and the pending set refer to, but for the batch's own
    (sorted; each id hashed once, by Arrow, with no whole-batch concatenation)."""
    frames = [items["order_id"]] + ([pending_before["order_id"]] if pending_before is not None else [])
    columns = [arrow_column(f.astype("str")).cast(pa.large_string()) for f in frames]
    ids = pc.unique(pa.chunked_array(columns, type=pa.large_string())).drop_null()
    outside = ids.filter(pc.invert(pc.is_in(ids, value_set=arrow_column(pd.Series(own, dtype="str")))))
    return pd.Index(np.sort(np.asarray(outside.to_pylist(), dtype=object)), dtype="str")
