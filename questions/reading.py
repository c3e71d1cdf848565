"""Reading a question (pure): the grammar (questions/vocabulary.py; lark, Earley) turns the words
into a Question object, or says it does not understand. Phrases may come in any order; words outside
the vocabulary are not skipped but refused, so nothing is guessed. Category and status names are
matched against the data's own lists (case-insensitive) and the Question holds the data's spelling,
never the question's text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from lark import Token, Transformer
from lark.exceptions import LarkError

from questions import dates
from questions import query as q
from questions.query import Period, Question, Rank
from questions.vocabulary import RELATIVE, SUGGESTIONS, parser


class NotUnderstood(ValueError):
    """The question is outside the vocabulary; the message quotes it and suggests three that work."""

    def __init__(self, question: str, why: str) -> None:
        shown = question.strip()[:200]
        super().__init__(f"I don't understand {shown!r}: {why}. Try: " + "; ".join(f"'{s}'" for s in SUGGESTIONS))
        self.why = why


@dataclass
class _Parts:
    measures: list[str]
    dims: list[str]
    periods: list[Period]
    versus: list[tuple[Period, Period]]
    categories: list[str]
    statuses: list[str]
    rank: Rank | None = None
    why: bool = False
    rank_measure: str | None = None
    product_refs: list[tuple[str, str]] = field(default_factory=list)  # ("id" | "name", as written, lower case)
    plural: bool = False  # "top categories" (5) or "top category" (1)


class _Collect(Transformer):
    def __init__(self, today: date, categories: tuple[str, ...], statuses: tuple[str, ...]) -> None:
        super().__init__()
        self.today = today
        self.by_lower = {c.lower(): c for c in categories}
        self.status_lower = {s.lower(): s for s in statuses}
        self.parts = _Parts([], [], [], [], [], [])

    def measure(self, items: list[Token]) -> str:
        name = items[0].type.removeprefix("M_").lower()
        self.parts.measures.append(name)
        return name

    def dimension(self, items: list[Token]) -> str:
        said = " ".join(str(items[0]).lower().split())
        self.parts.plural = self.parts.plural or said in _PLURALS
        return items[0].type.removeprefix("D_").lower()

    def by(self, items: list) -> None:
        self.parts.dims.append(items[1])

    def by_measure(self, items: list) -> None:
        self.parts.rank_measure = items[1]

    def extreme(self, items: list) -> None:
        self.parts.dims.append(items[0])

    def top(self, items: list) -> None:
        self._rank(True, items)

    def bottom(self, items: list) -> None:
        self._rank(False, items)

    def _rank(self, highest: bool, items: list) -> None:
        n = next((int(t) for t in items if isinstance(t, Token) and t.type == "INT"), None)
        dims = [t for t in items if isinstance(t, str) and not isinstance(t, Token)]
        self.parts.dims += dims
        if n is not None and not 1 <= n <= 1000:
            raise ValueError(f"{n} is not a number of results between 1 and 1000")
        self.parts.rank = Rank(highest, n if n is not None else (5 if self.parts.plural else 1))

    def relative(self, items: list[Token]) -> Period:
        said = " ".join(str(items[0]).lower().split())
        unit, offset = RELATIVE[said]
        if unit == "day":
            return self._add(dates.day(self.today, offset, said))
        if unit == "week":
            return self._add(dates.week(self.today, offset, said))
        if unit == "month":
            return self._add(dates.relative_month(self.today, offset, said))
        return self._add(dates.relative_year(self.today, offset, said))

    def named_month(self, items: list[Token]) -> Period:
        words = str(items[0]).lower().split()
        year = int(words[1]) if len(words) > 1 else None
        return self._add(dates.named_month(self.today, dates.MONTHS[words[0]], year))

    def year_month(self, items: list[Token]) -> Period:
        year, month = map(int, str(items[0]).split("-"))
        return self._add(dates.month_of(year, month))

    def year(self, items: list[Token]) -> Period:
        return self._add(dates.year_of(int(items[0])))

    def on_day(self, items: list[Token]) -> Period:
        return self._add(dates.on(_iso(items[-1])))

    def between(self, items: list[Token]) -> Period:
        return self._add(dates.between(_iso(items[1]), _iso(items[3])))

    def last_days(self, items: list[Token]) -> Period:
        n = int(items[1])
        if not 1 <= n <= 3660:
            raise ValueError(f"{n} days is not a span between 1 and 3660 days")
        return self._add(dates.last_days(self.today, n))

    def _add(self, period: Period) -> Period:
        self.parts.periods.append(period)
        return period

    def versus(self, items: list) -> None:
        first, second = items[0], items[-1]
        self.parts.periods.remove(first)
        self.parts.periods.remove(second)
        self.parts.versus.append((first, second))

    def category(self, items: list[Token]) -> None:
        self.parts.categories += [
            self.by_lower[" ".join(str(t).lower().split())] for t in items if t.type == "CATEGORY"
        ]

    def status(self, items: list[Token]) -> None:
        self.parts.statuses += [
            self.status_lower[" ".join(str(t).lower().split())] for t in items if t.type == "STATUSNAME"
        ]

    def why(self, _items: list) -> None:
        self.parts.why = True

    def product(self, items: list[Token]) -> None:
        for token in (t for t in items if t.type == "PRODUCTREF"):
            said = str(token).split(None, 1)[1].strip()
            if said.startswith('"'):
                self.parts.product_refs.append(("name", " ".join(said.strip('"').split())))
            else:
                self.parts.product_refs.append(("id", said[1:] if said.startswith("#") else said.split(None, 1)[1]))


_PLURALS = frozenset({"days", "dates", "weeks", "months", "categories", "statuses", "reasons", "products"})


def _iso(token: Token) -> date:
    try:
        return date.fromisoformat(str(token))
    except ValueError:
        raise ValueError(f"{token} is not a calendar date") from None


Catalogue = Callable[[], tuple[tuple[str, ...], tuple[str, ...]]]  # the catalogue's product ids and names


def read(
    question: str,
    today: date,
    categories: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    catalogue: Catalogue = lambda: ((), ()),
) -> Question:
    """The Question a text asks, against the data's categories, statuses and (asked only when the
    question names a product) the catalogue's product ids and names; NotUnderstood else."""
    text = " ".join(question.replace("’", "'").split()).strip().rstrip("?.!").strip()
    if not text:
        raise NotUnderstood(question, "the question is empty")
    if len(text) > 300:
        raise NotUnderstood(question, "the question is longer than 300 characters")
    try:
        tree = parser(tuple(sorted(categories)), tuple(sorted(statuses))).parse(text.lower())
    except LarkError as exc:
        raise NotUnderstood(question, _where(text, exc)) from None
    collect = _Collect(today, categories, statuses)
    try:
        collect.transform(tree)
    except Exception as exc:  # lark wraps what a rule raised
        cause = getattr(exc, "orig_exc", exc)
        raise NotUnderstood(question, str(cause)) from None
    return replace(_combine(question, collect.parts), **_products(question, collect.parts, catalogue))


