"""A batch's orders and items in shards by their order, for the batch-wide step of validation.

Shard s of S holds the rows whose order id hashes to s mod S, by the curated store's own cell hash
(ecompipe.core.cells.buckets_of; S is a power of two, so a shard is a union of cell buckets and of
the groups leases are taken by). An order and its items are thus always in one shard, and all that
validation judges of them is shard-local: duplicate order ids, duplicate item keys made of the
order id, the items' references to the batch's own orders, the per-order warnings, the held items.
The batch-wide step runs shard by shard (validator.batch), so its hash tables and copies are a
shard's, not the batch's: at 10M items the whole-batch ones grew faster than the batch (issue 39).

What is not shard-local is decided before the split or after it: item keys of their own id
(thelook's `id:<id>`, which may repeat under another order) are judged once over the batch
(`first_keys`), and the shards' outputs are put back in batch order (`in_batch_order`), so a
sharded batch gives the very rows, errors and reports of one shard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ecompipe.core import cells
from ecompipe.core.arrow import arrow_column, contiguous
from ecompipe.core.keys import first_of_each

SHARD_ROWS = 1 << 20  # a batch is split so that no shard holds more order and item rows than this
FIRST = "_first"  # the column marking each item row whose key is the first of its key in the batch


@dataclass
class Piece:
    """Rows of one file for one shard: `frame`'s rows `take` (None: all of them), which are the
    file's rows `rows` (positions among its canonical rows)."""

    frame: pd.DataFrame
    take: np.ndarray | None
    rows: np.ndarray


def count_for(rows: int, shard_rows: int = SHARD_ROWS) -> int:
    """The shard count for a batch of `rows` order and item rows: the least power of two that
    leaves each shard `shard_rows` or fewer, at most the store's bucket count."""
    shards = 1
    while rows > shards * shard_rows and shards < cells.MAX_BUCKETS:
        shards *= 2
    return shards


def split(frame: pd.DataFrame, rows: np.ndarray, shards: int) -> list[Piece]:
    """The rows `rows` of one file's canonical frame, one piece per shard. One shard takes the frame
    as it is; several take their rows out of it, column by column, so the file's frame goes as its
    pieces are made and the batch is held once."""
    if shards == 1:
        return [Piece(frame, rows, rows)]
    of_row = cells.buckets_of(frame["order_id"].take(rows), shards)
    positions = [rows[of_row == s] for s in range(shards)]
    at = [np.flatnonzero(of_row == s) for s in range(shards)]
    columns: list[dict[str, pd.Series]] = [{} for _ in range(shards)]
    picked = frame.take(rows) if len(rows) != len(frame) else frame
    for name in list(picked.columns):
        column = picked[name]
        for s in range(shards):
            columns[s][name] = column.take(at[s]).reset_index(drop=True)
        del picked[name]
    return [Piece(pd.DataFrame(columns[s]), None, positions[s]) for s in range(shards)]


def stacked(pieces: list[Piece], position: str) -> pd.DataFrame:
    """The pieces' rows one after another, with each row's position in its file as column
    `position`; every piece's columns are taken out of it as they are copied (the pieces' frames
    are left without columns). The pieces hold the same columns."""
    names = list(pieces[0].frame.columns)
    out: dict[str, pd.Series] = {}
    for name in names:
        parts = [p.frame[name] if p.take is None else p.frame[name].take(p.take) for p in pieces]
        column = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        del parts
        for p in pieces:
            del p.frame[name]
        out[name] = contiguous(column.to_frame())[name]
    rows = [p.rows for p in pieces]
    out[position] = pd.Series(np.concatenate(rows) if rows else np.zeros(0, np.int64), dtype="int64")
    return pd.DataFrame(out)


def first_keys(frames: list[pd.DataFrame], rows: list[np.ndarray]) -> list[np.ndarray]:
    """For each frame's rows `rows`, whether its item key is the first of its key over all of
    them, in order (a missing key always is): the batch-wide duplicate-key rule for keys that are
    not made of the order id."""
    keys = pa.chunked_array(
        [arrow_column(f["item_key"]).take(pa.array(r)) for f, r in zip(frames, rows, strict=True)],
        type=pa.large_string(),
    )
    first = first_of_each(pd.Series(pd.arrays.ArrowStringArray(keys.combine_chunks()))).to_numpy()
    return np.split(first, np.cumsum([len(r) for r in rows])[:-1])


def in_batch_order(frames: list[pd.DataFrame], file_column: str, position: str) -> pd.DataFrame:
    """The shards' rows of one kind as one frame in batch order (by file, then position in the
    file), index 0..n-1, built column by column (each shard frame's columns go as they are
    copied). One frame is returned as it is: a single shard's rows are already in that order."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    codes = np.concatenate([f[file_column].cat.codes.to_numpy(dtype=np.int64) for f in frames])
    positions = np.concatenate([f[position].to_numpy(dtype=np.int64) for f in frames])
    order = np.lexsort((positions, codes))
    out: dict[str, pd.Series] = {}
    for name in list(frames[0].columns):
        column = pd.concat([f[name] for f in frames], ignore_index=True)
        for f in frames:
            del f[name]
        out[name] = column.take(order).reset_index(drop=True)
    return pd.DataFrame(out, index=pd.RangeIndex(len(order)))
