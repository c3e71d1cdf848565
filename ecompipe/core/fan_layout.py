"""Where a fanned-out batch's tasks leave their work for the next step (docs/scaling.md, "Fan-out"):
each file's part, parsed by a parse-file task, and each shard's outcome, validated by a
validate-shard task; and how many shards a batch is validated in. All of it is under the batch's
staging/ prefix and goes with it. The rest of the batch pipeline's keys are in
ecompipe.core.layout. Light: the trigger imports it."""

from __future__ import annotations

from ecompipe.core.errors import LayoutError
from ecompipe.core.layout import BATCHES, MAX_BUCKETS, STAGING, check_batch_id, check_file_name

PART_OBJECTS = ("rows", "errors", "raw", "canonical")  # what a part holds (validator.parts)
SHARD_OBJECTS = ("failures", "held", "brought", "ids", "orders", "order_items", "products")  # validator.fanned


def parts_prefix(batch_id: str) -> str:
    """Where a fanned-out batch's parts are (part_key)."""
    return f"{STAGING}{check_batch_id(batch_id)}/parts/"


def part_key(batch_id: str, name: str, what: str, shard: int | None = None) -> str:
    """One file of a fanned-out batch, parsed by its own task: `what` (PART_OBJECTS) it holds, of
    one shard for the canonical rows of orders and items."""
    if what not in PART_OBJECTS:
        raise LayoutError(f"a part holds {', '.join(PART_OBJECTS)}, not {what!r}")
    what += "" if shard is None else f".{int(shard)}"
    return f"{parts_prefix(batch_id)}{check_file_name(name)}.{what}.arrow"


def shards_key(batch_id: str) -> str:
    """The batch's shard numbers as a bare JSON array: what the validate-shard Map's ItemReader reads."""
    return f"{BATCHES}{check_batch_id(batch_id)}/shards.json"


def staged_shards_key(batch_id: str) -> str:
    """A batch validated shard by shard: its shards' objects of staged rows, by kind (ecompipe.aws.staged)."""
    return f"{STAGING}{check_batch_id(batch_id)}/staged_shards.json"


def shard_key(batch_id: str, shard: int, what: str) -> str:
    """What the validate-shard task of one shard found: `what` (SHARD_OBJECTS), or its summary
    ("outcome", JSON, written last)."""
    if what == "outcome":
        return f"{STAGING}{check_batch_id(batch_id)}/shards/{int(shard)}/outcome.json"
    if what not in SHARD_OBJECTS:
        raise LayoutError(f"a shard's outcome holds {', '.join(SHARD_OBJECTS)}, not {what!r}")
    return f"{STAGING}{check_batch_id(batch_id)}/shards/{int(shard)}/{what}.arrow"


# a batch is split so that no shard holds more order and item rows than this, and a batch in shards
# is spilled to disk by shard as its files are parsed (validator/spill.py): validation then holds one
# shard's rows at a time, so its peak follows the shard, not the batch (10M items with 1 % bad
# rows, `ecompipe validate`: 18.7 s in 3.0 GiB in two shards of 2^23, 17.9 s in 1.7 GiB in eight
# of 2^21; each shard costs ~0.1 s of its own, so a smaller one costs more time than it saves)
SHARD_ROWS = 1 << 21
ROW_BYTES = 40  # about what an order or order-item row takes in a CSV file (the generated data's)


def shard_count(rows: int, shard_rows: int | None = None) -> int:
    """The shard count for a batch of `rows` order and item rows (validation's shards, by the cells'
    hash: validator/shards.py): the least power of two that leaves each shard `shard_rows` or
    fewer (SHARD_ROWS when not given), at most the store's bucket count."""
    shard_rows = shard_rows or SHARD_ROWS
    shards = 1
    while rows > shards * shard_rows and shards < MAX_BUCKETS:
        shards *= 2
    return shards


def shard_count_for_bytes(size: int, shard_rows: int | None = None) -> int:
    """The shard count for orders and items files of `size` bytes, before they are read (a
    fanned-out batch's parse-file tasks split their parts by it): rows estimated at ROW_BYTES."""
    return shard_count(size // ROW_BYTES, shard_rows)
