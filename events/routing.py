"""From a message body to a validated entity record, or to the reasons it is invalid (pure).

Routing rules (docs/events.md): an explicit `type` field decides; without one, the payload's own
id fields do. First tier: purchase_id/order_id -> purchases, subscription_id -> subscriptions,
activity_type -> activity, a warehouse or a restocked/returned quantity -> inventory. Only when no
first-tier field is there: product_id -> products, customer_id -> customers. Two entities in the
same tier is ambiguous, none is unknown: both are invalid records with the reason, never a guess.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from events import kinds, models
from events.kinds import Entity
from events.names import TooDeep, canonical, normalise, rename

MODELS: dict[str, type[models.Model]] = {
    kinds.CUSTOMERS.name: models.Customer,
    kinds.PURCHASES.name: models.Purchase,
    kinds.PRODUCTS.name: models.Product,
    kinds.SUBSCRIPTIONS.name: models.Subscription,
    kinds.ACTIVITY.name: models.Activity,
    kinds.INVENTORY.name: models.Inventory,
    kinds.SALES.name: models.Sale,
}
TIERS: tuple[tuple[tuple[Entity, tuple[str, ...]], ...], ...] = (
    (
        (kinds.PURCHASES, ("purchase_id", "order_id")),
        (kinds.SUBSCRIPTIONS, ("subscription_id",)),
        (kinds.ACTIVITY, ("activity_type",)),
        (kinds.INVENTORY, ("warehouse_id", "from_warehouse_id", "to_warehouse_id", "restocked_quantity",
                           "returned_quantity")),
        (kinds.SALES, ("order_info", "contact_info")),
    ),
    ((kinds.PRODUCTS, ("product_id",)), (kinds.CUSTOMERS, ("customer_id",))),
)  # fmt: skip
_TIER_KEYS = tuple({k: entity for entity, keys in tier for k in keys} for tier in TIERS)
# an entity's own other names for its fields
# the entities whose updates may be patches (events.patches)
PATCHABLE = frozenset({kinds.CUSTOMERS.name, kinds.PURCHASES.name, kinds.PRODUCTS.name, kinds.SUBSCRIPTIONS.name})
SYNONYMS = {kinds.PURCHASES.name: {"order_id": "purchase_id", "total": "total_amount", "order_total": "total_amount"}}
MAX_BODY_BYTES = 1024 * 1024
# the sales workflow's envelope: {"sales_record": <the file's record>, "source_file", "source_index"}
SALES_WRAPPER = "sales_record"
SOURCE_FIELDS = ("source_file", "source_index")
SOURCE_RUN = "source_run"  # the workflow's execution, in the envelope only (never part of the record)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


# numbers as exact decimals (never floats), NaN and Infinity refused; built once, not per message
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)


@dataclass(frozen=True)
class Problem:
    field: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Invalid:
    entity: str | None  # the entity it looked like, when routing got that far
    problems: tuple[Problem, ...]
    origin: tuple[str, int] | None = None  # a sales workflow's (execution, record index): events.sales_runs

    def summary(self) -> str:
        return "; ".join(f"{p.field}: {p.reason}" for p in self.problems)


@dataclass(frozen=True)
class Accepted:
    entity: Entity
    record: models.Model
    digest: str  # of the canonical record: the same payload, however spelt, has one digest
    patch: bool = False  # names the entity's id and only some of its fields (events.patches)
    origin: tuple[str, int] | None = None  # a sales workflow's (execution, record index): events.sales_runs


def read(body: str) -> Accepted | Invalid:
    """One message body: JSON (numbers read as exact decimals) routed and validated."""
    if len(body) > MAX_BODY_BYTES:
        return _invalid(None, "body", f"is {len(body):,} characters; a payload holds at most {MAX_BODY_BYTES:,}")
    try:
        payload = _DECODER.decode(body)
    except (ValueError, RecursionError) as exc:
        return _invalid(None, "body", f"is not JSON ({str(exc)[:120]})")
    return route(payload)


def route(payload: Any) -> Accepted | Invalid:
    """A decoded payload to its entity's validated record."""
    if not isinstance(payload, dict):
        return _invalid(None, "body", f"must be a JSON object, not {type(payload).__name__}")
    clashes: list[tuple[str, str]] = []
    try:
        fields = normalise(payload, clashes)
    except TooDeep as exc:
        return _invalid(None, "body", str(exc))
    if SALES_WRAPPER in fields:  # a record of a sales file, as the sales workflow sends it
        origin, record = _origin(fields), _unwrapped(fields, clashes)
        if record is None:
            problem = "must be an object holding order-info and contact-info"
            return replace(_invalid(kinds.SALES.name, SALES_WRAPPER, problem), origin=origin)
        return replace(_routed(record, clashes), origin=origin)
    return _routed(fields, clashes)


