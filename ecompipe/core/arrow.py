"""Arrow columns as the validator and the transformer use them (the process's Arrow allocator is
chosen in ecompipe/__init__.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def arrow_column(series: pd.Series) -> pa.Array:
    """A column as one Arrow array (zero-copy for pandas' Arrow-backed strings); text, and an empty
    or all-null column, as large_string, so lookups between columns always agree on the type."""
    column = pa.array(series, from_pandas=True)
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_null(column.type) or pa.types.is_string(column.type):
        column = column.cast(pa.large_string())
    return column
