"""Money over DataFrame columns, under the rule of ecompipe.core.money: exact sums of any size,
exact half-up division. Apart from money.py so the Lambdas, which read money, never load pandas."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core.arrow import arrow_column

_HALF = 1 << 32


def exact_group_sums(frame: pd.DataFrame, by: Hashable | list, columns: list[str]) -> pd.DataFrame:
    """Per group (rows with a null key dropped, groups sorted, as pandas' groupby does), the exact
    sum of each non-negative integer column: int64 where every sum fits, else Python ints (object).

    Each value (< 2^63) is split into its high and low 32 bits; each half is summed in int64, which
    cannot wrap below 2^31 rows per group, and the halves are combined exactly. The grouping runs
    in Arrow (a hash aggregation in C++; pandas' factorize of Arrow strings was the slow part).
    """
    keys = [by] if not isinstance(by, list) else by
    # text keys are grouped by their dictionary codes (hashing strings inside a group-by is slow)
    encoded = {str(k): pc.dictionary_encode(arrow_column(frame[k])) for k in keys}
    parts: dict[str, pa.Array] = {k: e.indices for k, e in encoded.items()}
    for c in columns:
        values = frame[c].to_numpy(dtype="int64")
        parts[f"{c}__hi"] = pa.array(values // _HALF)
        parts[f"{c}__lo"] = pa.array(values % _HALF)
    table = pa.table(parts)
    for k in keys:
        table = table.filter(pc.is_valid(table[str(k)]))
    halves = [name for name in parts if name not in keys]
    grouped = table.group_by([str(k) for k in keys]).aggregate([(h, "sum") for h in halves])
    for k, e in encoded.items():
        grouped = grouped.set_column(grouped.schema.get_field_index(k), k, e.dictionary.take(grouped[k]))
    grouped = grouped.to_pandas().set_index([str(k) for k in keys]).sort_index()
    return pd.DataFrame(
        {c: _whole(grouped[f"{c}__hi_sum"], grouped[f"{c}__lo_sum"]) for c in columns}, index=grouped.index
    )


def exact_sums_at(group: np.ndarray, groups: int, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Per group code 0..groups-1 (one row each, 0 for a group with no rows), the exact sum of each
    non-negative integer column, by the same split as exact_group_sums: int64 where every sum fits,
    else Python ints. For callers that have the codes already (no hashing, no sort)."""
    out = {}
    for c, values in columns.items():
        values = np.asarray(values, dtype=np.int64)
        hi, lo = np.zeros(groups, dtype=np.int64), np.zeros(groups, dtype=np.int64)
        np.add.at(hi, group, values // _HALF)
        np.add.at(lo, group, values % _HALF)
        out[c] = _whole(pd.Series(hi), pd.Series(lo))
    return pd.DataFrame(out, index=pd.RangeIndex(groups))


def _whole(hi: pd.Series, lo: pd.Series) -> pd.Series:
    """hi * 2^32 + lo exactly: int64 when every value fits, else Python ints."""
    hi, lo = hi.astype("int64"), lo.astype("int64")
    if len(hi) == 0 or (hi.max() < _HALF // 2 - 1 and lo.max() < 2**62):
        return hi * _HALF + lo  # < 2^63: int64 holds it
    return hi.astype(object) * _HALF + lo.astype(object)


def differ_by_more_than(a: pd.Series, b: pd.Series, tolerance: int) -> pd.Series:
    """|a - b| > tolerance for integer columns that may hold Python ints; False where a is null."""

    if a.dtype != object and b.dtype != object:
        return (a.astype("Int64") - b.astype("Int64")).abs().gt(tolerance).fillna(False).astype(bool)
    return pd.Series(
        [pd.notna(x) and pd.notna(y) and abs(int(x) - int(y)) > tolerance for x, y in zip(a, b, strict=True)],
        index=a.index,
        dtype=bool,
    )


def div_half_up(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """Exact integer division rounding half up, for non-negative integers of any size (Python ints);
    0 where the denominator is 0."""

    return pd.Series(
        [
            (2 * int(n) + int(d)) // (2 * int(d)) if int(d) > 0 else 0
            for n, d in zip(numerator, denominator, strict=True)
        ],
        index=numerator.index,
        dtype=object,
    )
