"""A batch's orders and items held on disk by shard while validation goes through the shards one at
a time, so a task holds one shard's rows, not the batch's (issue 39: peak memory in proportion to
a shard, not to the batch).

Each file's rows are split by shard as soon as the file is parsed (`spill_file`): one Arrow IPC
file per file and kind, one record batch per shard, in the file's order. `SpilledRows` reads them
back a shard at a time. Its positions are shard-major: shard 0's rows in batch order (file by
file, each file's rows in order), then shard 1's, and so on, so a shard is a range of positions
and its rows keep the batch's order (the first row of a key is the one kept). What spans shards
(the held rows, the accepted rows staged, the failures put on their files) is put back in batch
order by each row's file and position in it, which are kept for every row (12 bytes a row).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from validator.columns import frame_of, joined
from validator.shards import shard_of, shard_order

SOURCE = "source_file"  # each row's file: a category, the same for every row of a piece


@dataclass(frozen=True)
class Piece:
    """One file's rows of one kind on disk: `rows` (positions in the file's canonical frame) in
    shard order, `sizes` of each shard; shard s is record batch s of `paths[0]`, or, when there is a
    path per shard (a fanned-out run's part, validator.parts), the one record batch of `paths[s]`."""

    paths: tuple[str, ...]
    rows: np.ndarray
    sizes: np.ndarray
    code: int  # the file's code among the batch's files (its rows' constant `source_file`)
    item_ids: bool = False  # whether any row has an item id of its own (thelook)

    def batch(self, s: int) -> pa.RecordBatch:
        """Shard `s`'s rows, memory-mapped."""
        if len(self.paths) == 1:
            return pa.ipc.open_file(pa.memory_map(self.paths[0])).get_batch(s)
        return pa.ipc.open_file(pa.memory_map(self.paths[s])).get_batch(0)


def by_shard(
    frame: pd.DataFrame, rows: np.ndarray, shard_of: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray, Iterator[pa.RecordBatch]]:
    """The file's `rows` of `frame` (positions), shard `shard_of[i]` each, split by shard: (the
    positions in shard order, each shard's size, each shard's record batch in turn, in the file's
    order): the frame made Arrow once, each shard's rows taken from it. The file column is left
    out (a piece's rows share it)."""
    ordered = rows[shard_order(shard_of, count)]
    sizes = np.bincount(shard_of, minlength=count)
    table = pa.Table.from_pandas(frame[[c for c in frame.columns if c != SOURCE]], preserve_index=False)
    # one take of every row in shard order, each shard a slice of it (a file of 1M items: 0.10 s,
    # where a take per shard took 0.17 s)
    taken = table.take(ordered).combine_chunks()

    def batches() -> Iterator[pa.RecordBatch]:
        for start, size in zip(np.cumsum(sizes) - sizes, sizes, strict=True):
            mine = taken.slice(int(start), int(size))
            yield pa.RecordBatch.from_arrays([_one_chunk(c) for c in mine.columns], schema=table.schema)

    return _positions(ordered), sizes, batches()


def _positions(rows: np.ndarray) -> np.ndarray:
    """Positions as int32 where they fit (always, for a file's rows): a spilled batch keeps one
    for each of its rows three times over (a piece's, its file's, its shard's: at 10M items 14M
    rows, ~170 MiB at 8 bytes each, at `ecompipe validate`'s peak)."""
    return rows.astype(_position_type(int(rows.max()) + 1 if len(rows) else 0))


def _position_type(count: int) -> type[np.signedinteger]:
    """The integer type of positions 0..count-1: int32 where they fit."""
    return np.int32 if count <= 2**31 else np.int64


def has_item_ids(frame: pd.DataFrame, rows: np.ndarray) -> bool:
    """Whether any of the file's `rows` has an item id of its own."""
    return "item_id" in frame and bool(frame["item_id"].notna().to_numpy()[rows].any())


def spill_file(frame: pd.DataFrame, rows: np.ndarray, shard_of: np.ndarray, count: int, path: str) -> Piece:
    """Write the file's `rows` of `frame` (positions), shard `shard_of[i]` each, as `count`
    record batches of an IPC file at `path` (batch s: shard s's rows in the file's order)."""
    ordered, sizes, batches = by_shard(frame, rows, shard_of, count)
    code = int(frame[SOURCE].cat.codes.iloc[0]) if len(frame) else -1
    first = next(batches)
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, first.schema) as writer:
        for batch in (first, *batches):
            writer.write_batch(batch)
    return Piece((path,), ordered, sizes, code, has_item_ids(frame, rows))


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else pa.concat_arrays(column.chunks or [pa.array([], column.type)])


