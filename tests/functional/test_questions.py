"""Every documented question shape (docs/queries.md) answered by `questions.answers.ask` equals the
answer of SQL written by hand here, over the same curated Parquet files read directly (and the raw
validation reports for rejections), on the public lab data and on generated data with every
status and bad rows. Nothing of the project computes the expected rows."""

from __future__ import annotations

import calendar
import string
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from questions import answers, duck

pytestmark = pytest.mark.functional

LIMITS = answers.Limits(max_rows=1000, timeout_seconds=30)


class Hand:
    """SQL written here over the raw Parquet files and reports, and the dates the questions use."""

    def __init__(self, store: dict) -> None:
        base = Path(store["curated"])
        self.con = duckdb.connect()
        self.con.execute(
            f"CREATE VIEW o AS SELECT * FROM read_parquet('{base}/orders/*/*/*.parquet', hive_partitioning = false)"
        )
        items = f"{base}/order_items/*/*/*.parquet"
        self.con.execute(f"CREATE VIEW i AS SELECT * FROM read_parquet('{items}', hive_partitioning = false)")
        self.con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet('{base}/products/products.parquet')")
        self.con.execute(
            "CREATE VIEW lines AS SELECT o.order_id, o.user_id, o.status, o.order_date, i.quantity, "
            "i.quantity * i.unit_price_cents AS cents, p.category "
            "FROM o LEFT JOIN i ON i.order_id = o.order_id LEFT JOIN p ON p.product_id = i.product_id"
        )
        self.con.execute("CREATE VIEW clines AS SELECT * FROM lines WHERE category IS NOT NULL")
        self.con.execute(
            "CREATE VIEW plines AS SELECT o.order_id, o.user_id, o.status, o.order_date, i.quantity, "
            "i.quantity * i.unit_price_cents AS cents, i.product_id, p.name "
            "FROM o JOIN i ON i.order_id = o.order_id LEFT JOIN p ON p.product_id = i.product_id"
        )
        self.con.execute("CREATE TABLE reports (r JSON)")
        for text in store["reports"]:
            self.con.execute("INSERT INTO reports VALUES (?)", [text])
        last = self.con.execute("SELECT max(order_date) FROM o").fetchone()[0]
        self.today = date.fromisoformat(last)
        t = self.today
        monday = t - timedelta(days=t.weekday())
        first = t.replace(day=1)
        last_month_end = first - timedelta(days=1)
        cats = [r[0] for r in self.con.execute("SELECT DISTINCT category FROM p ORDER BY 1").fetchall()]
        # the product with the most items last month whose name holds no quote (it is written in quotes)
        pid, pname = self.con.execute(
            "SELECT i.product_id, p.name FROM i JOIN p USING (product_id) JOIN o USING (order_id) "
            "WHERE p.name IS NOT NULL AND p.name NOT LIKE '%''%' AND p.name NOT LIKE '%\"%' "
            "AND o.order_date BETWEEN ? AND ? "
            "GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT 1",
            [str((t.replace(day=1) - timedelta(days=1)).replace(day=1)), str(t.replace(day=1) - timedelta(days=1))],
        ).fetchone()
        self.vars = {
            "T": t, "Y": t - timedelta(days=1), "D5": t - timedelta(days=5),
            "W0": monday, "W1": monday + timedelta(days=6),
            "LW0": monday - timedelta(days=7), "LW1": monday - timedelta(days=1),
            "M0": first, "M1": first.replace(day=calendar.monthrange(t.year, t.month)[1]),
            "LM0": last_month_end.replace(day=1), "LM1": last_month_end,
            "L7": t - timedelta(days=6), "B0": t - timedelta(days=20), "B1": t - timedelta(days=10),
            "C1": cats[0], "C2": cats[1], "LMNAME": last_month_end.strftime("%B %Y"), "P1": pid, "PN": pname,
        }  # fmt: skip

    def rows(self, sql: str) -> list[tuple]:
        sql = string.Template(sql).substitute(PIECES)
        return self.con.execute(sql.format(**{k: str(v) for k, v in self.vars.items()})).fetchall()


