"""The peer: DuckDB SQL computing the same two KPI tables straight from the CSV files, with exact
DECIMAL arithmetic. The benchmark times it; the tests use it as the independent computation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

COLUMNS = {
    "seed": {"ts": "order_date", "qty": "quantity", "price": "unit_price", "pid": "product_id", "pprice": "price"},
    "thelook": {"ts": "created_at", "qty": "1", "price": "sale_price", "pid": "id", "pprice": "retail_price"},
}


def _half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def duckdb_kpis(directory: Path, dialect: str) -> tuple[list[dict], list[dict]]:
    c = COLUMNS[dialect]
    con = duckdb.connect()
    con.execute(f"""
        create view o as select order_id, user_id, substr({c["ts"]}, 1, 10) as d, lower(trim(status)) as status
            from read_csv('{directory}/orders_*.csv', all_varchar = true);
        create view i as select order_id, product_id, cast({c["qty"]} as integer) as q,
                cast({c["price"]} as decimal(18, 2)) as p
            from read_csv('{directory}/order_items_*.csv', all_varchar = true);
        create view pr as select {c["pid"]} as product_id, category
            from read_csv('{directory}/products.csv', all_varchar = true);
    """)
    orders = con.execute("""
        with per_day as (
            select d, count(distinct order_id) as n, count(distinct user_id) as users,
                   count(distinct case when status = 'returned' then order_id end) as ret
            from o group by d),
        sold as (
            select o.d, sum(i.q * i.p) as rev, sum(i.q) as items
            from i join o using (order_id) where o.status <> 'cancelled' group by o.d)
        select p.d, p.n, p.users, p.ret, coalesce(s.rev, 0), coalesce(s.items, 0)
        from per_day p left join sold s using (d) order by p.d
    """).fetchall()
    categories = con.execute("""
        with lines as (select o.d, o.order_id, o.status, pr.category, i.q * i.p as amount
                       from i join o using (order_id) join pr using (product_id))
        select category, d,
               sum(case when status <> 'cancelled' then amount else 0 end),
               count(distinct order_id),
               count(distinct case when status <> 'cancelled' then order_id end),
               count(distinct case when status = 'returned' then order_id end)
        from lines group by category, d order by d, category
    """).fetchall()
    order_rows = [
        {
            "order_date": d,
            "total_orders": n,
            "total_revenue": _half_up(Decimal(rev), "0.01"),
            "total_items_sold": int(items),
            "return_rate": _half_up(Decimal(ret) / Decimal(n), "0.0001"),
            "unique_customers": users,
        }
        for d, n, users, ret, rev, items in orders
    ]
    category_rows = [
        {
            "category": cat,
            "order_date": d,
            "daily_revenue": _half_up(Decimal(rev), "0.01"),
            "avg_order_value": _half_up(Decimal(rev) / sold, "0.01") if sold else Decimal("0.00"),
            "avg_return_rate": _half_up(Decimal(ret) / Decimal(n), "0.0001"),
        }
        for cat, d, rev, n, sold, ret in categories
    ]
    return order_rows, category_rows
