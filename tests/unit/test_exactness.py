"""Issue 13, classes 1, 3 and 5 on the pure core: money exact under one rule over the whole
accepted range, collision-free item keys for any text ids, and no cell that costs more than its row."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecompipe.core.keys import JOIN_FROM, all_distinct, first_of_each, isin, item_keys, pair_key_orders, positions_in
from ecompipe.core.money import MAX_CENTS, MAX_UNITS
from ecompipe.core.money_frames import exact_group_sums, exact_sums_at
from tests.conftest import NOW
from transformer.kpis import category_kpis, category_records, order_kpis, order_records
from validator import reasons
from validator.batch import InputFile, Known, validate_batch

pytestmark = pytest.mark.unit

ORDERS = "order_id,user_id,order_date,total_amount,status\n"
ITEMS = "order_id,product_id,quantity,unit_price\n"
PRODUCTS = "product_id,category,name,price\n"


def _validate(files: dict[str, str]):
    inputs = [InputFile(f"incoming/{name}", text.encode()) for name, text in files.items()]
    return validate_batch("b-test", inputs, Known(), None, now=NOW)


def _kpis(result) -> tuple[list[dict], list[dict]]:
    staged = result.staged
    orders, items, products = staged["orders"], staged["order_items"], staged["products"]
    return order_records(order_kpis(orders, items)), category_records(category_kpis(orders, items, products))


def _reasons(result, name: str) -> dict:
    return next(f for f in result.report["files"] if f["file"] == f"incoming/{name}")["reasons"]


# --- class 1: money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "price", "reason"),
    [
        ("3", "0.005", reasons.TOO_PRECISE),  # was rounded to 0.01 first: 0.03
        ("7", "19.999", reasons.TOO_PRECISE),  # was 140.00
        ("1", "-0.004", reasons.NEGATIVE_AMOUNT),  # rounds to 0.00, still negative
        ("1", "1000000000000000.01", reasons.OUT_OF_RANGE),
        ("1000000000", "10000000", reasons.OUT_OF_RANGE),  # line amount 10^16 > 10^15
        ("9007199254740993", "1.00", reasons.OUT_OF_RANGE),  # quantity above 10^15
        ("99999999999", "99999999999.99", reasons.OUT_OF_RANGE),  # would wrap int64
    ],
)
def test_an_item_breaking_the_money_rule_is_rejected_with_a_named_reason(quantity, price, reason) -> None:
    result = _validate(
        {
            "products.csv": PRODUCTS + "P,Books,n,1.00\nQ,Toys,n,1.00\n",
            "orders_1.csv": ORDERS + "O,U,2025-06-01,,delivered\n",
            "order_items_1.csv": ITEMS + f"O,P,{quantity},{price}\nO,Q,1,2.00\n",
        }
    )
    assert _reasons(result, "order_items_1.csv") == {reason: 1}
    assert result.staged["order_items"]["product_id"].tolist() == ["Q"]


def test_a_price_above_2_to_53_cents_keeps_its_last_cent() -> None:
    price = "90071992547409.93"  # 2^53 + 1 cents
    result = _validate(
        {
            "products.csv": PRODUCTS + "P,Books,n,1.00\nQ,Toys,n,1.00\n",
            "orders_1.csv": ORDERS + "O,U,2025-06-01,,delivered\n",
            "order_items_1.csv": ITEMS + f"O,P,1,{price}\nO,Q,1,0.01\n",
        }
    )
    (order,), categories = _kpis(result)
    assert order["total_revenue"] == Decimal("90071992547409.94")
    assert sum(c["daily_revenue"] for c in categories) == order["total_revenue"]


@st.composite
def _accepted_batches(draw):
    """Items anywhere in the accepted range, the bounds included, many on one day (so day totals
    pass 2^63 cents), over a few categories and orders of several statuses."""
    n = draw(st.integers(1, 40))
    cents = st.one_of(st.integers(0, MAX_CENTS), st.sampled_from([0, 1, MAX_CENTS, MAX_CENTS - 1, 2**53 + 1]))
    rows = []
    for i in range(n):
        price = draw(cents)
        max_q = max(1, min(MAX_UNITS, MAX_CENTS // max(price, 1)))
        quantity = draw(st.one_of(st.integers(1, max_q), st.just(max_q)))
        rows.append((f"o{draw(st.integers(0, 5))}", f"p{i}", quantity, price))
    statuses = draw(st.lists(st.sampled_from(["delivered", "cancelled", "returned"]), min_size=6, max_size=6))
    categories = draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n))
    return rows, statuses, categories


@settings(max_examples=40, deadline=None)
@given(_accepted_batches())
def test_kpis_are_exact_over_the_whole_accepted_range(batch) -> None:
    """Property: for any accepted input, total_revenue is the exact Σ of q × p over sold orders,
    and Σ_C daily_revenue equals it to the cent (no wrap, no float, no early rounding)."""
    rows, statuses, categories = batch
    orders = ORDERS + "".join(f"o{k},u{k},2025-06-01,,{statuses[k]}\n" for k in range(6))
    items = ITEMS + "".join(f"{o},{p},{q},{Decimal(c).scaleb(-2)}\n" for o, p, q, c in rows)
    products = PRODUCTS + "".join(f"p{i},{categories[i]},n,1.00\n" for i in range(len(rows)))
    result = _validate({"orders_1.csv": orders, "order_items_1.csv": items, "products.csv": products})
    assert result.report["totals"]["rejected"] == 0
    (order,), categories_out = _kpis(result)
    sold = {f"o{k}" for k in range(6) if statuses[k] != "cancelled"}
    expected = sum((Decimal(q) * Decimal(c) for o, _, q, c in rows if o in sold), Decimal(0))
    assert order["total_revenue"] == expected.scaleb(-2)
    assert order["total_items_sold"] == sum(q for o, _, q, _ in rows if o in sold)
    assert sum(c["daily_revenue"] for c in categories_out) == order["total_revenue"]
    for c in categories_out:
        sold_orders = c["sold_order_count"]
        want = (c["daily_revenue"] / sold_orders).quantize(Decimal("0.01"), ROUND_HALF_UP) if sold_orders else 0
        assert c["avg_order_value"] == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=30), st.lists(st.integers(0, 2), min_size=30))
def test_group_sums_never_wrap(values: list[int], groups: list[int]) -> None:
    frame = pd.DataFrame({"g": groups[: len(values)], "v": values})
    got = exact_group_sums(frame, "g", ["v"])["v"].to_dict()
    want = {g: sum(v for v, h in zip(values, groups, strict=False) if h == g) for g in set(groups[: len(values)])}
    assert {g: int(v) for g, v in got.items()} == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**63 - 1), min_size=0, max_size=30), st.lists(st.integers(0, 3), min_size=30))
def test_sums_at_codes_never_wrap_and_agree_with_group_sums(values: list[int], groups: list[int]) -> None:
    codes = np.array(groups[: len(values)], dtype=np.int64)
    got = exact_sums_at(codes, 4, {"v": np.array(values, dtype=np.int64)})["v"].tolist()
    assert [int(v) for v in got] == [sum(v for v, g in zip(values, codes, strict=False) if g == k) for k in range(4)]
    if values:
        grouped = exact_group_sums(pd.DataFrame({"g": codes, "v": values}), "g", ["v"])["v"]
        assert {int(g): int(v) for g, v in grouped.items()} == {k: int(got[k]) for k in set(codes.tolist())}


# --- class 3: keys -------------------------------------------------------------------------------

_ids = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6) | st.sampled_from(
    ["/", "%", "%2F", "%25", "id:", "1/P", "X/1", "P", "X"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_ids, _ids), min_size=2, max_size=8, unique=True), st.lists(_ids, max_size=8, unique=True))
def test_item_keys_are_injective_for_any_text_ids(pairs: list[tuple[str, str]], item_ids: list[str]) -> None:
    """Property: distinct (order, product) pairs and distinct item ids, from all of Unicode with the
    separators themselves, never share a key, not even across the two dialects."""
    orders = pd.Series([o for o, _ in pairs], dtype="str")
    products = pd.Series([p for _, p in pairs], dtype="str")
    pair_keys = item_keys(orders, products, None).tolist()
    id_keys = item_keys(orders.iloc[:0], products.iloc[:0], pd.Series(item_ids, dtype="str")).tolist()
    assert len(set(pair_keys + id_keys)) == len(pairs) + len(item_ids)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ids, _ids), max_size=8), st.lists(_ids, max_size=8))
def test_a_pair_key_gives_back_its_order_id_and_an_id_key_is_never_a_pair(
    pairs: list[tuple[str, str]], item_ids: list[str]
) -> None:
    """Property: the key index finds a pair-keyed item by its order (ecompipe.aws.curated), so the
    order id read back from the key is exactly the row's, for any text; id keys are never pairs."""
    orders = pd.Series([o for o, _ in pairs], dtype="str")
    pair_keys = item_keys(orders, pd.Series([p for _, p in pairs], dtype="str"), None)
    id_keys = item_keys(orders.iloc[:0], orders.iloc[:0], pd.Series(item_ids, dtype="str"))
    pair, order_ids = pair_key_orders(pd.concat([pair_keys, id_keys], ignore_index=True))
    assert pair.tolist() == [True] * len(pairs) + [False] * len(item_ids)
    assert order_ids.tolist() == orders.tolist()


