"""The pipeline's KPI tables equal an independent computation: plain SQL in DuckDB over the raw
CSVs (exact DECIMAL arithmetic), on generated data of both dialects with cancelled and returned
orders, multi-item multi-category orders and items split across files."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from ecompipe.generate import Spec, generate
from tests.helpers import kpi_state, run_files

pytestmark = pytest.mark.functional

COLUMNS = {
    "seed": {"ts": "order_date", "qty": "quantity", "price": "unit_price", "pid": "product_id", "pprice": "price"},
    "thelook": {"ts": "created_at", "qty": "1", "price": "sale_price", "pid": "id", "pprice": "retail_price"},
}


def _half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def independent_kpis(directory: Path, dialect: str) -> tuple[list[dict], list[dict]]:
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
        select o.d, count(distinct o.order_id), count(distinct o.user_id),
               count(distinct case when o.status = 'returned' then o.order_id end),
               coalesce((select sum(i.q * i.p) from i join o o2 using (order_id)
                         where o2.d = o.d and o2.status <> 'cancelled'), 0),
               coalesce((select sum(i.q) from i join o o2 using (order_id)
                         where o2.d = o.d and o2.status <> 'cancelled'), 0)
        from o group by o.d order by o.d
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


@pytest.mark.parametrize("dialect", ["seed", "thelook"])
def test_pipeline_kpis_equal_duckdb_sql(resources, tmp_path: Path, dialect: str) -> None:
    files = generate(Spec(order_items=3000, dialect=dialect, days=12, files=4, seed=7))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    statuses = b"".join(data for name, data in files.items() if name.startswith("orders"))
    assert b"cancelled" in statuses and b"returned" in statuses

    run_files(resources, files)
    orders, categories = kpi_state(resources)
    expected_orders, expected_categories = independent_kpis(tmp_path, dialect)

    fields = list(expected_orders[0])
    assert [{k: r[k] for k in fields} for r in orders] == expected_orders
    fields = list(expected_categories[0])
    assert [{k: r[k] for k in fields} for r in categories] == expected_categories
