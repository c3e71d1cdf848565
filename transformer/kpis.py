"""KPI computation (DESIGN §3), pure: canonical frames in, KPI frames out, all in integers.

Money is integer cents; rates are integer ten-thousandths; divisions round half-up. Nothing is
accumulated in floats and no sum can wrap (ecompipe.core.money), so every figure is exact to the cent.

The joins and group sums run in DuckDB over the frames' own Arrow buffers (issue 39): items
joined to their orders and products by a hash join, grouped by date, or by category and date,
with every sum in DuckDB's 128-bit integers and read back as text, so each is an exact Python
int. At 10M order items both KPI tables took 13.8 s through Arrow lookups and numpy group sums,
and take ~4 s here (DuckDB partitions its hash tables, and the lookups grew faster than the rows).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core import duck, money_frames
from ecompipe.core import kpis as model
from ecompipe.core.arrow import arrow_column

CANCELLED = "cancelled"
RETURNED = "returned"

ORDER_KPI_COLUMNS = [model.column(f) for f in model.ORDER_FIELDS + model.ORDER_EXTRA]
CATEGORY_KPI_COLUMNS = [model.column(f) for f in model.CATEGORY_FIELDS + model.CATEGORY_EXTRA]
# the figures that are sums over orders (a date's, or a part's: transformer.partials)
ORDER_SUMS = ["total_orders", "returned_orders", "sold_orders", "total_revenue_cents", "total_items_sold"]
CATEGORY_SUMS = ["order_count", "sold_order_count", "returned_count", "daily_revenue_cents"]

# each item of an order there is (an item of no order is left out), in integers only: its order's
# date code, position and status, its own position, its product's category code (null: not in the
# catalogue, or no catalogue given), its quantity and cents
_LINES = """
CREATE TEMP TABLE lines AS
SELECT o.day, o.position, o.returned, o.sold, i.item, {category} AS category, i.quantity,
       i.quantity * i.unit_price_cents AS cents
FROM items i JOIN orders o USING (order_id) {products}
"""
_ORDER_SUMS = """
SELECT o.day, o.total_orders, o.returned_orders, o.sold_orders, coalesce(l.revenue, '0'), coalesce(l.items_sold, '0')
FROM (SELECT day, count(*) AS total_orders, count(*) FILTER (returned) AS returned_orders,
             count(*) FILTER (sold) AS sold_orders
      FROM orders GROUP BY day) o
LEFT JOIN (SELECT day, sum(cents)::VARCHAR AS revenue, sum(quantity)::VARCHAR AS items_sold
           FROM lines WHERE sold GROUP BY day) l USING (day)
"""
_ORDER_IDS = "SELECT count(*), count(order_id), count(DISTINCT order_id) FROM orders"
_CUSTOMERS = "SELECT day, count(DISTINCT user_id) FROM orders GROUP BY day"
# "orders with an item of C": per order first (an order counts once per category), then per category
_CATEGORY_SUMS = """
WITH per_order AS (
    SELECT category, any_value(day) AS day, bool_or(sold) AS sold, bool_or(returned) AS returned,
           sum(CASE WHEN sold THEN cents ELSE 0 END) AS revenue
    FROM lines GROUP BY category, position)
