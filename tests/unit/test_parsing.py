"""Cell parsers: money exact to the cent, whole numbers, dates as written."""

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecompipe.core.money import MAX_CENTS, MAX_UNITS
from validator.parsing import parse_cents, parse_int, parse_order_date

pytestmark = pytest.mark.unit


def _s(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def test_money_parses_to_exact_cents() -> None:
    cents, why = parse_cents(_s("79.99", " 2 ", "0.1", "19.990", "1e2", "12345678.91", ".5", "+7.5", "0e99999"))
    assert cents.tolist() == [7999, 200, 10, 1999, 10000, 1234567891, 50, 750, 0]
    assert not why.notna().any()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.005", "too_many_decimals"),  # never rounded to 1.01 (or 1.00)
        ("0.005", "too_many_decimals"),
        ("19.999", "too_many_decimals"),
        ("1e-3", "too_many_decimals"),
        ("-0.001", "negative_amount"),  # rounds to 0.00, still negative
        ("-0", "negative_amount"),
        ("-5.00", "negative_amount"),
        ("1000000000000000.01", "out_of_range"),
        ("1" * 400, "out_of_range"),
        ("1e400", "out_of_range"),
        ("9" * 17, "out_of_range"),
        ("1" * 2000, "unparsable_number"),
        ("abc", "unparsable_number"),
        ("inf", "unparsable_number"),
        ("nan", "unparsable_number"),
        ("1,234.50", "unparsable_number"),
        ("12.5.0", "unparsable_number"),
        ("$5", "unparsable_number"),
        ("\u0663", "unparsable_number"),  # Arabic-Indic three: Decimal would take it
        ("1_000", "unparsable_number"),  # Decimal would take this too
    ],
)
def test_money_that_breaks_the_rule_is_rejected_with_its_reason(text: str, reason: str) -> None:
    cents, why = parse_cents(_s(text))
    assert why.tolist() == [reason]
    assert cents.isna().all()


def test_the_bound_itself_is_accepted_exactly() -> None:
    cents, why = parse_cents(_s("1000000000000000", "999999999999999.99", "1e15"))
    assert cents.tolist() == [MAX_CENTS, MAX_CENTS - 1, MAX_CENTS]
    assert not why.notna().any()


def test_empty_money_is_null_not_a_failure() -> None:
    cents, why = parse_cents(_s("", "  "))
    assert cents.isna().all() and not why.notna().any()


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=0, max_value=Decimal(MAX_UNITS), places=2, allow_nan=False)
    | st.integers(0, MAX_UNITS).map(Decimal)
)
def test_any_accepted_money_is_its_written_value(value: Decimal) -> None:
    """Property: every value the rule allows, in the forms people write it, parses to itself."""
    forms = [str(value), f"{value:f}", f"{value:.2f}", f"{value:.2f}000", f"{value:e}" if value else "0", f"+{value}"]
    cents, why = parse_cents(_s(*forms))
    assert not why.notna().any(), forms
    assert cents.tolist() == [int(value * 100)] * len(forms)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_cell_parses_or_names_its_reason(text: str) -> None:
    """Property: no cell content crashes the parser; a cell either parses, is empty, or has a reason."""
    cents, why = parse_cents(_s(text))
    values, why_int = parse_int(_s(text))
    for parsed, reason in ((cents, why), (values, why_int)):
        assert parsed.notna().iloc[0] or pd.notna(reason.iloc[0]) or not text.strip()
        assert parsed.isna().iloc[0] or abs(int(parsed.iloc[0])) <= MAX_CENTS


def test_whole_numbers() -> None:
    values, why = parse_int(_s("1", "2.0", "-1", "1.5", "x", "", "1e3", "1" * 300))
    assert values.tolist()[:3] == [1, 2, -1] and values.iloc[6] == 1000
    assert why.fillna("").tolist() == ["", "", "", "unparsable_number", "unparsable_number", "", "", "out_of_range"]


def test_order_date_is_the_calendar_date_written_no_zone_shift() -> None:
    ts, day, failed = parse_order_date(
        _s(
            "2025-03-30T23:14:26",
            "2024-01-15",
            "2024-01-15 10:30",
            "2024-01-15T23:30:00-05:00",
            "2024-01-15 23:59:59 UTC",
        )
    )
    assert day.tolist() == ["2025-03-30", "2024-01-15", "2024-01-15", "2024-01-15", "2024-01-15"]
    assert ts.iloc[0] == pd.Timestamp("2025-03-30 23:14:26")
    assert not failed.any()