class Spiller:
    """Each file's orders or items split by shard and written to `directory` as soon as the file
    is parsed (`take`, called from the parsing threads), so no more than the files being parsed
    are held; `rows` then reads a kind's files back as SpilledRows."""

    def __init__(self, count: int, directory: str) -> None:
        self.count, self.directory = count, directory
        self.pieces: dict[str, Piece] = {}
        self.dtypes: dict[str, pd.Series] = {}
        self._lock = threading.Lock()
        self._files = 0

    def take(self, key: str, kind: str, frame: pd.DataFrame, rows: np.ndarray) -> None:
        """Spill the file `key`'s `rows` (positions in its canonical `frame`) by shard."""
        with self._lock:
            path = os.path.join(self.directory, f"{self._files}.arrow")
            self._files += 1
            self.dtypes.setdefault(kind, frame.dtypes)
        piece = spill_file(frame, rows, shard_of(frame["order_id"].take(rows), self.count), self.count, path)
        with self._lock:
            self.pieces[key] = piece

    def adopt(self, key: str, kind: str, piece: Piece, code: int, dtypes: pd.Series) -> None:
        """Take the file `key`'s rows as already spilled by shard (a fanned-out run's part, in this
        batch's shard count), its rows' file code `code`, its frame's `dtypes`."""
        assert len(piece.sizes) == self.count, "a part split into another shard count"
        with self._lock:
            self.dtypes.setdefault(kind, dtypes)
            self.pieces[key] = dataclasses.replace(piece, code=code)

    def rows(self, kind: str, keys: list[str], position: str) -> SpilledRows:
        """The files `keys` (of one kind, in batch order) read back by shard."""
        return SpilledRows([self.pieces[k] for k in keys], self.dtypes[kind], position)


