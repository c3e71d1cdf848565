"""CSV meant for spreadsheets: no cell can run as a formula (OWASP, "CSV Injection").

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed
with a single quote, which spreadsheets show but do not evaluate. A plain number (``-5``,
``+3.25``) is left alone: it is no formula, and quoting it would spoil it. The csv module quotes
cells holding separators, quotes or newlines. JSON output never goes through here: it keeps
values exact.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only where a frame is written: the CLI's start-up stays light
    import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def spreadsheet_cell(value: object) -> object:
    """The value as a spreadsheet may hold it: formula-leading text gets a leading single quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_rows(rows: list[dict]) -> list[dict]:
    return [{k: spreadsheet_cell(v) for k, v in row.items()} for row in rows]


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (and column name) of the frame made safe; other columns are unchanged."""
    import pandas as pd

    out = frame.rename(columns=lambda c: spreadsheet_cell(str(c)))
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(spreadsheet_cell, na_action="ignore")
    return out