def _products(question: str, p: _Parts, catalogue: Catalogue) -> dict[str, tuple[str, ...]]:
    """The products a question names, in the catalogue's own spelling (never the question's)."""
    if not p.product_refs:
        return {}
    if q.REJECTED in p.measures:
        raise NotUnderstood(question, "rejected rows have no product")
    ids, names = catalogue()
    known = {"id": {i.lower(): i for i in ids}, "name": {" ".join(n.lower().split()): n for n in names}}
    found: dict[str, list[str]] = {"id": [], "name": []}
    for kind, said in p.product_refs:
        if said not in known[kind]:
            shown = f"product id {said}" if kind == "id" else f'product "{said}"'
            raise NotUnderstood(question, f"there is no {shown} in the catalogue")
        found[kind].append(known[kind][said])
    return {"products": tuple(dict.fromkeys(found["id"])), "product_names": tuple(dict.fromkeys(found["name"]))}


def _where(text: str, exc: LarkError) -> str:
    column = getattr(exc, "column", None)
    if isinstance(column, int) and column > 0:
        rest = text[column - 1 :].split()
        if rest:
            return f"'{rest[0]}' is not a word I know here"
    return "it does not read as a question about the data"


def _combine(question: str, p: _Parts) -> Question:
    measures = list(dict.fromkeys(p.measures))
    kind = None
    if q.REJECTED in measures:
        # "orders", "items" and "products" here name the kind of file the rows were rejected from
        kind_words = [m for m in measures if m in (q.ORDERS, q.ITEMS_SOLD)] + [d for d in p.dims if d == q.PRODUCT]
        if len(kind_words) > 1:
            raise NotUnderstood(question, "name one kind of file: orders, items or products")
        kind = (
            {q.ORDERS: "orders", q.ITEMS_SOLD: "order_items", q.PRODUCT: "products"}.get(kind_words[0])
            if kind_words
            else None
        )
        p.dims = [d for d in p.dims if d != q.PRODUCT]
        measures = [q.REJECTED]
    if p.rank is not None and not p.dims and q.CUSTOMERS in measures and (p.rank_measure or len(measures) > 1):
        # "top 10 customers by revenue": the customers are what is ranked, not the measure
        measures.remove(q.CUSTOMERS)
        p.dims = [q.CUSTOMER]
    if p.rank_measure is not None:
        if measures and measures != [p.rank_measure]:
            raise NotUnderstood(question, "one measure at a time")
        measures = [p.rank_measure]
    if not measures:
        raise NotUnderstood(
            question,
            "it names no measure: " + ", ".join(q.MEASURE_WORDS.values()),
        )
    if len(measures) > 1 and (p.rank is not None or q.REJECTED in measures):
        raise NotUnderstood(
            question,
            "one measure at a time when ranking or counting rejected rows: "
            + " and ".join(q.MEASURE_WORDS[m] for m in measures),
        )
    measure, more = measures[0], tuple(measures[1:])
    dims = list(dict.fromkeys(p.dims + ([q.REASON] if p.why else [])))
    if len(dims) > 1:
        raise NotUnderstood(question, "one breakdown at a time: " + " and ".join(dims))
    by = dims[0] if dims else None
    allowed = q.REJECTION_DIMENSIONS if measure == q.REJECTED else q.ORDER_DIMENSIONS
    if by is not None and by not in allowed:
        raise NotUnderstood(question, f"{q.MEASURE_WORDS[measure]} cannot be broken down by {by}")
    if measure == q.REJECTED and (p.categories or p.statuses):
        raise NotUnderstood(question, "rejected rows have no category or status")
    if p.rank is not None and by is None:
        raise NotUnderstood(
            question, "rank what? say days, weeks, months, categories, statuses, products, customers or reasons"
        )
    if len(p.versus) > 1 or (p.versus and p.periods) or len(p.periods) > 1:
        raise NotUnderstood(question, "one period (or one 'A vs B') at a time")
    period, versus = p.versus[0] if p.versus else (p.periods[0] if p.periods else None, None)
    if versus is not None and p.rank is not None:
        raise NotUnderstood(question, "a comparison of periods cannot be ranked as well")
    return Question(
        measure,
        by,
        period,
        versus,
        tuple(dict.fromkeys(p.categories)),
        tuple(dict.fromkeys(p.statuses)),
        kind,
        p.rank,
        more,
    )
