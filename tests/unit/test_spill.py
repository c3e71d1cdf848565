"""validator.spill: a kind's rows spilled by shard and read back a shard at a time give the same
rows, files, positions and counts as the rows left in their files' frames (validator.shards.Rows),
put back in batch order wherever they span shards; and validation leaves nothing on disk."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from tests.conftest import NOW
from validator import shards, spill
from validator.batch import InputFile, Known, validate_batch

FILES = pd.CategoricalDtype(["incoming/a.csv", "incoming/b.csv", "incoming/c.csv"])


def _frame(n: int, code: int, seed: int) -> pd.DataFrame:
    """A canonical-looking frame: text with gaps, nullable integers, a time stamp, the file."""
    rng = np.random.default_rng(seed)
    ids = [None if rng.random() < 0.1 else f"O{rng.integers(0, 30)}" for _ in range(n)]
    cents = pd.array([None if rng.random() < 0.1 else int(rng.integers(-5, 10**15)) for _ in range(n)], dtype="Int64")
    return pd.DataFrame(
        {
            "order_id": pd.Series(ids, dtype="str"),
            "item_id": pd.Series([None] * n, dtype="str"),
            "total_amount_cents": cents,
            "order_ts": pd.Series(np.arange(n).astype("datetime64[us]")),
            "source_file": pd.Categorical.from_codes(np.full(n, code), dtype=FILES),
            "source_line": pd.Series(np.arange(2, n + 2), dtype="int64"),
        }
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=3), st.sampled_from([2, 4, 64]), st.integers(0, 10**6))
def test_spilled_rows_are_the_files_rows_shard_by_shard(sizes: list[int], count: int, seed: int) -> None:
    frames = [_frame(n, i, seed + i) for i, n in enumerate(sizes)]
    rng = np.random.default_rng(seed)
    rows = [np.flatnonzero(rng.random(len(f)) < 0.8) for f in frames]  # (the rows that parsed)
    in_memory = shards.Rows([f.copy() for f in frames], rows, shards.POSITION)
    with tempfile.TemporaryDirectory() as directory:
        spiller = spill.Spiller(count, directory)
        for i, (f, r) in enumerate(zip(frames, rows, strict=True)):
            spiller.take(f"k{i}", "orders", f, r)
        spilled = spiller.rows("orders", [f"k{i}" for i in range(len(frames))], shards.POSITION)

        # shard s's positions are the rows whose order id hashes to s, in batch order
        expected = shards.positions(in_memory.column("order_id"), count)
        assert [len(a) for a in spilled.shard_positions(count)] == [len(a) for a in expected]
        every = spilled.frame(np.arange(len(spilled)), spilled.names)
        for mine, theirs in zip(spilled.shard_positions(count), expected, strict=True):
            assert_frame_equal(every.take(mine).reset_index(drop=True), in_memory.frame(theirs, in_memory.names))
        # files, positions and counts; the rows kept, in batch order
        keep = rng.random(len(spilled)) < 0.5
        order = spilled.batch_order()
        file, row = spilled.located(order)
        assert list(file) == [i for i, r in enumerate(rows) for _ in r]
        assert list(row) == [x for r in rows for x in r]
        assert spilled.counts(keep) == in_memory.counts(keep[order])
        assert_frame_equal(spilled.kept(keep), in_memory.kept(keep[order]))


def test_a_batch_in_shards_leaves_no_spilled_file_behind(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    orders = "order_id,user_id,order_date,total_amount,status\n" + "".join(
        f"O{i},U1,2025-06-01,1.00,delivered\n" for i in range(40)
    )
    items = "order_id,product_id,quantity,unit_price\n" + "".join(f"O{i},P1,1,1.00\n" for i in range(40))
    files = [
        InputFile("incoming/orders_1.csv", orders.encode()),
        InputFile("incoming/order_items_1.csv", items.encode()),
        InputFile("incoming/products.csv", b"product_id,category,price\nP1,Books,1.00\n"),
    ]
    result = validate_batch("b", files, Known(), None, now=NOW, shard_rows=4)
    assert result.report["totals"]["rejected"] == 0 and len(result.staged["order_items"]) == 40
    assert os.listdir(tmp_path) == []
