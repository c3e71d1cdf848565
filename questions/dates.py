"""Date phrases as periods of order dates (pure), against a `today` the caller gives. The calendar
is the data's own: order dates as written (no time-zone shift), weeks Monday to Sunday (ISO, as
DuckDB's date_trunc('week') and Athena's), months and years as on the calendar. A month named
without a year is the latest one that has begun by today."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from questions.query import Period

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9


def day(today: date, offset: int, words: str) -> Period:
    d = today + timedelta(days=offset)
    return Period(d, d, words)


def week(today: date, offset: int, words: str) -> Period:
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
    return Period(monday, monday + timedelta(days=6), words)


def month_of(year: int, month: int, words: str | None = None) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last), words or f"{calendar.month_name[month]} {year}")


def relative_month(today: date, offset: int, words: str) -> Period:
    index = today.year * 12 + today.month - 1 + offset
    return month_of(index // 12, index % 12 + 1, words)


def named_month(today: date, month: int, year: int | None) -> Period:
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return month_of(year, month)


def year_of(year: int, words: str | None = None) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), words or str(year))


def relative_year(today: date, offset: int, words: str) -> Period:
    return year_of(today.year + offset, words)


def last_days(today: date, n: int) -> Period:
    """The last n days up to today, today included."""
    return Period(today - timedelta(days=n - 1), today, f"the last {n} days")


def between(start: date, end: date) -> Period:
    if end < start:
        raise ValueError(f"{start} is after {end}")
    return Period(start, end, f"{start} to {end}")


def on(d: date) -> Period:
    return Period(d, d, d.isoformat())
