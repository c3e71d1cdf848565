"""One parser model per entity (pydantic, as Powertools' parser uses): required fields, types, and
the rules across fields. Field names are canonical already (events.names). Fields a model does not
declare are kept, as JSON text in the item's `extra` attribute."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationInfo, create_model, model_validator
from pydantic.fields import FieldInfo

from ecompipe.core import vocabulary
from events.fields import (
    Count,
    Currency,
    Day,
    Email,
    FreeForm,
    Id,
    Ip,
    Money,
    Quantity,
    Text,
    Timestamp,
    Version,
    one_of,
)

EXTRA = "extra"  # where undeclared fields are kept


def _words(name: str) -> type:
    return Annotated[str, PlainValidator(one_of(name))]  # type: ignore[return-value]


def packed(extras: dict[str, Any]) -> str:
    """Undeclared fields as the one JSON text `extra` holds: keys sorted, numbers with a fraction
    as their exact text."""
    return json.dumps(extras, sort_keys=True, default=str, ensure_ascii=False)


@functools.cache
def _declared(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields) - {EXTRA}


class Model(BaseModel):
    """Fields a model does not declare are kept, at any level, as one JSON text in `extra` (sorted
    keys): whatever they hold, DynamoDB can store it, and the digest does not depend on their order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extra: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _pack_extra(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or (info.context or {}).get("stored"):  # (stored: packed already)
            return data
        undeclared = data.keys() - _declared(cls)
        if not undeclared:
            return data
        kept = {k: v for k, v in data.items() if k not in undeclared}
        extras = {k: data[k] for k in undeclared}
        kept[EXTRA] = packed(extras)
        return kept


class Versioned(Model):
    """What orders updates of one entity: `version` when sent, else `updated_at`, else arrival."""

    version: Version | None = None
    updated_at: Timestamp | None = None


ORDERING = frozenset(Versioned.model_fields) - {EXTRA}  # (a patch of these alone changes nothing)


@functools.cache
def patch_of(model: type[Versioned], key: str) -> type[Versioned]:
    """The model of a patch of `model` (events.patches): `key` required, every other field optional
    with the same rule; a required field sent as null is refused by its rule (it cannot be removed)."""
    loosened: dict[str, Any] = {
        name: (info.annotation, FieldInfo.merge_field_infos(info, default=None))
        for name, info in model.model_fields.items()
        if name != key and info.is_required()
    }
    return create_model(f"{model.__name__}Patch", __base__=model, **loosened)


class Address(Model):
    street: Text | None = None
    city: Text | None = None
    state: Text | None = None
    postal_code: Text | None = None
    country: Text | None = None


class Customer(Versioned):
    customer_id: Id
    name: Text
    email: Email
    phone: Text | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    preferences: FreeForm | None = None


class Item(Model):
    product_id: Id
    quantity: Quantity
    price: Money
    warehouse_id: Id | None = None  # where its stock is taken from (events.sales_stock)


class Purchase(Versioned):
    purchase_id: Id
    customer_id: Id
    items: list[Item] = Field(min_length=1, max_length=1000)
    total_amount: Money | None = None
    currency: Currency | None = None
    status: _words(vocabulary.PURCHASE_STATUS) | None = None  # type: ignore[valid-type]
    payment_status: _words(vocabulary.PAYMENT_STATUS) | None = None  # type: ignore[valid-type]
    shipping_status: _words(vocabulary.SHIPPING_STATUS) | None = None  # type: ignore[valid-type]
    delivery_status: _words(vocabulary.SHIPPING_STATUS) | None = None  # type: ignore[valid-type]
    return_status: _words(vocabulary.RETURN_STATUS) | None = None  # type: ignore[valid-type]
    purchased_at: Timestamp | None = None
    warehouse_id: Id | None = None  # where its items' stock is taken from, unless an item names its own

    @property
    def total(self) -> Decimal:
        """The total as sent, else the sum of its lines (exact: two-place decimals)."""
        if self.total_amount is not None:
            return self.total_amount
        return sum((i.price * i.quantity for i in self.items), start=Decimal("0.00"))


class Product(Versioned):
    product_id: Id
    name: Text
    price: Money
    stock_quantity: Count | None = None
    category: Text | None = None
    attributes: FreeForm | None = None


class Subscription(Versioned):
    subscription_id: Id
    customer_id: Id
    plan: Text
    status: _words(vocabulary.SUBSCRIPTION_STATUS)  # type: ignore[valid-type]
    next_billing_date: Day | None = None


class Activity(Model):
    user_id: Id
    activity_type: _words(vocabulary.ACTIVITY_TYPE)  # type: ignore[valid-type]
    timestamp: Timestamp
    device: Text | None = None
    ip_address: Ip | None = None
    product_id: Id | None = None
    session_id: Id | None = None


class Inventory(Model):
    """One stock movement: a restock or a return into a warehouse, or a transfer between two."""

    product_id: Id
    action: _words(vocabulary.MOVEMENT) | None = None  # type: ignore[valid-type]
    warehouse_id: Id | None = None
    restocked_quantity: Quantity | None = None
    returned_quantity: Quantity | None = None
    quantity: Quantity | None = None
    from_warehouse_id: Id | None = None
    to_warehouse_id: Id | None = None
    stock_threshold: Count | None = None
    timestamp: Timestamp | None = None
    event_id: Id | None = None

    @model_validator(mode="after")
    def _one_movement(self) -> Inventory:
        shapes = {
            "restock": self.restocked_quantity is not None,
            "return": self.returned_quantity is not None,
            "transfer": self.from_warehouse_id is not None or self.to_warehouse_id is not None,
        }
        given = [name for name, present in shapes.items() if present]
        if len(given) != 1:
            raise ValueError(
                "an inventory event is one movement: restocked_quantity, returned_quantity, or a transfer "
                f"(quantity, from_warehouse_id, to_warehouse_id); found {', '.join(given) or 'none'}"
            )
        if self.action is not None and self.action != given[0]:
            raise ValueError(f"action {self.action!r} does not match the fields of a {given[0]}")
        if given[0] == "transfer":
            if self.quantity is None or self.from_warehouse_id is None or self.to_warehouse_id is None:
                raise ValueError("a transfer needs quantity, from_warehouse_id and to_warehouse_id")
            if self.from_warehouse_id == self.to_warehouse_id:
                raise ValueError("a transfer needs two different warehouses")
        elif self.warehouse_id is None:
            raise ValueError(f"a {given[0]} needs warehouse_id")
        return self

    def moves(self) -> list[tuple[str, int]]:
        """(warehouse, change in stock) for each warehouse this movement touches."""
        if self.restocked_quantity is not None:
            return [(str(self.warehouse_id), self.restocked_quantity)]
        if self.returned_quantity is not None:
            return [(str(self.warehouse_id), self.returned_quantity)]
        q = int(self.quantity or 0)
        return [(str(self.from_warehouse_id), -q), (str(self.to_warehouse_id), q)]


class OrderInfo(Model):
    order_id: Id
    item_id: Id
    item_desc: Text
    quantity: Quantity  # "qty" as users send it


class ContactInfo(Model):
    name: Text
    email: Email


class Sale(Model):
    """One record of a JSON sales file: complete when both parts are present and well-typed.
    `source_file` and `source_index` say where it came from (set by the sales workflow)."""

    order_info: OrderInfo
    contact_info: ContactInfo
    source_file: Text | None = None
    source_index: Count | None = None

    def keys(self) -> dict[str, str]:
        return {"order_id": self.order_info.order_id, "item_id": self.order_info.item_id}
