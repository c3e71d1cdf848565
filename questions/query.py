"""A question as an object, and the SQL built from it (pure). The SQL is made of this module's
own templates; the only values in it are dates (date objects written in ISO form), whole numbers
and category or status names taken from the data's own list and written as escaped literals —
never words of the question. Measures follow docs/kpis.md to the cent: sold orders are those not
cancelled; averages and rates round half-up on exact integers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlglot import exp

REVENUE, ORDERS, ITEMS_SOLD, RETURN_RATE, AOV, CUSTOMERS, REJECTED = (
    "revenue", "orders", "items_sold", "return_rate", "average_order_value", "customers", "rejected_rows"
)  # fmt: skip
MEASURE_WORDS = {
    REVENUE: "revenue",
    ORDERS: "orders",
    ITEMS_SOLD: "items sold",
    RETURN_RATE: "return rate",
    AOV: "average order value",
    CUSTOMERS: "customers",
    REJECTED: "rejected rows",
}
DAY, WEEK, MONTH, CATEGORY, STATUS, REASON = "day", "week", "month", "category", "status", "reason"
PRODUCT, CUSTOMER = "product", "customer"
ORDER_DIMENSIONS = (DAY, WEEK, MONTH, CATEGORY, STATUS, PRODUCT, CUSTOMER)
REJECTION_DIMENSIONS = (DAY, WEEK, MONTH, REASON)

_SOLD = "status <> 'cancelled'"
_REVENUE = f"SUM(line_amount) FILTER (WHERE {_SOLD})"
_SOLD_ORDERS = f"COUNT(DISTINCT order_id) FILTER (WHERE {_SOLD})"
_MEASURE_SQL = {
    REVENUE: f"COALESCE({_REVENUE}, 0.00)",
    ORDERS: "COUNT(DISTINCT order_id)",
    ITEMS_SOLD: f"COALESCE(SUM(quantity) FILTER (WHERE {_SOLD}), 0)",
    CUSTOMERS: "COUNT(DISTINCT user_id)",
    # half-up to the cent and to 4 places, on exact integers: (2a + b) // 2b (BIGINT cents: a sum past
    # 9.2 * 10^16 currency units is an overflow error, never a wrong number)
    AOV: f"CASE WHEN {_SOLD_ORDERS} = 0 THEN 0.00 ELSE CAST((2 * CAST({_REVENUE} * 100 AS BIGINT) + {_SOLD_ORDERS})"
    f" // (2 * {_SOLD_ORDERS}) AS DECIMAL(38,0)) * 0.01 END",
    RETURN_RATE: "CASE WHEN COUNT(DISTINCT order_id) = 0 THEN NULL ELSE CAST((20000 * COUNT(DISTINCT order_id) "
    "FILTER (WHERE status = 'returned') + COUNT(DISTINCT order_id)) // (2 * COUNT(DISTINCT order_id)) "
    "AS DECIMAL(38,0)) * 0.0001 END",
    REJECTED: "COALESCE(SUM(row_count), 0)",
}
_DIMENSION_SQL = {
    DAY: "{date}",
    WEEK: "CAST(date_trunc('week', {date}) AS DATE)",
    MONTH: "strftime({date}, '%Y-%m')",
    CATEGORY: "category",
    STATUS: "status",
    REASON: "reason",
    PRODUCT: "product_id",
    CUSTOMER: "user_id",
}
# what a breakdown's rows carry beside their key: a product's name from the catalogue
_DIMENSION_EXTRA = {PRODUCT: "MIN(name) AS name"}
# an order without lines has no category or product to be counted under
_NEEDS_A_LINE = {CATEGORY: "category IS NOT NULL", PRODUCT: "product_id IS NOT NULL"}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    words: str  # how the question said it, in our words: "last week", "March 2025"

    def describe(self) -> str:
        span = self.start.isoformat() if self.start == self.end else f"{self.start} to {self.end}"
        return span if self.words == span else f"{self.words} ({span})"


@dataclass(frozen=True)
class Rank:
    highest: bool
    n: int


@dataclass(frozen=True)
class Question:
    measure: str
    by: str | None = None
    period: Period | None = None
    versus: Period | None = None  # a second period: the answer has one row per period (and dimension)
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    kind: str | None = None  # rejected rows of one file kind
    rank: Rank | None = None
    more: tuple[str, ...] = ()  # further measures, each a column after the first ("revenue and orders")
    products: tuple[str, ...] = ()  # product ids of the catalogue: only their lines count
    product_names: tuple[str, ...] = ()  # product names of the catalogue, likewise

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.measure, *self.more)


def _literal(value: str) -> str:
    return exp.Literal.string(value).sql(dialect="duckdb")


def _between(column: str, period: Period) -> str:
    return f"{column} BETWEEN DATE '{period.start.isoformat()}' AND DATE '{period.end.isoformat()}'"


def to_sql(q: Question) -> str:
    """The one SELECT that answers the question."""
    rejected = q.measure == REJECTED
    date_column = "day" if rejected else "order_date"
    columns, group = [], []
    if q.versus is not None and q.period is not None:
        first, second = _literal(q.period.words), _literal(q.versus.words)
        label = f"CASE WHEN {_between(date_column, q.period)} THEN {first} ELSE {second} END"
        columns.append(f"{label} AS period")
        group.append("period")
    if q.by is not None:
        columns.append(f"{_DIMENSION_SQL[q.by].format(date=date_column)} AS {q.by}")
        columns += [_DIMENSION_EXTRA[q.by]] if q.by in _DIMENSION_EXTRA else []
        group.append(q.by)
    columns += [f"{_MEASURE_SQL[m]} AS {m}" for m in q.measures]
    where = []
    if q.period is not None:
        spans = [_between(date_column, q.period)] + ([_between(date_column, q.versus)] if q.versus else [])
        where.append("(" + " OR ".join(spans) + ")")
    if q.categories:
        where.append(f"category IN ({', '.join(map(_literal, q.categories))})")
    elif q.by in _NEEDS_A_LINE:
        where.append(_NEEDS_A_LINE[q.by])
    if q.statuses:
        where.append(f"status IN ({', '.join(map(_literal, q.statuses))})")
    products = [f"product_id IN ({', '.join(map(_literal, q.products))})"] if q.products else []
    products += [f"name IN ({', '.join(map(_literal, q.product_names))})"] if q.product_names else []
    if products:
        where.append("(" + " OR ".join(products) + ")")
    if q.kind is not None:
        where.append(f"kind = {_literal(q.kind)}")
    source = "rejections" if rejected else _ORDER_LINES
    sql = f"SELECT {', '.join(columns)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group:
        sql += " GROUP BY " + ", ".join(group)
    if q.versus is not None:
        return _with_change(q, sql, group)
    return sql + _order(q, group)


def _with_change(q: Question, grouped: str, group: list[str]) -> str:
    """A comparison of two periods, each measure followed by its change: on the first period's row,
    its value minus the second period's (of the same breakdown value; empty when that has none)."""
    assert q.period is not None
    first = f"period = {_literal(q.period.words)}"
    within = f"PARTITION BY {q.by} " if q.by else ""
    changes = [f"{m} - LEAD({m}) OVER ({within}ORDER BY {first} DESC) AS {m}_change" for m in q.measures]
    columns = ", ".join([*group, *(f"{m}" for m in q.measures), *changes])
    return f"SELECT {columns} FROM ({grouped}) AS compared" + _order(q, group)


