"""The KPI model (DESIGN §3, docs/kpis.md), written once: the fields of both tables, which of them
are money, rates and counts, and how each is written for programs and people.

Inside the pipeline money is integer cents (column `<field>_cents`) and rates integer
ten-thousandths (`<field>_e4`); DynamoDB holds Decimals (money with two places, rates with four);
JSON and CSV show money as strings with two decimals and rates as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from ecompipe.core import money
from ecompipe.core.csvsafe import spreadsheet_rows

ORDER_FIELDS = ["order_date", "total_orders", "total_revenue", "total_items_sold", "return_rate", "unique_customers"]
ORDER_EXTRA = ["returned_orders", "sold_orders"]
CATEGORY_FIELDS = ["category", "order_date", "daily_revenue", "avg_order_value", "avg_return_rate"]
CATEGORY_EXTRA = ["order_count", "sold_order_count", "returned_count"]
MONEY_FIELDS = frozenset({"total_revenue", "daily_revenue", "avg_order_value"})
RATE_FIELDS = frozenset({"return_rate", "avg_return_rate"})
TEXT_FIELDS = frozenset({"order_date", "category"})
COUNT_FIELDS = (
    frozenset(ORDER_FIELDS + ORDER_EXTRA + CATEGORY_FIELDS + CATEGORY_EXTRA) - MONEY_FIELDS - RATE_FIELDS - TEXT_FIELDS
)


def column(field: str) -> str:
    """The column a field has in the transformer's KPI frames."""
    return f"{field}_cents" if field in MONEY_FIELDS else f"{field}_e4" if field in RATE_FIELDS else field


def rate(e4: int) -> Decimal:
    """Integer ten-thousandths as a Decimal with exactly four places."""
    return Decimal(f"{int(e4)}e-4")


def stored(field: str, value: object) -> object:
    """A frame value as DynamoDB stores it (Decimal money and rates, int counts, str text)."""
    if field in MONEY_FIELDS:
        return money.to_decimal(int(value))  # type: ignore[call-overload]
    if field in RATE_FIELDS:
        return rate(int(value))  # type: ignore[call-overload]
    if field in COUNT_FIELDS:
        return int(value)  # type: ignore[call-overload]
    return str(value)


def public_value(field: str, value: object) -> object:
    """Money as a string with two decimals, rates as numbers with four, counts as ints."""
    if field in MONEY_FIELDS:
        return f"{Decimal(str(value)):.2f}"
    if field in RATE_FIELDS:
        return float(f"{Decimal(str(value)):.4f}")
    if isinstance(value, Decimal):
        return int(value)
    return value


def public_rows(rows: list[dict], fields: list[str]) -> list[dict]:
    return [{f: public_value(f, r[f]) for f in fields} for r in rows]


def kpis_json(order_rows: list[dict], category_rows: list[dict]) -> str:
    """Exactly {"order_kpis": [...], "category_kpis": [...]} with the DESIGN §3 field names."""
    doc = {
        "order_kpis": public_rows(sorted(order_rows, key=lambda r: r["order_date"]), ORDER_FIELDS),
        "category_kpis": public_rows(
            sorted(category_rows, key=lambda r: (r["order_date"], r["category"])), CATEGORY_FIELDS
        ),
    }
    return json.dumps(doc, indent=2)


def kpis_csv(order_rows: list[dict], category_rows: list[dict]) -> str:
    """Two CSV sections separated by a blank line: order KPIs, then category KPIs; cells a
    spreadsheet would run as formulas are neutralised (ecompipe.core.csvsafe)."""
    sections = []
    for rows, fields in ((order_rows, ORDER_FIELDS), (category_rows, CATEGORY_FIELDS)):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(spreadsheet_rows(public_rows(rows, fields)))
        sections.append(out.getvalue())
    return "\n".join(sections)