SELECT category, day, count(*), count(*) FILTER (sold), count(*) FILTER (returned), sum(revenue)::VARCHAR
FROM per_order GROUP BY category, day
"""


class _Batch:
    """The frames as DuckDB tables over their Arrow buffers, and their items joined to their
    orders (and products) once (`lines`), shared by the order and the category figures. Dates and
    categories are grouped by their codes and orders by their position: integers hash faster than
    text, and the joined lines hold no text (10M items: ~0.5 GiB less)."""

    def __init__(
        self,
        db: duckdb.DuckDBPyConnection,
        orders: pd.DataFrame,
        items: pd.DataFrame,
        products: pd.DataFrame | None = None,
    ) -> None:
        self.db, self.items = db, items
        ids = arrow_column(orders["order_id"])
        dates = pc.dictionary_encode(arrow_column(orders["order_date"]))
        self.dates: list[str] = dates.dictionary.to_pylist()
        status = arrow_column(orders["status"])
        order_table = {
            "order_id": ids,
            "day": dates.indices,
            "returned": pc.equal(status, RETURNED),
            "sold": pc.not_equal(status, CANCELLED),
            "user_id": arrow_column(orders["user_id"]),
            "position": np.arange(len(orders)),
        }
        self.db.register("orders", pa.table(order_table))
        self.db.register("items", _table(items, ["order_id", "product_id"], ["quantity", "unit_price_cents"], "item"))
        [(rows, present, distinct)] = self.rows(_ORDER_IDS)
        if not rows == present == distinct:
            raise ValueError("order ids must be unique in the orders the KPIs are computed from")
        joined = {"category": "NULL::BIGINT", "products": ""}
        self.categories: list[str] = []
        if products is not None:
            catalogue = products.drop_duplicates("product_id")  # (a product once: its first row)
            categories = pc.dictionary_encode(arrow_column(catalogue["category"]))
            self.categories = categories.dictionary.to_pylist()
            codes = pa.table({"product_id": arrow_column(catalogue["product_id"]), "code": categories.indices})
            self.db.register("products", codes)
            joined = {"category": "p.code", "products": "LEFT JOIN products p USING (product_id)"}
        self.db.execute(_LINES.format(**joined))

    def rows(self, query: str) -> list[tuple]:
        return self.db.sql(query).fetchall()

    def order_sums(self) -> pd.DataFrame:
        """Per order date: the orders, the returned and sold ones, and the sold orders' revenue and items."""
        rows = self.rows(_ORDER_SUMS)
        out = pd.DataFrame({"order_date": pd.Series([self.dates[r[0]] for r in rows], dtype="str")})
        for i, column in enumerate(ORDER_SUMS, start=1):
            values = [int(r[i]) for r in rows]
            money = column in ("total_revenue_cents", "total_items_sold")  # exact sums, as Python ints
            out[column] = pd.Series(values, dtype=object) if money else np.array(values, dtype=np.int64)
        return out

    def customers(self) -> dict[str, int]:
        """Per order date, its distinct users."""
        return {self.dates[day]: count for day, count in self.rows(_CUSTOMERS)}

    def category_kpis(self) -> pd.DataFrame:
        unknown = self.db.sql("SELECT item FROM lines WHERE category IS NULL").to_arrow_table()["item"]
        if len(unknown):
            named = arrow_column(self.items["product_id"]).take(unknown)
            raise ValueError(f"items reference products with no category: {sorted(set(named.to_pylist()))[:5]}")
        rows = self.rows(_CATEGORY_SUMS)
        if not rows:
            return pd.DataFrame(columns=CATEGORY_KPI_COLUMNS)
        out = pd.DataFrame(
            {
                "category": pd.Series([self.categories[r[0]] for r in rows], dtype="str"),
                "order_date": pd.Series([self.dates[r[1]] for r in rows], dtype="str"),
                **{c: np.array([r[i] for r in rows], dtype=np.int64) for i, c in enumerate(CATEGORY_SUMS[:3], 2)},
                "daily_revenue_cents": _exact([int(r[5]) for r in rows]),
            }
        )
        out["avg_order_value_cents"] = money_frames.div_half_up(out["daily_revenue_cents"], out["sold_order_count"])
        out["avg_return_rate_e4"] = money_frames.div_half_up(out["returned_count"] * 10_000, out["order_count"])
        return out.sort_values(["order_date", "category"], ignore_index=True)[CATEGORY_KPI_COLUMNS]


def _table(frame: pd.DataFrame, text: list[str], whole: list[str], position: str) -> pa.Table:
    """These columns of the frame as an Arrow table (text as large strings: zero-copy for pandas'
    Arrow-backed strings; integers as int64) and each row's position."""
    columns = {c: arrow_column(frame[c]) for c in text}
    columns.update({c: pa.array(frame[c].to_numpy(dtype="int64")) for c in whole})
    return pa.table({**columns, position: np.arange(len(frame))})


def _exact(values: list[int]) -> pd.Series:
    """Exact sums: int64 when every one fits, else Python ints."""
    if all(v < 2**63 for v in values):
        return pd.Series(values, dtype=np.int64)
    return pd.Series(values, dtype=object)


def order_kpis(orders: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """One row per order date present in `orders` (pass every order and item of those dates; order
    ids unique). Sums are exact Python integers (ecompipe.core.money), counts int64."""
    if orders.empty:
        return pd.DataFrame(columns=ORDER_KPI_COLUMNS)
    with duck.cursor() as db:
        return _order_kpis(_Batch(db, orders, items))


def kpi_tables(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """order_kpis and category_kpis of the same rows, the items joined to their orders once."""
    if orders.empty:
        return order_kpis(orders, items), category_kpis(orders, items, products)
    with duck.cursor() as db:
        batch = _Batch(db, orders, items, products)
        return _order_kpis(batch), batch.category_kpis()


def _order_kpis(batch: _Batch) -> pd.DataFrame:
    out = batch.order_sums()
    customers = batch.customers()
    out["unique_customers"] = np.array([customers[d] for d in out["order_date"]], dtype=np.int64)
    out["return_rate_e4"] = money_frames.div_half_up(out["returned_orders"] * 10_000, out["total_orders"])
    return out[ORDER_KPI_COLUMNS].sort_values("order_date", ignore_index=True)


def category_kpis(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """One row per (category, date) with at least one item of that category on that date."""
    with duck.cursor() as db:
        return _Batch(db, orders, items, products).category_kpis()


def sums_of(orders: pd.DataFrame, items: pd.DataFrame, products: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The figures of order_kpis that are sums (per date: orders, returned and sold orders, revenue
    and items sold; not unique_customers) and category_kpis, of the same rows: the items joined to
    their orders once (transformer.partials, a part standing in for a date)."""
    with duck.cursor() as db:
        batch = _Batch(db, orders, items, products)
        return batch.order_sums(), batch.category_kpis()


def order_records(frame: pd.DataFrame) -> list[dict]:
    """OrderKPIs items: the model's fields and extras, as DynamoDB stores them."""
    return _records(frame, model.ORDER_FIELDS + model.ORDER_EXTRA)


def category_records(frame: pd.DataFrame) -> list[dict]:
    """CategoryKPIs items (DESIGN §3 names)."""
    return _records(frame, model.CATEGORY_FIELDS + model.CATEGORY_EXTRA)


def _records(frame: pd.DataFrame, fields: list[str]) -> list[dict]:
    columns = {f: frame[model.column(f)].tolist() for f in fields}
    return [{f: model.stored(f, columns[f][i]) for f in fields} for i in range(len(frame))]
