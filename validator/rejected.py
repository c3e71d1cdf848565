"""A file's rejected rows as people open them: each as the file wrote it, with its line, reasons
and detail (validator.task writes them to rejected/<batch>/rows/)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from validator import reasons
from validator.model import ParsedFile


def has_rejections(p: ParsedFile) -> bool:
    return bool(len(p.errors)) or bool(p.raw and p.raw.ragged)


def _joined(errs: pd.DataFrame) -> pd.DataFrame:
    """Rows with several problems, one row each (by row): their reasons once each and their details,
    in the order found; by plain lists (pandas' grouped aggregation calls Python per row anyway)."""
    errs = errs.sort_values("row", kind="stable")
    rows = errs["row"].to_numpy()
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    spans = list(zip(starts.tolist(), [*starts[1:].tolist(), len(rows)], strict=True))
    why, detail = errs["reason"].tolist(), errs["detail"].tolist()
    return pd.DataFrame(
        {
            "reason": pd.Series([";".join(dict.fromkeys(why[a:b])) for a, b in spans], dtype="str"),
            "detail": pd.Series(["; ".join(detail[a:b]) for a, b in spans], dtype="str"),
        }
    ).set_axis(pd.Index(rows[starts], name="row"))


def rows_of(p: ParsedFile) -> pd.DataFrame:
    """The rejected rows of one file as they were written, with line, reason and detail."""
    assert p.raw is not None
    errs = p.errors.drop_duplicates(["row", "reason", "column"])
    detail = errs["column"].astype("str") + "=" + errs["value"].astype("str").map(repr) + " (" + errs["reason"] + ")"
    errs = errs.assign(detail=detail)
    # most rejected rows have one problem: only rows with several go through a Python-level join
    several = errs["row"].duplicated(keep=False).to_numpy()
    grouped = errs[~several].set_index("row")[["reason", "detail"]]
    if several.any():
        grouped = pd.concat([grouped, _joined(errs[several])])
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
