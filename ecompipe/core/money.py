"""Money, the one rule (docs/kpis.md "Exactness"), for every reader and every KPI.

- A money value is written with at most two decimal places (trailing zeros do not count:
  ``19.990`` is 19.99). More precision is never rounded away: the row is rejected
  (``too_many_decimals``). So a line amount, quantity × unit price, is exact in integer cents.
- A value written with a minus sign is rejected (``negative_amount``), whatever it would round to.
- A money value, a quantity and a line amount are at most ``MAX_UNITS`` (10^15 currency units);
  above that the row is rejected (``out_of_range``), never wrapped or rounded.
- Sums (a day's revenue, its items sold) are exact whatever their size: integers are summed in two
  32-bit halves, so no int64 ever wraps, and combined as Python integers.
- Only KPI outputs that divide (avg_order_value, rates) round, half-up.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_UNITS = 10**15
MAX_CENTS = MAX_UNITS * 100

# the reasons a money value fails the rule (validator/reasons.py gives each its sentence)
UNPARSABLE_NUMBER = "unparsable_number"
NEGATIVE_AMOUNT = "negative_amount"
TOO_PRECISE = "too_many_decimals"
OUT_OF_RANGE = "out_of_range"

# What Decimal may read: ASCII digits only (Decimal also takes other scripts' digits and
# underscores, which a cell or a payload must not smuggle in).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_NUMBER_CHARS = 1000


def number(text: str) -> Decimal | None:
    """The exact value of a number written in ASCII digits (construction never rounds), or None,
    also for an exponent beyond what Decimal can hold ('1e3001234567890123451')."""
    if len(text) > _MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_PLAIN = re.compile(r"([0-9]{1,16})(?:\.([0-9]*))?")


def decimal_cents(text: str) -> tuple[int | None, str | None]:
    """(cents, None) or (None, reason) for one written money value, under the rule above. Plain
    decimals (the common case) are decided on their digits; everything else through Decimal."""
    plain = _PLAIN.fullmatch(text)
    if plain is None:
        return _decimal_cents(text)
    units, fraction = int(plain.group(1)), plain.group(2) or ""
    if units > MAX_UNITS or (units == MAX_UNITS and fraction.strip("0")):
        return None, OUT_OF_RANGE
    if fraction[2:].strip("0"):
        return None, TOO_PRECISE
    return units * 100 + int(fraction[:2].ljust(2, "0")), None


def _decimal_cents(text: str) -> tuple[int | None, str | None]:
    value = number(text)
    if value is None:
        return None, UNPARSABLE_NUMBER
    if value.is_signed():
        return None, NEGATIVE_AMOUNT
    if value.is_zero():
        return 0, None
    if value > MAX_UNITS:
        return None, OUT_OF_RANGE
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    below_cents = -2 - exponent  # how many written digits lie below the cent
    if below_cents > 0:
        if any(digits[-below_cents:]):
            return None, TOO_PRECISE
        digits, exponent = digits[:-below_cents] or (0,), -2
    return int("".join(map(str, digits))) * 10 ** (exponent + 2), None


def format_cents(cents: int) -> str:
    """Integer cents as a plain decimal string with two places ('-' for negatives)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def to_decimal(cents: int) -> Decimal:
    """Integer cents as a Decimal with exactly two places (what DynamoDB stores), of any size
    (built from text: no context precision applies)."""
    return Decimal(f"{int(cents)}e-2")