SOLD = "CASE WHEN status <> 'cancelled' THEN {x} ELSE 0 END"
NSOLD = "COUNT(DISTINCT CASE WHEN status <> 'cancelled' THEN order_id END)"
REV = "SUM(" + SOLD.format(x="cents") + ")"
# $NAME in a hand query stands for one of these pieces, then {NAME} for a date of Hand.vars
PIECES = {
    "REV": REV,
    "ITEMS": "SUM(" + SOLD.format(x="quantity") + ")",
    "RATE": "(20000 * COUNT(DISTINCT CASE WHEN status = 'returned' THEN order_id END) + COUNT(DISTINCT order_id))"
    " // (2 * COUNT(DISTINCT order_id))",
    "AOV": f"CASE WHEN {NSOLD} = 0 THEN 0 ELSE (2 * {REV} + {NSOLD}) // (2 * {NSOLD}) END",
    "WEEK": "CAST(date_trunc('week', CAST(order_date AS DATE)) AS DATE)",
    "LW": "order_date BETWEEN '{LW0}' AND '{LW1}'",
    "LM": "order_date BETWEEN '{LM0}' AND '{LM1}'",
    "TM": "order_date BETWEEN '{M0}' AND '{M1}'",
    "TW": "order_date BETWEEN '{W0}' AND '{W1}'",
    "BY1": "GROUP BY 1 ORDER BY 1",
    "REJ": """(SELECT CAST(substr(r->>'generated_at', 1, 10) AS DATE) AS day, f->>'kind' AS kind, reason,
          CAST(f->'reasons'->>reason AS BIGINT) AS n
          FROM (SELECT r, unnest(CAST(r->'files' AS JSON[])) AS f FROM reports),
               LATERAL (SELECT unnest(json_keys(f->'reasons')) AS reason)
          WHERE reason NOT IN ('unknown_order', 'unknown_product'))""",
}