def _routed(fields: dict[str, Any], clashes: list[tuple[str, str]]) -> Accepted | Invalid:
    entity, why = choose(fields)
    if entity is None:
        return _invalid(None, "type" if "type" in fields else "body", why)
    fields.pop("type", None)
    fields = rename(fields, SYNONYMS.get(entity.name, {}), clashes)
    if clashes:
        return Invalid(entity.name, tuple(Problem(f, r) for f, r in clashes))
    try:
        record, patch = MODELS[entity.name].model_validate(fields), False
    except ValidationError as exc:
        as_patch = _patch(entity, fields, exc)
        if as_patch is None:
            return Invalid(entity.name, tuple(_problems(exc, entity)))
        if isinstance(as_patch, Invalid):
            return as_patch
        record, patch = as_patch, True
    try:
        return Accepted(entity, record, digest(entity, record, patch), patch)
    except (UnicodeEncodeError, PydanticSerializationError):
        return _invalid(entity.name, "body", "holds text that is not valid Unicode (a lone surrogate, e.g. \\ud800)")


def _origin(envelope: dict[str, Any]) -> tuple[str, int] | None:
    """The sales workflow's execution and the record's index, when the envelope names both."""
    run, index = envelope.get(SOURCE_RUN), envelope.get("source_index")
    if isinstance(run, str) and run and isinstance(index, int) and not isinstance(index, bool) and index >= 0:
        return run, index
    return None


def _unwrapped(fields: dict[str, Any], clashes: list[tuple[str, str]]) -> dict[str, Any] | None:
    """The record inside the sales envelope, typed as a sale, with its source (None: not an object)."""
    record = fields[SALES_WRAPPER]
    if not isinstance(record, dict):
        return None
    source = {k: fields[k] for k in SOURCE_FIELDS if k in fields}
    clashes += [(k, "given by the record and by its envelope") for k in source if k in record]
    return {**record, **source, "type": kinds.SALES.name}


def choose(fields: dict[str, Any]) -> tuple[Entity | None, str]:
    """The entity a payload is about, or None and why not (the rules in this module's docstring)."""
    if "type" in fields:
        said = fields["type"]
        entity = kinds.BY_TYPE.get(canonical(said)) if isinstance(said, str) and len(said) <= 64 else None
        if entity is None:
            return None, f"{str(said)[:64]!r} is not an entity type; one of {', '.join(sorted(kinds.BY_TYPE))}"
        return entity, ""
    for tier in _TIER_KEYS:
        found = [(entity, k) for k, entity in tier.items() if k in fields]
        entities = {entity for entity, _k in found}
        if len(entities) == 1:
            return found[0][0], ""
        if len(entities) > 1:
            by_entity = {e.name: ", ".join(k for f, k in found if f is e) for e, _k in found}
            looks = " and ".join(f"{name} ({keys})" for name, keys in by_entity.items())
            return None, f'ambiguous: looks like {looks}; add a "type" field'
    known = sorted({k for tier in TIERS for _e, keys in tier for k in keys})
    return None, f'unknown shape: no "type" field and none of {", ".join(known)}'


def _patch(entity: Entity, fields: dict[str, Any], exc: ValidationError) -> models.Model | Invalid | None:
    """The payload as a patch of the entity, when what the whole record lacks is only top-level
    fields other than its id (None: not a patch; Invalid: a patch with a bad value, named)."""
    key = entity.keys[0]
    missing = [e["loc"] for e in exc.errors(include_url=False) if e["type"] == "missing"]
    if entity.name not in PATCHABLE or not missing or any(len(loc) != 1 or loc[0] == key for loc in missing):
        return None
    try:
        record = models.patch_of(MODELS[entity.name], key).model_validate(fields)  # type: ignore[arg-type]
    except ValidationError as bad:
        return Invalid(entity.name, tuple(_problems(bad, entity)))
    if not record.model_fields_set - {key, models.EXTRA, *models.ORDERING} and record.extra is None:
        return _invalid(entity.name, "body", f"names only {key}: a patch names at least one field to change")
    return record


def digest(entity: Entity, record: models.Model, patch: bool = False) -> str:
    """The payload's identity: its entity and validated values under canonical names, so the same
    payload however spelt ("OrderId": "1" or "order_id": 1) has one digest. A patch's names the
    fields it removes (null) too, and is never a whole record's."""
    if patch:
        text = b"patch:" + record.__pydantic_serializer__.to_json(record, exclude_unset=True)
    else:
        text = record.__pydantic_serializer__.to_json(record, exclude_none=True)  # field order is the model's
    return hashlib.sha256(entity.name.encode() + b":" + text).hexdigest()[:32]


def body_digest(body: str, origin: tuple[str, int] | None = None) -> str:
    """What names an invalid body: the same bytes are kept once. A sales workflow's record
    (`origin`) is named without the execution its envelope names, so the same file sent again is
    the same record, kept and parked once."""
    if origin is not None:
        envelope = _DECODER.decode(body)
        envelope.pop(SOURCE_RUN, None)
        body = json.dumps(envelope, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _invalid(entity: str | None, field: str, reason: str) -> Invalid:
    return Invalid(entity, (Problem(field, reason),))


def _problems(exc: ValidationError, entity: Entity) -> list[Problem]:
    out = []
    for error in exc.errors(include_url=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
        if error["type"] == "missing":
            reason = "is required"
        elif error["type"] == "value_error":
            reason = str(error.get("ctx", {}).get("error", error["msg"]))
        else:
            reason = error["msg"]
        out.append(Problem(where or entity.name, reason))
    return out
