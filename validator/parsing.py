"""Vectorised cell parsers. Each returns the parsed values and a mask of cells that failed.

Empty cells are nulls, not failures: whether a null is allowed is the schema's business.
Dates are parsed here, never by pandera (DESIGN §7: its coercion of bad dates is element-wise).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core import money
from validator import reasons

# What may follow YYYY-MM-DD: an optional time, fraction and zone, which are ignored for the day
# (DESIGN §3: the day is the calendar date written in the timestamp, no time-zone shift).
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_TIME_TAIL = r"(?:[T ]" + _CLOCK + r"(?:\.[0-9]{1,9})?)?(?:Z| ?[+-][0-9]{2}:?[0-9]{2}| UTC)?"
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Money the fast path takes: at most 16 integer digits, at most two significant decimals.
_PLAIN_MONEY = r"^\+?(?P<units>[0-9]{1,16})(?:\.(?P<frac>[0-9]{0,2})0*)?$"
_PLAIN_INT = r"[+-]?[0-9]{1,15}(?:\.0*)?"


def strip(cells: pd.Series) -> pd.Series:
    """Trim whitespace; empty strings become nulls."""
    out = cells.str.strip()
    return out.mask(out == "")


def parse_cents(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money as exact integer cents (Int64) under the rule of ecompipe.core.money, and per cell the
    reason it failed (None where it parsed or was empty).

    Plain decimals (the common case) are split by one vectorised regex; the rare others (exponents,
    long digit runs, signs, garbage) are decided one by one with Decimal, never through a float.
    """
    text = strip(cells)
    parts = pc.extract_regex(_arrow(text), _PLAIN_MONEY)
    plain = np.asarray(parts.is_valid(), dtype=bool)
    units = pc.cast(pc.if_else(parts.is_valid(), parts.field("units"), "0"), pa.int64())
    frac = pc.cast(pc.utf8_rpad(pc.if_else(parts.is_valid(), parts.field("frac"), ""), 2, "0"), pa.int64())
    cents = pd.Series(pc.add(pc.multiply(units, 100), frac).to_numpy(), index=cells.index, dtype="Int64")
    cents = cents.where(plain)
    reason = pd.Series(None, index=cells.index, dtype=object)
    too_big = plain & (cents > money.MAX_CENTS).fillna(False).to_numpy()
    reason[too_big] = reasons.OUT_OF_RANGE
    cents[too_big] = pd.NA
    _decide_one_by_one(text, ~plain, cents, reason, money.decimal_cents)
    return cents, reason


def _decide_one_by_one(
    text: pd.Series,
    undecided: np.ndarray,
    values: pd.Series,
    reason: pd.Series,
    decide: Callable[[str], tuple[int | None, str | None]],
) -> None:
    """Fill in the non-empty cells the vectorised path left undecided, one by one."""
    for idx in text.index[text.notna().to_numpy() & undecided]:
        value, why = decide(text[idx])
        values[idx] = pd.NA if value is None else value
        reason[idx] = why


def parse_int(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (Int64) within +-10^15, and per cell the reason it failed. '2.0' and '1e3'
    are whole; '1.5', 'abc', 'inf' fail as unparsable, 10^16 as out of range."""
    text = strip(cells)
    number = pd.to_numeric(text.where(text.str.fullmatch(_PLAIN_INT).fillna(False).astype(bool)), errors="coerce")
    plain = number.notna().to_numpy()
    values = pd.Series(number, index=cells.index).astype("Int64")
    reason = pd.Series(None, index=cells.index, dtype=object)
    _decide_one_by_one(text, ~plain, values, reason, _decimal_int)
    return values, reason


def _decimal_int(text: str) -> tuple[int | None, str | None]:
    value = money.number(text)
    if value is None:
        return None, reasons.UNPARSABLE_NUMBER
    if value.is_zero():
        return 0, None
    if value.copy_abs() > money.MAX_UNITS:
        return None, reasons.OUT_OF_RANGE
    if value != value.to_integral_value():
        return None, reasons.UNPARSABLE_NUMBER
    return int(value), None


def _arrow(text: pd.Series) -> pa.Array:
    """The column as Arrow strings, zero-copy from pandas' Arrow-backed str (nulls stay null)."""
    column = pa.array(text, from_pandas=True)
    if isinstance(column, pa.ChunkedArray):  # an Arrow-backed column may come in chunks
        column = column.combine_chunks()
    return column.cast(pa.large_string())


def parse_order_date(cells: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(order_ts, order_date 'YYYY-MM-DD', failed). The shape is checked by regex, the calendar by pandas."""
    text = strip(cells)
    shape_ok = text.str.fullmatch(_DATE + _TIME_TAIL).fillna(False).astype(bool)
    day = pd.to_datetime(text.str.slice(0, 10).where(shape_ok), format="%Y-%m-%d", errors="coerce")
    clock = text.str.slice(11, 19).where(text.str.len() > 10, "")
    clock = clock.where(clock.str.fullmatch(_CLOCK).fillna(False).astype(bool), "")
    clock = clock.where(clock.str.len() != 5, clock + ":00").replace("", "00:00:00")
    clock = clock.where(day.notna(), "00:00:00")
    # HH:MM:SS -> seconds by slicing and casting (vectorised; to_timedelta parses strings one by one)
    seconds = sum(clock.str.slice(a, a + 2).astype("int64") * k for a, k in ((0, 3600), (3, 60), (6, 1)))
    offset = pd.to_timedelta(seconds, unit="s")
    ts = day + offset
    failed = text.notna() & (day.isna() | offset.isna())
    order_date = day.dt.strftime("%Y-%m-%d").astype("str").where(day.notna())
    return ts.where(~failed), order_date, failed.astype(bool)


def lower_trimmed(cells: pd.Series) -> pd.Series:
    """Status and similar codes: compared lower-cased and trimmed (DESIGN §2)."""
    return strip(cells).str.lower()
