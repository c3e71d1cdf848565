"""The curated store's cells (docs/scaling.md, "The store in cells"), pure: where a key lives.

A cell is (order date, bucket). An order and its items live in the cell of the order's date and
of `bucket(order_id)`; a date has `buckets` cells, a power of two chosen by its size (one cell for
a small date) and doubled when its cells grow past SPLIT_ITEMS, so a batch of a few orders into a
large date reads and writes a few small objects, not the date.

Keys are hashed once, to 64 bits (`key_hashes`): the bucket is the hash modulo the date's bucket
count, and the key index (ecompipe.aws.key_index) stores hashes, not strings. The hash is written
here and pinned by a test of known values (tests/unit/test_cells.py): a store laid out by one hash
cannot be read by another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ecompipe.core import layout
from ecompipe.core.arrow import arrow_column

HASH_SEED = np.uint64(0x65636F6D70697065)  # "ecompipe": the hash is part of the layout (key_hashes)
_PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime
SPLIT_ITEMS = 262_144  # a date's cells double when one would hold more items than this
MAX_BUCKETS = layout.MAX_BUCKETS
FAN_IN = 4  # parts (or index runs) of about one size merged at a time
MIN_PART_ROWS = 65_536  # a part is split over finer buckets only while each would hold this many rows
GROUPS = 8  # a date of this many buckets or more is written per group of its cells (`grouped`)
_EPOCH = np.datetime64("1970-01-01", "D")


def key_hashes(keys: pd.Series | pd.Index | Sequence[str]) -> np.ndarray:
    """Each key's 64-bit hash (uint64): a polynomial over its UTF-8 bytes (mod 2^64, from
    HASH_SEED: h = h * PRIME + byte, byte by byte) finished by splitmix64's mixer. Horner's rule
    runs over all keys at once, one pass per byte position, longest keys first, so each pass
    touches only the keys that long: work and memory follow the keys, never a per-byte array of
    the whole batch (3M item keys: ~0.3 s, where per-byte arrays took ~9 s and ~1 GiB)."""
    series = keys if isinstance(keys, pd.Series) else pd.Series(list(keys) if not isinstance(keys, pd.Index) else keys)
    column = arrow_column(series.astype("str")).fill_null("").cast(pa.large_string())
    if len(column) == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int64)[column.offset : column.offset + len(column) + 1]
    data = (
        np.frombuffer(column.buffers()[2], dtype=np.uint8) if column.buffers()[2] is not None else np.zeros(0, np.uint8)
    )
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")  # longest first: the keys longer than j lead
    longest_first = -lengths[order]  # ascending
    starts = offsets[:-1][order]
    h = np.full(len(column), HASH_SEED, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max())):
            longer = int(np.searchsorted(longest_first, -j, side="left"))  # keys with more than j bytes
            live = h[:longer]
            live *= _PRIME
            live += data[starts[:longer] + j]
        h[order] = h.copy()
        h ^= lengths.astype(np.uint64)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def buckets_for(items: int) -> int:
    """The bucket count a date of `items` items is laid out in: the smallest power of two whose
    cells hold at most SPLIT_ITEMS each (at most MAX_BUCKETS)."""
    buckets = 1
    while buckets < MAX_BUCKETS and items > buckets * SPLIT_ITEMS:
        buckets *= 2
    return buckets


def modulus_for(rows: int, buckets: int) -> int:
    """The bucket count a part of `rows` rows (orders and items) is written under: the largest power
    of two up to the date's `buckets` that leaves each part MIN_PART_ROWS rows or more (1 for a
    small write). A batch then writes parts by what it brings: a few thousand new orders are one
    part spanning the date's cells, not one small part in each; merged parts move to finer counts
    as they grow."""
    modulus = 1
    while modulus * 2 <= buckets and rows >= modulus * 2 * MIN_PART_ROWS:
        modulus *= 2
    return modulus


def buckets_of(order_ids: pd.Series | pd.Index, buckets: int) -> np.ndarray:
    """The bucket (0..buckets-1) of each order id."""
    return buckets_of_hashes(key_hashes(order_ids), buckets)


def buckets_of_hashes(hashes: np.ndarray, buckets: int) -> np.ndarray:
    """buckets_of, from the order ids' key_hashes."""
    return (hashes % np.uint64(buckets)).astype(np.int64)


def day_numbers(dates: pd.Series | Sequence[str]) -> np.ndarray:
    """YYYY-MM-DD dates as days since 1970-01-01 (int32), as the key index stores them (each
    distinct date converted once)."""
    codes, distinct = pd.factorize(pd.Series(dates, dtype="str"), use_na_sentinel=False)
    values = np.asarray(np.asarray(distinct, dtype=object), dtype="datetime64[D]")
    return (values - _EPOCH).astype(np.int32)[codes] if len(codes) else np.zeros(0, np.int32)


def day_dates(days: np.ndarray) -> list[str]:
    """day_numbers back to YYYY-MM-DD."""
    return [str(d) for d in (_EPOCH + np.asarray(days, dtype=np.int64)).astype("datetime64[D]")]


def tail_to_merge(sizes: Sequence[int], fan_in: int = FAN_IN) -> int:
    """How many of the newest entries of `sizes` (oldest first, the newest just added) to merge
    into one: the newest absorbs the one before it while that one is at most twice what has been
    absorbed, and the merge happens once `fan_in` or more would go (1 when nothing merges). Sizes
    then fall geometrically from oldest to newest, a merge rewrites about FAN_IN times what it
    adds, a row is rewritten O(log n) times however many small writes come, and a small write
    usually writes its own part and reads nothing back."""
    taken, absorbed = 1, sizes[-1] if sizes else 0
    while taken < len(sizes) and sizes[-taken - 1] <= 2 * max(absorbed, 1):
        absorbed += sizes[-taken - 1]
        taken += 1
    return taken if taken >= fan_in else 1


def grouped(buckets: int) -> bool:
    """Whether a date of `buckets` buckets is written per group of its cells: group g of GROUPS
    holds the orders whose id hashes to g mod GROUPS, a batch holds the leases of the groups it
    writes (ecompipe.aws.date_leases), and its new parts are written under GROUPS buckets or more,
    so each holds orders of one group."""
    return buckets >= GROUPS


def part_groups(modulus: int, bucket: int) -> set[int]:
    """The groups a part written under `modulus` buckets, in `bucket`, may hold orders of: one
    when the modulus is GROUPS or more, else every group that bucket of the coarser count spans."""
    if modulus >= GROUPS:
        return {bucket % GROUPS}
    return {g for g in range(GROUPS) if g % modulus == bucket}