# (question, hand SQL, how each column of the hand rows is written: t text, c cents, n count, r rate e4);
# `clines` are the lines that have a category (an order without lines has none)
SHAPES = [
    ("total revenue", "SELECT $REV FROM lines", "c"),
    ("revenue yesterday", "SELECT $REV FROM lines WHERE order_date = '{Y}'", "c"),
    ("revenue today", "SELECT $REV FROM lines WHERE order_date = '{T}'", "c"),
    ("revenue on {D5}", "SELECT $REV FROM lines WHERE order_date = '{D5}'", "c"),
    ("revenue by day last week", "SELECT order_date, $REV FROM lines WHERE $LW $BY1", "tc"),
    ("revenue by week in {LMNAME}", "SELECT $WEEK, $REV FROM lines WHERE $LM $BY1", "tc"),
    ("revenue by month", "SELECT substr(order_date, 1, 7), $REV FROM lines $BY1", "tc"),
    ("revenue by category last week", "SELECT category, $REV FROM clines WHERE $LW $BY1", "tc"),
    ("revenue for {C1} last month", "SELECT $REV FROM lines WHERE category = '{C1}' AND $LM", "c"),
    ("revenue for {C1} and {C2} by day last week",
     "SELECT order_date, $REV FROM lines WHERE category IN ('{C1}', '{C2}') AND $LW $BY1", "tc"),
    ("revenue this week vs last week",
     "WITH t AS (SELECT $REV AS x FROM lines WHERE $TW), l AS (SELECT $REV AS x FROM lines WHERE $LW) "
     "SELECT 'this week', t.x, t.x - l.x FROM t, l UNION ALL SELECT 'last week', x, NULL FROM l", "tcc"),
    ("revenue by category this month vs last month",
     "WITH t AS (SELECT category, $REV AS x FROM clines WHERE $TM GROUP BY 1), "
     "l AS (SELECT category, $REV AS x FROM clines WHERE $LM GROUP BY 1) "
     "SELECT 'this month' AS period, t.category AS c, t.x, t.x - l.x FROM t LEFT JOIN l USING (category) "
     "UNION ALL SELECT 'last month', category, x, NULL FROM l ORDER BY period = 'this month' DESC, c", "ttcc"),
    ("revenue for product id {P1} last month", "SELECT $REV FROM plines WHERE product_id = '{P1}' AND $LM", "c"),
    ('orders for product "{PN}" by week in {LMNAME}',
     "SELECT $WEEK, COUNT(DISTINCT order_id) FROM plines WHERE name = '{PN}' AND $LM $BY1", "tn"),
    ("revenue and orders by day last week",
     "SELECT order_date, $REV, COUNT(DISTINCT order_id) FROM lines WHERE $LW $BY1", "tcn"),
    ("orders and customers this week vs last week",
     "WITH t AS (SELECT COUNT(DISTINCT order_id) AS n, COUNT(DISTINCT user_id) AS u FROM o WHERE $TW), "
     "l AS (SELECT COUNT(DISTINCT order_id) AS n, COUNT(DISTINCT user_id) AS u FROM o WHERE $LW) "
     "SELECT 'this week', t.n, t.u, t.n - l.n, t.u - l.u FROM t, l "
     "UNION ALL SELECT 'last week', n, u, NULL, NULL FROM l",
     "tnnnn"),
    ("orders last month", "SELECT COUNT(DISTINCT order_id) FROM o WHERE $LM", "n"),
    ("orders by status last month", "SELECT status, COUNT(*) FROM o WHERE $LM $BY1", "tn"),
    ("orders by category last week", "SELECT category, COUNT(DISTINCT order_id) FROM clines WHERE $LW $BY1", "tn"),
    ("orders for delivered by day last week",
     "SELECT order_date, COUNT(*) FROM o WHERE status = 'delivered' AND $LW $BY1", "tn"),
    ("items sold by category between {B0} and {B1}",
     "SELECT category, $ITEMS FROM clines WHERE order_date BETWEEN '{B0}' AND '{B1}' $BY1", "tn"),
    ("items sold in the last 7 days", "SELECT $ITEMS FROM lines WHERE order_date BETWEEN '{L7}' AND '{T}'", "n"),
    ("return rate by day last week", "SELECT order_date, $RATE FROM lines WHERE $LW $BY1", "tr"),
    ("return rate by category last month", "SELECT category, $RATE FROM clines WHERE $LM $BY1", "tr"),
    ("which day in {LMNAME} had the highest return rate",
     "SELECT order_date, $RATE AS x FROM lines WHERE $LM GROUP BY 1 ORDER BY x DESC, 1 LIMIT 1", "tr"),
    ("average order value last month", "SELECT $AOV FROM lines WHERE $LM", "c"),
    ("average order value by category last week", "SELECT category, $AOV FROM clines WHERE $LW $BY1", "tc"),
    ("top 5 categories by average order value in 2025-03",
     "SELECT category, $AOV AS x FROM clines WHERE order_date BETWEEN '2025-03-01' AND '2025-03-31' "
     "GROUP BY 1 ORDER BY x DESC, 1 LIMIT 5", "tc"),
    ("customers last month", "SELECT COUNT(DISTINCT user_id) FROM o WHERE $LM", "n"),
    ("customers by week in 2025",
     "SELECT $WEEK, COUNT(DISTINCT user_id) FROM o WHERE order_date BETWEEN '2025-01-01' AND '2025-12-31' $BY1", "tn"),
    ("top 3 days by revenue in {LMNAME}",
     "SELECT order_date, $REV AS x FROM lines WHERE $LM GROUP BY 1 ORDER BY x DESC, 1 LIMIT 3", "tc"),
    ("which category had the most revenue yesterday",
     "SELECT category, $REV AS x FROM clines WHERE order_date = '{Y}' GROUP BY 1 ORDER BY x DESC, 1 LIMIT 1", "tc"),
    ("lowest 3 categories by return rate last month",
     "SELECT category, $RATE AS x FROM clines WHERE $LM GROUP BY 1 ORDER BY x ASC, 1 LIMIT 3", "tr"),
    ("which week had the fewest orders in 2025",
     "SELECT $WEEK AS w, COUNT(*) AS x FROM o WHERE order_date LIKE '2025-%' GROUP BY 1 ORDER BY x, 1 LIMIT 1", "tn"),
    ("revenue by product yesterday", "SELECT product_id, min(name), $REV FROM plines WHERE order_date = '{Y}' $BY1",
     "ttc"),
    ("top 5 products by revenue in {LMNAME}",
     "SELECT product_id, min(name), $REV AS x FROM plines WHERE $LM GROUP BY 1 ORDER BY x DESC, 1 LIMIT 5", "ttc"),
    ("best selling product last month",
     "SELECT product_id, min(name), $ITEMS AS x FROM plines WHERE $LM GROUP BY 1 ORDER BY x DESC, 1 LIMIT 1", "ttn"),
    ("how many customers ordered last week", "SELECT COUNT(DISTINCT user_id) FROM o WHERE $LW", "n"),
    ("top 10 customers by revenue in {LMNAME}",
     "SELECT user_id, $REV AS x FROM lines WHERE $LM GROUP BY 1 ORDER BY x DESC, 1 LIMIT 10", "tc"),
    ("rejected rows by reason", "SELECT reason, SUM(n) FROM $REJ $BY1", "tn"),
    ("how many orders did we reject on 2026-11-22 and why",
     "SELECT reason, SUM(n) FROM $REJ WHERE kind = 'orders' AND day = DATE '2026-11-22' $BY1", "tn"),
    ("rejected rows by day", "SELECT day, SUM(n) FROM $REJ $BY1", "tn"),
]  # fmt: skip


