"""Cell parsers: money exact to the cent, whole numbers, dates as written."""

import pandas as pd
import pytest

from validator.parsing import parse_cents, parse_int, parse_order_date

pytestmark = pytest.mark.unit


def _s(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


def test_money_parses_to_exact_cents_with_half_up_rounding() -> None:
    cents, failed = parse_cents(_s("79.99", " 2 ", "0.1", "1.005", "2.675", "0.004", "1e2", "12345678.91"))
    assert cents.tolist() == [7999, 200, 10, 101, 268, 0, 10000, 1234567891]
    assert not failed.any()


@pytest.mark.parametrize("bad", ["abc", "inf", "-inf", "nan", "1,234.50", "12.5.0", "$5"])
def test_unparsable_money_is_flagged_not_guessed(bad: str) -> None:
    cents, failed = parse_cents(_s(bad))
    assert failed.tolist() == [True]
    assert cents.isna().all()


def test_empty_money_is_null_not_a_failure() -> None:
    cents, failed = parse_cents(_s("", "  "))
    assert cents.isna().all() and not failed.any()


def test_whole_numbers() -> None:
    values, failed = parse_int(_s("1", "2.0", "-1", "1.5", "x", ""))
    assert values.tolist()[:3] == [1, 2, -1]
    assert failed.tolist() == [False, False, False, True, True, False]


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
