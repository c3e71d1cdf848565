"""Key membership for large string columns (shared by the validator and the transformer).

pandas' own `isin` on Arrow-backed strings builds a Python list of the values (about 2 s per call
at a million keys, found by profiling); pyarrow.compute.is_in does the same vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecompipe.core.arrow import arrow_column

# keys hashed (the smaller side) from which a DuckDB semi join beats Arrow's is_in: 1.25M item
# product ids against 250k products 0.22 -> 0.06 s, against 100k 0.09 -> 0.045 s; below ~60k
# is_in's one table stays in cache and the join's fixed cost (~10 ms) does not pay
JOIN_FROM = 1 << 16


def isin(values: pd.Series, allowed: pd.Index | pd.Series, join_from: int = JOIN_FROM) -> pd.Series:
    """values.isin(allowed) for string keys; nulls are never members.

    is_in hashes its whole value set, so when there are fewer values than allowed keys (a batch's
    few held items against every known order id) the set is first cut to the allowed keys that
    are among the values: probing a small table is cheaper than building a large one (1,000
    values against 3.3M ids: 1.6 s -> 0.04 s). When both sides hold `join_from` keys or more, a
    DuckDB semi join over the two Arrow buffers does it (both cores, a partitioned table). A value
    set may hold a key twice."""
    if len(values) == 0:
        return pd.Series(False, index=values.index, dtype=bool)
    column = arrow_column(pd.Series(values, dtype="str"))
    value_set = arrow_column(pd.Series(allowed, dtype="str")).drop_null()
    if min(len(column), len(value_set)) >= max(join_from, 1):
        return pd.Series(_semi_join(column, value_set), index=values.index, dtype=bool)
    if len(column) < len(value_set):
        value_set = value_set.filter(pc.is_in(value_set, value_set=column.drop_null()))
    found = pc.is_in(column, value_set=value_set)
    return pd.Series(found.fill_null(False).to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def _semi_join(column: pa.Array, value_set: pa.Array) -> np.ndarray:
    """Whether each key of `column` is in `value_set`, by a DuckDB semi join (a null never joins)."""
    from ecompipe.core import duck  # (DuckDB loads only where a batch is checked)

    with duck.cursor() as db:
        db.register("probe", pa.table({"key": column, "i": np.arange(len(column))}))
        db.register("known", pa.table({"key": value_set}))
        hits = db.sql("SELECT i FROM probe SEMI JOIN known USING (key)").to_arrow_table()["i"].to_numpy()
    found = np.zeros(len(column), dtype=bool)
    found[hits] = True
    return found


def all_distinct(values: pd.Series) -> bool:
    """Whether no key repeats and none is missing: one distinct count in DuckDB over the column's
    Arrow buffer (10M item keys: 0.9 s, where Arrow's hash table of the strings took 3.5 s and
    pandas' duplicated 3.6 s; its hash table is partitioned, so it grows with the keys)."""
    column = arrow_column(values)
    if column.null_count or len(column) < 2:
        return column.null_count == 0
    from ecompipe.core import duck  # (DuckDB loads only where a batch is checked)

    with duck.cursor() as db:
        db.register("keys", pa.table({"key": column}))
        [(distinct,)] = db.sql("SELECT count(DISTINCT key) FROM keys").fetchall()
    return distinct == len(column)


def positions_in(keys: pa.Array, table: pa.Array) -> pa.Array:
    """Arrow's index_in (each key's position in `table`, null where absent) for a table whose keys
    are unique, by a hash join in DuckDB over the two Arrow buffers (10M item order ids into 4M
    orders: 1.1 s against 1.8 s; at 1M, 0.11 against 0.16 s). A table key found twice, or a null
    on either side (index_in matches null to null; a join never does), takes index_in itself."""
    if len(keys) == 0 or len(table) == 0 or keys.null_count or table.null_count:
        return pc.index_in(keys, value_set=table)
    from ecompipe.core import duck  # (DuckDB loads only where a batch is joined)

    with duck.cursor() as db:
        db.register("probe", pa.table({"key": keys, "i": np.arange(len(keys))}))
        db.register("build", pa.table({"key": table, "j": np.arange(len(table))}))
        pairs = db.sql("SELECT i, j FROM probe JOIN build USING (key)").to_arrow_table()
    at = np.full(len(keys), -1, dtype=np.int64)
    at[pairs["i"].to_numpy()] = pairs["j"].to_numpy()
    if len(pairs) != np.count_nonzero(at >= 0):  # a key matched twice: the table holds it twice
        return pc.index_in(keys, value_set=table)
    return pa.array(at, mask=at < 0)


def first_of_each(values: pd.Series) -> pd.Series:
    """Whether each value is the first row of its key (a missing value always is): pandas'
    `~duplicated(keep="first")` over the keys present. One DuckDB query over the column's Arrow
    buffer: the keys that repeat, grouped with their first row, joined back to name every later
    row (10M item keys: 0.8 s, where Arrow's dictionary encoding of the strings took 1.6-2.1 s;
    DuckDB's hash table is partitioned and uses both cores)."""
    column = arrow_column(values)
    first = np.ones(len(column), dtype=bool)
    if len(column) - column.null_count > 1:
        from ecompipe.core import duck  # (DuckDB loads only where a batch is checked)

        with duck.cursor() as db:
            db.register("keys", pa.table({"key": column, "i": np.arange(len(column))}))
            later = db.sql(
                "SELECT k.i FROM keys k JOIN (SELECT key, min(i) AS i FROM keys WHERE key IS NOT NULL"
                " GROUP BY key HAVING count(*) > 1) f ON k.key = f.key AND k.i > f.i"
            ).to_arrow_table()
        first[later["i"].to_numpy()] = False
    return pd.Series(first, index=values.index, dtype=bool)


def item_keys(order_id: pd.Series, product_id: pd.Series, item_id: pd.Series | None) -> pd.Series:
    """The key of each order item, injective over any text ids.

    An item with its own id (thelook) is ``id:<id>``; one without (seed) is keyed by its
    ``<order_id>/<product_id>`` pair. Each id is percent-escaped first ('%' -> %25, '/' -> %2F), so
    an id holding the separator can neither merge two pairs ("X", "1/P") vs ("X/1", "P") nor pass
    for an id key; ids without '%' or '/' keep the keys they always had.
    """
    if item_id is not None:
        escaped = _escape(item_id)
        keys = pc.binary_join_element_wise(pa.scalar("id:", escaped.type), escaped, pa.scalar("", escaped.type))
        return pd.Series(keys, dtype="str", index=item_id.index)
    orders, products = _escape(order_id), _escape(product_id).cast(pa.large_string())
    keys = pc.binary_join_element_wise(orders, products, pa.scalar("/", pa.large_string()))
    return pd.Series(keys, dtype="str", index=order_id.index)


def _escape(ids: pd.Series) -> pa.Array:
    """The ids as Arrow text with '%' and '/' percent-escaped; a missing id stays missing (so does
    its key). By Arrow's kernels: the pandas string methods cost twice the time at 1M items."""
    column = arrow_column(pd.Series(ids, dtype="str"))
    if not _may_hold_a_mark(column):  # the common case
        return column
    return pc.replace_substring(pc.replace_substring(column, "%", "%25"), "/", "%2F")


def _may_hold_a_mark(column: pa.Array) -> bool:
    """Whether some id may hold '%' or '/': one scan of the bytes of the column's text (0.7 ms per
    1M ids), where a substring search per id and mark took 33 ms. The bytes may include ids outside
    the column's slice: a mark there only sends the column to the escaping, which finds none."""
    data = column.buffers()[2] if pa.types.is_large_string(column.type) else None
    if data is None:
        return True
    text = data.to_pybytes()  # (a copy the size of the text, gone at return: bytes.find is memchr)
    return text.find(b"%") >= 0 or text.find(b"/") >= 0


def pair_keys(keys: pd.Series | pd.Index) -> np.ndarray:
    """Which item keys are ``<order_id>/<product_id>`` pairs (item_keys of an item without an id
    of its own): the only keys holding a '/', every id in them escaped. Such an item can never be
    another order's, so it is always where its order is: the key index finds it by its order id
    (ecompipe.aws.curated)."""
    return _pairs_in(arrow_column(pd.Series(keys, dtype="str")))


def pair_key_orders(keys: pd.Series | pd.Index) -> tuple[np.ndarray, pd.Series]:
    """pair_keys, and the order id of each pair key, unescaped."""
    column = arrow_column(pd.Series(keys, dtype="str"))
    pair = _pairs_in(column)
    prefixes = pc.list_element(pc.split_pattern(column.filter(pa.array(pair)), "/", max_splits=1), 0)
    if pc.any(pc.match_substring(prefixes, "%")).as_py():  # (_escape's two marks, undone in reverse)
        prefixes = pc.replace_substring(pc.replace_substring(prefixes, "%2F", "/"), "%25", "%")
    return pair, pd.Series(prefixes, dtype="str")


def _pairs_in(column: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring(column, "/"), False), dtype=bool)
