"""The row rules over rows of one kind (a shard's, or all of them), and their failures put on the
files the rows came from, as those files wrote the cells."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from validator.model import ParsedFile
from validator.schemas import failures, schema
from validator.shards import KindRows


def failed(kind: str, rows: KindRows, at: np.ndarray, today: str, firsts: np.ndarray | None) -> pd.DataFrame:
    """The pandera schema run over the batch's rows `at` (positions) at once, so duplicate keys
    are found among them: every failure as (position, column, reason, rank). `firsts`: over all
    the batch's rows, whether each row's key is the first of its key, when that is decided over
    more rows than these."""
    frame = rows.frame(at, list(schema(kind, today).columns), position=False)
    found = failures(kind, frame, today, None if firsts is None else firsts[at])
    index = found["index"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "position": at[index],
            "column": found["column"].to_numpy(),
            "reason": found["reason"].to_numpy(),
            "rank": found["rank"].to_numpy(),
        }
    )


def located(files: list[ParsedFile], rows: KindRows, found: list[pd.DataFrame], file_keys: pd.Index) -> pd.DataFrame:
    """The failures of the batch's rows of one kind (`rows`, of these files in order; of every
    shard), each at its file (its code among the batch's `file_keys`) and row in the file's frame."""
    every = pd.concat([f for f in found if len(f)] or found[:1] or [_NO_FAILURES], ignore_index=True)
    file, row = rows.located(every["position"].to_numpy(dtype=np.int64))
    codes = np.asarray([file_keys.get_loc(p.key) for p in files], dtype=np.int64)
    out = every.drop(columns="position").assign(file=codes[file] if len(codes) else file, row=row)
    return out[["file", "row", "column", "reason", "rank"]]


def record(files: dict[int, ParsedFile], found: pd.DataFrame) -> None:
    """Put the located failures of the batch's rows (`located`: of every shard, of one kind or
    several) on their files (by code), each file's in the order one check of all its rows finds
    them (by rule, then row), with the cells as the file wrote them."""
    if not len(found):
        return
    every = found.sort_values(["file", "rank", "row"], kind="stable")
    for index, group in every.groupby("file", sort=True):
        p = files[int(index)]
        rows_of = group["row"].to_numpy(dtype=np.int64)
        columns = [p.dialect.source_of(c) for c in group["column"]] if p.dialect else list(group["column"])
        values = _raw_values(p, rows_of, columns)
        errors = pd.DataFrame(
            {"row": rows_of, "column": columns, "value": values, "reason": group["reason"].to_numpy()}
        )
        p.errors = pd.concat([p.errors, errors], ignore_index=True)


_NO_FAILURES = pd.DataFrame(
    {
        "position": pd.Series([], dtype="int64"),
        "column": pd.Series([], dtype="str"),
        "reason": pd.Series([], dtype="str"),
        "rank": pd.Series([], dtype="int64"),
    }
)


def _raw_values(p: ParsedFile, rows: np.ndarray, columns: list[str]) -> np.ndarray:
    """The cells as written in the file (not their parsed form), for reports and rejected rows;
    a column `a+b` (a derived key) shows as `a/b`. One lookup per column, not per cell."""
    assert p.raw is not None
    named = np.asarray(columns, dtype=object)
    out = np.full(len(rows), "", dtype=object)
    if not len(rows):
        return out
    distinct, at = np.unique(rows, return_inverse=True)
    # read with the rows the file's parse failures name: the file's rejected rows, which
    # validator.rejected asks for next (RawTable.rows reads the same rows once)
    rejected = np.union1d(distinct, p.errors["row"].to_numpy(dtype=np.int64))
    cells = p.raw.rows(rejected).take(np.searchsorted(rejected, distinct)).reset_index(drop=True)
    for column in dict.fromkeys(columns):
        chosen = named == column
        parts = [cells[c].take(at[chosen]).astype("str") for c in column.split("+") if c in cells]
        if parts:
            out[chosen] = functools.reduce(lambda a, b: a + "/" + b.to_numpy(), parts).to_numpy(dtype=object)
    return out
