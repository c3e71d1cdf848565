"""Calendar days as people type them on the command line and in API queries: YYYY-MM-DD only."""

from __future__ import annotations

from datetime import date


def parse_day(value: str, name: str) -> date:
    """The day `value` names; ValueError with a sentence naming `name` when it is no such day."""
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, not {value[:40]!r}") from None
