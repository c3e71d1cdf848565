"""The entities the consumer writes, each fact once: its table (a settings field), its key, and
the names a payload's explicit `type` may give it."""

from __future__ import annotations

from dataclasses import dataclass

from ecompipe.core.settings import Settings


@dataclass(frozen=True)
class Entity:
    name: str  # as `events stats` prints it
    table_setting: str  # the Settings field that names its table
    keys: tuple[str, ...]  # partition key, then sort key
    type_names: tuple[str, ...]  # what an explicit "type" field may say

    def table(self, settings: Settings) -> str:
        return str(getattr(settings, self.table_setting))


CUSTOMERS = Entity("customers", "customers_table", ("customer_id",), ("customer", "customers"))
PURCHASES = Entity("purchases", "purchases_table", ("purchase_id",), ("purchase", "purchases", "order", "orders"))
PRODUCTS = Entity("products", "products_table", ("product_id",), ("product", "products"))
SUBSCRIPTIONS = Entity("subscriptions", "subscriptions_table", ("subscription_id",), ("subscription", "subscriptions"))
# append-only: one item per activity, sorted by time within a user
ACTIVITY = Entity(
    "activity", "activity_table", ("user_id", "activity_key"), ("activity", "activities", "user_activity")
)
# a stock level per product and warehouse
INVENTORY = Entity(
    "inventory", "inventory_table", ("product_id", "warehouse_id"), ("inventory", "stock", "inventory_update")
)

# one line of a JSON sales file (order info and contact info), keyed by order and item
SALES = Entity("sales", "sales_table", ("order_id", "item_id"), ("sale", "sales", "sales_record"))

ENTITIES = (CUSTOMERS, PURCHASES, PRODUCTS, SUBSCRIPTIONS, ACTIVITY, INVENTORY, SALES)
BY_TYPE = {t: e for e in ENTITIES for t in e.type_names}
BY_NAME = {e.name: e for e in ENTITIES}
