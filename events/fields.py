"""The field types every entity model is built from, each with one rule and one sentence when a
value breaks it. Values arrive from JSON read with exact decimals (never floats)."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator

from ecompipe.core import money, vocabulary

MAX_ID = 10**18
MAX_QUANTITY = 10**9
MAX_TEXT = 1000
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"\s*\d{1,10}\s*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONEY_REASONS = {
    money.UNPARSABLE_NUMBER: "is not a number",
    money.NEGATIVE_AMOUNT: "must not be negative",
    money.TOO_PRECISE: "has more than two decimal places (amounts are exact to the cent, never rounded)",
    money.OUT_OF_RANGE: f"is above {money.MAX_UNITS:,}",
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def entity_id(value: Any) -> str:
    """A whole number or a short token; 123 and "123" are the same id."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
        return str(value)
    if isinstance(value, str) and _ID.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(
        f"must be an id (a whole number 0..10^18, or 1-128 letters, digits and _ . : @ -), not {_shown(value)}"
    )


def amount(value: Any) -> Decimal:
    """Money as an exact decimal with two places: a JSON number or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str | float):
        raise ValueError(f"must be an amount, not {_shown(value)}")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    cents, why = money.decimal_cents(text)
    if cents is None:
        raise ValueError(f"{_shown(value)} {_MONEY_REASONS.get(why or '', 'is not an amount')}")
    return money.to_decimal(cents)


def _whole(value: Any, low: int, what: str) -> int:
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_QUANTITY:
        return value
    raise ValueError(f"must be {what}, not {_shown(value)}")


def quantity(value: Any) -> int:
    return _whole(value, 1, f"a whole number from 1 to {MAX_QUANTITY:,}")


def count(value: Any) -> int:
    return _whole(value, 0, f"a whole number from 0 to {MAX_QUANTITY:,}")


def text(value: Any) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    raise ValueError(f"must be non-empty text of at most {MAX_TEXT} characters, not {_shown(value)}")


def email(value: Any) -> str:
    if isinstance(value, str) and len(value.strip()) <= 254 and _EMAIL.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(f"must be an email address (name@domain.tld), not {_shown(value)}")


def day(value: Any) -> str:
    if isinstance(value, str) and _DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"must be a calendar date YYYY-MM-DD, not {_shown(value)}")


def timestamp(value: Any) -> str:
    """ISO 8601 with a zone (a time without one is UTC), kept as UTC text: 2024-11-23T10:15:00Z."""
    if isinstance(value, str) and _DAY.match(value.strip()) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
            return moment.isoformat().replace("+00:00", "Z")
    raise ValueError(f"must be an ISO 8601 timestamp (2024-11-23T10:15:00Z), not {_shown(value)}")


def epoch_micros(moment: str) -> int:
    """A timestamp() value as microseconds since 1970 (the order of updates)."""
    instant = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return int(instant.timestamp()) * 1_000_000 + instant.microsecond


def ip(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(value.strip() if isinstance(value, str) else ""))
    except ValueError:
        raise ValueError(f"must be an IPv4 or IPv6 address, not {_shown(value)}") from None


def currency(value: Any) -> str:
    if isinstance(value, str) and _CURRENCY.fullmatch(value.strip().upper()):
        return value.strip().upper()
    raise ValueError(f"must be a three-letter currency code (EUR, USD), not {_shown(value)}")


def free_form(value: Any) -> str:
    """A map of the user's own (preferences, attributes), kept as its JSON text: any keys, any values."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    raise ValueError(f"must be an object of names and values, not {_shown(value)}")


def one_of(name: str) -> Any:
    """A word of a closed vocabulary (ecompipe.core.vocabulary), in any case, separator or
    listed spelling ('Cart Add', 'cartAdd', 'add to cart' -> 'cart_add'; 'canceled' -> 'cancelled')."""
    allowed = ", ".join(vocabulary.words(name))

    def check(value: Any) -> str:
        found = vocabulary.stored(name, value) if isinstance(value, str) else None
        if found is not None:
            return found
        raise ValueError(
            f"must be a {name}: one of {allowed} (or a spelling docs/events.md lists); not {_shown(value)}"
        )

    return check


Id = Annotated[str, PlainValidator(entity_id)]
# as JSON (the digest) an amount is its exact text with two places
Money = Annotated[Decimal, PlainValidator(amount), PlainSerializer(str, return_type=str, when_used="json")]
Quantity = Annotated[int, PlainValidator(quantity)]
Count = Annotated[int, PlainValidator(count)]
Text = Annotated[str, PlainValidator(text)]
Email = Annotated[str, PlainValidator(email)]
Day = Annotated[str, PlainValidator(day)]
Timestamp = Annotated[str, PlainValidator(timestamp)]
Ip = Annotated[str, PlainValidator(ip)]
Currency = Annotated[str, PlainValidator(currency)]
FreeForm = Annotated[str, PlainValidator(free_form)]
Version = Count
