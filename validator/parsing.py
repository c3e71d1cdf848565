"""Vectorised cell parsers. Each returns the parsed values and a mask of cells that failed.

Empty cells are nulls, not failures: whether a null is allowed is the schema's business.
Dates are parsed here, never by pandera (DESIGN §7: its coercion of bad dates is element-wise).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

# What may follow YYYY-MM-DD: an optional time, fraction and zone, which are ignored for the day
# (DESIGN §3: the day is the calendar date written in the timestamp, no time-zone shift).
_CLOCK = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_TIME_TAIL = r"(?:[T ]" + _CLOCK + r"(?:\.\d{1,9})?)?(?:Z| ?[+-]\d{2}:?\d{2}| UTC)?"
_DATE = r"\d{4}-\d{2}-\d{2}"


def strip(cells: pd.Series) -> pd.Series:
    """Trim whitespace; empty strings become nulls."""
    out = cells.str.strip()
    return out.mask(out == "")


def parse_cents(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money as exact integer cents (Int64); half-up rounding past two decimals.

    The float path is exact whenever the text has at most two decimals (checked per cell); the
    rare other cells go through Decimal, so no value is ever off by a cent.
    """
    text = strip(cells)
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    finite = np.isfinite(number.to_numpy(dtype="float64", na_value=np.nan))
    failed = text.notna() & ~pd.Series(finite, index=cells.index)
    scaled = number * 100
    rounded = scaled.round()
    exact = ((scaled - rounded).abs() < 1e-6) & (rounded.abs() < 2**52)
    cents = rounded.where(exact & ~failed)
    needs_decimal = text.notna() & ~failed & ~exact
    for idx in needs_decimal[needs_decimal].index:
        value = _decimal_cents(text[idx])
        if value is None:
            failed[idx] = True
        else:
            cents[idx] = value
    return cents.astype("Int64"), failed.astype(bool)


def _decimal_cents(text: str) -> int | None:
    try:
        return int((Decimal(text) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def parse_int(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (Int64). '2.0' is accepted as 2; '1.5', 'abc', 'inf' fail."""
    text = strip(cells)
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    whole = np.isfinite(number) & (number == number.round()) & (number.abs() < 2**53)
    failed = text.notna() & ~whole
    return number.where(whole).astype("Int64"), failed.astype(bool)


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
