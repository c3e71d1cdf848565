"""The two input dialects (DESIGN §2), detected from the header row, mapped to one canonical model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ecompipe.core import money, vocabulary
from ecompipe.core.keys import item_keys
from ecompipe.core.layout import kind_of
from validator import parsing, reasons
from validator.reading import MalformedFile

ORDERS, ORDER_ITEMS, PRODUCTS = "orders", "order_items", "products"
__all__ = ["kind_of"]  # re-exported: the kind of a file comes from ecompipe.core.layout

KNOWN_STATUSES = vocabulary.words(vocabulary.ORDER_STATUS)

# How each canonical field is parsed.
_FIELD_TYPES = {
    "order_id": "id",
    "user_id": "id",
    "item_id": "id",
    "product_id": "id",
    "order_ts": "date",
    "status": "code",
    "category": "text",
    "name": "text",
    "total_amount": "money",
    "unit_price": "money",
    "price": "money",
    "quantity": "int",
    "num_of_item": "int",
}

# The longest a text field may be, in characters (longer: the row is rejected as field_too_long).
# 256 characters of UTF-8 are at most 1024 bytes, DynamoDB's limit for a sort key (category is one).
MAX_CHARS = {"name": 1024}
DEFAULT_MAX_CHARS = 256

# Canonical columns of each kind, in order (money columns carry exact integer cents).
CANONICAL_COLUMNS = {
    ORDERS: ["order_id", "user_id", "order_ts", "order_date", "status", "total_amount_cents", "num_of_item"],
    ORDER_ITEMS: ["item_key", "item_id", "order_id", "product_id", "quantity", "unit_price_cents"],
    PRODUCTS: ["product_id", "category", "name", "price_cents"],
}


@dataclass(frozen=True)
class Dialect:
    name: str
    kind: str
    required: dict[str, str]  # source column -> canonical field
    optional: dict[str, str] = field(default_factory=dict)
    constants: dict[str, int] = field(default_factory=dict)

    def source_of(self, canonical: str) -> str:
        """The source column(s) a canonical field came from (for messages)."""
        if canonical == "item_key":
            return "id" if "id" in self.required else "order_id+product_id"
        for src, dst in {**self.required, **self.optional}.items():
            if dst == canonical or f"{dst}_cents" == canonical:
                return src
        return canonical


DIALECTS: dict[str, tuple[Dialect, ...]] = {
    ORDERS: (
        Dialect(
            "seed",
            ORDERS,
            {"order_id": "order_id", "user_id": "user_id", "order_date": "order_ts", "status": "status"},
            {"total_amount": "total_amount"},
        ),
        Dialect(
            "thelook",
            ORDERS,
            {"order_id": "order_id", "user_id": "user_id", "status": "status", "created_at": "order_ts"},
            {"num_of_item": "num_of_item"},
        ),
    ),
    ORDER_ITEMS: (
        Dialect(
            "seed",
            ORDER_ITEMS,
            {"order_id": "order_id", "product_id": "product_id", "quantity": "quantity", "unit_price": "unit_price"},
        ),
        Dialect(
            "thelook",
            ORDER_ITEMS,
            {"id": "item_id", "order_id": "order_id", "product_id": "product_id", "sale_price": "unit_price"},
            constants={"quantity": 1},
        ),
    ),
    PRODUCTS: (
        Dialect(
            "seed", PRODUCTS, {"product_id": "product_id", "category": "category", "price": "price"}, {"name": "name"}
        ),
        Dialect(
            "thelook", PRODUCTS, {"id": "product_id", "category": "category", "retail_price": "price"}, {"name": "name"}
        ),
    ),
}


def detect(kind: str, header: list[str]) -> Dialect:
    """The dialect whose required columns the header holds; MalformedFile names what is missing."""
    present = set(header)
    candidates = DIALECTS[kind]
    for dialect in candidates:
        if set(dialect.required) <= present:
            return dialect
    closest = max(candidates, key=lambda d: len(set(d.required) & present))
    missing = [c for c in closest.required if c not in present]
    raise MalformedFile(
        reasons.MISSING_COLUMN,
        f"missing required column(s) {', '.join(missing)} for the {closest.name} {kind} dialect "
        f"(header: {', '.join(header)})",
    )


def ignored_columns(dialect: Dialect, header: list[str]) -> list[str]:
    used = set(dialect.required) | set(dialect.optional)
    return [h for h in header if h not in used]


@dataclass
class Canonical:
    """One file in canonical form plus the cells that failed to parse."""

    frame: pd.DataFrame  # canonical columns + lineage, one row per raw row (same positions)
    errors: pd.DataFrame  # row, column, value, reason


def to_canonical(dialect: Dialect, cells: pd.DataFrame, exact: bool = False, decimal_comma: bool = False) -> Canonical:
    """Map raw string cells to typed canonical columns. Parse failures are listed, not raised.
    `exact`: numbers and dates parsed cell by cell (the reference for the vectorised parsers).
    `decimal_comma`: amounts may write their decimal mark as a comma (a file not separated by
    commas: a spreadsheet's export in much of Europe), `10,50` as `10.50`; a cell with both marks
    (`1.234,56`: a thousands separator) is not a number, never guessed."""
    out: dict[str, pd.Series] = {}
    errors: list[pd.DataFrame | None] = []
    mapping = {**dialect.required, **{s: d for s, d in dialect.optional.items() if s in cells.columns}}
    for source, target in mapping.items():
        raw = cells[source]
        kind = _FIELD_TYPES[target]
        if kind in ("id", "text", "code"):
            out[target] = (
                parsing.vocabulary_words(raw, vocabulary.ORDER_STATUS) if kind == "code" else parsing.strip(raw)
            )
            too_long = out[target].str.len() > MAX_CHARS.get(target, DEFAULT_MAX_CHARS)
            errors.append(_errors(raw, too_long.fillna(False), source, reasons.FIELD_TOO_LONG))
        elif kind == "money":
            amounts = raw.str.replace(",", ".", regex=False) if decimal_comma else raw
            out[f"{target}_cents"], why = parsing.parse_cents(amounts, exact)
            errors.append(_errors_with_reasons(raw, why, source))
        elif kind == "int":
            out[target], why = parsing.parse_int(raw, exact)
            errors.append(_errors_with_reasons(raw, why, source))
        elif kind == "date":
            out["order_ts"], out["order_date"], failed = parsing.parse_order_date(raw, exact)
            errors.append(_errors(raw, failed, source, reasons.UNPARSABLE_DATE))
    for name, value in dialect.constants.items():
        out[name] = pd.Series(value, index=cells.index, dtype="Int64")
    if dialect.kind == ORDER_ITEMS:
        price_column = dialect.source_of("unit_price_cents")
        errors.append(_errors(cells[price_column], _line_too_large(out), price_column, reasons.OUT_OF_RANGE))
    frame = _complete(dialect.kind, out, cells.index)
    found = [e for e in errors if e is not None]
    return Canonical(frame, pd.concat(found).astype(_ERROR_TYPES) if found else empty_errors())


def _complete(kind: str, columns: dict[str, pd.Series], index: pd.Index) -> pd.DataFrame:
    """The canonical frame of the parsed columns: optional ones the file lacks as nulls, the item
    key derived, in the canonical order."""
    by_id = "item_id" in columns  # the dialect has an item id column (thelook)
    for column in CANONICAL_COLUMNS[kind]:
        if column in columns or column == "item_key":
            continue
        dtype = "Int64" if column.endswith("_cents") or column == "num_of_item" else "str"
        columns[column] = pd.Series(pd.NA if dtype == "Int64" else None, index=index, dtype=dtype)
    if kind == ORDER_ITEMS:
        # thelook items have their own id (an empty one is a missing value); seed items are keyed
        # by (order_id, product_id)
        item_ids = columns["item_id"] if by_id else None
        columns["item_key"] = item_keys(columns["order_id"], columns["product_id"], item_ids)
    return pd.DataFrame({c: columns[c] for c in CANONICAL_COLUMNS[kind]}, index=index)


def _line_too_large(items: Mapping[str, pd.Series]) -> pd.Series:
    """Items whose line amount, quantity × unit price, would pass ecompipe.core.money.MAX_CENTS
    (decided by division, so nothing is multiplied that could wrap)."""
    price = items["unit_price_cents"].fillna(0).astype("int64").to_numpy()
    quantity = items["quantity"].fillna(0).astype("int64").to_numpy()
    limit = money.MAX_CENTS // np.maximum(price, 1)
    return pd.Series((price > 0) & (quantity > limit), index=items["quantity"].index)


# a file's parse failures, typed the same whichever columns failed (none: empty_errors)
_ERROR_TYPES = {"row": "int64", "column": "str", "value": object, "reason": object}


def _errors_with_reasons(raw: pd.Series, why: pd.Series, column: str) -> pd.DataFrame | None:
    """The cells of `column` that failed, each with its reason (`why`); None when none did."""
    failed = why.notna()
    if not failed.any():
        return None
    rows = failed[failed].index
    return pd.DataFrame(
        {
            "row": rows.to_numpy(),
            "column": column,
            "value": raw.loc[rows].astype("str").to_numpy(),
            "reason": why[failed].astype("str").to_numpy(),
        }
    )


def _errors(raw: pd.Series, failed: pd.Series, column: str, reason: str) -> pd.DataFrame | None:
    """The cells of `column` that failed, for `reason`; None when none did."""
    if not failed.any():
        return None
    rows = failed[failed].index
    return pd.DataFrame(
        {"row": rows.to_numpy(), "column": column, "value": raw.loc[rows].astype("str").to_numpy(), "reason": reason}
    )


def empty_errors() -> pd.DataFrame:
    """No parse failures: the frame of a file whose cells all parsed."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in _ERROR_TYPES.items()})
