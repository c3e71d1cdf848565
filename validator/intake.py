"""A batch's files parsed and their rows gathered by kind for the batch-wide checks: left in the
files' frames, or spilled to disk by shard as each file is parsed (validator.spill), so a batch in
shards is never held whole."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from validator import compressed, shards, spill
from validator.dialects import CANONICAL_COLUMNS, ORDER_ITEMS, ORDERS, kind_of
from validator.files import files_parsed
from validator.model import InputFile, ParsedFile


def file_keys(files: list[InputFile]) -> pd.CategoricalDtype:
    """The batch's files as one category set, in the batch's order: a per-row file column costs a
    code, not a string."""
    return pd.CategoricalDtype(list(dict.fromkeys(f.key for f in files)))


def parsed_files(
    files: list[InputFile],
    before: Mapping[str, ParsedFile],
    exact: bool,
    file_keys: pd.CategoricalDtype,
    spiller: spill.Spiller | None,
) -> list[ParsedFile]:
    """The batch's files parsed (but those parsed before), each with its rows' lineage, and its
    orders or items spilled by shard as soon as it is parsed when the batch is in shards."""

    def then(p: ParsedFile) -> ParsedFile:
        p = _with_source(p, file_keys)
        if spiller is not None and p.spilled is not None:  # (a part: on disk by shard already)
            assert p.frame is not None and p.kind is not None
            spiller.adopt(p.key, p.kind, p.spilled, file_keys.categories.get_loc(p.key), p.frame.dtypes)
        elif spiller is not None and p.kind in (ORDERS, ORDER_ITEMS) and p.frame is not None:
            spiller.take(p.key, p.kind, p.frame, p.parsed_rows())
            p.frame = _emptied(p.frame)
        return p

    fresh = {p.key: p for p in files_parsed([f for f in files if f.key not in before], exact, then)}
    parts = [before[f.key] for f in files if f.key in before]
    fresh.update({p.key: then(p) for p in parts})
    return [fresh[f.key] for f in files]


def rows_about(files: list[InputFile], before: Mapping[str, ParsedFile]) -> int:
    """About how many order and item rows the batch holds, before it is parsed: its files' lines
    (a compressed file's from its size), or a part's rows; the shard count it decides changes
    nothing of the outcome."""
    about = 0
    for f in files:
        if kind_of(f.name) not in (ORDERS, ORDER_ITEMS):
            continue
        if f.key in before:
            about += len(before[f.key].frame) if before[f.key].frame is not None else 0
        elif not f.unread:
            about += f.length // 8 if compressed.is_compressed(f.name) else f.newlines()
    return about


def rows_of(kind: str, files: list[ParsedFile], spiller: spill.Spiller | None) -> shards.KindRows:
    """The rows of one kind that parsed (the others are rejected already): spilled by shard, or
    left in their files' frames; each file's frame is taken from its ParsedFile (left empty with
    its columns)."""
    if spiller is not None and files and kind in (ORDERS, ORDER_ITEMS):
        return spiller.rows(kind, [p.key for p in files], shards.POSITION)
    frames = [p.frame for p in files if p.frame is not None]
    rows = [p.parsed_rows() for p in files if p.frame is not None]
    for p in files:
        p.frame = _emptied(p.frame) if p.frame is not None else None
    if not frames:  # (no file of the kind: no rows, with its columns)
        frames, rows = (
            [pd.DataFrame(columns=[*CANONICAL_COLUMNS[kind], "source_file", "source_line"])],
            [np.zeros(0, np.int64)],
        )
    return shards.Rows(frames, rows, shards.POSITION)


def _emptied(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame of no rows with `frame`'s columns, holding none of its memory (a slice of no rows
    would keep every column's buffers alive)."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in frame.dtypes.items()})


def _with_source(p: ParsedFile, file_keys: pd.CategoricalDtype) -> ParsedFile:
    """The lineage columns of each row: its file (a code into the batch's files) and line."""
    if p.frame is not None and p.raw is not None:
        code = file_keys.categories.get_loc(p.key)
        # (a part on disk by shard: its frame holds only its columns, its rows' lines are there)
        lines = p.raw.lines if p.spilled is None else p.raw.lines[:0]
        source = pd.Categorical.from_codes(np.full(len(lines), code), dtype=file_keys)
        p.frame = p.frame.assign(source_file=source, source_line=lines)
    return p
