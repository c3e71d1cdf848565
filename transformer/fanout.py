"""A fanned-out transform (the state machine's PlanTransform and TransformDates Map): the plan,
which splits the batch into groups of dates, or pieces of a heavy date's cells (transformer.pieces),
and stores each group's rows of the batch; one group rebuilt by its own task, which leaves a done
marker, or one piece put by its own task; and the transform that finishes: the groups no child
finished, and the pieces merged."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.aws import transient
from ecompipe.aws.cell_store import object_keys
from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.kpi_store import KpiStore
from ecompipe.aws.objects import Bucket, side_by_side
from ecompipe.core import cells as cell_math
from ecompipe.core import layout
from ecompipe.core.arrow import arrow_column
from ecompipe.core.errors import EcompipeError
from transformer import cells, curate, pieces, plans
from transformer import groups as grouping
from transformer.groups import Batch, FenceCheck
from transformer.plans import Plan

logger = logging.getLogger(__name__)

_SLICES_AT_ONCE = 2  # group slices taken and written at a time (each holds its rows until written)


def plan_groups(bucket: Bucket, batch_id: str, run_id: str, bins: int) -> dict:
    """Split the batch's transform into at most `bins` groups for the TransformDates Map
    (planned against the store as it is now) and store them: store_groups."""
    return store_groups(bucket, batch_id, run_id, plans.make(bucket, batch_id, bins))


def store_groups(bucket: Bucket, batch_id: str, run_id: str, plan: Plan) -> dict:
    """Store each group's rows of the batch, the plan, and the group numbers for the ItemReader
    (as text: they become a container's environment)."""
    batch = plan.batch or Batch.load(bucket, batch_id, coded=True)
    item_dates = plan.item_dates
    if item_dates is None:
        raise EcompipeError(f"the plan of batch {batch_id} holds no item dates: it was not made in this process")
    plan.plan_id = plan_id = uuid.uuid4().hex
    # each row (Batch holds each key once) goes to the group of its date, or to its order's piece
    # of a split date (transformer.pieces)
    entry_of = _entries(plan)
    rows = {
        ORDERS: _Groups(batch.orders, _numbers(batch.orders, batch.orders["order_date"], entry_of), len(plan.groups)),
        ORDER_ITEMS: _Groups(batch.items, _numbers(batch.items, item_dates, entry_of), len(plan.groups)),
    }
    # every group, with rows or not (its dates may need no batch row)
    slices = [(kind, i) for i in range(len(plan.groups)) for kind in rows]

    def put(slice_: tuple[str, int]) -> str:
        kind, i = slice_
        key = layout.transform_group_key(batch_id, run_id, plan_id, i, kind)
        return transient.put_frame(bucket, key, rows[kind].rows_of(i))

    side_by_side(put, slices, at_once=_SLICES_AT_ONCE)
    bucket.put_json(layout.transform_plan_key(batch_id, run_id), plan.to_json())
    groups_doc = [{"group": str(i)} for i in range(len(plan.groups))]
    bucket.put_json(layout.transform_groups_key(batch_id, run_id), groups_doc)
    return {"groups": len(plan.groups), "affected_dates": len(plan.dates)}


def _entries(plan: Plan) -> dict[str, tuple[int, int]]:
    """Each date's first group and how many pieces it is split into (1: whole). The pieces of a
    split group are consecutive, piece r at its first group + r (groups.shares_of)."""
    out: dict[str, tuple[int, int]] = {}
    for i, dates in enumerate(plan.groups):
        residue, of = plan.share(i)
        for d in dates:
            out.setdefault(d, (i - residue, of))
    return out


def _numbers(rows: pd.DataFrame, dates: pd.Series, entry_of: dict[str, tuple[int, int]]) -> np.ndarray:
    """Each row's group number, by its date (one lookup per distinct date) and, on a split date,
    its order's residue (the hash the cells use)."""
    encoded = pc.dictionary_encode(arrow_column(dates))
    entries = [entry_of[d] for d in encoded.dictionary.to_pylist()] or [(0, 1)]
    codes = np.asarray(encoded.indices)
    first_of, of_of = (np.array(column, dtype=np.int64) for column in zip(*entries, strict=True))
    first = first_of[codes]
    if (of_of == 1).all():  # (no date split: no row's order hashed)
        return first
    residues = cell_math.key_hashes(rows["order_id"]) % of_of[codes].astype(np.uint64)
    return first + residues.astype(np.int64)


class _Groups:
    """The rows of each group 0..groups-1 of a frame, in their order in it: one stable sort by
    group, then each group's rows taken when asked for. Taken one group at a time, the batch is
    never copied whole: a task's fresh memory costs ~2-4 s per GiB on a Firecracker VM (a Fargate
    task is one; docs/benchmarks.md), and a whole copy of 10M items is ~1 GiB. The take runs over
    the table made contiguous first (at 10M items, 0.6 s to combine, and a take over the chunks the
    concatenated files left took 2.2 s against 0.6 s), and each group's take reads only its own
    rows (a filter per group of 7 took 3.9 s: dates are spread over the rows)."""

    def __init__(self, frame: pd.DataFrame, group: np.ndarray, groups: int) -> None:
        # (a stable sort of 16-bit numbers is a radix sort: 10M rows in 7 groups 0.3 s, not 0.5)
        self.order = np.argsort(group.astype(np.int16) if groups < 2**15 else group, kind="stable")
        counts = np.bincount(group, minlength=groups)
        self.ends = np.cumsum(counts)
        self.starts = self.ends - counts
        self.table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()

    def rows_of(self, group: int) -> pa.Table:
        return self.table.take(pa.array(self.order[self.starts[group] : self.ends[group]]))


def stored_plan(bucket: Bucket, batch_id: str, run_id: str) -> Plan | None:
    """The plan plan-transform stored for the run, if it did."""
    doc = bucket.get_json_or_none(layout.transform_plan_key(batch_id, run_id))
    return None if doc is None else Plan.from_json(doc)


@dataclass
class _Run:
    """What every group of a run's stored plan is done with: the run, its plan, the catalogue
    after the batch and the products it recategorises (groups.products_after)."""

    bucket: Bucket
    curated: CuratedStore
    batch_id: str
    run_id: str
    plan: Plan
    products: tuple[pd.DataFrame, pd.Index]

    @classmethod
    def of(cls, bucket: Bucket, batch_id: str, run_id: str, plan: Plan) -> _Run:
        curated = CuratedStore(bucket)
        products = grouping.products_after(curated, grouping.staged_products(bucket, batch_id))
        return cls(bucket, curated, batch_id, run_id, plan, products)

    def key(self, group: int, what: str) -> str:
        return layout.transform_group_key(self.batch_id, self.run_id, self.plan.plan_id, group, what)

    def piece(self, group: int) -> pieces.Key:
        return lambda what: self.key(group, what)

    def compute(self, groups: list[int], share: tuple[int, int] = (0, 1)) -> cells.Rebuilt:
        """The rebuild of these groups' dates (one group, or every piece of a split one) with the
        batch's rows stored for them, from the store as it is now."""
        frames = [
            [transient.get_frame(self.bucket, self.key(i, kind)) for i in groups] for kind in (ORDERS, ORDER_ITEMS)
        ]
        orders, items = (f[0] if len(f) == 1 else pd.concat(f, ignore_index=True) for f in frames)
        catalogue, changed = self.products
        claims = curate.Claims(self.batch_id, grouping.resolved_keys(self.bucket, self.batch_id))
        dates = self.plan.groups[groups[0]]
        return cells.compute(self.curated, dates, orders, items, catalogue, claims, changed, share)


def transform_group(bucket: Bucket, store: KpiStore, batch_id: str, run_id: str, group: int, fence: FenceCheck) -> int:
    """One group of the run's plan: its cells and KPIs rebuilt, then its done marker; or, for a
    piece of a split group, its parts and delta put (pieces.put), merged by the transform that
    finishes. Returns the KPI items written."""
    plan = stored_plan(bucket, batch_id, run_id)
    if plan is None or not 0 <= group < len(plan.groups):
        raise EcompipeError(f"run {run_id} of batch {batch_id} has no transform group {group} (no plan-transform?)")
    run = _Run.of(bucket, batch_id, run_id, plan)
    if plan.share(group)[1] > 1:
        pieces.put(bucket, run.curated, run.compute([group], plan.share(group)), run.piece(group), fence)
        return 0
    return _rebuild_group(run, store, group, fence)


def rebuild_undone(bucket: Bucket, store: KpiStore, batch_id: str, run_id: str, plan: Plan, fence: FenceCheck) -> int:
    """Every group of the stored plan that no child finished, rebuilt here, and the pieces of each
    split group merged. Returns the KPI items written by all groups."""
    run = _Run.of(bucket, batch_id, run_id, plan)
    written, i = 0, 0
    while i < len(plan.groups):
        of = plan.share(i)[1]
        if of > 1:
            written += _merge_pieces(run, store, list(range(i, i + of)), fence)
        else:
            finished = done(bucket, batch_id, run_id, plan.plan_id, i)
            written += _rebuild_group(run, store, i, fence) if finished is None else finished
        i += of
    return written


def _rebuild_group(run: _Run, store: KpiStore, group: int, fence: FenceCheck) -> int:
    """Group `group` of the run's plan rebuilt, then its done marker; the KPI items written."""
    written = cells.write(run.curated, store, run.compute([group]), fence)
    run.bucket.put_json(run.key(group, "done"), {"kpi_items_written": written})
    return written


def _merge_pieces(run: _Run, store: KpiStore, group: list[int], fence: FenceCheck) -> int:
    """The pieces of a split group (those no child finished computed here) merged into its dates
    (pieces.merge); when two of them rewrite one part, the group rebuilt whole here instead. Its
    merged marker says it was written (a rerun reads its KPI item count from there)."""
    bucket, first = run.bucket, group[0]
    marker = bucket.get_json_or_none(run.key(first, "merged"))
    if marker is not None:
        return int(marker["kpi_items_written"])
    dates = run.plan.groups[first]
    written = None
    if bucket.get_json_or_none(run.key(first, "whole")) is None:
        deltas = []
        for i in group:
            delta = pieces.stored(bucket, run.piece(i))
            if delta is None:  # no child finished it: what a killed one put goes first
                bucket.delete_keys(pieces.intended(bucket, run.piece(i)))
                pieces.put(bucket, run.curated, run.compute([i], run.plan.share(i)), run.piece(i), fence)
                delta = pieces.stored(bucket, run.piece(i))
            assert delta is not None
            deltas.append(delta)
        written = pieces.merge(run.curated, store, dates, deltas, fence)
    if written is None:
        logger.info("batch %s: two pieces of %s rewrite one part: the group rebuilt whole", run.batch_id, dates[:3])
        bucket.put_json(run.key(first, "whole"), {})  # (a rerun rebuilds whole too: the pieces' parts go now)
        named = {k for cells_ in run.curated.date_cells(dates).values() for k in object_keys(cells_)}
        bucket.delete_keys([k for i in group for k in pieces.intended(bucket, run.piece(i)) if k not in named])
        written = cells.write(run.curated, store, run.compute(group), fence)
    bucket.put_json(run.key(first, "merged"), {"kpi_items_written": written})
    return written


def done(bucket: Bucket, batch_id: str, run_id: str, plan_id: str, group: int) -> int | None:
    """The KPI items a child wrote for the group, or None when no child finished it."""
    marker = bucket.get_json_or_none(layout.transform_group_key(batch_id, run_id, plan_id, group, "done"))
    return None if marker is None else int(marker["kpi_items_written"])
