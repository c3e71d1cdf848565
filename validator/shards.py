"""A batch's orders and items in shards by their order, for the batch-wide step of validation.

Shard s of S holds the rows whose order id hashes to s mod S, by the curated store's own cell hash
(ecompipe.core.cells.buckets_of; S is a power of two, so a shard is a union of cell buckets and of
the groups leases are taken by). An order and its items are thus always in one shard, and all that
validation judges of them is shard-local: duplicate order ids, duplicate item keys made of the
order id, the items' references to the batch's own orders, the per-order warnings, the held items.
The batch-wide step runs shard by shard (validator.batch) over each shard's rows, so its hash
tables and copies are a shard's, not the batch's: at 10M items the whole-batch ones grew faster
than the batch (issue 39).

A shard is a set of positions in the batch's rows of a kind, ascending, never a reordered copy:
what each shard decides (a row failed, a row is held) is put back as a mask over the batch's rows,
which are then filtered once, in batch order. What is not shard-local is decided over the batch:
item keys of an item's own id (thelook's `id:<id>`) may repeat under another order
(validator.batch judges them before the shards), and the pending set is split by the same hash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ecompipe.core import cells
from ecompipe.core.arrow import arrow_column

SHARD_ROWS = 1 << 20  # a batch is split so that no shard holds more order and item rows than this


def count_for(rows: int, shard_rows: int = SHARD_ROWS) -> int:
    """The shard count for a batch of `rows` order and item rows: the least power of two that
    leaves each shard `shard_rows` or fewer, at most the store's bucket count."""
    shards = 1
    while rows > shards * shard_rows and shards < cells.MAX_BUCKETS:
        shards *= 2
    return shards


def positions(order_ids: pd.Series, count: int) -> list[np.ndarray]:
    """Each shard's rows (ascending positions) of a column of order ids. Each distinct id is
    hashed once (a batch's items name each order several times); a missing id counts as ''."""
    if count == 1 or not len(order_ids):
        return [np.arange(len(order_ids))] + [np.zeros(0, np.int64)] * (count - 1)
    encoded = pc.dictionary_encode(arrow_column(order_ids))
    of_id = cells.buckets_of(pd.Series(encoded.dictionary.to_pandas(), dtype="str"), count)
    missing = int(cells.buckets_of(pd.Series([""], dtype="str"), count)[0])
    of_row = np.append(of_id, missing)[np.asarray(encoded.indices.fill_null(len(of_id)), dtype=np.int64)]
    order = np.argsort(of_row, kind="stable")
    return np.split(order, np.cumsum(np.bincount(of_row, minlength=count))[:-1])
