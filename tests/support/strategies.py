"""Hypothesis strategies: random batches of valid and invalid rows in both dialects, split across
files, with the ground truth the tests check the pipeline against (which rows must be accepted,
rejected or held, and the KPIs computed here, independently, from the valid rows alone)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import strategies as st

from validator.dialects import KNOWN_STATUSES

DAYS = ("2025-06-01", "2025-06-02", "2025-06-03")
CATEGORIES = ("Books", "Toys", "Garden & Outdoor")
HEADERS = {
    "seed": {
        "products": "product_id,category,name,price",
        "orders": "order_id,user_id,order_date,total_amount,status",
        "order_items": "order_id,product_id,quantity,unit_price",
    },
    "thelook": {
        "products": "id,category,name,retail_price",
        "orders": "order_id,user_id,status,created_at",
        "order_items": "id,order_id,product_id,sale_price",
    },
}
# Bad rows by kind: (row template, what becomes of it). {k} makes ids unique; none collides with a
# valid id (valid orders are 100.., products 1..9, items 1000..).
BAD_ROWS = {
    "seed": {
        "orders": [
            ("{k},5,2025-13-01,1.00,delivered", "rejected"),
            ("{k},5,2025-06-01,1.00,lost", "rejected"),
            ("{k},,2025-06-01,1.00,delivered", "rejected"),
            ("{k},5,2099-06-01,1.00,delivered", "rejected"),
            ("{k},5,2025-06-01,-3.00,delivered", "rejected"),
            ("{k},5,2025-06-01", "rejected"),
        ],
        "order_items": [
            ("101,{k},0,1.00", "rejected"),
            ("101,{k},1,abc", "rejected"),
            ("101,{k},1,inf", "rejected"),
            ("{k},1,1,1.00", "pending"),
        ],
    },
    "thelook": {
        "orders": [
            ("{k},5,lost,2025-06-01 10:00:00", "rejected"),
            ("{k},5,shipped,01/06/2025", "rejected"),
            ("{k},5,shipped,2099-01-01T00:00:00", "rejected"),
        ],
        "order_items": [
            ("{k},101,1,-1.00", "rejected"),
            ("{k},101,1,", "rejected"),
            ("{k},9999{k},1,1.00", "pending"),
        ],
    },
}


@dataclass
class Batch:
    dialect: str
    products: list[tuple[str, str, int]]  # id, category, price cents
    orders: list[tuple[str, str, str, str]]  # id, user, day, status
    items: list[tuple[str, str, str, int, int]]  # item id, order id, product id, quantity, unit cents
    files: dict[str, bytes]
    bad: dict[str, int]  # "rejected" / "pending" -> how many bad rows were mixed in

    @property
    def rows(self) -> int:
        return len(self.products) + len(self.orders) + len(self.items) + sum(self.bad.values())


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def batches(draw: st.DrawFn, dialect: str | None = None) -> Batch:
    dialect = dialect or draw(st.sampled_from(["seed", "thelook"]))
    n_products = draw(st.integers(1, 5))
    products = [
        (str(i + 1), draw(st.sampled_from(CATEGORIES)), draw(st.integers(0, 50_000))) for i in range(n_products)
    ]
    orders = [
        (str(100 + i), str(draw(st.integers(1, 4))), draw(st.sampled_from(DAYS)), draw(st.sampled_from(KNOWN_STATUSES)))
        for i in range(draw(st.integers(1, 8)))
    ]
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from([o[0] for o in orders]), st.sampled_from([p[0] for p in products])),
            max_size=15,
            unique=dialect == "seed",  # seed items are keyed by (order, product)
        )
    )
    items = [
        (
            str(1000 + j),
            order,
            product,
            1 if dialect == "thelook" else draw(st.integers(1, 5)),
            draw(st.integers(0, 99_999)),
        )
        for j, (order, product) in enumerate(pairs)
    ]
    lines: dict[str, list[str]] = {
        "products": [f"{p},{c},n{p},{_money(cents)}" for p, c, cents in products],
        "orders": [
            f"{o},{u},{d},{_money(1)},{s}" if dialect == "seed" else f"{o},{u},{s},{d} 12:00:00"
            for o, u, d, s in orders
        ],
        "order_items": [
            f"{o},{p},{q},{_money(c)}" if dialect == "seed" else f"{i},{o},{p},{_money(c)}" for i, o, p, q, c in items
        ],
    }
    bad = {"rejected": 0, "pending": 0}
    catalogue = [(kind, row) for kind, rows in BAD_ROWS[dialect].items() for row in rows]
    for k, (kind, (row, what)) in enumerate(draw(st.lists(st.sampled_from(catalogue), max_size=10))):
        lines[kind].append(row.format(k=5000 + k))
        bad[what] += 1
    files: dict[str, bytes] = {}
    for kind, rows in lines.items():
        rows = draw(st.permutations(rows))
        parts = draw(st.integers(1, 3))
        for part in range(parts):
            name = f"{kind}_{part}.csv" if kind != "products" else f"products_{part}.csv"
            chunk = rows[part::parts]
            files[name] = (HEADERS[dialect][kind] + "\n" + "".join(r + "\n" for r in chunk)).encode()
    return Batch(dialect, products, orders, items, files, bad)


def _half_up(numerator: int, denominator: int, places: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def expected_kpis(batch: Batch) -> tuple[list[dict], list[dict]]:
    """Both KPI tables from the definitions in docs/kpis.md, by plain loops over the valid rows."""
    order = {o: (u, d, s) for o, u, d, s in batch.orders}
    category = {p: c for p, c, _ in batch.products}
    days: dict[str, dict] = defaultdict(lambda: {"orders": set(), "users": set(), "returned": 0, "cents": 0, "qty": 0})
    for o, (u, d, s) in order.items():
        day = days[d]
        day["orders"].add(o)
        day["users"].add(u)
        day["returned"] += s == "returned"
    cats: dict[tuple[str, str], dict] = defaultdict(lambda: {"orders": set(), "cents": 0})
    for _, o, p, q, c in batch.items:
        _, d, s = order[o]
        cats[(category[p], d)]["orders"].add(o)
        if s != "cancelled":
            days[d]["cents"] += q * c
            days[d]["qty"] += q
            cats[(category[p], d)]["cents"] += q * c
    order_rows = [
        {
            "order_date": d,
            "total_orders": len(v["orders"]),
            "total_revenue": _half_up(v["cents"], 100, "0.01"),
            "total_items_sold": v["qty"],
            "return_rate": _half_up(v["returned"], len(v["orders"]), "0.0001"),
            "unique_customers": len(v["users"]),
        }
        for d, v in sorted(days.items())
    ]
    category_rows = []
    for (c, d), v in sorted(cats.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        sold = sum(order[o][2] != "cancelled" for o in v["orders"])
        returned = sum(order[o][2] == "returned" for o in v["orders"])
        category_rows.append(
            {
                "category": c,
                "order_date": d,
                "daily_revenue": _half_up(v["cents"], 100, "0.01"),
                "avg_order_value": _half_up(v["cents"], 100 * sold, "0.01") if sold else Decimal("0.00"),
                "avg_return_rate": _half_up(returned, len(v["orders"]), "0.0001"),
            }
        )
    return order_rows, category_rows