def _written(value: object, how: str) -> object:
    if value is None:
        return None
    if how == "c":
        return f"{Decimal(int(value)).scaleb(-2):.2f}"
    if how == "r":
        return f"{Decimal(int(value)).scaleb(-4):.4f}"
    if how == "n":
        return int(value)  # type: ignore[call-overload]
    return str(value)


@pytest.fixture(scope="session")
def both(stores: dict) -> dict[str, tuple[Hand, duck.DuckEngine]]:
    """Per data set: the hand-written side and the engine (one connection each for the session)."""
    out = {}
    for name, store in stores.items():
        con = duck.connect(Path(store["curated"]), store["order_kpis"], store["category_kpis"], store["rejections"])
        out[name] = (Hand(store), duck.DuckEngine(con))
    return out


@pytest.mark.parametrize("dataset", ["lab", "generated"])
@pytest.mark.parametrize(("question", "hand_sql", "kinds"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_question_shape_equals_hand_written_sql(
    both: dict, dataset: str, question: str, hand_sql: str, kinds: str
) -> None:
    hand, engine = both[dataset]
    text = question.format(**{k: str(v) for k, v in hand.vars.items()})
    answer = answers.ask(engine, text, hand.today, LIMITS).to_json()
    expected = [[_written(v, k) for v, k in zip(row, kinds, strict=True)] for row in hand.rows(hand_sql)]
    assert answer["rows"] == expected, (answer["interpretation"], answer["sql"])
    assert answer["interpretation"] and answer["sql"].startswith("SELECT")


def test_the_shapes_are_the_documented_ones(both: dict) -> None:
    """docs/queries.md shows every shape tested here, as asked of the lab data (--today 2025-04-07)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "queries.md").read_text()
    hand, _ = both["lab"]
    assert hand.today == date(2025, 4, 7) and len(SHAPES) >= 30
    examples = {line.split("|")[3].strip() for line in doc.splitlines() if line.startswith("| ") and line[2].isdigit()}
    asked = {question.format(**{k: str(v) for k, v in hand.vars.items()}) for question, _, _ in SHAPES}
    assert asked == examples
