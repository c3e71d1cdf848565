"""The curated store's cells checked against their own rows: for tests that compare stores.

Every part holds what its manifest says (counts, partial KPIs recomputed from its rows with the
catalogue as it is), whole orders in the bucket their id hashes to, the date's customers are its
orders' users, the key index finds every key where it is, nothing stray lies under curated/, and
the KPI tables hold what the rows give (transformer.kpis, computed from the rows directly)."""

from __future__ import annotations

import pandas as pd

from ecompipe.aws.curated import ORDER_ITEMS, ORDERS, CuratedStore
from ecompipe.aws.objects import side_by_side
from ecompipe.batch.resources import Resources
from ecompipe.core import cells as cell_math
from ecompipe.core import layout
from transformer import kpis, partials


def check_cells(res: Resources) -> None:
    store = CuratedStore(res.bucket)
    products = store.products()
    if products is None:
        products = pd.DataFrame({"product_id": pd.Series([], dtype="str"), "category": pd.Series([], dtype="str")})
    manifests = store.date_cells(store.dates())
    named = {layout.CURATED_PRODUCTS_KEY}
    for date, cells in manifests.items():
        named |= {layout.cells_manifest_key(date)}
        named |= {layout.cell_part_key(k, date, b, p.id) for b, p in cells.parts() for k in (ORDERS, ORDER_ITEMS)}
        if cells.customers is not None:
            named.add(layout.customers_key(date, cells.customers))
    stray = {o.key for o in res.bucket.list(layout.CURATED)} - named
    assert not stray, stray
    if not manifests:
        return
    dates = sorted(manifests)

    def rows(kind: str) -> pd.DataFrame:
        return pd.concat(side_by_side(lambda d: store.cells.read_parts(kind, manifests[d]), dates), ignore_index=True)

    orders, items = rows(ORDERS), rows(ORDER_ITEMS)
    assert orders["order_id"].is_unique and items["item_key"].is_unique
    parts = {p.id: (date, b, p) for date, cells in manifests.items() for b, p in cells.parts()}
    counted = (orders["_part"].value_counts(), items["_part"].value_counts())
    for part_id, (_, _, part) in parts.items():
        assert (counted[0].get(part_id, 0), counted[1].get(part_id, 0)) == (part.orders, part.items), part_id
    assert (orders["order_date"] == orders["_part"].map(lambda p: parts[p][0])).all()
    assert (items["order_date"] == items["_part"].map(lambda p: parts[p][0])).all()
    moduli = orders["_part"].map(lambda p: parts[p][2].modulus).to_numpy().astype("uint64")
    assert all(parts[p][2].modulus <= manifests[parts[p][0]].buckets for p in parts)
    orders_bucket = (cell_math.key_hashes(orders["order_id"]) % moduli).astype("int64")
    assert (orders_bucket == orders["_bucket"].to_numpy()).all(), "an order outside its bucket"
    part_of_order = dict(zip(orders["order_id"], orders["_part"], strict=True))
    assert (items["order_id"].map(part_of_order) == items["_part"]).all(), "an item away from its order"
    scored = partials.of_parts(orders.drop(columns="_bucket"), items.drop(columns="_bucket"), products)
    assert {p: parts[p][2].partial for p in parts} == {p: scored[p] for p in parts}
    for date, cells in manifests.items():
        expected = orders.loc[orders["order_date"] == date, "user_id"].astype(str).value_counts().to_dict()
        customers = store.cells.customers(cells)
        assert dict(zip(customers["user_id"], customers["orders"], strict=True)) == expected, date
        assert cells.unique_customers == len(expected)
    for kind, keys, by in ((ORDERS, orders["order_id"], "order_id"), (ORDER_ITEMS, items["item_key"], "item_key")):
        located = store.locate(kind, keys, by)
        assert set(located[by]) == set(keys), f"the key index misses {kind}"
    assert set(store.product_dates(pd.Index(items["product_id"].unique()))) >= set(items["order_date"])
    whole = (orders.drop(columns=["_part", "_bucket"]), items.drop(columns=["_part", "_bucket"]))
    key = lambda r: (r["order_date"], r.get("category", ""))  # noqa: E731
    assert sorted(res.kpis.order_kpis(), key=key) == sorted(kpis.order_records(kpis.order_kpis(*whole)), key=key)
    category_rows = kpis.category_records(kpis.category_kpis(*whole, products))
    assert sorted(res.kpis.category_kpis(), key=key) == sorted(category_rows, key=key)