# every order with its lines and their categories (an order without lines keeps one row)
_ORDER_LINES = (
    "(SELECT o.order_id, o.user_id, o.status, o.order_date, i.quantity, i.line_amount, i.product_id, p.category, "
    "p.name "
    "FROM orders AS o LEFT JOIN order_items AS i ON i.order_id = o.order_id "
    "LEFT JOIN products AS p ON p.product_id = i.product_id) AS lines"
)


def _order(q: Question, group: list[str]) -> str:
    if q.rank is not None:
        direction = "DESC" if q.rank.highest else "ASC"
        ties = f", {q.by} ASC" if q.by else ""
        return f" ORDER BY {q.measure} {direction} NULLS LAST{ties} LIMIT {int(q.rank.n)}"
    if not group:
        return ""
    keys = []
    if "period" in group and q.period is not None:
        keys.append(f"period = {_literal(q.period.words)} DESC")
    keys += [f"{g} ASC" for g in group if g != "period"]
    return " ORDER BY " + ", ".join(keys)


_SUBJECTS = {
    DAY: ("day", "days"), WEEK: ("week", "weeks"), MONTH: ("month", "months"),
    CATEGORY: ("category", "categories"), STATUS: ("status", "statuses"), REASON: ("reason", "reasons"),
    PRODUCT: ("product", "products"), CUSTOMER: ("customer", "customers"),
}  # fmt: skip


def interpretation(q: Question) -> str:
    """The question as it was understood, in words: "revenue per category, last week (2025-03-17 to 2025-03-23)"."""
    words = " and ".join(MEASURE_WORDS[m] for m in q.measures)
    if q.kind is not None:
        words += f" of {q.kind} files"
    if q.rank is not None:
        which = ("top" if q.rank.highest else "bottom") + (f" {q.rank.n}" if q.rank.n != 1 else "")
        one, many = _SUBJECTS.get(q.by or "", ("result", "results"))
        text = f"{which} {one if q.rank.n == 1 else many} by {words}"
    else:
        text = words + (f" per {q.by}" if q.by else "")
    if q.categories:
        text += ", " + ("category " if len(q.categories) == 1 else "categories ") + ", ".join(q.categories)
    if q.statuses:
        text += ", status " + ", ".join(q.statuses)
    if q.products or q.product_names:
        named = [f"id {p}" for p in q.products] + [f'"{n}"' for n in q.product_names]
        text += ", product " + ", ".join(named)
    if q.period is not None:
        text += ", " + q.period.describe()
        if q.versus is not None:
            text += " vs " + q.versus.describe() + ", with the change"
    else:
        text += ", all dates"
    return text


SUMMARY_MEASURES = (ORDERS, REVENUE, ITEMS_SOLD, RETURN_RATE, AOV, CUSTOMERS)


def summary_sql(period: Period, categories: tuple[str, ...] = (), by: str | None = None) -> str:
    """Every order measure over a period (optionally of some categories), in one row or one per
    category or status: what GET /api/summary answers."""
    assert by in (None, CATEGORY, STATUS)
    columns = ([f"{by} AS {by}"] if by else []) + [f"{_MEASURE_SQL[m]} AS {m}" for m in SUMMARY_MEASURES]
    where = [_between("order_date", period)]
    if categories:
        where.append(f"category IN ({', '.join(map(_literal, categories))})")
    elif by == CATEGORY:
        where.append("category IS NOT NULL")
    sql = f"SELECT {', '.join(columns)} FROM {_ORDER_LINES} WHERE {' AND '.join(where)}"
    return sql + (f" GROUP BY {by} ORDER BY {by} ASC" if by else "")
