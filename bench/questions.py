"""Questions over a large curated store: N curated items written as the transformer lays them out
(Parquet partitions per order date), then the embedded engine opened over them and a set of
questions answered, each timed (best of 3). Prints one JSON line per question and a summary.

    python bench/questions.py --items 10000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = (
    "revenue by category last week",
    "which day in March had the highest return rate",
    "top 5 categories by average order value in 2025-03",
    "orders by status last month",
    "customers by week in 2025",
    "revenue this week vs last week",
)
START = date(2025, 1, 1)
DAYS = 120
CATEGORIES = ("Accessories", "Active", "Jeans", "Outerwear & Coats", "Pants", "Shorts", "Sleep & Lounge", "Socks",
              "Suits", "Sweaters", "Swim", "Tops & Tees")  # fmt: skip
STATUSES = ("delivered", "shipped", "processing", "pending", "completed", "cancelled", "returned")


def write_store(directory: Path, items: int, seed: int = 7) -> None:
    """`items` items of items/3 orders over DAYS days, as curated/ holds them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    orders = max(1, items // 3)
    products = 20_000
    order_day = rng.integers(0, DAYS, orders)
    order_of_item = np.sort(rng.integers(0, orders, items))
    product_ids = np.array([str(i) for i in range(products)], dtype=object)
    category = np.array(CATEGORIES, dtype=object)[np.arange(products) % len(CATEGORIES)]
    pq.write_table(
        pa.table({
            "product_id": pa.array(product_ids, pa.large_string()),
            "category": pa.array(category, pa.large_string()),
            "name": pa.array([f"Product {i}" for i in range(products)], pa.large_string()),
            "price_cents": pa.array(rng.integers(100, 50_000, products), pa.int64()),
        }),
        _file(directory / "products" / "products.parquet"),
    )  # fmt: skip
    order_ids = np.arange(orders)
    status = np.array(STATUSES, dtype=object)[rng.integers(0, len(STATUSES), orders)]
    users = rng.integers(0, orders // 4 + 1, orders)
    item_product = rng.integers(0, products, items)
    quantity = rng.integers(1, 4, items)
    price = rng.integers(100, 50_000, items)
    item_day = order_day[order_of_item]
    for d in range(DAYS):
        day = (START + timedelta(days=d)).isoformat()
        mine = np.flatnonzero(order_day == d)
        pq.write_table(
            pa.table({
                "order_id": pa.array(order_ids[mine].astype(str), pa.large_string()),
                "user_id": pa.array(users[mine].astype(str), pa.large_string()),
                "order_ts": pa.array(np.full(len(mine), np.datetime64(day, "us")), pa.timestamp("us")),
                "order_date": pa.array([day] * len(mine), pa.large_string()),
                "status": pa.array(status[mine], pa.large_string()),
                "total_amount_cents": pa.array(np.zeros(len(mine), dtype=np.int64)),
                "num_of_item": pa.array(np.zeros(len(mine), dtype=np.int64)),
                "batch_id": pa.array(["bench"] * len(mine), pa.large_string()),
            }),
            _file(directory / "orders" / f"order_date={day}" / "part.parquet"),
        )  # fmt: skip
        its = np.flatnonzero(item_day == d)
        pq.write_table(
            pa.table({
                "item_key": pa.array(its.astype(str), pa.large_string()),
                "order_id": pa.array(order_of_item[its].astype(str), pa.large_string()),
                "product_id": pa.array(item_product[its].astype(str), pa.large_string()),
                "quantity": pa.array(quantity[its], pa.int64()),
                "unit_price_cents": pa.array(price[its], pa.int64()),
                "order_date": pa.array([day] * len(its), pa.large_string()),
                "batch_id": pa.array(["bench"] * len(its), pa.large_string()),
            }),
            _file(directory / "order_items" / f"order_date={day}" / "part.parquet"),
        )  # fmt: skip


def _file(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000_000)
    ap.add_argument("--store", type=Path, default=None, help="Reuse (or keep) the generated store here.")
    args = ap.parse_args()
    from questions import answers, duck

    store = args.store or Path(tempfile.mkdtemp(prefix="ecompipe-questions-"))
    started = time.perf_counter()
    if not (store / "products" / "products.parquet").exists():
        write_store(store, args.items)
    written = time.perf_counter() - started
    started = time.perf_counter()
    engine = duck.DuckEngine(duck.connect(store, [], [], []))
    opened = time.perf_counter() - started
    today = START + timedelta(days=DAYS - 1)
    limits = answers.Limits(10_000, 60)
    worst = 0.0
    for question in QUESTIONS:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            answer = answers.ask(engine, question, today, limits)
            times.append(time.perf_counter() - t)
        worst = max(worst, min(times))
        print(json.dumps({"question": question, "best_s": round(min(times), 3), "rows": len(answer.rows)}))
    print(json.dumps({"items": args.items, "store_written_s": round(written, 1), "engine_opened_s": round(opened, 3),
                      "slowest_question_best_s": round(worst, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
