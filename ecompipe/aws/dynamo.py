"""The one DynamoDB codec every writer and reader shares (KPI store, run ledger): Python values to
attribute values and back. boto3's serializer refuses floats; here they become exact Decimals of
their shortest text, and numbers come back as int where asked (or wherever they are whole)."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def value(python: Any) -> dict:
    """One attribute value."""
    return _serializer.serialize(Decimal(str(python)) if isinstance(python, float) else python)


def dump(item: dict) -> dict:
    """A whole item."""
    return {k: value(v) for k, v in item.items()}


def load(item: dict, ints: Collection[str] | None = None) -> dict:
    """An item as Python values: numbers named in `ints` as int (all whole numbers when None);
    other numbers stay Decimal, so money keeps its two places."""
    out = {k: _deserializer.deserialize(v) for k, v in item.items()}
    return {k: int(v) if isinstance(v, Decimal) and _is_int(k, v, ints) else v for k, v in out.items()}


def _is_int(key: str, number: Decimal, ints: Collection[str] | None) -> bool:
    return key in ints if ints is not None else number == number.to_integral_value()
