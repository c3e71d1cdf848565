"""Field names as users send them (OrderId, orderId, order-id, "Order ID") made one canonical
snake_case name, recursively, except inside free-form maps (preferences, attributes), which are
kept as sent. Two names that become the same field are a problem, never a silent pick."""

from __future__ import annotations

import functools
from typing import Any

from ecompipe.core.vocabulary import word

# spellings of the same field that are not a matter of case or separators
SYNONYMS = {"qty": "quantity", "ip": "ip_address", "email_address": "email", "item_price": "price"}
FREE_FORM = frozenset({"preferences", "attributes", "metadata"})
MAX_DEPTH = 16


@functools.lru_cache(maxsize=4096)
def canonical(name: str) -> str:
    """'OrderId', 'orderId', 'order-id', 'Order ID' -> 'order_id'; 'qty' -> 'quantity'."""
    snake = word(name)
    return SYNONYMS.get(snake, snake)


class TooDeep(ValueError):
    """Nesting beyond MAX_DEPTH: no entity is shaped like that."""


@functools.lru_cache(maxsize=4096)
def _plan(keys: tuple[str, ...]) -> tuple[tuple[str | None, ...], tuple[tuple[str, str], ...]]:
    """For one set of field names (payloads of a kind share them): each one's canonical name (None:
    dropped) and the problems, per canonical name. Worked out once per distinct key tuple."""
    names: list[str | None] = []
    problems: list[tuple[str, str]] = []
    given: dict[str, str] = {}
    for raw in keys:
        name = canonical(raw)
        if not name:
            problems.append((repr(raw), f"the field name {raw!r} has no letters or digits"))
            names.append(None)
        elif name in given:
            problems.append((name, f"given twice, as {given[name]!r} and {raw!r}"))
            names.append(None)
        else:
            given[name] = raw
            names.append(name)
    return tuple(names), tuple(problems)


def normalise(value: Any, problems: list[tuple[str, str]], path: str = "", depth: int = 0) -> Any:
    """The value with canonical field names; clashes are appended to `problems` as (field, why)."""
    if depth > MAX_DEPTH:
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [v if not isinstance(v, dict | list) else normalise(v, problems, f"{path}[{i}]", depth + 1)
                for i, v in enumerate(value)]  # fmt: skip
    if not isinstance(value, dict):
        return value
    names, found = _plan(tuple(value))
    for where, why in found:
        problems.append((f"{path}.{where}" if path else where, why))
    out: dict[str, Any] = {}
    for inner, name in zip(value.values(), names, strict=True):
        if name is None:
            continue
        if isinstance(inner, dict | list) and name not in FREE_FORM:
            inner = normalise(inner, problems, f"{path}.{name}" if path else name, depth + 1)
        out[name] = inner
    return out


def rename(payload: dict[str, Any], synonyms: dict[str, str], problems: list[tuple[str, str]]) -> dict[str, Any]:
    """An entity's own synonyms (a purchase's order_id is its purchase_id); both given is a clash."""
    out = dict(payload)
    for old, new in synonyms.items():
        if old in out:
            if new in out:
                problems.append((new, f"given twice, as {new!r} and {old!r}"))
                continue
            out[new] = out.pop(old)
    return out
