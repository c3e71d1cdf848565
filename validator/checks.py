"""The row rules over the rows of one kind (of a shard, or of the batch), and their failures put on
the files the rows came from, as those files wrote the cells."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from validator.columns import kept
from validator.dialects import CANONICAL_COLUMNS
from validator.model import ParsedFile
from validator.schemas import failures
from validator.shards import FIRST, Piece, stacked

POSITION = "_row"  # each row's position among its file's canonical rows


@dataclass
class Checked:
    """Rows of one kind that passed the rules, and every failure: the file (its code in the
    batch's file column), the row, the canonical column, the reason and the rule's rank."""

    accepted: pd.DataFrame
    failed: pd.DataFrame


def check(kind: str, pieces: list[Piece], today: str) -> Checked:
    """Run the pandera schema over these rows of one kind at once (so duplicate keys are found
    across their files); return the rows that passed and the failures."""
    if not pieces:
        empty = pd.DataFrame(columns=[*CANONICAL_COLUMNS[kind], "source_file", "source_line", POSITION])
        return Checked(empty, _failed(np.zeros(0, np.int64), np.zeros(0, np.int64), pd.DataFrame(columns=_COLUMNS)))
    combined = stacked(pieces, POSITION)
    firsts = combined.pop(FIRST).to_numpy(dtype=bool) if FIRST in combined.columns else None
    found = failures(kind, combined, today, firsts)
    at = found["index"].to_numpy(dtype=np.int64)
    codes = combined["source_file"].cat.codes.to_numpy(dtype=np.int64)[at]
    failed = _failed(codes, combined[POSITION].to_numpy(dtype=np.int64)[at], found)
    return Checked(kept(combined, np.flatnonzero(~combined.index.isin(at))), failed)


_COLUMNS = ["column", "reason", "rank"]


def _failed(codes: np.ndarray, rows: np.ndarray, found: pd.DataFrame) -> pd.DataFrame:
    out = {"file": codes, "row": rows}
    return pd.DataFrame({**out, **{c: found[c].to_numpy() for c in _COLUMNS}})


def record(files: Mapping[int, ParsedFile], failed: list[pd.DataFrame]) -> None:
    """Put the failures (of every shard) on their files, each file's in the order one check of all
    its rows finds them (by rule, then row), with the cells as the file wrote them."""
    found = pd.concat([f for f in failed if len(f)], ignore_index=True) if any(len(f) for f in failed) else None
    if found is None:
        return
    found = found.sort_values(["file", "rank", "row"], kind="stable")
    for code, group in found.groupby("file", sort=True):
        p = files[int(code)]
        rows = group["row"].to_numpy(dtype=np.int64)
        columns = [p.dialect.source_of(c) for c in group["column"]] if p.dialect else list(group["column"])
        values = _raw_values(p, rows, columns)
        errors = pd.DataFrame({"row": rows, "column": columns, "value": values, "reason": group["reason"].to_numpy()})
        p.errors = pd.concat([p.errors, errors], ignore_index=True)


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
