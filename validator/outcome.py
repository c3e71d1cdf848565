"""What validation takes from a batch's rows (`Taken`: all of them in one task, or one shard's in
a validate-shard task of its own, validator.fanned) and the outcome made of it (`finished`), so a
batch validated whole and one validated shard by shard end the same. What is taken is located by
file (its code among the batch's files) and row, never by a position among rows one task holds;
the shards' takings add up (`combined`): every row is in exactly one shard, the products in the
first one's."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from validator import checks, consistency, intake, pending, rejected
from validator.dialects import ORDER_ITEMS
from validator.model import PENDING_OF_FILE, BatchValidation, InputFile, ParsedFile
from validator.report import build_report

SOURCE = "source_file"  # each row's file: a category of the batch's files (text once stored)


@dataclass
class Taken:
    """What validation took from the rows it checked."""

    failures: pd.DataFrame  # file (code), row, column, reason, rank: the row rules' failures
    held: pd.DataFrame  # the items held for an unknown order or product, with their reason, in batch order
    brought: pd.Series  # the keys of the items brought (held or not), when there is a pending set
    accepted: dict[str, int]  # rows accepted, by file key
    warned: list[list[dict]]  # the consistency warnings, shard by shard
    order_ids: pd.Index  # the orders known (stored, or the batch's own) that held and pending items name
    product_ids: pd.Index  # the products known: stored, or the batch's own
    staged: dict[str, pd.DataFrame] = field(default_factory=dict)  # the accepted rows by kind, in batch order


def combined(shards: list[Taken], file_keys: pd.CategoricalDtype) -> Taken:
    """The takings of a batch's shards as one: rows put back in batch order (by file and line)."""
    kinds = {k for t in shards for k in t.staged}
    return Taken(
        failures=pd.concat([t.failures for t in shards], ignore_index=True),
        held=in_batch_order(pd.concat([t.held for t in shards], ignore_index=True), file_keys, "_row"),
        brought=pd.concat([t.brought for t in shards], ignore_index=True),
        accepted=dict(sum((Counter(t.accepted) for t in shards), Counter())),
        warned=[w for t in shards for w in t.warned],
        order_ids=functools.reduce(pd.Index.union, [t.order_ids for t in shards]),
        product_ids=shards[0].product_ids,
        staged={
            k: in_batch_order(pd.concat([t.staged[k] for t in shards if k in t.staged], ignore_index=True), file_keys)
            for k in sorted(kinds)
        },
    )


def in_batch_order(rows: pd.DataFrame, file_keys: pd.CategoricalDtype, line: str = "source_line") -> pd.DataFrame:
    """Rows of several shards in batch order (file by file in the batch's order, each by `line`),
    their file column the batch's category again."""
    files = pd.Categorical(rows[SOURCE], dtype=file_keys)
    order = np.lexsort((rows[line].to_numpy(dtype=np.int64), files.codes))
    out = rows.assign(**{SOURCE: files}).take(order).reset_index(drop=True)
    return out


def merged(
    batch_id: str,
    files: list[InputFile],
    parsed: Mapping[str, ParsedFile],
    shards: list[Taken],
    pending_before: pd.DataFrame | None,
    *,
    now: datetime,
    max_pending_age_days: int,
    examples: int,
) -> BatchValidation:
    """A fanned-out batch's outcome from what each of its shards took (validator.batch.validate_shard):
    `parsed` holds the files' parts without their rows (validator.parts.NO_ROWS); any other file
    is rejected unread."""
    file_keys = intake.file_keys(files)
    files_read = intake.parsed_files(files, parsed, False, file_keys, None)
    taken = combined(shards, file_keys)
    return finished(
        batch_id,
        files_read,
        file_keys,
        taken,
        pending_before,
        now=now,
        max_pending_age_days=max_pending_age_days,
        examples=examples,
        report_only=False,
    )


def finished(
    batch_id: str,
    parsed: list[ParsedFile],
    file_keys: pd.CategoricalDtype,
    taken: Taken,
    pending_before: pd.DataFrame | None,
    *,
    now: datetime,
    max_pending_age_days: int,
    examples: int,
    report_only: bool,
) -> BatchValidation:
    """The batch's outcome from what validation took of its rows: failures put on their files,
    the held items on theirs, the pending set carried, the report."""
    checks.record({file_keys.categories.get_loc(p.key): p for p in parsed}, taken.failures)
    new_pending = taken.held
    for p in parsed:
        if p.kind == ORDER_ITEMS and p.raw is not None:
            mine = new_pending[new_pending[SOURCE] == p.key]
            p.pending = pd.DataFrame(
                {k: mine[c].to_numpy() for k, c in PENDING_OF_FILE.items()}, columns=list(PENDING_OF_FILE)
            )
    # pending/ is keyed by item_key like curated/: a held item this batch brings again (re-upload,
    # recovery re-run) replaces its old copy, whether it resolves now or is held again
    held = pending.public(new_pending).assign(reason=new_pending["reason"].to_numpy())
    brought = pd.DataFrame({"item_key": taken.brought})
    carried, pending_after = pending.carry(
        batch_id, held, brought, taken.order_ids, taken.product_ids, pending_before, now, max_pending_age_days
    )
    report = build_report(
        batch_id,
        parsed,
        {**dict.fromkeys(map(str, file_keys.categories), 0), **taken.accepted},
        carried_counts=carried.counts,
        pending_after=len(pending_after),
        expired=len(carried.expired),
        warnings=consistency.in_batch_order(taken.warned, list(file_keys.categories)),
        now=now,
        examples=examples,
    )
    return BatchValidation(
        staged=taken.staged,
        resolved=carried.resolved,
        held=held,
        rejected_rows={
            p.name: rejected.rows_of(p)
            for p in parsed
            if p.raw is not None and rejected.has_rejections(p) and not report_only
        },
        malformed={p.key: p.malformed for p in parsed if p.malformed is not None},
        pending=pending_after,
        expired=carried.expired,
        report=report,
        waits_for=pending.waits_for(pending_after, taken.order_ids, taken.product_ids),
    )