class SpilledRows:
    """validator.shards.Rows over files spilled by shard (`spill_file`), read a shard at a time
    (two threads may each read one: validator.shards.each_shard; the last shard read is kept for
    the next call)."""

    def __init__(self, pieces: list[Piece], dtypes: pd.Series, position: str) -> None:
        self.pieces, self.dtypes, self.position = pieces, dtypes, position
        self.names = list(dtypes.index)
        count = len(pieces[0].sizes)
        sizes = np.array([p.sizes for p in pieces]).reshape(len(pieces), count)
        per_shard = sizes.sum(axis=0)
        self.starts = np.concatenate(([0], np.cumsum(per_shard))).astype(np.int64)
        # each position's file and position in the file's frame, shard by shard
        offsets = np.concatenate((np.zeros((len(pieces), 1), np.int64), np.cumsum(sizes, axis=1)), axis=1)
        self.file_of = np.concatenate(
            [np.full(sizes[i, s], i, np.int32) for s in range(count) for i in range(len(pieces))]
            or [np.zeros(0, np.int32)]
        )
        self.row_of = _positions(
            np.concatenate(
                [p.rows[offsets[i, s] : offsets[i, s + 1]] for s in range(count) for i, p in enumerate(pieces)]
                or [np.zeros(0, np.int64)]
            )
        )
        # each file's rows, as slots in batch order (a file's after the files before it)
        bounds = np.array([int(p.rows.max()) + 1 if len(p.rows) else 0 for p in pieces], dtype=np.int64)
        self._file_start = np.concatenate(([0], np.cumsum(bounds)[:-1])).astype(np.int64)
        self._slots = int(bounds.sum())
        self._cached: tuple[int, pa.Table | None, dict[str, pd.Series]] | None = None

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    def shard_positions(self, count: int) -> list[np.ndarray]:
        """Each shard's positions: a range (`count`: the shards the rows were spilled in)."""
        assert count == self.count
        kind = _position_type(len(self))
        return [np.arange(a, b, dtype=kind) for a, b in zip(self.starts[:-1], self.starts[1:], strict=True)]

    def batch_order(self, at: np.ndarray | None = None) -> np.ndarray:
        """The order that puts positions `at` (all when None) in batch order (file by file, each
        file's rows in order). A row is spilled once, so each position has a slot of its own in
        batch order: placed at their slots, the positions are read back in order, in two passes
        over the batch where a sort by file and row took 1.5 s at 10M items."""
        at = np.arange(len(self), dtype=_position_type(len(self))) if at is None else at
        small = _position_type(self._slots)  # (every array at 4 bytes a row where they fit: fresh memory)
        slot = self._file_start.astype(small)[self.file_of[at]]
        slot += self.row_of[at]
        placed = np.full(self._slots, -1, dtype=small)
        placed[slot] = np.arange(len(at), dtype=small)
        order = placed[placed >= 0]
        if len(order) != len(at):  # (a position given twice: sorted instead)
            return np.lexsort((self.row_of[at], self.file_of[at]))
        return order

    def item_ids(self) -> bool:
        """Whether any row has an item id of its own."""
        return any(p.item_ids for p in self.pieces)

    def stack(self) -> None:
        """(Spilled rows are never stacked: they are read a shard at a time.)"""

    def located(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.file_of[at].astype(np.int64), self.row_of[at].astype(np.int64)

    def counts(self, keep: np.ndarray) -> list[int]:
        return np.bincount(self.file_of[keep], minlength=len(self.pieces)).tolist()

    def frame(self, at: np.ndarray, columns: list[str], position: bool = True) -> pd.DataFrame:
        """These columns of the rows at positions `at` (ascending), with their position in their
        file unless `position` is False, index 0..n-1."""
        shard_of = np.searchsorted(self.starts, at, side="right") - 1
        parts = []
        for s in np.unique(shard_of):
            local = at[shard_of == s] - self.starts[s]
            whole = len(local) == self.starts[s + 1] - self.starts[s]
            parts.append(self._columns(int(s), columns) if whole else self._taken(int(s), local, columns))
        out = joined(parts) if parts else pd.DataFrame({c: pd.Series([], dtype=self.dtypes[c]) for c in columns})
        if position:
            out[self.position] = pd.Series(self.row_of[at], dtype="int64")
        return out

    def kept(self, keep: np.ndarray) -> pd.DataFrame:
        """The rows `keep` marks, in batch order, with their position in their file: column by
        column, one take from every shard's pieces at once (a position is an index into them,
        shard after shard), straight into batch order."""
        at = np.flatnonzero(keep)
        at = at[self.batch_order(at)]
        self._cached = None
        out: dict[str, pd.Series] = {}
        for name in self.names:
            if name == SOURCE:
                codes = np.array([p.code for p in self.pieces], dtype=np.int64)[self.file_of[at]]
                out[name] = pd.Series(pd.Categorical.from_codes(codes, dtype=self.dtypes[name]))
                continue
            chunks = [p.batch(s).column(name) for s in range(self.count) for p in self.pieces if p.sizes[s]]
            if not chunks:
                out[name] = pd.Series([], dtype=self.dtypes[name])
                continue
            # (made contiguous first: Arrow's take over some hundred chunks took 2-3 times as long)
            column = pa.chunked_array(chunks).combine_chunks().take(at)
            del chunks  # (opened per column: a column's mapped pages go before the next's)
            out[name] = _as_series(pa.table({name: column}), name, self.dtypes[name])
        out[self.position] = pd.Series(self.row_of[at], dtype="int64")
        return frame_of(out, len(at))

    def _columns(self, s: int, columns: list[str]) -> pd.DataFrame:
        """Shard `s`'s columns, read from the files' pieces (the last shard's kept)."""
        table, done = self._read(s)
        for name in columns:
            if name not in done:
                done[name] = self._column(s, table, name, None)
        return frame_of({c: done[c] for c in columns})

    def _taken(self, s: int, local: np.ndarray, columns: list[str]) -> pd.DataFrame:
        """Shard `s`'s rows `local` (positions in the shard): taken before they are converted, so a
        few rows of a shard cost those rows, not the shard's columns."""
        table, _ = self._read(s)
        return frame_of({c: self._column(s, table, c, local) for c in columns}, len(local))

    def _read(self, s: int) -> tuple[pa.Table | None, dict[str, pd.Series]]:
        cached = self._cached  # (once: two shards may be read at once, validator.shards.each_shard)
        if cached is None or cached[0] != s:
            batches = [p.batch(s) for p in self.pieces if p.sizes[s]]
            cached = (s, pa.Table.from_batches(batches) if batches else None, {})
            self._cached = cached
        return cached[1], cached[2]

    def _column(self, s: int, table: pa.Table | None, name: str, local: np.ndarray | None) -> pd.Series:
        """Shard `s`'s column `name` (at its rows `local`, or all) as the frame's column was."""
        if name == SOURCE:
            codes = np.repeat([p.code for p in self.pieces], [p.sizes[s] for p in self.pieces])
            codes = codes if local is None else codes[local]
            return pd.Series(pd.Categorical.from_codes(codes, dtype=self.dtypes[name]))
        if table is not None and local is not None:
            table = pa.table({name: table.column(name).take(local)})
        return _as_series(table, name, self.dtypes[name])


def _as_series(table: pa.Table | None, name: str, dtype: object) -> pd.Series:
    """A spilled column back as the frame's column was (text, nullable integers, the rest)."""
    if table is None:
        return pd.Series([], dtype=dtype)
    column = table.column(name)
    if dtype == "str":
        return pd.Series(column, dtype="str")
    if isinstance(dtype, pd.Int64Dtype):
        if column.null_count == 0:  # (no mask to unpack from Arrow's validity bits)
            return pd.Series(pd.arrays.IntegerArray(column.to_numpy().copy(), np.zeros(len(column), dtype=bool)))
        return pd.Series(column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), dtype=dtype)
    return pd.Series(column.to_numpy(), dtype=dtype)
