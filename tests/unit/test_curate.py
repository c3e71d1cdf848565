"""Curated upsert: newest batch wins, and every date whose KPIs can change is found."""

import pandas as pd
import pytest

from ecompipe.aws.curated import CuratedIndex
from transformer import curate
from transformer.curate import affected_dates, changed_categories, rebuild, upsert

pytestmark = pytest.mark.unit


def _orders(*rows):
    return pd.DataFrame(rows, columns=["order_id", "order_date", "status"])


def _items(*rows):
    return pd.DataFrame(rows, columns=["item_key", "order_id", "product_id"])


def test_newest_batch_wins_by_key() -> None:
    old = _orders(("1", "2025-01-01", "delivered"), ("2", "2025-01-01", "delivered"))
    new = _orders(("2", "2025-01-01", "returned"))
    merged = upsert(old, new, "order_id").sort_values("order_id")
    assert merged["status"].tolist() == ["delivered", "returned"]


def test_affected_dates_include_the_old_date_of_a_moved_order_and_dates_of_item_orders() -> None:
    index = CuratedIndex(
        pd.DataFrame({"order_id": ["1", "2", "3"], "order_date": ["2025-01-01", "2025-01-02", "2025-01-03"]}),
        pd.DataFrame({"item_key": ["a", "b"], "product_id": ["P1", "P9"], "order_date": ["2025-01-01", "2025-01-05"]}),
        product_dates=["2025-01-05"],  # where items of P9 are
    )
    batch_orders = _orders(("1", "2025-01-04", "returned"))  # order 1 moved from the 1st to the 4th
    batch_items = _items(("c", "2", "P1"))  # a new item of order 2 (the 2nd)
    dates = affected_dates(batch_orders, batch_items, index, pd.Index(["P9"]))
    assert dates == ["2025-01-01", "2025-01-02", "2025-01-04", "2025-01-05"]


def test_rebuild_moves_items_with_their_order() -> None:
    existing_orders = _orders(("1", "2025-01-01", "delivered"))
    existing_items = _items(("a", "1", "P1")).assign(order_date="2025-01-01")
    orders, items = rebuild(existing_orders, existing_items, _orders(("1", "2025-01-04", "returned")), _items())
    assert orders[["order_id", "order_date"]].values.tolist() == [["1", "2025-01-04"]]
    assert items[["item_key", "order_date"]].values.tolist() == [["a", "2025-01-04"]]


def test_changed_categories() -> None:
    old = pd.DataFrame({"product_id": ["1", "2"], "category": ["Books", "Toys"]})
    new = pd.DataFrame({"product_id": ["1", "2", "3"], "category": ["Books", "Garden", "Toys"]})
    assert changed_categories(old, new).tolist() == ["2"]


def test_a_catalogue_re_sent_unchanged_is_the_same_wherever_its_rows_came_from() -> None:
    def catalogue(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
        frame = pd.DataFrame(rows, columns=["product_id", "category", "batch_id"])
        return frame.assign(price_cents=500, source_file="incoming/" + frame["batch_id"] + ".csv", source_line=2)

    before = catalogue([("P1", "Books", "b1"), ("P2", "Toys", "b1")])
    assert curate.same_products(before, catalogue([("P2", "Toys", "b2"), ("P1", "Books", "b2")]))
    assert not curate.same_products(before, catalogue([("P1", "Music", "b2"), ("P2", "Toys", "b1")]))
    assert not curate.same_products(before, catalogue([("P1", "Books", "b1"), ("P2", "Toys", "b1"), ("P3", "x", "b2")]))
    assert not curate.same_products(None, before)
    assert not curate.same_products(before, before.assign(price_cents=[500, 600]))


def test_a_resolved_item_another_batch_committed_stays_its_row_and_a_dropped_one_of_its_own_goes() -> None:
    """Claims: the batch B resolved held items a, b and c. Another batch A committed a meanwhile
    (stored under A's stamp): A's row stays. b is stored under B's own stamp (an earlier attempt):
    B's new row replaces it. d was B's and is dropped: it goes; e is dropped but A's: it stays."""
    orders = _orders(("1", "2025-01-01", "delivered"))
    stored = pd.DataFrame(
        {
            "item_key": ["a", "b", "d", "e"],
            "order_id": ["1"] * 4,
            "product_id": ["P-A", "P-old", "P-B", "P-A"],
            "batch_id": ["A", "B", "B", "A"],
        }
    )
    batch = pd.DataFrame(
        {"item_key": ["a", "b", "c"], "order_id": ["1"] * 3, "product_id": ["P-B"] * 3, "batch_id": ["B"] * 3}
    )
    claims = curate.Claims("B", resolved=pd.Index(["a", "b", "c"]), dropped=pd.Index(["d", "e"]))
    _, items = rebuild(orders, stored, orders.iloc[0:0], batch, claims)
    rows = {k: (p, b) for k, p, b in zip(items["item_key"], items["product_id"], items["batch_id"], strict=True)}
    assert rows == {"a": ("P-A", "A"), "b": ("P-B", "B"), "c": ("P-B", "B"), "e": ("P-A", "A")}
