"""Whole records and patches merged field by field (pure): docs/events.md, "Partial updates".

A patch names an entity's id and some of its fields; a whole record names them all (a field it
does not send is absent). Each field of the stored entity holds the value of the newest update
that named it, by the order updates always had (events.items.order_of, ties to the larger
digest). So the stored item is a function of the set of updates, whatever order they arrive in:

- `_seq`/`_digest` are the newest whole record's order and digest (absent: no whole record yet,
  the entity is `_partial`);
- `_patched` maps each field a patch newer than that record won to the patch's [order, digest];
- every other field is the newest whole record's.

Undeclared fields (kept as one JSON text in `extra`, events.models) are merged one by one too, as
`extra.<name>`. A patch's null removes an optional field (a required one cannot be removed:
events.routing refuses it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from events.items import DIGEST, PARTIAL, PATCHED, REV, SEQ
from events.models import EXTRA, Purchase, packed

APPLIED, SUPERSEDED, DUPLICATE = "applied", "superseded", "duplicate"  # a write's outcomes (events.store)
EXTRA_PREFIX = EXTRA + "."
# what an item holds beside the entity's fields
META = frozenset({SEQ, DIGEST, PATCHED, PARTIAL, REV, "received_at", "claim_s3", "claim_bytes"})
Stamp = tuple[int, str]


@dataclass(frozen=True)
class Update:
    """One accepted record as item fields (`None`: removed by a patch), its order and digest."""

    fields: dict[str, Any]
    seq: int
    digest: str
    patch: bool
    keys: tuple[str, ...]  # the entity's key fields: in every update, never merged

    @property
    def stamp(self) -> Stamp:
        return (self.seq, self.digest)


@dataclass(frozen=True)
class Merged:
    outcome: str
    item: dict[str, Any] | None  # the item to write (None: nothing changes)


def merge(stored: dict[str, Any] | None, update: Update, received_at: str) -> Merged:
    """The stored item (None: absent) with `update` merged in; the outcome says what it did."""
    fields = _flat(stored or {})
    whole = _stamp(stored or {})
    patched = {name: (int(s[0]), str(s[1])) for name, s in (stored or {}).get(PATCHED, {}).items()}
    incoming = {k: v for k, v in _flat(update.fields).items() if k not in update.keys}
    if not update.patch:
        if whole is not None and update.stamp <= whole:
            return Merged(DUPLICATE if update.stamp == whole else SUPERSEDED, None)
        patched = {name: s for name, s in patched.items() if s > update.stamp}
        fields = {**{k: v for k, v in incoming.items() if k not in patched}, **_only(fields, patched)}
        whole = update.stamp
    else:
        won = [name for name in incoming if update.stamp > patched.get(name, whole or (-1, ""))]
        if not won:
            seen = update.stamp == whole or update.stamp in patched.values()
            return Merged(DUPLICATE if seen else SUPERSEDED, None)
        for name in won:
            fields[name] = incoming[name]
            patched[name] = update.stamp
    keys = {k: update.fields[k] for k in update.keys}
    return Merged(APPLIED, {**keys, **_item(fields, whole, patched, received_at)})


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    """An item's fields, its undeclared ones (`extra`) each on its own as `extra.<name>`; a field
    a patch removes stays, as None."""
    out = {k: v for k, v in item.items() if k not in META and k != EXTRA}
    if item.get(EXTRA) is not None:
        out.update({EXTRA_PREFIX + k: v for k, v in json.loads(item[EXTRA]).items()})
    return out


def _only(fields: dict[str, Any], names: dict[str, Stamp]) -> dict[str, Any]:
    return {k: fields[k] for k in names if k in fields}


def _item(fields: dict[str, Any], whole: Stamp | None, patched: dict[str, Stamp], received_at: str) -> dict[str, Any]:
    kept = {k: v for k, v in fields.items() if v is not None and not k.startswith(EXTRA_PREFIX) and k != EXTRA}
    extras = {k[len(EXTRA_PREFIX) :]: v for k, v in fields.items() if k.startswith(EXTRA_PREFIX) and v is not None}
    if extras:
        kept[EXTRA] = packed(extras)
    if whole is not None:
        kept[SEQ], kept[DIGEST] = whole
    else:
        kept[PARTIAL] = True
    if patched:
        kept[PATCHED] = {name: [seq, digest] for name, (seq, digest) in sorted(patched.items())}
    kept["received_at"] = received_at
    return kept


def _stamp(item: dict[str, Any]) -> Stamp | None:
    return (int(item[SEQ]), str(item[DIGEST])) if SEQ in item and DIGEST in item else None


def stored_purchase(item: dict[str, Any]) -> Purchase | None:
    """A stored purchase as its model (None while it is partial): what its stock legs, its alert
    and its landing read after a merge."""
    if item.get(PARTIAL) or SEQ not in item:
        return None
    fields = {k: _plain(v) for k, v in item.items() if k not in META}
    return Purchase.model_validate(fields, context={"stored": True})


def _plain(value: Any) -> Any:
    """A stored value as a payload sends it: whole numbers as int (DynamoDB returns Decimal)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
