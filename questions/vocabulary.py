"""The vocabulary of questions and its grammar (pure; docs/queries.md lists the same words): the
phrases for measures, breakdowns, periods, ranking and comparison, and the lark grammar built from
them and from the data's category and status names (escaped, whole words only)."""

from __future__ import annotations

import functools
import re

from lark import Lark

from questions import dates
from questions import query as q

MEASURES = {
    q.REVENUE: ("revenue", "sales", "turnover", "total revenue", "total sales"),
    q.ORDERS: ("orders", "order count", "number of orders"),
    q.ITEMS_SOLD: ("items sold", "units sold", "items", "units", "quantity sold", "selling", "best-selling"),
    q.RETURN_RATE: ("return rate", "returns rate", "rate of returns", "returns"),
    q.AOV: ("average order value", "avg order value", "aov", "average basket", "average order"),
    q.CUSTOMERS: ("customers", "unique customers", "buyers", "distinct customers"),
    q.REJECTED: ("rejected rows", "rejections", "rejected", "reject", "errors", "rejected lines"),
}
DIMENSIONS = {
    q.DAY: ("day", "days", "date", "dates", "daily"),
    q.WEEK: ("week", "weeks", "weekly"),
    q.MONTH: ("month", "months", "monthly"),
    q.CATEGORY: ("category", "categories"),
    q.STATUS: ("status", "statuses", "order status"),
    q.REASON: ("reason", "reasons"),
    q.PRODUCT: ("product", "products"),
    # "customers" is the measure (how many); "top 10 customers by revenue" ranks them (reading.py)
    q.CUSTOMER: ("customer",),
}
# "orders", "items" and "products" also name a kind of file for rejected rows (reading.py)
FILLER = (
    "what", "what's", "whats", "is", "was", "were", "are", "the", "show", "me", "give", "list", "how", "many", "much",
    "did", "do", "does", "we", "our", "have", "had", "has", "of", "a", "an", "please", "tell", "get", "see", "all",
    "overall", "total", "number", "count", "there", "been", "which", "with", "get", "made", "make", "sell", "sold",
    "in", "for", "at", "on", "ordered", "bought", "purchased", "placed", "who", "that",
)  # fmt: skip
HIGHEST = ("highest", "most", "best", "biggest", "largest", "max", "maximum", "top")
LOWEST = ("lowest", "least", "worst", "smallest", "fewest", "min", "minimum", "bottom")
RELATIVE = {
    "today": ("day", 0), "yesterday": ("day", -1), "this week": ("week", 0), "last week": ("week", -1),
    "previous week": ("week", -1), "this month": ("month", 0), "last month": ("month", -1),
    "previous month": ("month", -1), "this year": ("year", 0), "last year": ("year", -1),
}  # fmt: skip
VERSUS = ("vs", "vs.", "versus", "compared to", "compared with", "against")

SUGGESTIONS = (
    "revenue by category last week",
    "which day in March had the highest return rate",
    "top 5 categories by average order value in 2025-03",
)


def words(phrases: tuple[str, ...] | list[str], tail: str = "") -> str:
    """A terminal matching any phrase (then `tail`, a regex), whole words only, spaces between
    words flexible."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(re.escape(w).replace("/", r"\/") for w in p.split()) for p in ordered)
    return f"/(?<![\\w'])(?:{alternatives}){tail}(?![\\w'])/"


def grammar(categories: tuple[str, ...], statuses: tuple[str, ...]) -> str:
    cats = words([c.lower() for c in categories]) if categories else "/(?!x)x/"
    stats = words([s.lower() for s in statuses]) if statuses else "/(?!x)x/"
    terminals = {
        **{f"M_{m.upper()}": words(p) for m, p in MEASURES.items()},
        **{f"D_{d.upper()}": words(p) for d, p in DIMENSIONS.items()},
        "FILLER": words(FILLER),
        "HIGHEST": words(HIGHEST),
        "LOWEST": words(LOWEST),
        "RELATIVE": words(list(RELATIVE)),
        "VERSUS": words(VERSUS),
        # a month and its year are one word group, so "March 2025" is never March + the year 2025
        "MONTHNAME": words(list(dates.MONTHS), tail=r"(?:\s+(?:19|20)\d\d)?"),
        # a product of the catalogue, by its id ("product id 123", "product #123") or its name in quotes
        "PRODUCTREF": r"/(?<![\w'])product\s+(?:(?:id\s+|#)[a-z0-9][a-z0-9_.:-]{0,63}(?![\w'])" + r'|"[^"]{1,200}")/',
        "CATEGORY": cats,
        "STATUSNAME": stats,
        "WHY": words(("why", "and why", "with reasons", "and reasons")),
        "BY": words(("by", "per", "for each", "each", "broken down by", "split by", "grouped by")),
        "BETWEEN": words(("between",)),
        "FROM": words(("from", "since")),
        "TO": words(("to", "until", "through", "and")),
        "ON": words(("on",)),
        "LASTN": words(("last", "past", "in the last", "over the last", "in the past", "over the past")),
        "DAYS": words(("days", "day")),
        "AND": words(("and", "or", ",")),
        "INT": r"/(?<![\w-])\d{1,4}(?![\w-])/",
        "YEAR": r"/(?<![\w-])(?:19|20)\d\d(?![\w-])/",
        "YEARMONTH": r"/(?<![\w-])(?:19|20)\d\d-(?:0[1-9]|1[0-2])(?![\w-])/",
        "ISODATE": r"/(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])/",
    }
    rules = r"""
start: part+
?part: measure | measures | by | rank | extreme | period | versus | category | status | product | why | FILLER
product: PRODUCTREF (AND PRODUCTREF)*
measures: measure (AND measure)+
measure: M_REVENUE | M_ORDERS | M_ITEMS_SOLD | M_RETURN_RATE | M_AVERAGE_ORDER_VALUE | M_CUSTOMERS | M_REJECTED_ROWS
dimension: D_DAY | D_WEEK | D_MONTH | D_CATEGORY | D_STATUS | D_REASON | D_PRODUCT | D_CUSTOMER
by: BY dimension
  | BY measure -> by_measure
rank: HIGHEST INT? dimension? -> top
    | LOWEST INT? dimension? -> bottom
extreme: dimension
period: RELATIVE -> relative
      | MONTHNAME -> named_month
      | YEARMONTH -> year_month
      | YEAR -> year
      | ON? ISODATE -> on_day
      | BETWEEN ISODATE TO ISODATE -> between
      | FROM ISODATE TO ISODATE -> between
      | LASTN INT DAYS -> last_days
versus: period VERSUS period
category: CATEGORY (AND CATEGORY)*
status: STATUSNAME (AND STATUSNAME)*
why: WHY
%import common.WS
%ignore WS
"""
    return rules + "\n".join(f"{name}: {pattern}" for name, pattern in terminals.items()) + "\n"


@functools.lru_cache(maxsize=8)
def parser(categories: tuple[str, ...], statuses: tuple[str, ...]) -> Lark:
    return Lark(grammar(categories, statuses), parser="earley", lexer="dynamic", ambiguity="resolve")