@pytest.mark.parametrize(
    "bad", ["2024-02-30", "15/01/2024", "2024-1-5", "2024-01-15T25:00:00", "yesterday", "20240115"]
)
def test_bad_dates_fail(bad: str) -> None:
    _, day, failed = parse_order_date(_s(bad))
    assert failed.tolist() == [True]
    assert day.isna().all()


_NUMBER_PIECES = ["+", "-", "0", "1", "9", "00", ".", ".00", "e3", "1e3", "x", " ", "123456789012345"]
_NUMBER_PIECES += ["9999999999999999", "inf", "٣", "1.005", ".5", "1.", "-0", "0" * 40, ".50", "_"]
_DATE_PIECES = ["2025-01-0", "2024-02-29", "2023-02-29", "2025-12-31", "1999-1-1", " ", "T", "12:34", "23:59:59"]
_DATE_PIECES += ["24:00", ":5", ".123", "Z", "+01:00", " UTC", "-0500", "x", "2025-02-30", "0000-02-29", "25:00:00"]


def _cells(pieces: list[str]) -> st.SearchStrategy[pd.Series]:
    cell = st.lists(st.sampled_from(pieces), max_size=4).map("".join)
    return st.lists(st.one_of(cell, st.none()), min_size=1, max_size=40).map(lambda v: pd.Series(v, dtype="str"))


@settings(max_examples=150, deadline=None)
@given(_cells(_NUMBER_PIECES), st.booleans())
def test_vectorised_numbers_equal_the_cell_by_cell_reference(cells: pd.Series, money: bool) -> None:
    """Arrow's decimal cast decides as Decimal does, cell by cell."""
    parse = parse_cents if money else parse_int
    (values, why), (exact_values, exact_why) = parse(cells), parse(cells, exact=True)
    pd.testing.assert_series_equal(values, exact_values)
    assert why.fillna("").tolist() == exact_why.fillna("").tolist()  # no reason: None or NaN alike


@pytest.mark.parametrize("parse", [parse_cents, parse_int])
def test_plain_numbers_with_any_run_of_trailing_zeros_read_exactly(parse) -> None:
    """Past 38 digits Arrow's decimal cast wraps without an error ('0.5' and 41 zeros read as 0)
    unless another cell of the column makes it fail: no cell the fast path takes may reach it,
    however many zeros follow the point. Each cell in a column of its own."""
    for integer in ("0", "-1", "999999999999999"):
        for fraction in ("", "25"):
            for zeros in range(60):
                cells = pd.Series([f"{integer}.{fraction}{'0' * zeros}"], dtype="str")
                (values, why), (exact_values, exact_why) = parse(cells), parse(cells, exact=True)
                pd.testing.assert_series_equal(values, exact_values)
                assert why.fillna("").tolist() == exact_why.fillna("").tolist()


@settings(max_examples=150, deadline=None)
@given(_cells(_DATE_PIECES))
def test_vectorised_dates_equal_the_cell_by_cell_reference(cells: pd.Series) -> None:
    """Arrow rolls 2025-02-30 over to March; the check on the written day catches it, as Python does."""
    for fast, exact in zip(parse_order_date(cells), parse_order_date(cells, exact=True), strict=True):
        pd.testing.assert_series_equal(fast, exact)


def test_common_stamps_beside_other_shapes_equal_the_cell_by_cell_reference() -> None:
    """'YYYY-MM-DD HH:MM:SS' is parsed at once, every other shape on its own: mixed in one column,
    in any order, each cell ends as the reference reads it (a rolled-over day in either shape)."""
    common = ["2025-03-30 23:14:26", "2024-02-29 00:00:00", "2025-02-30 10:00:00", "2025-01-01 24:00:00"]
    other = ["2025-03-30", "2025-03-30T23:14:26Z", "2025-02-30", "2025-03-30 23:14", " 2025-03-30 23:14:26.5 UTC", "x"]
    cells = pd.Series([*common, *other, None, *reversed(common), "", *reversed(other)], dtype="str")
    for fast, exact in zip(parse_order_date(cells), parse_order_date(cells, exact=True), strict=True):
        pd.testing.assert_series_equal(fast, exact)
    _, day, failed = parse_order_date(cells)
    assert day.iloc[0] == "2025-03-30" and failed.iloc[2] and failed.iloc[3] and not failed.iloc[4]
