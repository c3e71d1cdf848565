"""The tables people write SQL against (docs/queries.md): their names, columns and meaning, one
definition for the guard, both engines and the docs. Money columns are exact decimals with two
places (the curated store keeps integer cents; the views divide exactly)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as DuckDB and Athena both name it
    meaning: str


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    curated: bool  # from curated/ (DuckDB and Athena); else the KPI tables in DynamoDB (DuckDB only)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


MONEY = "DECIMAL(38,2)"
ORDERS = Table(
    "orders",
    "one row per order, as curated (the newest batch's row for each order id)",
    (
        Column("order_id", "VARCHAR", "the order's id"),
        Column("user_id", "VARCHAR", "the customer's id"),
        Column("order_ts", "TIMESTAMP", "when the order was placed, as written (no time-zone shift)"),
        Column("order_date", "DATE", "the calendar date of order_ts: the KPIs' day"),
        Column("status", "VARCHAR", "pending, processing, shipped, delivered, completed, cancelled or returned"),
        Column("total_amount", MONEY, "the order's total as sent (seed dialect), else NULL"),
        Column("num_of_item", "BIGINT", "the number of items as sent (thelook dialect), else NULL"),
        Column("batch_id", "VARCHAR", "the batch that last wrote the row"),
    ),
    curated=True,
)
ORDER_ITEMS = Table(
    "order_items",
    "one row per order item (seed: per order and product; thelook: per unit)",
    (
        Column("item_key", "VARCHAR", "the item's key: id:<id> (thelook) or <order_id>/<product_id> (seed)"),
        Column("order_id", "VARCHAR", "the item's order"),
        Column("product_id", "VARCHAR", "the item's product"),
        Column("quantity", "BIGINT", "units"),
        Column("unit_price", MONEY, "the price of one unit"),
        Column("line_amount", MONEY, "quantity × unit_price"),
        Column("order_date", "DATE", "the order's date"),
        Column("batch_id", "VARCHAR", "the batch that last wrote the row"),
    ),
    curated=True,
)
PRODUCTS = Table(
    "products",
    "the product catalogue, as curated",
    (
        Column("product_id", "VARCHAR", "the product's id"),
        Column("category", "VARCHAR", "its category (the KPIs' category)"),
        Column("name", "VARCHAR", "its name, when sent"),
        Column("price", MONEY, "its list price"),
    ),
    curated=True,
)
ORDER_KPIS = Table(
    "order_kpis",
    "OrderKPIs, one row per order date (docs/kpis.md)",
    (
        Column("order_date", "DATE", "the day"),
        Column("total_orders", "BIGINT", "orders of the day, every status"),
        Column("total_revenue", MONEY, "Σ line amount over items of sold (not cancelled) orders"),
        Column("total_items_sold", "BIGINT", "Σ quantity over items of sold orders"),
        Column("return_rate", "DECIMAL(9,4)", "returned orders ÷ total_orders (4 places)"),
        Column("unique_customers", "BIGINT", "distinct users"),
        Column("returned_orders", "BIGINT", "orders with status returned"),
        Column("sold_orders", "BIGINT", "orders not cancelled"),
    ),
    curated=False,
)
CATEGORY_KPIS = Table(
    "category_kpis",
    "CategoryKPIs, one row per category and order date (docs/kpis.md)",
    (
        Column("category", "VARCHAR", "the category"),
        Column("order_date", "DATE", "the day"),
        Column("daily_revenue", MONEY, "Σ line amount of the category's items in sold orders"),
        Column("avg_order_value", MONEY, "daily_revenue ÷ sold orders with an item of the category"),
        Column("avg_return_rate", "DECIMAL(9,4)", "returned ÷ orders with an item of the category (4 places)"),
        Column("order_count", "BIGINT", "orders with an item of the category"),
        Column("sold_order_count", "BIGINT", "of those, not cancelled"),
        Column("returned_count", "BIGINT", "of those, returned"),
    ),
    curated=False,
)
REJECTIONS = Table(
    "rejections",
    "rejected rows and files per batch, file and reason, from the validation reports",
    (
        Column("batch_id", "VARCHAR", "the batch"),
        Column("day", "DATE", "the day (UTC) the batch was validated"),
        Column("file", "VARCHAR", "the file's name"),
        Column("kind", "VARCHAR", "orders, order_items or products (NULL for an unrecognised name)"),
        Column("reason", "VARCHAR", "the reason code (docs/validation.md); a row with two reasons counts under both"),
        Column("row_count", "BIGINT", "rows rejected for this reason (1 for a rejected file)"),
    ),
    curated=False,
)
TABLES: dict[str, Table] = {t.name: t for t in (ORDERS, ORDER_ITEMS, PRODUCTS, ORDER_KPIS, CATEGORY_KPIS, REJECTIONS)}


def _cents(column: str) -> str:
    """Integer cents as an exact DECIMAL(38,2): a multiplication (a decimal division would be a
    DOUBLE in DuckDB)."""
    return f"CAST({column} AS DECIMAL(38,0)) * 0.01"


# How each curated table is read: the documented columns from the stored ones (Parquet as the
# transformer writes it). Both engines read through these, DuckDB over the local copy, Athena over
# the Glue tables (written in its dialect by sqlglot).
_VIEWS = {
    "orders": f"""SELECT order_id, user_id, CAST(order_ts AS TIMESTAMP) AS order_ts,
        CAST(order_date AS DATE) AS order_date, status, {_cents("total_amount_cents")} AS total_amount,
        CAST(num_of_item AS BIGINT) AS num_of_item, batch_id FROM {{source}}""",
    "order_items": f"""SELECT item_key, order_id, product_id, CAST(quantity AS BIGINT) AS quantity,
        {_cents("unit_price_cents")} AS unit_price,
        CAST(quantity AS BIGINT) * {_cents("unit_price_cents")} AS line_amount,
        CAST(order_date AS DATE) AS order_date, batch_id FROM {{source}}""",
    "products": f"""SELECT product_id, category, name, {_cents("price_cents")} AS price FROM {{source}}""",
}
CURATED_TABLES = tuple(_VIEWS)


def view_sql(table: str, source: str) -> str:
    """The SELECT that reads a curated table from `source` (a table name or a table function)."""
    return _VIEWS[table].format(source=source)
