"""A batch's orders and items in shards by their order, for the batch-wide step of validation.

Shard s of S holds the rows whose order id hashes to s mod S, by the curated store's own cell hash
(ecompipe.core.cells.buckets_of; S is a power of two, so a shard is a union of cell buckets and of
the groups leases are taken by). An order and its items are thus always in one shard, and all that
validation judges of them is shard-local: duplicate order ids, duplicate item keys made of the
order id, the items' references to the batch's own orders, the per-order warnings, the held items.
The batch-wide step runs shard by shard (validator.batch) over each shard's rows, so its hash
tables and copies are a shard's, not the batch's: at 10M items the whole-batch ones grew faster
than the batch (issue 39).

A shard is a set of positions in the batch's rows of a kind, ascending, never a reordered copy.
A batch of one shard keeps its rows in their files' frames (`Rows`) and stacks them once; a batch
of several is spilled to disk by shard as each file is parsed (validator.spill.SpilledRows, whose
positions run shard by shard), so validation holds one shard's rows at a time. Either way what a
shard decides (a row failed, a row is held) is put back as a mask over the batch's rows, and the
rows that are kept are stacked once, in batch order. What is not shard-local is decided over the
batch: item keys of an item's own id (thelook's `id:<id>`) may repeat under another order
(validator.batch judges them before the shards), and the pending set is split by the same hash.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from ecompipe.core import cells, fan_layout
from validator.columns import frame_of, joined, kept, stacked

POSITION = "_row"  # the column a stacked row holds its position among its file's canonical rows in
SHARD_ROWS, count_for = fan_layout.SHARD_ROWS, fan_layout.shard_count


def positions(order_ids: list[pd.Series], count: int) -> list[np.ndarray]:
    """Each shard's rows (ascending positions among all the rows, the columns one after another)
    of these columns of order ids; a missing id counts as ''."""
    total = sum(len(c) for c in order_ids)
    if count == 1 or not total:
        return [np.arange(total)] + [np.zeros(0, np.int64)] * (count - 1)
    of_row = np.concatenate([shard_of(c, count) for c in order_ids])
    return np.split(shard_order(of_row, count), np.cumsum(np.bincount(of_row, minlength=count))[:-1])


def shard_order(of_row: np.ndarray, count: int) -> np.ndarray:
    """The rows' positions ordered by their shard (`of_row`, each in 0..count-1), in their order
    within a shard: a stable sort of small integers, which numpy does by radix (a file of 1M
    items: 3 ms, where the shards as int64 took 33 ms)."""
    small = np.uint8 if count <= 2**8 else np.uint16 if count <= 2**16 else np.int64
    return np.argsort(of_row.astype(small, copy=False), kind="stable")


T = TypeVar("T")


def each_shard(work: Callable[[int], T], count: int) -> list[T]:
    """`work(s)` for each of `count` shards, in shard order: two shards at a time when there are
    several (a shard's row rules and references are mostly Arrow kernels and DuckDB queries, which
    release the GIL: two shards keep both cores busy where one left the second idle half the
    time). Each shard reads its own rows; what two shards write is disjoint. At 10M items,
    alternating with one shard at a time: validate+transform 26.7-27.1 s -> 24.7-25.5 s;
    `ecompipe validate` the same time (18.6 s), its peak ~60 MiB higher (3.66x the CSV, with
    the positions as int32: validator.spill)."""
    if count < 2:
        return [work(s) for s in range(count)]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(work, range(count)))


def rows_of_shard(frame: pd.DataFrame | None, shard: int, count: int) -> pd.DataFrame | None:
    """The rows of `frame` (a pending set: items with their order id) whose order is in `shard`."""
    if frame is None or not len(frame):
        return frame
    ids = frame["order_id"].astype("str").reset_index(drop=True)
    return frame.iloc[shard_of(ids, count) == shard].reset_index(drop=True)


def shard_of(order_ids: pd.Series, count: int) -> np.ndarray:
    """The shard of each row by its order id (a missing id counts as ''): every id hashed, not
    each distinct one once (a file of 1M items: 46 ms, where finding the distinct ids first took
    90 ms)."""
    return cells.buckets_of(order_ids, count)


class KindRows(Protocol):
    """The batch's rows of one kind as validation reads them: `Rows` (in their files' frames) or
    validator.spill.SpilledRows (on disk by shard). Positions are the batch's rows numbered by the
    holder; `batch_order` puts positions back in the order of the files and their rows."""

    names: list[str]

    def __len__(self) -> int: ...
    def frame(self, at: np.ndarray, columns: list[str], position: bool = True) -> pd.DataFrame: ...
    def located(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def counts(self, keep: np.ndarray) -> list[int]: ...
    def kept(self, keep: np.ndarray) -> pd.DataFrame: ...
    def batch_order(self, at: np.ndarray | None = None) -> np.ndarray: ...
    def shard_positions(self, count: int) -> list[np.ndarray]: ...
    def item_ids(self) -> bool: ...
    def stack(self) -> None: ...


@dataclass
class Rows:
    """The batch's rows of one kind, left in their files' frames: file i's rows `rows[i]`
    (positions in its frame) are the batch's positions `starts[i]`..`starts[i+1]`-1, in batch order.
    A batch of one shard stacks them at once (`stack`): its one shard is every row, read from the
    stacked frame without a copy, and a stacked frame that keeps every row is staged as it is."""

    frames: list[pd.DataFrame]
    rows: list[np.ndarray]
    position: str  # the column `frame` and `kept` give each row's position in its file
    whole: pd.DataFrame | None = None  # the rows stacked in batch order (`stack`), with `position`

    def __post_init__(self) -> None:
        self.starts = np.concatenate(([0], np.cumsum([len(r) for r in self.rows]))).astype(np.int64)
        self.names = list(self.frames[0].columns)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def item_ids(self) -> bool:
        """Whether any row has an item id of its own."""
        return any(c.notna().any() for c in self.column("item_id"))

    def batch_order(self, at: np.ndarray | None = None) -> np.ndarray:
        """The order that puts positions `at` (all when None) in batch order: theirs already."""
        return np.arange(len(self) if at is None else len(at))

    def shard_positions(self, count: int) -> list[np.ndarray]:
        """Each of `count` shards' positions (one shard: every row, its order ids never read)."""
        return positions(self.column("order_id"), count) if count > 1 else [np.arange(len(self))]

    def stack(self) -> None:
        """Stack the rows in batch order now, the files' frames given up column by column."""
        self.whole = stacked(self.frames, self.rows, self.position)
        self.frames = []

    def column(self, name: str) -> list[pd.Series]:
        """The column of each file, at the rows taken."""
        if self.whole is not None:
            return [self.whole[name]]
        return [f[name].take(r) for f, r in zip(self.frames, self.rows, strict=True)]

    def located(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(file, position in the file's frame) of the batch's positions `at`."""
        file = np.searchsorted(self.starts, at, side="right") - 1
        if self.whole is not None:
            return file, self.whole[self.position].to_numpy(dtype=np.int64)[at]
        return file, np.concatenate(self.rows)[at] if len(self.rows) else at

    def frame(self, at: np.ndarray, columns: list[str], position: bool = True) -> pd.DataFrame:
        """These columns of the rows at the batch's (ascending) positions `at`, with their
        position in their file unless `position` is False, index 0..n-1."""
        if self.whole is not None:
            chosen = self.whole[[*columns, self.position] if position else columns]
            if len(at) == len(self.whole):  # every row, in order: the stacked columns themselves
                return chosen
            return frame_of({c: chosen[c].take(at).reset_index(drop=True) for c in chosen.columns})
        cut = np.searchsorted(at, self.starts)
        local = [self.rows[i][at[cut[i] : cut[i + 1]] - self.starts[i]] for i in range(len(self.frames))]
        out = {c: joined([f[c].take(r) for f, r in zip(self.frames, local, strict=True)]) for c in columns}
        if position:
            out[self.position] = pd.Series(np.concatenate(local) if local else at, dtype="int64")
        return frame_of(out, len(at))

    def counts(self, keep: np.ndarray) -> list[int]:
        """How many of each file's rows `keep` marks (a mask over the batch's positions)."""
        return [int(np.count_nonzero(keep[a:b])) for a, b in zip(self.starts[:-1], self.starts[1:], strict=True)]

    def kept(self, keep: np.ndarray) -> pd.DataFrame:
        """The rows `keep` marks (a mask over the batch's positions), as one frame in batch order
        with their position in their file; the files' (or the stacked) frames are left without
        columns."""
        if self.whole is not None:
            return kept(self.whole, np.flatnonzero(keep))
        local = [r[keep[a:b]] for r, a, b in zip(self.rows, self.starts[:-1], self.starts[1:], strict=True)]
        return stacked(self.frames, local, self.position)