_maybe_ids = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "a/b", "é"]), _ids), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_maybe_ids, _maybe_ids, st.sampled_from([JOIN_FROM, 0]))
def test_key_membership_is_set_membership_whichever_side_is_larger(values: list, allowed: list, join_from: int) -> None:
    """Property: isin agrees with Python's `in` over the non-null keys, with repeated keys and
    nulls on either side, whether it probes the allowed keys (fewer values) or the values, with
    Arrow's is_in or (both sides `join_from` keys or more: 0 takes it for any) DuckDB's semi join."""
    series = pd.Series(values, index=range(5, 5 + len(values)), dtype="str")
    found = isin(series, pd.Index(allowed, dtype="str"), join_from=join_from)
    members = {a for a in allowed if a is not None}
    assert found.tolist() == [v is not None and v in members for v in values]
    assert found.index.tolist() == list(range(5, 5 + len(values)))


@settings(max_examples=300, deadline=None)
@given(_maybe_ids)
def test_keys_are_all_distinct_exactly_when_none_repeats_and_none_is_missing(values: list) -> None:
    series = pd.Series(values, dtype="str")
    assert all_distinct(series) == (not series.duplicated().any() and not series.isna().any())


@settings(max_examples=300, deadline=None)
@given(_maybe_ids, _maybe_ids)
@example(["a", "b"], ["b", "a", "a", "b"])  # a table key twice: its first position, as index_in
@example(["a", None], ["a", None])  # null matches null
def test_positions_in_a_table_are_arrows_index_in(keys: list, table: list) -> None:
    """Property: positions_in (a join in DuckDB) is Arrow's index_in, whatever the keys: a table
    key twice, a null on either side, either side empty, any text."""
    column, value_set = (pa.array(v, type=pa.large_string()) for v in (keys, table))
    assert positions_in(column, value_set).to_pylist() == pc.index_in(column, value_set=value_set).to_pylist()


