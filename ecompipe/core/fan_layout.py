"""Where a fanned-out batch's tasks leave their work for the next step (docs/scaling.md, "Fan-out"):
each file's part, parsed by a parse-file task, and each shard's outcome, validated by a
validate-shard task. All of it is under the batch's staging/ prefix and goes with it. The rest of
the batch pipeline's keys are in ecompipe.core.layout."""

from __future__ import annotations

from ecompipe.core.errors import LayoutError
from ecompipe.core.layout import BATCHES, STAGING, check_batch_id, check_file_name

PART_OBJECTS = ("rows", "errors", "raw", "canonical")  # what a part holds (validator.parts)
SHARD_OBJECTS = ("failures", "held", "brought", "ids", "orders", "order_items", "products")  # validator.fanned


def part_key(batch_id: str, name: str, what: str, shard: int | None = None) -> str:
    """One file of a fanned-out batch, parsed by its own task: `what` (PART_OBJECTS) it holds, of
    one shard for the canonical rows of orders and items."""
    if what not in PART_OBJECTS:
        raise LayoutError(f"a part holds {', '.join(PART_OBJECTS)}, not {what!r}")
    what += "" if shard is None else f".{int(shard)}"
    return f"{STAGING}{check_batch_id(batch_id)}/parts/{check_file_name(name)}.{what}.arrow"


def shards_key(batch_id: str) -> str:
    """The batch's shard numbers as a bare JSON array: what the validate-shard Map's ItemReader reads."""
    return f"{BATCHES}{check_batch_id(batch_id)}/shards.json"


def shard_key(batch_id: str, shard: int, what: str) -> str:
    """What the validate-shard task of one shard found: `what` (SHARD_OBJECTS), or its summary
    ("outcome", JSON, written last)."""
    if what == "outcome":
        return f"{STAGING}{check_batch_id(batch_id)}/shards/{int(shard)}/outcome.json"
    if what not in SHARD_OBJECTS:
        raise LayoutError(f"a shard's outcome holds {', '.join(SHARD_OBJECTS)}, not {what!r}")
    return f"{STAGING}{check_batch_id(batch_id)}/shards/{int(shard)}/{what}.arrow"