@settings(max_examples=300, deadline=None)
@given(_maybe_ids)
def test_the_first_row_of_each_key_is_found_as_pandas_finds_it(values: list) -> None:
    """Property: first_of_each is pandas' ~duplicated(keep="first") over the keys present (a
    missing key always passes: it is a missing value, never a duplicate), whatever repeats."""
    series = pd.Series(values, index=range(3, 3 + len(values)), dtype="str")
    expected = ~series.duplicated(keep="first") | series.isna()
    pd.testing.assert_series_equal(first_of_each(series), expected, check_names=False)


def test_ids_holding_the_separator_are_two_items_through_validation() -> None:
    result = _validate(
        {
            "products.csv": PRODUCTS + "1/P,Books,n,1.00\nP,Toys,n,2.00\n",
            "orders_1.csv": ORDERS + "X,U,2025-06-01,,delivered\nX/1,U,2025-06-01,,delivered\n",
            "order_items_1.csv": ITEMS + "X,1/P,1,1.00\nX/1,P,1,2.00\n",
        }
    )
    assert result.report["totals"]["rejected"] == 0
    assert len(result.staged["order_items"]) == 2
    (order,), _ = _kpis(result)
    assert order["total_revenue"] == Decimal("3.00")


def test_plain_ids_keep_their_keys() -> None:
    keys = item_keys(pd.Series(["7"]), pd.Series(["9"]), None).tolist()
    assert keys == ["7/9"] and item_keys(pd.Series([]), pd.Series([]), pd.Series(["5"])).tolist() == ["id:5"]


# --- class 5: one bad cell costs one row ---------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters='\x00"\r\n,'), max_size=30), st.integers(0, 4))
def test_any_cell_costs_at_most_its_row(cell: str, column: int) -> None:
    """Property: whatever one cell of an item row holds, the other row of the file is accepted and
    every row read is accounted for."""
    fields = ["O", "P", "2", "5.00"]
    fields[column % 4] = cell
    result = _validate(
        {
            "products.csv": PRODUCTS + "P,Books,n,1.00\n",
            "orders_1.csv": ORDERS + f"O,U,2025-06-01,{cell if column == 4 else ''},delivered\n",
            "order_items_1.csv": ITEMS + ",".join(fields) + "\nO,P2,1,1.00\n",
        }
    )
    files = {f["file"]: f for f in result.report["files"]}
    for f in files.values():
        assert f["rows_read"] == f["accepted"] + f["rejected"] + f["pending"]
    assert files["incoming/order_items_1.csv"]["rows_read"] == 2


@pytest.mark.parametrize(
    "cell",
    [
        "9" * 400,
        "1e999999999",
        "1e3001234567890123451",
        "1E-99999999999999999999",
        "-" + "9" * 300,
        "9" * 20 + ".5",
        "1" * 100_000,
    ],
)
def test_a_huge_number_in_any_money_or_count_column_is_a_row_rejection(cell: str) -> None:
    result = _validate(
        {
            "products.csv": PRODUCTS + f"P,Books,n,1.00\nQ,Toys,n,{cell}\n",
            "orders_1.csv": ORDERS + f"O,U,2025-06-01,{cell},delivered\nO2,U,2025-06-01,1.00,delivered\n",
            "order_items_1.csv": ITEMS + f"O,P,{cell},1.00\nO,P,1,{cell}\nO2,P,1,1.00\n",
        }
    )
    totals = result.report["totals"]
    assert totals["rejected"] == 4 and totals["accepted"] == 3


@given(
    st.one_of(
        st.from_regex(r"[0-9]{1,17}(\.[0-9]{0,5})?", fullmatch=True),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.text(alphabet="0123456789.+-eE_", max_size=12),
    )
)
def test_the_plain_decimal_path_decides_as_decimal_does(text: str) -> None:
    """money.decimal_cents reads plain decimals on their digits; the answer equals Decimal's."""
    from ecompipe.core import money

    assert money.decimal_cents(text) == money._decimal_cents(text)
